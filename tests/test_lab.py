"""The rollout lab: config rewriting, manifest reading, cause attribution, and one real pair.

The pair (marker `lab`) rolls tier D twice with real processes in a network namespace: the users'
original RT Deployment (seed) must show refused connections at Kong, the dev stack's RT none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from datetime import datetime
from pathlib import Path

import crossplane
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from hitless.components.config import StackConfig, load_stack_config
from hitless.lab.causes import Cause, LogLine, Logs, attribute
from hitless.lab.configs import (
    kong_stand_in_conf,
    nginx_bytes,
    nginx_seconds,
    rewrite_tier_conf,
    scaled_duration,
)
from hitless.lab.matrix import predict
from hitless.lab.runner import RunResult, missing_prerequisites, run_all
from hitless.lab.scenarios import (
    ScenarioInputError,
    Variant,
    broken_variants,
    build_scenario,
    deployment_spec,
    find_deployment,
)
from hitless.lab.spec import RollingTier, Scenario
from hitless.program import run_stack
from hitless.render import write_artifacts
from hitless.sim_inputs import stack_facts
from tests.conftest import ROOT, hitless_values

SEED_RT = ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml"
SIM_LAB_FACTOR = 1.5
"""Stated tolerance between the simulator's and the lab's failed counts (docs/timing.md)."""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev stack rendered as `hitless preview` does (build/dev in a temporary directory)."""
    out = tmp_path_factory.mktemp("build") / "dev"
    write_artifacts(run_stack("dev", ROOT, preview=True), out)
    return out


def _scenario(cfg: StackConfig, rendered: Path, **kwargs: object) -> Scenario:
    return build_scenario(
        cfg,
        "dev",
        rendered,
        RollingTier.d,
        time_scale=5,
        rate=20,
        upload_share=0.05,
        run=1,
        **kwargs,  # type: ignore[arg-type]
    )


class TestNginxValues:
    @given(st.integers(min_value=1, max_value=100_000), st.sampled_from([1, 2, 5, 10]))
    def test_scaled_duration_divides(self, seconds: int, scale: int) -> None:
        scaled = nginx_seconds(scaled_duration(f"{seconds}s", scale))
        assert scaled == pytest.approx(seconds / scale, abs=0.001)

    def test_units(self) -> None:
        assert nginx_seconds("1m30s") == 90
        assert nginx_seconds("500ms") == 0.5
        assert nginx_bytes("64m") == 64 * 1_048_576
        with pytest.raises(ValueError, match="not an nginx duration"):
            nginx_seconds("5x")


