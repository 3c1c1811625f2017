"""The catalog of bounds: one owner per setting, and every judge flips at the same value.

The config model judges the stack's values, the pack's rules judge the resources composed from
them; both read the same catalog entries. For every entry whose setting is a stack key, the
whole value at the edge of the bound passes both, and one step past it fails both (on dev and
prod). Applying every printed "Fix:" of a failing config converges to a passing stack.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from hitless.components.chain import compose_chain
from hitless.components.config import (
    POOL_KEY,
    RUNTIME_KEY,
    StackConfig,
    StackConfigError,
    catalog_outcomes,
    config_value,
    load_stack_config,
    stack_key,
)
from hitless.harness import Capture
from hitless.program import judge_capture
from hitless_policy import catalog
from hitless_policy.facts import CustomTimeouts
from hitless_policy.profile import PackConfig
from hitless_policy.rules import RULE_IDS
from tests.conftest import hitless_values, set_path
from tests.test_wrong_stacks import WRONG, failing_rules, unchecked

Runner = Callable[..., Capture]
NODE_POOL = "gcp:container/nodePool:NodePool"


class TestOneOwnerPerSetting:
    """A setting judged by two rules gives two fixes for one field ("raise to >= 46" and
    ">= 61"): every stack key belongs to one rule, and every entry's rule exists."""

    def test_one_rule_per_key(self) -> None:
        owners: dict[str, set[str]] = {}
        for entry in catalog.ENTRIES.values():
            owners.setdefault(entry.key, set()).add(entry.rule)
        shared = {key: rules for key, rules in owners.items() if len(rules) > 1}
        assert shared == {}

    def test_rules_exist(self) -> None:
        assert {entry.rule for entry in catalog.ENTRIES.values()} <= set(RULE_IDS)

    def test_every_key_is_a_config_setting(self, stack_config: StackConfig) -> None:
        """Each key is a number in the config, an await the config sizes from the entry's
        bound when unset, a setting every node pool has (judged once per pool), or a setting
        every runtime service has (judged once per runtime, on its own path)."""
        runtime_entries = [e for e in catalog.ENTRIES.values() if e.key.startswith(RUNTIME_KEY)]
        names = [
            item.where
            for item in catalog_outcomes(stack_config)
            if item.entry.key.startswith(RUNTIME_KEY)
        ]
        assert names == [rt.name for rt in stack_config.runtimes] * len(runtime_entries)
        for entry in catalog.ENTRIES.values():
            value = config_value(stack_config, entry.key)
            if entry.key.startswith(POOL_KEY):
                assert value is None, entry.id
            elif value is None:
                assert entry.section == "await", entry.id
            else:
                assert isinstance(value, int | float), entry.id
        judged = catalog_outcomes(stack_config)
        assert all(isinstance(item.value, int | float) for item in judged)
        pools = [item.where for item in judged if item.entry.key.startswith(POOL_KEY)]
        assert pools == [pool.name for pool in stack_config.cluster.node_pools] * len(
            [e for e in catalog.ENTRIES.values() if e.key.startswith(POOL_KEY)]
        )


def _with(stack: str, key: str, value: object) -> dict[str, Any]:
    values: dict[str, Any] = copy.deepcopy(hitless_values(stack))
    set_path(values, key, copy.deepcopy(value))  # the fixes edit it; the table's value stays
    return values


def _config_lines(stack: str, key: str, value: object) -> list[str]:
    """The config model's problem lines naming `key` when it is set to `value`."""
    try:
        load_stack_config(_with(stack, key, value), stack)
    except StackConfigError as error:
        return [line for line in str(error).splitlines() if f"hitless:{key} = " in line]
    return []


def _edges(stack: str, pools: bool = False) -> list[tuple[str, str, int, int]]:
    """(entry id, stack key, edge value, one step past it) for every entry with a stack key of
    its own, once per runtime for a runtime's (or, with `pools`, for every node pool's entry,
    per pool), on the stack's config."""
    cfg = load_stack_config(hitless_values(stack), stack)
    out = []
    for outcome in catalog_outcomes(cfg):
        if outcome.entry.key.startswith(POOL_KEY) != pools:
            continue
        edge = outcome.threshold
        assert edge is not None, outcome.entry.id
        step = -1 if outcome.entry.op in (">=", ">") else 1
        out.append((outcome.entry.id, stack_key(cfg, outcome), edge, edge + step))
    return out


def _field_allows(stack: str, key: str, value: int) -> bool:
    """Whether the key's own model field accepts `value` (else the pack never sees it)."""
    return not any(
        "greater than" in line or "less than" in line for line in _config_lines(stack, key, value)
    )


