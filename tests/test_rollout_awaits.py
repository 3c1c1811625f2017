"""`pulumi up` awaits every rollout it starts for at least the rollout's worst case.

The stack config sizes each await from the formulas of `hitless_policy.budget`; the components
set it as the `custom_timeouts` resource option (and MIGs wait for UPDATED); the mock harness
records the options as the engine hands them to policies; the pack judges them.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from hitless.check import run_check
from hitless.components.chain import compose_chain
from hitless.components.config import StackConfig, StackConfigError, load_stack_config
from hitless.explain import explain, to_markdown
from hitless.harness import Capture, duration_seconds
from hitless.program import judge_capture, run_stack
from hitless.report import rollout_settings
from hitless.sim_inputs import SimInputs, stack_facts
from hitless.simulate import simulate_facts
from hitless_policy import budget
from hitless_policy.extract.k8s import DEPLOYMENT_AWAIT_DEFAULT_SECONDS
from hitless_policy.identity import Tier
from hitless_policy.profile import PackConfig
from tests.conftest import ROOT, hitless_values
from tests.test_wrong_stacks import unchecked

Runner = Callable[..., Capture]
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NODE_POOL = "gcp:container/nodePool:NodePool"
AWAIT_RULES = {
    "deployment-await-covers-rollout",
    "node-pool-timeout-covers-upgrade",
    "mig-update-awaited",
}


class TestAwaitsCoverTheRollouts:
    """Every derived await covers its rollout's worst case plus margin, in whole minutes."""

    def test_each_await_holds(self, stack_config: StackConfig) -> None:
        awaits = stack_config.rollout_awaits()
        assert {item.entry.id for item in awaits} == {
            "a-mig-await",
            "b-mig-await",
            "kong-await",
            "rt-await",
            "node-pool-await",
        }
        for item in awaits:
            assert item.status == "pass", item
            assert item.value is not None, item
            assert item.value % 60 == 0, item
            assert item.bound is not None, item
            assert item.duration is not None, item
            assert item.bound >= item.duration + stack_config.thresholds.margin_seconds, item

    def test_prod_runtime_at_hpa_max(self, prod_config: StackConfig) -> None:
        (rt,) = [
            item
            for item in prod_config.rollout_awaits()
            if item.entry.id == "rt-await" and item.where == "rt"
        ]
        assert rt.duration == 12 * (192 + 75)
        assert rt.value == 3240
        assert prod_config.await_timeout("runtimes.rt") == 3240
        expl = explain(prod_config, "prod")
        (row,) = [
            item
            for item in expl.awaits
            if item.entry == "rt-await" and item.key == "runtimes.0.await_timeout_seconds"
        ]
        assert "12 pods (HPA maximum) in 12 batches of maxSurge 1" in row.basis

    def test_unknown_key(self, dev_config: StackConfig) -> None:
        with pytest.raises(KeyError, match="no rollout with key 'nope'"):
            dev_config.await_timeout("nope")


