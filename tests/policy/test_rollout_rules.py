"""The rollout-await rules: `pulumi up` must outlast the rollouts it starts.

The fixtures are the policy baseline plus what these rules read besides props: each resource's
`custom_timeouts` option (as the engine passes it), a MIG's size and await flags, a node pool's
zones and autoscaling bounds.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from hitless_policy import budget
from hitless_policy.extract import ResourceInput, collect_facts
from hitless_policy.facts import CustomTimeouts, Probe, sure
from hitless_policy.pack import policies
from hitless_policy.profile import PackConfig
from hitless_policy.rules import rule
from hitless_policy.rules.rollout import AUTOHEALING_ROLE
from hitless_policy.runner import Verdict, judge
from tests.policy.baseline import CHAIN, props, resources, urn

Resources = dict[str, tuple[str, dict[str, Any]]]

UNSET = CustomTimeouts(0, 0, 0)
"""No customTimeouts option: the provider's default applies."""
GENEROUS = {
    "kong": CustomTimeouts(7200, 7200, 0),
    "rt": CustomTimeouts(7200, 7200, 0),
    "pool": CustomTimeouts(0, 86400, 86400),
    "a-mig": CustomTimeouts(3600, 3600, 0),
    "b-mig": CustomTimeouts(3600, 3600, 0),
}
"""Timeouts that cover every baseline rollout."""
ZONES = ["europe-west1-b", "europe-west1-c", "europe-west1-d"]


def baseline() -> Resources:
    """The policy baseline with the fields these rules read besides resource options."""
    res = copy.deepcopy(resources())
    for name in ("a-mig", "b-mig"):
        props(res, name).update(
            targetSize=3, waitForInstances=True, waitForInstancesStatus="UPDATED"
        )
    props(res, "pool").update(
        nodeLocations=list(ZONES), autoscaling={"minNodeCount": 1, "maxNodeCount": 3}
    )
    for tier in ("a", "b"):
        res[f"{tier}-heal"] = (
            "gcp:compute/healthCheck:HealthCheck",
            {
                "name": f"hc-{tier}-heal",
                "description": f"[hitless chain={CHAIN} tier={tier} role={AUTOHEALING_ROLE}] test",
                "checkIntervalSec": 10,
                "timeoutSec": 5,
                "healthyThreshold": 2,
                "unhealthyThreshold": 6,
            },
        )
    return res


def rollout_inputs(
    mutate: Callable[[Resources], object] | None = None,
    timeouts: dict[str, CustomTimeouts] | None = None,
) -> list[ResourceInput]:
    """The baseline (mutated) as the engine sees it, with each resource's custom timeouts."""
    res = baseline()
    if mutate is not None:
        mutate(res)
    found = GENEROUS if timeouts is None else timeouts
    return [
        ResourceInput(urn(n, t), t, n, p, custom_timeouts=found.get(n, UNSET))
        for n, (t, p) in res.items()
    ]


def verdicts(rule_id: str, inputs: list[ResourceInput]) -> list[Verdict]:
    return [v for v in judge(inputs, PackConfig()) if v.rule == rule_id]


def one(rule_id: str, inputs: list[ResourceInput], name: str) -> Verdict:
    (found,) = [v for v in verdicts(rule_id, inputs) if v.resource.endswith(f"::{name}")]
    return found


def with_timeouts(**changes: CustomTimeouts) -> dict[str, CustomTimeouts]:
    return {**GENEROUS, **changes}


class TestPassingFixture:
    """Timeouts that cover the worst cases pass every rollout rule; nothing is left unjudged."""

    @pytest.mark.parametrize(
        ("rule_id", "names"),
        [
            ("deployment-await-covers-rollout", {"kong", "rt"}),
            ("node-pool-timeout-covers-upgrade", {"pool"}),
            ("mig-update-awaited", {"a-mig", "b-mig"}),
        ],
    )
    def test_passes(self, rule_id: str, names: set[str]) -> None:
        found = verdicts(rule_id, rollout_inputs())
        assert {v.resource.rsplit("::", 1)[1] for v in found} == names
        assert all(v.status == "pass" for v in found), found