CASES = [(stack, *edge) for stack in ("dev", "prod") for edge in _edges(stack)]
POOL_CASES = [(stack, *edge) for stack in ("dev", "prod") for edge in _edges(stack, pools=True)]


class TestBoundaryFlip:
    """For every entry, on dev and prod (a runtime's entry on each runtime of the stack, with
    its own path's bound): at the edge value the config model has no problem with the key and
    the entry's rule does not fail; one step past it both refuse it."""

    @pytest.mark.parametrize(
        ("stack", "entry_id", "key", "edge", "past"),
        CASES,
        ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES],
    )
    def test_config_and_pack_flip_together(  # noqa: PLR0917 (one case's five parts)
        self, capture: Runner, stack: str, entry_id: str, key: str, edge: int, past: int
    ) -> None:
        entry = catalog.entry(entry_id)
        at_edge = _config_lines(stack, key, edge)
        assert not [line for line in at_edge if entry.consequence in line], at_edge
        refused = _config_lines(stack, key, past)
        assert [line for line in refused if entry.consequence in line] or not _field_allows(
            stack, key, past
        ), refused
        if not _field_allows(stack, key, past):
            # The field's own bound refuses it first; no stack can render it.
            return
        if not at_edge:
            # (A sibling entry on the same key may forbid the edge: then only `past` is judged.)
            assert entry.rule not in failing_rules(capture, unchecked(stack, key, edge))
        assert entry.rule in failing_rules(capture, unchecked(stack, key, past))


class TestBoundaryFlipPerNodePool:
    """A node pool's await has no stack key: the config sizes it from the entry's bound (whole
    minutes), so the config model never refuses it. The pack flips at the same edge: the pool
    rendered with the edge as its update timeout passes, one second less fails."""

    @pytest.mark.parametrize(
        ("stack", "entry_id", "key", "edge", "past"),
        POOL_CASES,
        ids=[f"{c[0]}-{c[1]}" for c in POOL_CASES],
    )
    def test_pack_flips_at_the_config_bound(  # noqa: PLR0917 (one case's five parts)
        self, capture: Runner, stack: str, entry_id: str, key: str, edge: int, past: int
    ) -> None:
        entry = catalog.entry(entry_id)
        cfg = load_stack_config(hitless_values(stack), stack)
        for item in catalog_outcomes(cfg):
            if item.entry.id == entry_id:
                assert item.status == "pass", item
                assert item.value is not None, item
                assert item.value >= edge, item
        cap = capture(lambda: compose_chain(cfg), stack=stack, preview=True)
        pack = PackConfig(profile=cfg.profile, thresholds=cfg.thresholds)
        for value, fails in ((edge, False), (past, True)):
            for res in cap.of_type(NODE_POOL):
                res.custom_timeouts = CustomTimeouts(0, value, 0)
            verdicts = judge_capture(cap, pack)
            failed = {v.rule for v in verdicts if v.status == "fail" and v.level == "mandatory"}
            assert (entry.rule in failed) is fails, (value, failed)


_FIX = re.compile(
    r"^  - hitless:(?P<key>[\w.]+) = .*Fix: (?:"
    r"(?:raise|lower|set) it to (?:0 \(unlimited\) or )?(?:>=|<=) (?P<edge>-?\d+)"
    r"|raise [^(]*\(hitless:(?P<other>[\w.]+)\) to >= (?P<least>\d+))"
)


def _set(values: dict[str, Any], key: str, value: int) -> None:
    set_path(values, key, value)


def _apply_fixes(values: dict[str, Any], message: str) -> int:
    """Apply the first fix of every catalog problem in `message`; the number applied."""
    applied = 0
    for line in message.splitlines():
        match = _FIX.match(line)
        if match is None:
            continue
        if match["edge"] is not None:
            _set(values, match["key"], int(match["edge"]))
        else:
            _set(values, match["other"], int(match["least"]))
        applied += 1
    return applied


class TestFixesConverge:
    """Applying every printed "Fix:" of a failing stack gives a stack that loads (and that the
    pack passes), for every wrong value of the wrong-stack table."""

    @pytest.mark.parametrize(("path", "value", "expected"), WRONG, ids=[w[0] for w in WRONG])
    def test_converges(self, capture: Runner, path: str, value: object, expected: set[str]) -> None:
        values = _with("dev", path, value)
        cfg: StackConfig | None = None
        for _ in range(5):
            try:
                cfg = load_stack_config(values, "dev")
            except StackConfigError as error:
                message = str(error)
            else:
                break
            applied = _apply_fixes(values, message)
            assert applied > 0, message
        assert cfg is not None, "the fixes did not converge in 5 rounds"
        assert failing_rules(capture, cfg) == set()
