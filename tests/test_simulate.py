"""The simulator, driven by extracted facts: checked-in stacks, a manifest-only input, pooled
connections, retries, no truncation, the trace, and the command line."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from typer.testing import CliRunner

from hitless import simulate as sim_module
from hitless.cli import app
from hitless.lab.matrix import _replace_drain
from hitless.sim_inputs import (
    SimInputs,
    SimulationInputError,
    chain_model,
    file_facts,
    stack_facts,
    tier_model,
)
from hitless.simulate import (
    Cause,
    Simulation,
    simulate_facts,
    simulate_model,
    simulate_nodes,
    summarize,
)
from hitless.trace import Generation, PhaseName
from hitless_policy.facts import Deployment, Facts
from hitless_policy.identity import Tier
from tests.conftest import ROOT

SEED_RT = ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def dev() -> SimInputs:
    """The dev stack's facts (rendered under mocks, as `preview` does)."""
    return stack_facts("dev", ROOT)


@pytest.fixture(scope="module")
def prod() -> SimInputs:
    """The prod stack's facts."""
    return stack_facts("prod", ROOT)


def roll(inputs: SimInputs, tier: str, **kwargs: object) -> Simulation:
    return simulate_facts(inputs.facts, tier, config=inputs.config, **kwargs)  # type: ignore[arg-type]


class TestCheckedInStacksAreHitless:
    """Every tier of dev and prod, read from the rendered resources' facts, fails no request."""

    @pytest.mark.parametrize("tier", ["a", "b", "c", "d"])
    @pytest.mark.parametrize("seed", [1, 2])
    def test_no_failed_request(self, dev: SimInputs, prod: SimInputs, tier: str, seed: int) -> None:
        for inputs in (dev, prod):
            sim = roll(inputs, tier, seed=seed)
            assert sim.requests, (inputs.source, tier)
            assert not sim.failed, (inputs.source, tier, sim.failed[:3])

    @pytest.mark.parametrize("tier", ["a", "b", "c", "d"])
    def test_every_old_backend_replaced(self, dev: SimInputs, tier: str) -> None:
        sim = roll(dev, tier)
        lives = sim.trace.backends
        old = [b for b in lives if b.generation is Generation.OLD]
        new = [b for b in lives if b.generation is Generation.NEW]
        assert len(old) == len(new) == sim.model.replicas
        assert all(b.phases[-1].name is PhaseName.KILLED for b in old)
        assert all(b.phases[-1].name is PhaseName.IN_ROTATION for b in new)


class TestManifestOnly:
    """The users' original RT manifest alone simulates; A, B and C come from the stack."""

    def test_seed_rt_refused_and_defaulted(self, dev: SimInputs) -> None:
        inputs = file_facts([SEED_RT], None, None, None, dev)
        assert inputs.defaulted == ("a", "b", "c")
        assert str(SEED_RT) in inputs.source
        sim = simulate_facts(inputs.facts, "d", config=inputs.config, source=inputs.source)
        assert sim.model.max_unavailable == 1  # the manifest's, not the stack's
        assert sim.by_cause()[Cause.refused] > 0
        refused = next(r for r in sim.failed if r.cause is Cause.refused)
        assert refused.failed_at == "d"


def _without_probes(inputs: SimInputs, *, startup: bool) -> Facts:
    """The runtime's serving container without its readiness probe (and, unless `startup`, its
    startup probe)."""
    deployments: list[Deployment] = []
    for original in inputs.facts.deployments:
        dep = original
        main = dep.main_container()
        if dep.place.tier is Tier.D and main is not None and isinstance(dep.containers, list):
            bare = dataclasses.replace(
                main, readiness=None, startup=main.startup if startup else None
            )
            dep = dataclasses.replace(
                dep, containers=[bare if c is main else c for c in dep.containers]
            )
        deployments.append(dep)
    return dataclasses.replace(inputs.facts, deployments=deployments, _index={})


