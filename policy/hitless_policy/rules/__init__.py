"""The rule catalog (design §4): pure functions of facts and the pack config.

One rule set runs in three places: the CrossGuard pack (`pack.py`), the offline runner
(`runner.py`, used by `hitless preview`) and `hitless check`.
"""

from __future__ import annotations

from collections.abc import Sequence

from hitless_policy.facts import Facts
from hitless_policy.profile import PackConfig
from hitless_policy.rules import chain, gcp, kong, observability, rollout, security, workload
from hitless_policy.rules.base import Finding, Level, Rule, Status

__all__ = ["RULES", "RULE_IDS", "Finding", "Level", "Rule", "Status", "evaluate", "rule"]

RULES: tuple[Rule, ...] = chain.RULES + gcp.RULES + workload.RULES + kong.RULES + security.RULES
RULES += rollout.RULES
RULES += observability.RULES
"""Every rule, in catalog order of kind (chain, GCP, workload, Kong, security, rollout awaits)."""

RULE_IDS: tuple[str, ...] = tuple(r.id for r in RULES)
"""Every rule id."""


def rule(rule_id: str) -> Rule:
    """The rule with this id (raises KeyError)."""
    for item in RULES:
        if item.id == rule_id:
            return item
    raise KeyError(rule_id)


def evaluate(facts: Facts, config: PackConfig, rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Run `rules` on `facts`, in order."""
    findings: list[Finding] = []
    for item in rules:
        findings.extend(item.check(facts, config))
    return findings
