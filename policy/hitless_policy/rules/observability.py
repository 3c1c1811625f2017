"""Rule observability-configured: each tier of each chain has an alert policy of its own.

A rollout that fails requests is seen only where something watches: an external LB 5xx alert
sees A, B, C and D together but names no tier, so each tier carries an alert policy stamped with
its identity (`hitless.components.monitoring`). The rule is mandatory in the catalog; a stack
lowers it to advisory with `hitless:observability.enforcement` (dev), which `hitless preview`
applies and writes as the rule's `enforcementLevel` in the pack config it emits. Inputs without GCP
resources (the files `hitless check` reads) hold no alert policy and are not judged.
"""

from __future__ import annotations

from hitless_policy.facts import Facts, Ref, Unknown
from hitless_policy.identity import Tier
from hitless_policy.profile import PackConfig
from hitless_policy.rules.base import Finding, Judge, Rule, exempt

RULE_ID = "observability-configured"
"""Id of the rule."""

SERVING_TIERS: tuple[Tier, ...] = (Tier.A, Tier.B, Tier.C, Tier.D)
"""The tiers a request crosses, each of which needs its alert."""


def _tier_resources(facts: Facts) -> dict[tuple[str, Tier], Ref]:
    """The first resource of each (chain, tier) present: where a missing alert is reported."""
    found: dict[tuple[str, Tier], Ref] = {}
    for group in (facts.migs, facts.deployments):
        for item in group:
            tier = item.place.tier
            if tier in SERVING_TIERS:
                found.setdefault((item.place.chain, tier), item.ref)
    return found


def observability_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """observability-configured."""
    judge = Judge(RULE_ID)
    if not facts.migs and not facts.clusters:
        # Alert policies live in a GCP stack (a Pulumi program); Kubernetes manifests, Kong and
        # nginx files (`hitless check`) cannot hold one, so there is nothing to judge.
        return judge.findings
    watched: dict[tuple[str, Tier], list[Ref]] = {}
    for alert in facts.alert_policies:
        tier = alert.place.tier
        if tier is None:
            continue
        if isinstance(alert.enabled, Unknown) or isinstance(alert.conditions, Unknown):
            missing = [u for u in (alert.enabled, alert.conditions) if isinstance(u, Unknown)]
            judge.cannot(alert.ref, missing)
            continue
        if alert.enabled and alert.conditions > 0:
            watched.setdefault((alert.place.chain, tier), []).append(alert.ref)
    for (chain, tier), ref in sorted(_tier_resources(facts).items()):
        alerts = watched.get((chain, tier), [])
        if alerts:
            names = ", ".join(sorted(a.name for a in alerts))
            judge.ok(ref, f"chain {chain} tier {tier.value} is watched by alert policy {names}")
        else:
            judge.fail(
                ref,
                f"chain {chain} tier {tier.value} has no enabled alert policy stamped with its "
                "tier: a rollout of this tier can fail requests and nobody is told which tier "
                "did it. Fix: set hitless:observability.enabled (hitless.components.monitoring "
                "creates one per tier), or give your own AlertPolicy the userLabels hitless-chain="
                f"{chain}, hitless-tier={tier.value}",
            )
    return judge.findings


RULES: tuple[Rule, ...] = (
    Rule(
        RULE_ID,
        "Prohibits a tier of the chain without an alert policy of its own."
        + exempt("observability"),
        "mandatory",
        observability_rule,
    ),
)
"""The observability rules."""