class TestConfigModelRefusesShortAwaits:
    """An await set in the stack that a healthy rollout outlasts is refused, with its key."""

    def test_prod_runtime_with_the_default_await(self) -> None:
        """prod's RT at HPA max 12 awaited for pulumi-kubernetes' default 10 minutes."""
        values: dict[str, Any] = copy.deepcopy(hitless_values("prod"))
        assert values["runtimes"][0]["autoscaling"]["max_replicas"] == 12
        values["runtimes"][0]["await_timeout_seconds"] = DEPLOYMENT_AWAIT_DEFAULT_SECONDS
        with pytest.raises(
            StackConfigError,
            match=re.escape(
                "hitless:runtimes.0.await_timeout_seconds = 600: runtime 'rt': `pulumi up` gives up"
            ),
        ) as error:
            load_stack_config(values, "prod")
        assert "(must be >= 3219: worst-case rollout 3204 s: 12 pods" in str(error.value)
        assert "Fix: raise it to >= 3219, or remove it" in str(error.value)

    def test_long_enough_value_is_used(self) -> None:
        values: dict[str, Any] = copy.deepcopy(hitless_values("prod"))
        values["kong"]["await_timeout_seconds"] = 7200
        cfg = load_stack_config(values, "prod")
        assert cfg.await_timeout("kong") == 7200

    def test_mig_await_is_settable_and_judged(self) -> None:
        values: dict[str, Any] = copy.deepcopy(hitless_values("dev"))
        values["relay"]["mig"]["await_timeout_seconds"] = 3600
        assert load_stack_config(values, "dev").await_timeout("relay.mig") == 3600
        values["relay"]["mig"]["await_timeout_seconds"] = 300
        with pytest.raises(
            StackConfigError,
            match=re.escape("hitless:relay.mig.await_timeout_seconds = 300: `pulumi up` gives up"),
        ) as error:
            load_stack_config(values, "dev")
        assert "worst-case rolling replacement 860 s: 2 instances" in str(error.value)


class TestPackFailsTheWrongProdStack:
    """The same wrong prod stack, composed without the config model's check, fails the pack."""

    def test_fails_deployment_await(self, capture: Runner) -> None:
        cfg = unchecked(
            "prod", "runtimes.0.await_timeout_seconds", DEPLOYMENT_AWAIT_DEFAULT_SECONDS
        )
        cap = capture(lambda: compose_chain(cfg), stack="prod", preview=True)
        verdicts = judge_capture(cap, PackConfig(profile=cfg.profile, thresholds=cfg.thresholds))
        fails = [v for v in verdicts if v.status == "fail" and v.level == "mandatory"]
        assert {v.rule for v in fails} == {"deployment-await-covers-rollout"}
        (found,) = fails
        assert found.resource.endswith("::main-rt-deployment")
        assert "customTimeouts.update 600 s (customTimeouts.update): `pulumi up` gives up" in (
            found.message
        )
        assert "(must be >= 3219: worst-case rollout 3204 s" in found.message
        assert "Fix: raise customTimeouts.update to >= 3219s" in found.message


class TestHarnessRecordsResourceOptions:
    """The captured resources carry their custom timeouts, as the engine gives them to policies."""

    def test_deployments_and_pools(self, stack_name: str, stack_config: StackConfig) -> None:
        cap = run_stack(stack_name, ROOT)
        for name, key in (("main-rt-deployment", "runtimes.rt"), ("main-kong-deployment", "kong")):
            dep = cap.named(name, DEPLOYMENT)
            want = stack_config.await_timeout(key)
            assert dep.custom_timeouts.create_seconds == want, dep.urn
            assert dep.custom_timeouts.update_seconds == want, dep.urn
            assert dep.props["spec"]["progressDeadlineSeconds"] < want, dep.urn
            assert f"await={want}s" in rollout_settings(dep), dep.urn
        for pool in cap.of_type(NODE_POOL):
            key = f"cluster.node_pools.{pool.name.removeprefix('main-gke-')}"
            assert pool.custom_timeouts.update_seconds == stack_config.await_timeout(key)

    def test_resources_json_shape(self) -> None:
        cap = run_stack("dev", ROOT)
        data = json.loads(cap.to_json())
        (rt,) = [r for r in data if r["name"] == "main-rt-deployment"]
        assert set(rt["opts"]["custom_timeouts"]) == {
            "create_seconds",
            "update_seconds",
            "delete_seconds",
        }
        (ns,) = [r for r in data if r["name"] == "main-rt-namespace"]
        assert ns["opts"]["custom_timeouts"] == {
            "create_seconds": 0,
            "update_seconds": 0,
            "delete_seconds": 0,
        }


