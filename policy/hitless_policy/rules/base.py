"""What a rule is and what it returns: findings with a status, a resource and a message."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from hitless_policy import catalog
from hitless_policy.facts import Facts, Ref, Unknown
from hitless_policy.profile import PackConfig

Status = Literal["fail", "not-judged", "pass"]
"""Outcome of one rule for one resource."""
Level = Literal["mandatory", "advisory"]
"""Enforcement level of a rule."""


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one resource (or on a chain hop, attributed to a resource)."""

    rule: str
    """Rule id (design §4)."""
    ref: Ref
    """The resource judged."""
    status: Status
    """fail, not-judged or pass."""
    message: str
    """Values found, the bound, the fix; names the resource."""


Check = Callable[[Facts, PackConfig], list[Finding]]
"""A rule's judgement: pure function of facts and config."""


@dataclass(frozen=True)
class Rule:
    """A rule of the catalog."""

    id: str
    """Stable id; also the CrossGuard policy name."""
    description: str
    """What the rule prohibits (shown by the engine with each violation)."""
    level: Level
    """mandatory (the finding fails requests) or advisory."""
    check: Check
    """The judgement."""
    types: frozenset[str] = field(default_factory=frozenset)
    """For single-resource rules: the type tokens it judges. Empty: a stack (chain) rule."""
    failure: str = ""
    """The request failure its violation causes during a rollout (`refused`, `cut`, `timeout`,
    `reset`, `rejected`); "" when it guards capacity, safety or security instead (exempt from
    the simulator's agreement test; its description then ends with `exempt(...)`)."""

    @property
    def is_stack(self) -> bool:
        """Whether the rule reads several resources at once."""
        return not self.types


EXEMPT_TAIL = ": exempt from the simulator's agreement test."
"""How the description of a rule that guards no request failure (`Rule.failure` "") ends."""


def exempt(guards: str) -> str:
    """The last sentence of the description of a rule with no `failure`.

    It says what the rule guards instead (capacity, safety, security, observability...) and that
    the simulator's agreement test does not judge it.
    """
    return f" Guards {guards}{EXEMPT_TAIL}"


def label(ref: Ref) -> str:
    """`Kind 'name'` for messages."""
    return f"{ref.type.rsplit(':', 1)[-1]} '{ref.name}'"


def num(value: float) -> str:
    """A number without a useless fraction (45, 52.4)."""
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def up(value: float) -> str:
    """A bound rounded up to a whole number, for fixes ("raise it to >= 46")."""
    return str(math.ceil(value - 1e-9))


def bound_text(outcome: catalog.Outcome) -> str:
    """The judged value as a message shows it (`0 (unlimited)` where 0 means no limit)."""
    value = outcome.value or 0.0
    if outcome.entry.zero_unlimited and value == 0:
        return "0 (unlimited)"
    return num(value)


def problem(
    outcome: catalog.Outcome, config: PackConfig, values: catalog.Values, subject: str
) -> str | None:
    """A failed catalog outcome as one problem of a multi-part verdict (None: it holds)."""
    if outcome.status != "fail":
        return None
    ctx = catalog.Ctx(config, values)
    return (
        f"{subject} {bound_text(outcome)}: {outcome.consequence(ctx)}. Fix: {outcome.fix(subject)}"
    )