class TestReadyWithoutProbe:
    """A container without a readiness probe is Ready once started (Kubernetes' default state
    Success): the runtime's pod joins the endpoints before its app listens, and connections Kong
    opens to it are refused until it does."""

    def test_refused_before_the_app_listens(self, dev: SimInputs) -> None:
        facts = _without_probes(dev, startup=False)
        sim = simulate_facts(facts, "d", config=dev.config, seed=1)
        assert sim.model.ready_at_start
        listens = {e.backend: e.at for e in sim.events if e.what.startswith("its app listens")}
        refused = [r for r in sim.failed if r.cause is Cause.refused]
        assert refused, "rt without a readiness probe: no refusal"
        for r in refused:
            assert r.backend in listens, r
            assert r.ended < listens[r.backend], r
            assert r.tries == sim.model.retries + 1, r  # Kong's retries were refused too
            assert "no readiness probe" in r.detail, r

    def test_startup_probe_holds_readiness(self, dev: SimInputs) -> None:
        facts = _without_probes(dev, startup=True)
        for seed in (1, 2):
            sim = simulate_facts(facts, "d", config=dev.config, seed=seed)
            assert sim.model.ready_at_start
            assert sim.failed == (), "rt with a startup probe refused requests"

    def test_probe_present_is_not_ready_at_start(self, dev: SimInputs) -> None:
        assert not roll(dev, "d").model.ready_at_start
        assert not roll(dev, "a").model.ready_at_start


class TestPooledFlows:
    """A pools its connections to B: a B drain shorter than the LB lag refuses far fewer requests
    than if every request opened a new connection (the lab measured 1, not 21)."""

    def test_pooling_spares_refusals(self, dev: SimInputs) -> None:
        facts = _replace_drain(dev.facts, Tier.B, 15)
        pooled = tier_model(facts, dev.config, Tier.B)
        assert pooled.pooling.enabled
        unpooled = dataclasses.replace(
            pooled, pooling=dataclasses.replace(pooled.pooling, enabled=False)
        )
        chain = chain_model(facts, dev.config, None)
        with_pool = [simulate_model(pooled, chain, seed=s).by_cause()["refused"] for s in (1, 2)]
        without = [simulate_model(unpooled, chain, seed=s).by_cause()["refused"] for s in (1, 2)]
        assert sum(without) > 2 * sum(with_pool)

    def test_short_drain_cuts_uploads(self, dev: SimInputs) -> None:
        facts = _replace_drain(dev.facts, Tier.B, 15)
        sim = simulate_facts(facts, "b", config=dev.config, seed=1)
        cut = [r for r in sim.failed if r.cause is Cause.cut]
        assert cut
        assert all(r.failed_at == "b" for r in cut)


class TestKongRetries:
    """Kong retries connect failures for any method: without retries the seed RT refuses more."""

    def test_retries_spare_requests(self, dev: SimInputs) -> None:
        inputs = file_facts([SEED_RT], None, None, None, dev)
        model = tier_model(inputs.facts, inputs.config, Tier.D)
        chain = chain_model(inputs.facts, inputs.config, None)
        none = dataclasses.replace(model, retries=0)
        with_retries = simulate_model(model, chain, seed=3).by_cause()["refused"]
        without = simulate_model(none, chain, seed=3).by_cause()["refused"]
        assert model.retries > 0
        assert without > with_retries


class TestNodePoolUpgrade:
    """A GKE surge upgrade drains nodes under the PDBs: evictions are terminations, and the next
    pod of a Deployment goes only once its PDB allows it."""

    def test_checked_in_stacks_hitless(self, dev: SimInputs, prod: SimInputs) -> None:
        for inputs in (dev, prod):
            sim = simulate_nodes(inputs.facts, config=inputs.config, seed=1)
            assert sim.tier == "nodes"
            assert sim.trace.tier == "nodes"
            assert sim.requests
            assert not sim.failed, (inputs.source, sim.failed[:3])

    def test_every_pod_replaced(self, dev: SimInputs) -> None:
        sim = simulate_nodes(dev.facts, config=dev.config, seed=1)
        old = [b for b in sim.trace.backends if b.generation is Generation.OLD]
        new = [b for b in sim.trace.backends if b.generation is Generation.NEW]
        assert len(old) == len(new) == 4  # 2 Kong + 2 RT pods
        assert all(b.phases[-1].name is PhaseName.KILLED for b in old)

    def test_pdb_holds_evictions(self, dev: SimInputs) -> None:
        """Both runtime pods on one node: with maxUnavailable 1 the second is evicted only once
        the first one's replacement is ready."""
        pool = dev.facts.node_pools[0]
        one_node = dataclasses.replace(
            dev.facts, node_pools=[dataclasses.replace(pool, min_nodes_per_zone=1)], _index={}
        )
        sim = simulate_nodes(one_node, config=dev.config, seed=2)
        starts = sorted(
            e.at for e in sim.events if e.backend.startswith("rt-old") and "termination" in e.what
        )
        ready = sorted(
            e.at for e in sim.events if e.backend.startswith("rt-new") and "ready" in e.what
        )
        assert len(starts) == 2
        assert starts[1] >= ready[0] > starts[0]


