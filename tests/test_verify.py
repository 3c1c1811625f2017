"""`hitless verify`: its safety bounds, its classification, and a run against the lab's edge.

The lab run (marker `lab`) rolls the users' original RT Deployment (seed) in the lab's network
namespace while verify loads the lab's edge on loopback: verify must see the failed requests the
lab attributes to refused connections at Kong, and report them second by second.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from hitless.cli import app
from hitless.components.config import load_stack_config
from hitless.lab.causes import Logs, attribute
from hitless.lab.runner import missing_prerequisites
from hitless.lab.scenarios import build_scenario
from hitless.lab.spec import RollingTier
from hitless.program import run_stack
from hitless.render import write_artifacts
from hitless.sim_inputs import stack_facts
from hitless.verify import (
    MAX_RATE,
    OK,
    Measurement,
    Outcome,
    VerifyOptions,
    classify_status,
    predict,
    redirect_target,
    report_lines,
)
from tests.conftest import ROOT, hitless_values

SEED_RT = ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml"


class TestSafety:
    """verify sends real load: only where told, bounded, never to a host it was not given."""

    def test_url_is_required(self) -> None:
        result = CliRunner().invoke(app, ["verify", "--duration", "5"])
        assert result.exit_code == 2
        assert "--url is required" in result.output

    def test_non_http_url_refused(self) -> None:
        result = CliRunner().invoke(app, ["verify", "--url", "file:///etc/passwd"])
        assert result.exit_code == 2
        assert "not an http(s) URL" in result.output

    @pytest.mark.parametrize(
        ("option", "value"), [("--rate", "51"), ("--duration", "1801"), ("--rate", "0")]
    )
    def test_caps(self, option: str, value: str) -> None:
        result = CliRunner().invoke(app, ["verify", "--url", "http://edge.test/", option, value])
        assert result.exit_code == 2, result.output

    def test_model_caps(self) -> None:
        with pytest.raises(ValidationError):
            VerifyOptions(url="http://e/", tier="d", duration_seconds=10, rate=MAX_RATE + 1)

    def test_redirects_to_another_host_are_not_followed(self) -> None:
        assert redirect_target("https://edge.test/a", "/b") == ("https://edge.test/b", True)
        assert redirect_target("https://edge.test/a", "https://evil.test/")[1] is False
        assert redirect_target("https://edge.test/a", "http://edge.test/")[1] is False
        assert redirect_target("https://edge.test/a", "https://edge.test:8443/")[1] is False


class TestReport:
    """The timeline shows which second failed and how; the prediction sits beside it."""

    def test_classes_and_timeline(self, dev_config: object) -> None:
        assert classify_status(200) == OK
        assert classify_status(404) == OK
        assert classify_status(502) == "http-502"
        measured = Measurement(
            outcomes=[
                Outcome(0, "get", OK),
                Outcome(1, "get", "http-502"),
                Outcome(1, "get", "refused"),
                Outcome(2, "upload", OK),
            ],
            seconds=2,
        )
        assert measured.failures() == Counter({"http-502": 1, "refused": 1})
        assert [(s, n) for s, n, _ in measured.timeline()] == [(0, 1), (1, 2), (2, 1)]
        options = VerifyOptions(url="http://e/", tier="d", duration_seconds=3)
        lines = report_lines(measured, options, predict(stack_facts("dev", ROOT), options))
        assert "     1     2  http-502 1, refused 1" in lines
        assert lines[-2] == "measured: 4 requests, 2 failed: http-502 1, refused 1"
        assert lines[-1].startswith("predicted (hitless simulate, seeds 1-3): 0 failed")


@pytest.mark.lab
class TestAgainstTheLab:
    """verify on the lab's edge while the seed RT rolls: it reports the refused requests."""

    def test_seed_rt_failures_seen_by_verify(self) -> None:
        assert os.geteuid() == 0, "the lab needs root for its network namespace (CI runs as root)"
        assert missing_prerequisites() == []
        cfg = load_stack_config(hitless_values("dev"), "dev")
        build = ROOT / "build" / "test-verify"
        shutil.rmtree(build, ignore_errors=True)
        write_artifacts(run_stack("dev", ROOT, preview=True), build / "dev")
        scenario = build_scenario(
            cfg,
            "dev",
            build / "dev",
            RollingTier.d,
            time_scale=5,
            rate=20,
            upload_share=0.0,
            run=1,
            manifests=[SEED_RT],
        )
        run_dir = build / "seed"
        run_dir.mkdir(parents=True)
        run_dir.chmod(0o755)
        spec, out = run_dir / "spec.json", run_dir / "result.json"
        spec.write_text(scenario.model_dump_json())
        subprocess.run(
            [
                "unshare",
                "--net",
                "--pid",
                "--fork",
                "--kill-child",
                "--",
                sys.executable,
                "-m",
                "hitless.lab.verify_run",
                str(spec),
                str(out),
            ],
            env={**os.environ, "HITLESS_LAB_NETNS": "1"},
            cwd=ROOT,
            timeout=600,
            check=False,
        )
        data = json.loads(out.read_text())
        assert "error" not in data, data.get("error")
        outcomes = [Outcome(**o) for o in data["verify"]["outcomes"]]
        measured = Measurement(outcomes=outcomes, seconds=data["verify"]["seconds"])
        assert len(outcomes) > 50
        failed = measured.failures()
        assert sum(failed.values()) > 0, "verify saw no failure while the seed RT rolled"
        # The lab's own requests in the same run: their failures are refused connects at Kong.
        logs = Logs.read(data["lab"]["logs"])
        causes = Counter(
            str(found[0].value)
            for record in data["lab"]["requests"]
            if (found := attribute(record, logs)) is not None
        )
        assert causes["refused"] > 0, causes
        # The failures show in the timeline, in the seconds of the rollout.
        failing_seconds = [s for s, _, f in measured.timeline() if f]
        assert failing_seconds, measured.timeline()
        options = VerifyOptions(url="http://lab/", tier="d", duration_seconds=60)
        report = "\n".join(report_lines(measured, options, None))
        assert f"{sum(failed.values())} failed" in report


def test_lab_driver_is_importable() -> None:
    from hitless.lab import verify_run

    assert verify_run.edge_url().startswith("http://127.11.255.254:80/")
    assert Path(verify_run.__file__).name == "verify_run.py"