class TestDeploymentAwaitCoversRollout:
    """A Deployment awaited by pulumi-kubernetes' default 10 minutes fails at the HPA maximum."""

    def test_default_await_fails_with_values_bound_and_fix(self) -> None:
        found = one(
            "deployment-await-covers-rollout",
            rollout_inputs(timeouts=with_timeouts(rt=UNSET)),
            "rt",
        )
        assert found.status == "fail", found
        assert "update 600 s (no customTimeouts.update: pulumi-kubernetes' default)" in (
            found.message
        )
        assert "6 pods (HPA maximum) in 6 batches of maxSurge 1" in found.message
        assert "(pods: HPA 'rt-hpa' maxReplicas 6)" in found.message
        assert "Fix: raise customTimeouts.create to >= " in found.message
        assert "Fix: raise customTimeouts.update to >= " in found.message

    def test_bound_is_the_budget_formula(self) -> None:
        """The bound in the message is `deployment_await_bound_seconds` of the rollout."""
        found = one(
            "deployment-await-covers-rollout",
            rollout_inputs(timeouts=with_timeouts(rt=CustomTimeouts(60, 60, 0))),
            "rt",
        )
        facts = collect_facts(rollout_inputs())
        (rt,) = [d for d in facts.deployments if d.ref.name == "rt"]
        container = rt.main_container()
        assert container is not None
        assert isinstance(container.readiness, Probe)
        assert container.startup is None  # the baseline runtime has no startup probe
        tta = budget.worst_time_to_available(
            sure(container.readiness.timing),
            None,
            sure(rt.min_ready_seconds),
            PackConfig().thresholds.pod_start_seconds,
        )
        rollout = budget.deployment_rollout_seconds(6, 1, 0, tta, sure(rt.grace_seconds))
        bound = budget.deployment_await_bound_seconds(
            rollout, sure(rt.progress_deadline_seconds), PackConfig().thresholds.margin_seconds
        )
        assert f">= {math.ceil(bound)}s" in found.message, found.message

    def test_create_timeout_is_judged_too(self) -> None:
        found = one(
            "deployment-await-covers-rollout",
            rollout_inputs(timeouts=with_timeouts(kong=CustomTimeouts(0, 7200, 0))),
            "kong",
        )
        assert found.status == "fail"
        assert "customTimeouts.create 600 s (no customTimeouts.create" in found.message
        assert "customTimeouts.update" not in found.message

    def test_recreate_is_one_batch(self) -> None:
        def recreate(res: Resources) -> None:
            props(res, "rt")["spec"]["strategy"] = {"type": "Recreate"}

        found = one("deployment-await-covers-rollout", rollout_inputs(recreate), "rt")
        assert found.status == "pass"
        assert "in 1 batches of maxSurge 0 / maxUnavailable 6" in found.message

    def test_plain_manifest_is_not_judged(self) -> None:
        """Files carry no resource options: not judged, with a note saying why."""
        res = baseline()
        plain = [ResourceInput(urn(n, t), t, n, p) for n, (t, p) in res.items()]
        found = verdicts("deployment-await-covers-rollout", plain)
        assert {v.status for v in found} == {"not-judged"}
        assert all("no resource options" in v.message for v in found)


class TestNodePoolTimeoutCoversUpgrade:
    """A pool updated under pulumi-gcp's default 30 minutes fails when its upgrade is longer."""

    def test_default_timeout_fails(self) -> None:
        found = one(
            "node-pool-timeout-covers-upgrade",
            rollout_inputs(timeouts=with_timeouts(pool=UNSET)),
            "pool",
        )
        assert found.status == "fail", found
        assert "1800 s (no customTimeouts.update: pulumi-gcp's default)" in found.message
        assert "SURGE over 9 nodes in 9 batches" in found.message
        assert "(3 nodes per zone x 3 zones; drain" in found.message
        assert "Fix: raise customTimeouts.update to >= " in found.message

    def test_blue_green_adds_the_soaks(self) -> None:
        def blue_green(res: Resources) -> None:
            props(res, "pool")["upgradeSettings"] = {
                "strategy": "BLUE_GREEN",
                "blueGreenSettings": {
                    "nodePoolSoakDuration": "1800s",
                    "standardRolloutPolicy": {"batchNodeCount": 3, "batchSoakDuration": "60s"},
                },
            }

        found = one("node-pool-timeout-covers-upgrade", rollout_inputs(blue_green), "pool")
        assert found.status == "pass"
        assert "BLUE_GREEN over 9 nodes: node boot 300 + 3 batches x" in found.message
        assert "batch soak 60) + pool soak 1800" in found.message

    def test_unknown_size_is_not_judged(self) -> None:
        found = one(
            "node-pool-timeout-covers-upgrade",
            rollout_inputs(lambda res: props(res, "pool").pop("nodeLocations")),
            "pool",
        )
        assert found.status == "not-judged"
        assert "nodeLocations" in found.message


