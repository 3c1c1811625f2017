"""Every rule id: the hitless baseline passes it, one mutation fails it (and, as far as the
rules are independent, nothing else), and the message states values, bound and fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from hitless_policy.extract import collect_facts
from hitless_policy.facts import Facts
from hitless_policy.profile import PackConfig
from hitless_policy.rules import RULE_IDS, RULES, rule
from hitless_policy.rules import security as security_rules
from hitless_policy.runner import Verdict, judge
from tests.policy.baseline import A_CONF, B_CONF, KONG_YML, Mutation, container, inputs, props

DESIGN_IDS = {
    "chain-request-timeouts-ordered",
    "chain-keepalive-timeouts-ordered",
    "chain-body-size-accepted",
    "chain-idle-timeouts-cover-silence",
    "chain-drain-covers-longest-request",
    "chain-pooled-connections-recycled",
    "chain-retries-safe",
    "mig-update-policy-hitless",
    "mig-autohealing-configured",
    "backend-service-draining-enabled",
    "internal-backend-connection-balancing",
    "lb-health-check-configured",
    "node-pool-upgrade-hitless",
    "node-pool-respects-pdb-on-deletion",
    "cluster-maintenance-window-valid",
    "deployment-min-replicas",
    "deployment-rolling-update-hitless",
    "deployment-readiness-probe",
    "deployment-prestop-covers-propagation",
    "deployment-grace-covers-drain",
    "deployment-spread-across-failure-domains",
    "deployment-progress-deadline-sufficient",
    "pdb-matches-deployment",
    "pdb-allows-disruption",
    "pdb-evicts-unhealthy-pods",
    "service-no-client-ip-affinity",
    "kong-upstream-healthcheck-safe",
}
ROLLOUT_IDS = {
    "deployment-await-covers-rollout",
    "node-pool-timeout-covers-upgrade",
    "mig-update-awaited",
}
"""Rules on `pulumi up`'s awaits; they read resource options, so their fixtures live in
test_rollout_rules.py."""
SECURITY_IDS = {r.id for r in security_rules.RULES}
"""The security rules (tests/policy/test_security_rules.py judges them on their own fixtures)."""
OBSERVABILITY_IDS = {"observability-configured"}
"""Rules on the chain's alerts (tests/policy/test_observability_rule.py)."""


def _conf(res: Any, name: str, old: str, new: str) -> None:
    meta = props(res, name)["metadata"]
    assert old in meta["nginx-conf"]
    meta["nginx-conf"] = meta["nginx-conf"].replace(old, new)


def _kong(res: Any, old: str, new: str) -> None:
    data = props(res, "kong-config")["data"]
    assert old in data["kong.yml"]
    data["kong.yml"] = data["kong.yml"].replace(old, new)