class TestRewrite:
    def test_a_conf_moved_to_loopback(
        self, dev_config: StackConfig, rendered: Path, tmp_path: Path
    ) -> None:
        moved = rewrite_tier_conf(
            (rendered / "nginx" / "a.conf").read_text(),
            address="127.11.0.2",
            upstream="127.12.255.254:80",
            directory=tmp_path,
            scale=5,
        )
        conf = tmp_path / "a.conf"
        conf.write_text(moved.text)
        payload = crossplane.parse(str(conf), single=True, check_ctx=False)["config"][0]["parsed"]
        http = next(d for d in payload if d["directive"] == "http")["block"]
        upstream = next(d for d in http if d["directive"] == "upstream")["block"]
        assert [d["args"] for d in upstream if d["directive"] == "server"] == [
            ["127.12.255.254:80"]
        ]
        listens = [
            d["args"][0]
            for server in http
            if server["directive"] == "server"
            for d in server["block"]
            if d["directive"] == "listen"
        ]
        assert listens == ["127.11.0.2:80", "127.11.0.2:8081"]
        # proxy_read_timeout at time scale 5; client_max_body_size 64m / 5.
        read_ms = round(dev_config.edge.proxy_read_timeout_seconds * 1000 / 5)
        assert [f"{read_ms}ms"] in [
            d["args"] for d in http if d["directive"] == "proxy_read_timeout"
        ]
        assert [str(round(64 * 1_048_576 / 5))] in [
            d["args"] for d in http if d["directive"] == "client_max_body_size"
        ]
        assert f"-f {tmp_path / 'draining'}" in " ".join(moved.changes)

    @pytest.mark.nginx
    def test_kong_stand_in_passes_nginx_t(
        self, dev_config: StackConfig, rendered: Path, tmp_path: Path
    ) -> None:
        scenario = _scenario(dev_config, rendered)
        conf = tmp_path / "kong.conf"
        conf.write_text(
            kong_stand_in_conf(
                scenario.kong,
                address="127.0.0.1",
                proxy_port=18000,
                status_port=18100,
                upstream_host="127.14.255.254",
                upstream_port=8080,
                directory=tmp_path,
                scale=5,
            )
        )
        text = conf.read_text()
        # Kong's tries: set_more_tries(retries) once; each timeout (ms) / 1000 / 5 per try.
        kong = dev_config.runtimes[0].kong
        connect, send, read = (
            ms / 1000 / 5
            for ms in (kong.connect_timeout_ms, kong.write_timeout_ms, kong.read_timeout_ms)
        )
        assert f"set_more_tries({kong.retries})" in text
        assert f"set_timeouts({connect}, {send}, {read})" in text
        assert "proxy_next_upstream" not in text
        done = subprocess.run(
            ["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr


class TestManifests:
    def test_seed_rt_deployment(self) -> None:
        spec = deployment_spec(find_deployment(SEED_RT), lag=10, source=str(SEED_RT))
        assert (spec.replicas, spec.max_surge, spec.max_unavailable) == (2, 2, 1)
        assert spec.prestop_seconds == 0
        assert spec.grace_seconds == 30
        assert spec.readiness.period_seconds == 20
        assert spec.startup is None

    def test_rendered_dev_deployments(self, dev_config: StackConfig, rendered: Path) -> None:
        scenario = _scenario(dev_config, rendered)
        rt = dev_config.runtimes[0]
        assert scenario.d.prestop_seconds == rt.prestop_seconds
        assert scenario.d.grace_seconds == rt.termination_grace_seconds
        assert (scenario.d.max_surge, scenario.d.max_unavailable) == (1, 0)
        assert scenario.c.prestop_seconds == dev_config.kong.quit_wait_seconds
        assert scenario.c.quit_timeout_seconds == dev_config.kong.quit_timeout_seconds
        assert scenario.kong.retries == dev_config.runtimes[0].kong.retries
        assert scenario.notes == ()

    def test_given_manifest_says_which_tiers_use_defaults(
        self, dev_config: StackConfig, rendered: Path
    ) -> None:
        scenario = _scenario(dev_config, rendered, manifests=[SEED_RT])
        assert any("tiers A, B, C use stack dev's rendering" in note for note in scenario.notes)
        assert any("request timeout not declared" in note for note in scenario.notes)

    def test_no_deployment_is_bad_input(self, tmp_path: Path) -> None:
        path = tmp_path / "svc.yaml"
        path.write_text(yaml.safe_dump({"kind": "Service", "metadata": {"name": "x"}}))
        with pytest.raises(ScenarioInputError, match="found 0"):
            find_deployment(path)

    def test_broken_drains_shorter_than_longest(self, dev_config: StackConfig) -> None:
        longest = dev_config.longest_requests()
        variants = broken_variants(dev_config)
        drain_a, drain_b = variants[RollingTier.a].drain_a, variants[RollingTier.b].drain_b
        assert drain_a is not None
        assert drain_a < longest.a
        assert drain_b is not None
        assert drain_b < longest.b
        assert variants[RollingTier.c].kong_quit_wait == 0


class TestCauses:
    def _logs(self, lines: dict[int, list[LogLine]], b: int = 0) -> Logs:
        logs = Logs(by_request=lines, b_refused=Counter())
        if b:
            logs.b_refused[datetime(2026, 1, 1, 0, 0, 1)] = b
        return logs

    def test_kong_refused(self) -> None:
        line = LogLine(
            "c",
            datetime(2026, 1, 1),
            "connect() failed (111: Connection refused) while connecting to upstream",
        )
        found = attribute({"id": 7, "status": 502, "client_cause": None}, self._logs({7: [line]}))
        assert found is not None
        assert found[0] is Cause.refused
        assert "Kong -> RT" in found[1]

    def test_b_refusal_joined_by_time(self) -> None:
        line = LogLine("a", datetime(2026, 1, 1, 0, 0, 1), "upstream prematurely closed connection")
        logs = self._logs({3: [line]}, b=1)
        found = attribute({"id": 3, "status": 502, "client_cause": None}, logs)
        assert found is not None
        assert found[0] is Cause.refused
        # The one B refusal is used up: the next such failure is a cut.
        again = attribute({"id": 3, "status": 502, "client_cause": None}, logs)
        assert again is not None
        assert again[0] is Cause.cut

    def test_client_view(self) -> None:
        logs = self._logs({})
        assert attribute({"id": 1, "status": 200, "client_cause": None}, logs) is None
        refused = {"id": 2, "status": None, "client_cause": "refused", "error": "x"}
        assert attribute(refused, logs) == (Cause.refused, "client -> A: x")
        too_large = attribute({"id": 3, "status": 413, "client_cause": None}, logs)
        assert too_large is not None
        assert too_large[0] is Cause.too_large


@pytest.fixture(scope="module")
def pair() -> tuple[RunResult, RunResult]:
    """Seed RT and dev RT rolled once each, in parallel (each in its own namespace)."""
    assert os.geteuid() == 0, "the lab needs root for its network namespace (CI runs as root)"
    assert missing_prerequisites() == []
    cfg = load_stack_config(hitless_values("dev"), "dev")
    # nginx's workers (www-data) write temp files there: not under pytest's 0700 tmp.
    build = ROOT / "build" / "test-lab"
    shutil.rmtree(build, ignore_errors=True)
    write_artifacts(run_stack("dev", ROOT, preview=True), build / "dev")
    seed = _scenario(cfg, build / "dev", manifests=[SEED_RT])
    dev = _scenario(cfg, build / "dev")
    seed_result, dev_result = run_all([(seed, build / "seed"), (dev, build / "devd")], jobs=2)
    return seed_result, dev_result


@pytest.mark.lab
class TestLabPair:
    """Seed RT vs dev RT, rolled for real (needs root, nginx, iptables: .ci/run installs them)."""

    def test_seed_rt_refused_at_kong(self, pair: tuple[RunResult, RunResult]) -> None:
        seed, _ = pair
        assert seed.error is None, seed.error
        assert len(seed.requests) > 100
        assert seed.by_cause()["refused"] > 0
        assert any("Kong -> RT" in where for _, where in seed.causes.values())

    def test_dev_rt_hitless(self, pair: tuple[RunResult, RunResult]) -> None:
        _, dev = pair
        assert dev.error is None, dev.error
        assert len(dev.requests) > 100
        assert sum(1 for r in dev.requests if r["kind"] == "upload") > 0
        assert dev.failed == 0, dev.causes

    def test_simulator_beside_the_lab(self, pair: tuple[RunResult, RunResult]) -> None:
        """The simulator's prediction for the same facts and load beside the measured counts.

        Tolerance (docs/timing.md, "Simulator and lab"): a hitless run is 0 in both; a failing
        run fails in both with the same causes, and the counts are within a factor of
        `SIM_LAB_FACTOR` of each other.
        """
        inputs = stack_facts("dev", ROOT)
        for result in pair:
            scenario = result.scenario
            predicted = predict(inputs, scenario, Variant(), rate=20, share=0.05)
            measured = result.by_cause()
            print(f"{scenario.name}: lab {dict(measured)}, simulator {predicted.by_cause}")
            if result.failed == 0:
                assert predicted.failed == 0, (scenario.name, predicted)
                continue
            assert {c for c, n in predicted.by_cause.items() if n} == set(measured)
            low, high = sorted((predicted.failed, float(result.failed)))
            assert high <= SIM_LAB_FACTOR * low, (scenario.name, measured, predicted)


class TestCannotRun:
    def test_missing_root_and_nginx_say_what_to_do(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from typer.testing import CliRunner

        from hitless.cli import app

        real_which = shutil.which
        monkeypatch.setattr(os, "geteuid", lambda: 1000)
        monkeypatch.setattr(
            shutil, "which", lambda name: None if name == "nginx" else real_which(name)
        )
        missing = missing_prerequisites()
        assert any("run it as root" in item for item in missing)
        assert any("apt-get install nginx-light" in item for item in missing)
        result = CliRunner().invoke(app, ["lab", "--stack", "dev", "--tier", "d"])
        assert result.exit_code == 2
        assert "cannot run here" in result.output


class TestMatrixPlan:
    def test_matrix_has_seed_broken_and_upgrade(
        self, dev_config: StackConfig, prod_config: StackConfig, rendered: Path, tmp_path: Path
    ) -> None:
        from hitless.lab.matrix import plan

        build = rendered.parent
        write_artifacts(run_stack("prod", ROOT, preview=True), build / "prod")
        planned = plan(
            {"dev": dev_config, "prod": prod_config},
            build,
            stacks=["dev", "prod"],
            tiers=list(RollingTier),
            runs=1,
            time_scale=5,
            rate=20,
            upload_share=0.05,
            matrix=True,
            seed_manifest=SEED_RT,
        )
        by_name = {p.scenario.name: p for p in planned}
        hitless = [p for p in planned if p.scenario.variant == "hitless"]
        assert len(hitless) == 8
        assert all(p.prediction is not None and p.prediction.failed == 0 for p in hitless)
        seed = by_name["dev D users' original RT (given manifests)"]
        assert seed.scenario.expect_failures
        assert seed.prediction is not None
        assert seed.prediction.by_cause["refused"] > 0
        upgrade = by_name["dev A in-place binary upgrade"]
        assert upgrade.scenario.in_place_upgrade
        assert not upgrade.scenario.expect_failures
        assert upgrade.prediction is None
        broken = [p for p in planned if p.scenario.expect_failures]
        assert {p.scenario.tier for p in broken} == set(RollingTier)
        assert all(str(p.directory).startswith(str(build)) for p in planned)
