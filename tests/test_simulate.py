"""The simulated rollout (hitless.simulate): the stacks are hitless, the user's RT is not, and why.

Each class is one invariant. Runs are deterministic per seed, so counts are stable; assertions
name the cause, the kind and the backend, not only a count.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hitless import simulate as sim_module
from hitless.cli import app
from hitless.components.config import StackConfig, load_stack_config
from hitless.simulate import (
    ORIGINAL_RT,
    Cause,
    DeploymentOverrides,
    RequestKind,
    Simulation,
    plan_for,
    simulate,
)
from hitless_policy.identity import Tier
from tests.conftest import ROOT, hitless_values

runner = CliRunner()
TIERS = (Tier.A, Tier.B, Tier.C, Tier.D)
DEV = load_stack_config(hitless_values("dev"), "dev")
"""The dev config, for hypothesis tests (which cannot take function-scoped fixtures)."""


def causes(sim: Simulation) -> set[Cause]:
    """The causes of the failed requests."""
    return {item.cause for item in sim.failed if item.cause is not None}


def event_at(sim: Simulation, backend: str, prefix: str) -> float:
    """When `backend`'s event starting with `prefix` happened."""
    return next(e.at for e in sim.events if e.backend == backend and e.what.startswith(prefix))


class TestCheckedInStacksAreHitless:
    """With dev and prod, rolling any tier fails no request: GETs and 50 MiB uploads alike."""

    @pytest.mark.parametrize("tier", TIERS)
    def test_no_failed_request(self, stack_config: StackConfig, tier: Tier) -> None:
        sim = simulate(stack_config, tier, rate=20, upload_share=0.2, seed=3)
        counts = sim.counts()
        assert counts[RequestKind.get]["requests"] > 0, tier
        assert counts[RequestKind.upload]["requests"] > 0, tier
        assert not sim.failed, (tier, sim.failed[:3])

    @pytest.mark.parametrize("tier", TIERS)
    def test_every_old_backend_replaced(self, stack_config: StackConfig, tier: Tier) -> None:
        sim = simulate(stack_config, tier)
        plan = sim.plan
        created = [e for e in sim.events if e.what == f"{plan.unit} created"]
        gone = [e for e in sim.events if e.what.startswith(("killed", "deleted"))]
        assert len(created) == len(gone) == plan.replicas, tier
        assert sim.events[-1].what.startswith("rollout complete"), tier


class TestOriginalRtFails:
    """The user's RT (maxUnavailable 1, no preStop, grace 30) refuses connections and cuts uploads.

    No preStop: the pod closes its listener at Terminating while kube-proxy still sends it new
    connections for the propagation lag, so Kong's tries can all land on it (refused). Grace 30 s
    is shorter than D's longest request (30.4 s on dev), so an upload accepted just before
    Terminating is killed mid-flight (cut).
    """

    @pytest.fixture
    def sim(self, dev_config: StackConfig) -> Simulation:
        return simulate(
            dev_config, Tier.D, rate=20, upload_share=0.5, seed=1, overrides=ORIGINAL_RT
        )

    def test_plan_is_the_original(self, dev_config: StackConfig) -> None:
        plan = plan_for(dev_config, Tier.D, ORIGINAL_RT)
        assert (plan.replicas, plan.max_surge, plan.max_unavailable) == (2, 2, 1)
        assert plan.stops_accepting == 0
        assert plan.killed == 30
        assert plan.retries == 5

    def test_refused_while_still_routed(self, sim: Simulation) -> None:
        refused = [item for item in sim.failed if item.cause is Cause.refused]
        assert refused
        for item in refused:
            assert item.backend is not None, item
            start = event_at(sim, item.backend, "Terminating")
            out = event_at(sim, item.backend, "out of rotation")
            assert start <= item.arrived < out, item
            assert "stopped accepting" in item.detail, item
            assert item.tries == 1 + sim.plan.retries, item  # every try was refused

    def test_uploads_cut_at_grace(self, sim: Simulation) -> None:
        cut = [item for item in sim.failed if item.cause is Cause.cut]
        assert cut
        longest_d = sim.plan.held[RequestKind.upload]
        for item in cut:
            assert item.kind is RequestKind.upload, item
            assert item.backend is not None
            assert item.ended == event_at(sim, item.backend, "killed"), item
            assert item.ended - item.arrived < longest_d, item

    def test_only_refused_and_cut(self, sim: Simulation) -> None:
        assert causes(sim) == {Cause.refused, Cause.cut}


