"""Offline judging: run the pack's rules on captured resources, with a verdict per resource.

The CLI's preview runs the program under mocks, captures every resource's props and calls
`judge`; it prints the verdicts and exits non-zero when a mandatory rule failed. The rules are
the very functions the CrossGuard policies (`pack.py`) call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hitless_policy.extract import ResourceInput, collect_facts
from hitless_policy.profile import PackConfig
from hitless_policy.rules import RULES, Finding, Level, Rule, Status, evaluate, rule

__all__ = ["ResourceInput", "Verdict", "judge", "mandatory_failures", "verdicts_of"]


@dataclass(frozen=True)
class Verdict:
    """One rule's verdict on one resource."""

    rule: str
    """Rule id (also the CrossGuard policy name)."""
    resource: str
    """The resource's URN, or `<file>:<Kind>/<name>` (`chain:<name>` for a hop with no side)."""
    level: Level
    """mandatory or advisory."""
    status: Status
    """fail, not-judged or pass."""
    message: str
    """Values found, the bound, the fix; names the resource."""

    def to_json(self) -> dict[str, str]:
        """A JSON-ready dict."""
        return {
            "rule": self.rule,
            "resource": self.resource,
            "level": self.level,
            "status": self.status,
            "message": self.message,
        }


def verdicts_of(findings: Sequence[Finding]) -> list[Verdict]:
    """Findings as verdicts, with each rule's level."""
    return [Verdict(f.rule, f.ref.id, rule(f.rule).level, f.status, f.message) for f in findings]


def judge(
    resources: Sequence[ResourceInput], config: PackConfig, rules: Sequence[Rule] = RULES
) -> list[Verdict]:
    """Judge `resources` with every rule (or `rules`); verdicts in rule order."""
    return verdicts_of(evaluate(collect_facts(resources), config, rules))


def mandatory_failures(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """The verdicts that must fail a preview."""
    return [v for v in verdicts if v.status == "fail" and v.level == "mandatory"]