class TestLoadCoversTheRollout:
    """No silent truncation: arrivals reach the rollout's end, or the run is refused."""

    def test_last_arrival_near_the_end(self, dev: SimInputs) -> None:
        sim = roll(dev, "d", rate=50)
        last = max(r.arrived for r in sim.requests)
        assert sim.rollout_seconds - last < 1.0

    def test_too_many_requests_refused(
        self, dev: SimInputs, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(sim_module, "MAX_REQUESTS", 1000)
        with pytest.raises(SimulationInputError, match="lower --rate"):
            roll(dev, "d", rate=20)


class TestTrace:
    def test_one_sample_per_second(self, dev: SimInputs) -> None:
        sim = roll(dev, "c")
        trace = sim.trace
        assert trace.tier == "c"
        assert trace.rollout_start == pytest.approx(sim.lead_in)
        assert trace.rollout_end == pytest.approx(sim.lead_in + sim.rollout_seconds)
        assert [s.at for s in trace.samples] == [float(n) for n in range(len(trace.samples))]
        assert len(trace.samples) >= math.ceil(trace.rollout_end)
        assert max(s.in_flight for s in trace.samples) > 0
        assert min(s.serving for s in trace.samples if s.at >= trace.rollout_start) == (
            sim.min_serving
        )

    def test_failures_in_samples(self, dev: SimInputs) -> None:
        inputs = file_facts([SEED_RT], None, None, None, dev)
        sim = simulate_facts(inputs.facts, "d", config=inputs.config)
        assert sum(s.failed for s in sim.trace.samples) == len(sim.failed)
        assert dict(sim.trace.failures_by_cause) == dict(sim.by_cause())


class TestDeterministic:
    def test_same_seed_same_result(self, dev: SimInputs) -> None:
        assert roll(dev, "d", seed=4).requests == roll(dev, "d", seed=4).requests

    def test_summary_over_seeds(self, dev: SimInputs) -> None:
        inputs = file_facts([SEED_RT], None, None, None, dev)
        sims = [simulate_facts(inputs.facts, "d", config=inputs.config, seed=s) for s in (1, 2, 3)]
        summary = summarize(sims)
        counts = sorted(float(len(s.failed)) for s in sims)
        assert summary.failed.max == counts[-1]
        assert summary.failed.p50 == counts[1]
        assert summary.runs == 3


class TestCli:
    def test_all_tiers_json(self) -> None:
        result = runner.invoke(
            app, ["simulate", "--root", str(ROOT), "--tier", "all", "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert [t["summary"]["tier"] for t in data["tiers"]] == ["a", "b", "c", "d", "nodes"]
        assert all(t["summary"]["failed"]["max"] == 0 for t in data["tiers"])

    def test_manifest_fails_and_says_what_was_defaulted(self) -> None:
        result = runner.invoke(
            app, ["simulate", "--root", str(ROOT), "-f", str(SEED_RT), "--runs", "2"]
        )
        assert result.exit_code == 1, result.output
        assert "tiers A, B, C not given" in result.output

    def test_unknown_runtime_is_bad_input(self) -> None:
        result = runner.invoke(app, ["simulate", "--root", str(ROOT), "--runtime", "nope"])
        assert result.exit_code == 2
        assert "--runtime nope: no such runtime Deployment" in result.output

    def test_missing_file_is_bad_input(self) -> None:
        result = runner.invoke(app, ["simulate", "--root", str(ROOT), "-f", "missing.yaml"])
        assert result.exit_code == 2