class Judge:
    """Collects the findings of one rule run."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.raw: list[Finding] = []
        """Every finding recorded, in order (several per resource when it has several bounds)."""

    @property
    def findings(self) -> list[Finding]:
        """One verdict per resource: its failures, else what could not be judged, else its passes.

        A resource with an unknown bound never passes on its known bounds alone.
        """
        order: list[str] = []
        by_ref: dict[str, list[Finding]] = {}
        for finding in self.raw:
            if finding.ref.id not in by_ref:
                order.append(finding.ref.id)
            by_ref.setdefault(finding.ref.id, []).append(finding)
        out: list[Finding] = []
        for ref_id in order:
            group = by_ref[ref_id]
            for status in ("fail", "not-judged", "pass"):
                chosen = [f for f in group if f.status == status]
                if chosen:
                    out.extend(chosen)
                    break
        return out

    def fail(self, ref: Ref, message: str) -> None:
        """Record a violation."""
        self.raw.append(Finding(self.rule, ref, "fail", f"{label(ref)}: {message}"))

    def ok(self, ref: Ref, message: str) -> None:
        """Record a pass."""
        self.raw.append(Finding(self.rule, ref, "pass", f"{label(ref)}: {message}"))

    def cannot(self, ref: Ref, why: str | Sequence[Unknown]) -> None:
        """Record that the resource cannot be judged, and why."""
        text = why if isinstance(why, str) else "; ".join(str(u) for u in why)
        self.raw.append(
            Finding(self.rule, ref, "not-judged", f"{label(ref)}: cannot judge: {text}")
        )

    def bound(  # noqa: PLR0917 (the six parts of one judgement)
        self,
        ref: Ref,
        entry_id: str,
        value: float | Unknown | None,
        config: PackConfig,
        values: catalog.Values,
        subject: str,
    ) -> catalog.Outcome:
        """Judge `value` of `ref` against catalog entry `entry_id`, and record the finding.

        `subject` names the setting in the resource (`timeoutSec`, `service 'rt' read_timeout`).
        An unknown value or input is recorded as not judged, never as a pass.
        """
        outcome = self.outcome(entry_id, value, config, values)
        self.record(ref, outcome, config, values, subject)
        return outcome

    @staticmethod
    def outcome(
        entry_id: str, value: float | Unknown | None, config: PackConfig, values: catalog.Values
    ) -> catalog.Outcome:
        """Catalog entry `entry_id` judged on `value` (Unknown or None: unknown)."""
        known = None if value is None or isinstance(value, Unknown) else float(value)
        return catalog.entry(entry_id).judge(known, config, values)

    def record(
        self,
        ref: Ref,
        outcome: catalog.Outcome,
        config: PackConfig,
        values: catalog.Values,
        subject: str,
    ) -> None:
        """Record a catalog outcome as this rule's finding on `ref`."""
        recorder = _RECORDER.get()
        if recorder is not None:
            recorder.append(Judged(self.rule, ref, outcome))
        if outcome.status == "not-judged" or outcome.bound is None:
            self.cannot(ref, f"{subject}: unknown {', '.join(outcome.missing)}")
            return
        shown = bound_text(outcome)
        if outcome.status == "fail":
            ctx = catalog.Ctx(config, values)
            self.fail(
                ref,
                f"{subject} {shown}: {outcome.consequence(ctx)}. Fix: {outcome.fix(subject)}",
            )
        else:
            self.ok(ref, f"{subject} {shown} {outcome.entry.op} {num(outcome.bound)}")

    def verdict(self, ref: Ref, problems: Sequence[str], passed: str) -> None:
        """Fail with every problem, or pass with `passed`."""
        if problems:
            self.fail(ref, "; ".join(problems))
        else:
            self.ok(ref, passed)


@dataclass(frozen=True)
class Judged:
    """One catalog relation a rule judged on one resource (what `recording()` collects)."""

    rule: str
    """The rule that judged it."""
    ref: Ref
    """The resource whose setting was judged."""
    outcome: catalog.Outcome
    """The catalog entry's outcome: value, bound and status."""


_RECORDER: ContextVar[list[Judged] | None] = ContextVar("hitless_judged", default=None)
"""Where `Judge.record` also reports each catalog outcome, while `recording()` is active."""


@contextmanager
def recording() -> Iterator[list[Judged]]:
    """Collect every catalog outcome the rules judge inside the block (the report draws them).

    The rules' findings keep one verdict per resource; this keeps every relation, so a report can
    say which pair of settings broke which relation with the rules' own values.
    """
    found: list[Judged] = []
    token = _RECORDER.set(found)
    try:
        yield found
    finally:
        _RECORDER.reset(token)


def chain_ref(chain: str) -> Ref:
    """Pseudo-resource for a chain hop none of whose sides is present."""
    return Ref(f"chain:{chain}", chain, "hitless:chain:Chain")