class TestRetriesAndPrestopTurnRefusedIntoOk:
    """Without Kong retries and preStop, requests are refused; retries 2 plus a preStop that covers
    propagation (the stack's) make the same traffic all ok."""

    def test_refused_then_ok(self, dev_config: StackConfig) -> None:
        bare = simulate(
            dev_config, Tier.D, seed=4, overrides=DeploymentOverrides(retries=0, prestop_seconds=0)
        )
        assert bare.failed
        assert causes(bare) == {Cause.refused}
        assert all(item.tries == 1 for item in bare.failed)

        assert (
            dev_config.runtimes[0].prestop_seconds
            >= dev_config.profile.endpoint_propagation_seconds
        )
        fixed = simulate(dev_config, Tier.D, seed=4, overrides=DeploymentOverrides(retries=2))
        assert not fixed.failed
        by_id = {item.id: item for item in fixed.requests}
        for item in bare.failed:
            assert by_id[item.id].ok, item

    def test_retries_alone_leave_refusals(self, dev_config: StackConfig) -> None:
        """Retries re-pick through kube-proxy, which may pick the refusing pod again."""
        sim = simulate(
            dev_config,
            Tier.D,
            rate=50,
            seed=4,
            overrides=DeploymentOverrides(retries=2, prestop_seconds=0),
        )
        assert causes(sim) == {Cause.refused}


class TestDeterministic:
    """The same seed gives the same run; another seed other arrivals."""

    @pytest.mark.parametrize("tier", [Tier.B, Tier.D])
    def test_same_seed_same_result(self, dev_config: StackConfig, tier: Tier) -> None:
        one = simulate(dev_config, tier, seed=7, overrides=None)
        two = simulate(dev_config, tier, seed=7, overrides=None)
        assert one.to_json() == two.to_json()

    def test_other_seed_other_arrivals(self, dev_config: StackConfig) -> None:
        one = simulate(dev_config, Tier.D, seed=1)
        two = simulate(dev_config, Tier.D, seed=2)
        assert [r.arrived for r in one.requests] != [r.arrived for r in two.requests]

    def test_failures_reproduce(self, dev_config: StackConfig) -> None:
        one = simulate(dev_config, Tier.D, seed=5, overrides=ORIGINAL_RT)
        two = simulate(dev_config, Tier.D, seed=5, overrides=ORIGINAL_RT)
        assert one.failed == two.failed
        assert one.failed


class TestShortMigDrainCutsUploads:
    """A MIG whose LB draining is shorter than A's longest request cuts uploads at deletion.

    The config model refuses such a stack, so the test edits a validated one (model_copy skips
    validation on purpose).
    """

    def test_uploads_cut_gets_fine(self, dev_config: StackConfig) -> None:
        longest_a = dev_config.longest_requests().a
        drain = math.floor(longest_a) - 20
        edge = dev_config.edge.model_copy(update={"connection_draining_timeout_sec": drain})
        cfg = dev_config.model_copy(update={"edge": edge})
        sim = simulate(cfg, Tier.A, upload_share=0.2, seed=2)
        assert sim.failed
        assert causes(sim) == {Cause.cut}
        for item in sim.failed:
            assert item.kind is RequestKind.upload, item
            assert item.backend is not None, item
            assert item.backend.startswith("edge-old-"), item
            assert item.ended == event_at(sim, item.backend, "deleted"), item
        assert sim.counts()[RequestKind.get]["failed"] == 0

    def test_stack_drain_is_enough(self, dev_config: StackConfig) -> None:
        assert dev_config.edge.connection_draining_timeout_sec >= dev_config.longest_requests().a
        assert not simulate(dev_config, Tier.A, upload_share=0.2, seed=2).failed