def _spec(res: Any, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = props(res, name)["spec"]
    return spec


@dataclass(frozen=True)
class Case:
    """One failing mutation of the baseline."""

    rule: str
    resource: str
    mutate: Mutation
    message: str
    also: frozenset[str] = frozenset()


CASES = [
    Case(
        "chain-request-timeouts-ordered",
        "a-backend",
        lambda r: props(r, "a-backend").update(timeoutSec=30),
        "timeoutSec 30: the LB gives up on a request before A does and answers 502/504 "
        "(must be > 160.4: A forwarding the body 0.4 + A proxy_read_timeout 160 "
        "(EXTERNAL_MANAGED: counted from the request's end-of-stream)). Fix: raise timeoutSec "
        "to >= 161",
    ),
    Case(
        "chain-keepalive-timeouts-ordered",
        "a-template",
        lambda r: _conf(r, "a-template", "keepalive_timeout 650s", "keepalive_timeout 75s"),
        "keepalive_timeout 75: A closes connections the LB still reuses -> 502 (must be > 600",
    ),
    Case(
        "chain-body-size-accepted",
        "a-template",
        lambda r: _conf(r, "a-template", "client_max_body_size 64m", "client_max_body_size 1m"),
        "client_max_body_size (MiB) 1: A answers 413 to the largest upload (must be >= 50: "
        "profile.max_body_mib). Fix: raise client_max_body_size (MiB) to >= 50",
    ),
    Case(
        "chain-idle-timeouts-cover-silence",
        "b-template",
        lambda r: _conf(r, "b-template", "proxy_timeout 620s", "proxy_timeout 60s"),
        "proxy_timeout 60: B cuts a flow that is silent while A still waits for the response "
        "(must be >= 160",
    ),
    Case(
        "chain-drain-covers-longest-request",
        "a-template",
        lambda r: _conf(
            r, "a-template", "worker_shutdown_timeout 120s", "worker_shutdown_timeout 30s"
        ),
        "worker_shutdown_timeout 30: nginx closes in-flight requests on quit while tier A "
        "drains (must be >= 83.3: longest request of A). Fix: raise worker_shutdown_timeout to "
        ">= 84",
    ),
    Case(
        "chain-pooled-connections-recycled",
        "a-template",
        # 100 s alone fits in B's 150 s drain; with the LB's lag, 30 s idle in the pool and B's
        # longest request it does not.
        lambda r: _conf(r, "a-template", "keepalive_time 50s", "keepalive_time 100s"),
        "keepalive_time in the upstream block 100: a pooled A->B connection may still carry a "
        "request when B's drain ends, so the B instance is deleted mid-request (must be <= 59.2: "
        "B's drain 150 - (LB lag 30 + keepalive_timeout 30 + B's longest request 30.8)). Fix: "
        "lower keepalive_time in the upstream block to <= 59 or raise B's connection draining",
    ),
    Case(
        "chain-retries-safe",
        "a-template",
        lambda r: _conf(r, "a-template", "error timeout;", "error timeout non_idempotent;"),
        "proxy_next_upstream non_idempotent in server :80 location /",
    ),
    Case(
        "mig-update-policy-hitless",
        "a-mig",
        lambda r: props(r, "a-mig")["updatePolicy"].update(maxUnavailableFixed=3),
        "maxUnavailableFixed 3 (GCP's default is one per zone)",
    ),
    Case(
        "mig-autohealing-configured",
        "b-mig",
        lambda r: props(r, "b-mig")["autoHealingPolicies"].update(initialDelaySec=30),
        "autoHealingPolicies.initialDelaySec 30: autohealing recreates instances that are still "
        "booting, in a loop (must be >= 120",
    ),
    Case(
        "backend-service-draining-enabled",
        "b-backend",
        lambda r: props(r, "b-backend").update(connectionDrainingTimeoutSec=0),
        "connectionDrainingTimeoutSec 0 disables draining",
        frozenset({"chain-drain-covers-longest-request", "chain-pooled-connections-recycled"}),
    ),
    Case(
        "internal-backend-connection-balancing",
        "b-backend",
        lambda r: props(r, "b-backend")["backends"][0].pop("balancingMode"),
        "balancingMode UTILIZATION on an INTERNAL backend service",
    ),
    Case(
        "lb-health-check-configured",
        "a-backend",
        lambda r: props(r, "a-health").update(unhealthyThreshold=10),
        "health check 'a-health' unhealthyThreshold 10: a dead backend stays in rotation too "
        "long (interval x unhealthy threshold + timeout), failing requests meanwhile (must be "
        "<= 5.2: (thresholds.max_lb_time_to_unhealthy_seconds 30 - timeout 4) / interval 5)",
    ),
    Case(
        "node-pool-upgrade-hitless",
        "pool",
        lambda r: props(r, "pool")["upgradeSettings"].update(maxUnavailable=1),
        "maxUnavailable 1 drains nodes before replacements exist. Fix: set maxUnavailable 0",
    ),
    Case(
        "node-pool-respects-pdb-on-deletion",
        "pool",
        lambda r: props(r, "pool").pop("nodeDrainConfigs"),
        "nodeDrainConfigs does not set respectPdbDuringNodePoolDeletion",
    ),
    Case(
        "cluster-maintenance-window-valid",
        "cluster",
        lambda r: props(r, "cluster")["maintenancePolicy"]["recurringWindow"].update(
            recurrence="FREQ=WEEKLY;BYDAY=SA"
        ),
        "maintenance window hours 8: the window gives fewer maintenance hours per 32 days than "
        "GKE requires, and GKE rejects it (must be >= 12",
    ),
    Case(
        "deployment-min-replicas",
        "rt",
        lambda r: (_spec(r, "rt").update(replicas=1), _spec(r, "rt-hpa").update(minReplicas=1)),
        "HPA 'rt-hpa' minReplicas is 1: a single pod",
    ),
    Case(
        "deployment-rolling-update-hitless",
        "rt",
        lambda r: _spec(r, "rt")["strategy"]["rollingUpdate"].update(maxUnavailable=1),
        "maxSurge 1 -> 1, maxUnavailable 1 -> 1 at 2 replicas: the rollout takes 1 of 2 pods out "
        "of service before replacements are Available. Fix: set maxUnavailable: 0",
    ),
    Case(
        "deployment-readiness-probe",
        "rt",
        lambda r: container(r, "rt")["readinessProbe"].update(periodSeconds=20),
        "container 'rt' readinessProbe periodSeconds 20: a pod that stopped serving keeps "
        "receiving traffic for several periods (must be <= 10",
    ),
    Case(
        "deployment-prestop-covers-propagation",
        "rt",
        lambda r: container(r, "rt")["lifecycle"]["preStop"]["sleep"].update(seconds=5),
        "container 'rt' preStop sleep 5: the runtime stops accepting before Kong's nodes stop "
        "sending it connections -> connection refused, 502 (must be >= 10",
    ),
    Case(
        "deployment-grace-covers-drain",
        "rt",
        lambda r: _spec(r, "rt")["template"]["spec"].update(terminationGracePeriodSeconds=50),
        "(must be >= 55.4: preStop 10 + longest request of D 30.4 + margin 15). Fix: raise "
        "terminationGracePeriodSeconds to >= 56",
    ),
    Case(
        "deployment-spread-across-failure-domains",
        "kong",
        lambda r: _spec(r, "kong")["template"]["spec"]["topologySpreadConstraints"].pop(),
        "pods are not spread on topology.kubernetes.io/zone (the cluster is regional)",
    ),
    Case(
        "deployment-progress-deadline-sufficient",
        "rt",
        lambda r: _spec(r, "rt").update(progressDeadlineSeconds=60),
        "progressDeadlineSeconds 60: the rollout is reported failed while a new pod may still "
        "be starting (must be >= 82: worst time to Available 67 + margin 15)",
    ),
    Case(
        "pdb-matches-deployment",
        "rt",
        lambda r: r.pop("rt-pdb"),
        "2 replicas and no PodDisruptionBudget selects its pods",
    ),
    Case(
        "pdb-allows-disruption",
        "rt-pdb",
        lambda r: _spec(r, "rt-pdb").update(maxUnavailable=None, minAvailable=2),
        "at 2 pods (HPA 'rt-hpa' minReplicas of 'rt') it allows 0 disruptions",
    ),
    Case(
        "pdb-evicts-unhealthy-pods",
        "kong-pdb",
        lambda r: _spec(r, "kong-pdb").pop("unhealthyPodEvictionPolicy"),
        "unhealthyPodEvictionPolicy IfHealthyBudget",
    ),
    Case(
        "service-no-client-ip-affinity",
        "rt-svc",
        lambda r: _spec(r, "rt-svc").update(sessionAffinity="ClientIP"),
        "sessionAffinity ClientIP pins each client to one pod",
    ),
    Case(
        "kong-upstream-healthcheck-safe",
        "kong-config",
        lambda r: _kong(r, "tcp_failures: 0", "tcp_failures: 3"),
        "upstream 'rt-upstream' has one target (rt.api.svc.cluster.local:8080, a Service DNS "
        "name) and passive health checks that can mark it unhealthy",
    ),
]


def _by_rule(verdicts: list[Verdict], rule_id: str) -> list[Verdict]:
    return [v for v in verdicts if v.rule == rule_id]


class TestCatalog:
    """The pack implements exactly the design's rule ids, with the design's levels."""

    def test_ids_match_design(self) -> None:
        assert set(RULE_IDS) == DESIGN_IDS | ROLLOUT_IDS | SECURITY_IDS | OBSERVABILITY_IDS
        assert len(RULE_IDS) == len(DESIGN_IDS | ROLLOUT_IDS | SECURITY_IDS | OBSERVABILITY_IDS)

    def test_only_affinity_is_advisory(self) -> None:
        advisory = {r.id for r in RULES if r.level == "advisory"}
        assert advisory == {"service-no-client-ip-affinity", "container-image-pinned"}

    def test_every_rule_has_a_failing_case(self) -> None:
        assert {case.rule for case in CASES} == DESIGN_IDS


class TestBaselinePasses:
    """The hitless baseline passes every rule: nothing fails, nothing is left unjudged."""

    @pytest.mark.parametrize("rule_id", sorted(DESIGN_IDS))
    def test_rule_passes(self, rule_id: str) -> None:
        verdicts = _by_rule(judge(inputs(), PackConfig()), rule_id)
        assert verdicts, f"{rule_id} judged nothing"
        bad = [v for v in verdicts if v.status != "pass"]
        assert not bad, bad


class TestEachRuleFails:
    """One mutation of the baseline fails its rule, with values, bound and fix in the message."""

    @pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
    def test_rule_fails(self, case: Case) -> None:
        verdicts = judge(inputs(case.mutate), PackConfig())
        fails = [v for v in verdicts if v.status == "fail"]
        mine = [v for v in fails if v.rule == case.rule]
        assert len(mine) == 1, fails
        assert mine[0].resource.endswith(f"::{case.resource}")
        assert case.message in mine[0].message, mine[0].message
        assert "Fix:" in mine[0].message
        others = {v.rule for v in fails} - {case.rule} - SECURITY_IDS
        assert others <= case.also, others

    @pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
    def test_rule_function_called_directly(self, case: Case) -> None:
        facts: Facts = collect_facts(inputs(case.mutate))
        findings = rule(case.rule).check(facts, PackConfig())
        assert [f.status for f in findings].count("fail") == 1


class TestConfigChangesBounds:
    """The pack config (profile, thresholds) moves the bounds the rules apply."""

    def test_bigger_body_fails_a(self) -> None:
        config = PackConfig.model_validate({"profile": {"max_body_mib": 100}})
        fails = [
            v
            for v in _by_rule(judge(inputs(), config), "chain-body-size-accepted")
            if v.status == "fail"
        ]
        assert {v.resource.rsplit("::", 1)[1] for v in fails} == {"a-template", "rt"}

    def test_longer_probe_period_allowed(self) -> None:
        config = PackConfig.model_validate({"thresholds": {"max_probe_period_seconds": 30}})
        verdicts = judge(
            inputs(lambda r: container(r, "rt")["readinessProbe"].update(periodSeconds=20)),
            config,
        )
        assert all(v.status == "pass" for v in _by_rule(verdicts, "deployment-readiness-probe"))


class TestUnknownsAreNotJudged:
    """A preview unknown makes the rule say it cannot judge that resource; others still judged."""

    UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

    def test_unknown_grace(self) -> None:
        verdicts = judge(
            inputs(
                lambda r: _spec(r, "rt")["template"]["spec"].update(
                    terminationGracePeriodSeconds=self.UNKNOWN
                )
            ),
            PackConfig(),
        )
        grace = _by_rule(verdicts, "deployment-grace-covers-drain")
        by_name = {v.resource.rsplit("::", 1)[1]: v for v in grace}
        assert by_name["rt"].status == "not-judged"
        assert (
            "spec.template.spec.terminationGracePeriodSeconds is unknown" in by_name["rt"].message
        )
        assert by_name["kong"].status == "pass"

    def test_unknown_nginx_conf(self) -> None:
        verdicts = judge(
            inputs(
                lambda r: props(r, "a-template")["metadata"].update({"nginx-conf": self.UNKNOWN})
            ),
            PackConfig(),
        )
        body = _by_rule(verdicts, "chain-body-size-accepted")
        skipped = [v for v in body if v.status == "not-judged"]
        assert skipped
        assert "metadata.nginx-conf is unknown" in skipped[0].message
        assert not [v for v in verdicts if v.status == "fail" and v.rule not in SECURITY_IDS]


class TestIncompleteChain:
    """A chain without some tiers: hops with a missing side are listed, never passed or failed."""

    def test_without_b(self) -> None:
        def drop_b(res: Any) -> None:
            for name in ("b-template", "b-backend", "b-health", "b-mig"):
                res.pop(name)

        verdicts = _by_rule(
            judge(inputs(drop_b), PackConfig()), "chain-idle-timeouts-cover-silence"
        )
        assert [v.status for v in verdicts] == ["not-judged"]
        assert "tier B (nginx L4 config) is missing from the chain" in verdicts[0].message


def test_fixture_texts_are_real_configs() -> None:
    """The baseline's nginx and Kong texts parse (guards the string replacements above)."""
    from hitless_policy.extract.kong import parse_declarative
    from hitless_policy.extract.nginx import parse_text

    assert parse_text(A_CONF).errors == []
    assert parse_text(B_CONF).stream
    assert "services" in parse_declarative(KONG_YML)