class TestMigUpdateAwaited:
    """A MIG update `pulumi up` does not wait for is never reported, whatever its outcome."""

    def test_not_awaited_fails(self) -> None:
        found = one(
            "mig-update-awaited",
            rollout_inputs(lambda res: props(res, "a-mig").update(waitForInstances=False)),
            "a-mig",
        )
        assert found.status == "fail"
        assert "waitForInstances false, waitForInstancesStatus UPDATED" in found.message
        assert "Fix: turn waitForInstances on with waitForInstancesStatus UPDATED" in (
            found.message
        )

    def test_stable_is_not_enough(self) -> None:
        found = one(
            "mig-update-awaited",
            rollout_inputs(lambda res: props(res, "b-mig").update(waitForInstancesStatus="STABLE")),
            "b-mig",
        )
        assert found.status == "fail"
        assert "waitForInstancesStatus STABLE" in found.message

    def test_default_timeout_fails_a_long_update(self) -> None:
        """Three instances one at a time outlast pulumi-gcp's 15 minutes."""

        def one_at_a_time(res: Resources) -> None:
            props(res, "a-mig")["updatePolicy"]["maxSurgeFixed"] = 1

        found = one(
            "mig-update-awaited",
            rollout_inputs(one_at_a_time, timeouts=with_timeouts(**{"a-mig": UNSET})),
            "a-mig",
        )
        assert found.status == "fail"
        assert "900 s (no customTimeouts.update: pulumi-gcp's default)" in found.message
        assert "3 instances in 3 batches of maxSurge 1 + maxUnavailable 0" in found.message
        assert "x (new VM healthy 145 + minReadySec 45 + LB drain 120" in found.message
        assert "health check 'a-heal' passed 145" in found.message
        assert "Fix: raise customTimeouts.update to >= " in found.message

    def test_without_autohealing_a_running_vm_counts(self) -> None:
        found = one(
            "mig-update-awaited",
            rollout_inputs(lambda res: props(res, "a-mig").pop("autoHealingPolicies")),
            "a-mig",
        )
        assert found.status == "pass"
        assert "x (new VM healthy 120 + minReadySec 45" in found.message
        assert "(a new VM counts after boot 120)" in found.message

    def test_autohealing_check_not_found_is_not_judged(self) -> None:
        found = one("mig-update-awaited", rollout_inputs(lambda res: res.pop("b-heal")), "b-mig")
        assert found.status == "not-judged"
        assert "0 health checks marked autohealing-health-check" in found.message


class TestEnginePath:
    """The CrossGuard policies read `opts.custom_timeouts` as the engine passes them."""

    @staticmethod
    def _stack_args(timeouts: dict[str, CustomTimeouts]) -> StackValidationArgs:
        res = baseline()
        out = []
        for name, (type_token, values) in res.items():
            found = timeouts.get(name, UNSET)
            opts = PolicyResourceOptions(
                False,
                [],
                None,
                [],
                PolicyCustomTimeouts(
                    found.create_seconds, found.update_seconds, found.delete_seconds
                ),
                [],
                None,
            )
            out.append(
                PolicyResource(
                    type_token,
                    unknown_checking_proxy(dict(values)),
                    urn(name, type_token),
                    name,
                    opts,
                    None,
                    None,
                    [],
                    {},
                )
            )
        return StackValidationArgs(out)

    @staticmethod
    def _run(rule_id: str, args: StackValidationArgs) -> list[tuple[str, str | None]]:
        policy = next(p for p in policies() if p.name == rule_id)
        out: list[tuple[str, str | None]] = []
        policy.validate(args, lambda msg, urn=None: out.append((msg, urn)))  # type: ignore[attr-defined]
        return out

    @pytest.mark.parametrize(
        "rule_id",
        [
            "deployment-await-covers-rollout",
            "node-pool-timeout-covers-upgrade",
            "mig-update-awaited",
        ],
    )
    def test_generous_timeouts_pass(self, rule_id: str) -> None:
        assert self._run(rule_id, self._stack_args(GENEROUS)) == []

    def test_default_await_is_a_violation_on_the_deployment(self) -> None:
        found = self._run(
            "deployment-await-covers-rollout", self._stack_args(with_timeouts(rt=UNSET))
        )
        assert [urn_ for _, urn_ in found] == [urn("rt", resources()["rt"][0])]


class TestRuleFunctionsDirectly:
    """Each rule function, called on facts, fails exactly its failing fixture once."""

    @pytest.mark.parametrize(
        ("rule_id", "timeouts"),
        [
            ("deployment-await-covers-rollout", with_timeouts(rt=UNSET)),
            ("node-pool-timeout-covers-upgrade", with_timeouts(pool=UNSET)),
            ("mig-update-awaited", with_timeouts(**{"b-mig": CustomTimeouts(60, 60, 0)})),
        ],
    )
    def test_one_failure(self, rule_id: str, timeouts: dict[str, CustomTimeouts]) -> None:
        findings = rule(rule_id).check(
            collect_facts(rollout_inputs(timeouts=timeouts)), PackConfig()
        )
        assert [f.status for f in findings].count("fail") == 1, findings