class TestConnectStallsTimeOut:
    """A killed pod still listed by kube-proxy stalls Kong's try for its connect timeout; with
    Kong's default 60 s that outlasts A's proxy_read_timeout (design §1's settings)."""

    def test_timeout_cause(self, dev_config: StackConfig) -> None:
        rt = dev_config.runtimes[0]
        route = rt.kong.model_copy(update={"connect_timeout_ms": 60_000})
        # A's read timeout below two stalled tries (2 x 60 s), as the user's chain had it.
        edge = dev_config.edge.model_copy(update={"proxy_read_timeout_seconds": 90})
        runtimes = [rt.model_copy(update={"kong": route})]
        cfg = dev_config.model_copy(update={"runtimes": runtimes, "edge": edge})
        grace = math.floor(dev_config.profile.endpoint_propagation_seconds) // 2
        sim = simulate(
            cfg,
            Tier.D,
            upload_share=0.3,
            seed=1,
            overrides=DeploymentOverrides(prestop_seconds=0, termination_grace_seconds=grace),
        )
        timeouts = [item for item in sim.failed if item.cause is Cause.timeout]
        assert timeouts
        for item in timeouts:
            assert "A proxy_read_timeout" in item.detail, item
            assert item.tries >= 2, item


class TestGraceNeverHurts:
    """A longer grace period never fails a request a shorter one let through."""

    @settings(max_examples=12, deadline=None)
    @given(st.integers(min_value=10, max_value=90), st.integers(min_value=0, max_value=60))
    def test_failures_shrink(self, shorter: int, extra: int) -> None:
        cfg = DEV
        assert shorter >= cfg.profile.endpoint_propagation_seconds  # no killed pod still routed
        runs = [
            simulate(
                cfg,
                Tier.D,
                rate=5,
                upload_share=0.5,
                seed=11,
                overrides=DeploymentOverrides(
                    prestop_seconds=0, retries=0, termination_grace_seconds=grace
                ),
            )
            for grace in (shorter, shorter + extra)
        ]
        short_failed = {item.id for item in runs[0].failed}
        long_failed = {item.id for item in runs[1].failed}
        assert long_failed <= short_failed


class TestBounded:
    """A run stops at the cap on requests and says so."""

    def test_cap(self, dev_config: StackConfig, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(sim_module, "MAX_REQUESTS", 50)
        sim = simulate(dev_config, Tier.D)
        assert len(sim.requests) == 50
        assert sim.truncated

    def test_bad_inputs(self, dev_config: StackConfig) -> None:
        with pytest.raises(ValueError, match="rate"):
            simulate(dev_config, Tier.D, rate=0)
        with pytest.raises(ValueError, match="upload_share"):
            simulate(dev_config, Tier.D, upload_share=1.5)
        with pytest.raises(ValueError, match="Deployments"):
            simulate(dev_config, Tier.A, overrides=ORIGINAL_RT)


class TestCli:
    """`hitless simulate` prints the summary, exits 0 when hitless, and emits parseable JSON."""

    def test_dev_tier_d(self) -> None:
        result = runner.invoke(
            app, ["simulate", "--stack", "dev", "--tier", "d", "--root", str(ROOT)]
        )
        assert result.exit_code == 0, result.output
        assert "requests during the rollout" in result.output
        assert "hitless" in result.output
        assert "failures by cause" in result.output
        assert "rollout complete" in result.output

    def test_json(self) -> None:
        result = runner.invoke(
            app,
            ["simulate", "-s", "prod", "-t", "c", "--format", "json", "--root", str(ROOT)],
        )
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        assert doc["tier"] == "c"
        assert doc["summary"]["failed"] == 0
        assert len(doc["requests"]) == doc["summary"]["requests"]
        assert {r["outcome"] for r in doc["requests"]} == {"ok"}
        assert doc["events"][-1]["what"].startswith("rollout complete")

    def test_bad_tier(self) -> None:
        result = runner.invoke(app, ["simulate", "--tier", "e", "--root", str(ROOT)])
        assert result.exit_code == 2

    def test_failing_run_exits_1(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A run with failed requests exits 1 (here: the user's RT replayed through the CLI)."""
        real = sim_module.simulate

        def original(*args: object, **kwargs: object) -> Simulation:
            return real(*args, **{**kwargs, "overrides": ORIGINAL_RT})  # type: ignore[arg-type]

        monkeypatch.setattr(sim_module, "simulate", original)
        result = runner.invoke(app, ["simulate", "--tier", "d", "--root", str(ROOT)])
        assert result.exit_code == 1, result.output
        assert "failed requests" in result.output