class TestDurationStrings:
    """Go duration strings as the SDK sends them, in seconds as the engine passes them on."""

    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("", 0), ("3240s", 3240), ("5m", 300), ("1h30m", 5400), ("1.5h", 5400), ("250ms", 0.25)],
    )
    def test_parses(self, text: str, seconds: float) -> None:
        assert duration_seconds(text) == pytest.approx(seconds)

    @pytest.mark.parametrize("text", ["5", "m5", "5 m", "1d"])
    def test_rejects(self, text: str) -> None:
        with pytest.raises(ValueError, match="invalid duration"):
            duration_seconds(text)


class TestCheckOnManifestsDoesNotJudgeAwaits:
    """`hitless check` reads manifests, which carry no resource options: not judged, noted."""

    def test_seed_manifest(self) -> None:
        seed = ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml"
        verdicts = [v for v in run_check([seed], None, None, None) if v.rule in AWAIT_RULES]
        assert [(v.rule, v.status) for v in verdicts] == [
            ("deployment-await-covers-rollout", "not-judged")
        ]
        assert "no resource options" in verdicts[0].message
        assert "customTimeouts" in verdicts[0].message


class TestExplainShowsAwaits:
    """`hitless explain` lists each rollout's worst case beside the await covering it."""

    def test_rows(self, stack_name: str, stack_config: StackConfig) -> None:
        expl = explain(stack_config, stack_name)
        keys = [item.key for item in expl.awaits]
        assert keys == [
            "edge.mig.await_timeout_seconds",
            "relay.mig.await_timeout_seconds",
            "kong.await_timeout_seconds",
            *(f"runtimes.{i}.await_timeout_seconds" for i in range(len(stack_config.runtimes))),
            *(f"cluster.node_pools.{pool.name}" for pool in stack_config.cluster.node_pools),
        ]
        assert all(item.holds for item in expl.awaits)
        assert not expl.violated

    def test_markdown(self, prod_config: StackConfig) -> None:
        text = to_markdown(explain(prod_config, "prod"))
        assert "## Rollout durations and the awaits that cover them" in text
        assert (
            "| D: runtime Deployment rollout: `pulumi up` await (rt) (worst case 3204 s) | "
            "`hitless:runtimes.0.await_timeout_seconds` | 3240 | >= | 3219 |"
        ) in text


@pytest.fixture(scope="module", params=["dev", "prod"])
def inputs(request: pytest.FixtureRequest) -> SimInputs:
    """A checked-in stack's facts."""
    return stack_facts(str(request.param), ROOT)


class TestSimulatorEndsWithinTheWorstCase:
    """The simulator models the rollout controllers from the mechanisms (drawn start times,
    probe phases and lags); its rollout of each tier, read from the stack's facts, ends within
    the budget's worst case for the same inputs plus the routers' lag (the simulated rollout ends
    when the last new backend is in rotation, the budget's when it is available)."""

    @pytest.mark.parametrize("tier", [Tier.A, Tier.B, Tier.C, Tier.D], ids=["a", "b", "c", "d"])
    def test_within(self, inputs: SimInputs, tier: Tier) -> None:
        sim = simulate_facts(inputs.facts, tier, config=inputs.config)
        m = sim.model
        t = inputs.config.thresholds
        if tier in (Tier.C, Tier.D):
            available = budget.worst_time_to_available(
                m.readiness, m.startup, int(m.min_ready_seconds), m.start_max_seconds
            )
            worst = budget.deployment_rollout_seconds(
                m.replicas, m.max_surge, m.max_unavailable, available, m.killed_after_seconds
            )
        else:
            healthy = m.readiness.worst_time_to_pass(m.start_max_seconds)
            worst = budget.mig_update_seconds(
                m.replicas,
                max_surge=m.max_surge,
                max_unavailable=m.max_unavailable,
                time_to_healthy=healthy,
                min_ready_seconds=m.min_ready_seconds,
                drain_seconds=m.killed_after_seconds,
                shutdown_seconds=t.mig_shutdown_seconds,
            )
        lag = max(m.lag_max_seconds)
        assert 0 < sim.rollout_seconds <= worst + lag, (tier, sim.rollout_seconds, worst)
