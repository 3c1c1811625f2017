"""Unknown values never pass: a rule that cannot read an input it needs says "not judged".

At preview many values are unknown (computed by the cloud). A rule that quietly assumed a value
for them would pass a chain it never judged. Here each input the audit found assumed is made
unknown and the verdict must be not-judged; then, for every rule's failing case, any single value
made unknown never turns the failure into a pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hitless_policy.extract import ResourceInput
from hitless_policy.profile import PackConfig
from hitless_policy.runner import Verdict, judge
from tests.policy.baseline import inputs, props, resources, urn
from tests.policy.test_rules import CASES, Case

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""Pulumi's unknown sentinel in wire-form props."""

Res = dict[str, tuple[str, dict[str, Any]]]


def _status(verdicts: list[Verdict], rule: str, name: str) -> set[str]:
    return {v.status for v in verdicts if v.rule == rule and v.resource.endswith(f"::{name}")}


def _spec(res: Res, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = props(res, name)["spec"]
    return spec


class TestEachInputUnknown:
    """The four inputs the rules used to assume when unknown."""

    def test_cluster_location(self) -> None:
        # Without a zone spread, whether the pods must spread over zones depends on it.
        def mutate(res: Res) -> None:
            props(res, "cluster")["location"] = UNKNOWN
            _spec(res, "kong")["template"]["spec"]["topologySpreadConstraints"].pop()

        verdicts = judge(inputs(mutate), PackConfig())
        assert _status(verdicts, "deployment-spread-across-failure-domains", "kong") == {
            "not-judged"
        }

    @pytest.mark.parametrize(
        ("rule", "name"),
        [
            ("chain-drain-covers-longest-request", "b-backend"),
            ("chain-drain-covers-longest-request", "b-template"),
            ("chain-drain-covers-longest-request", "kong"),
            ("chain-request-timeouts-ordered", "a-backend"),
            ("chain-idle-timeouts-cover-silence", "b-template"),
            ("deployment-grace-covers-drain", "rt"),
        ],
    )
    def test_a_nginx_conf(self, rule: str, name: str) -> None:
        # A's buffering decides every tier's longest request.
        def mutate(res: Res) -> None:
            props(res, "a-template")["metadata"]["nginx-conf"] = UNKNOWN

        assert _status(judge(inputs(mutate), PackConfig()), rule, name) == {"not-judged"}

    @pytest.mark.parametrize(
        ("rule", "name"),
        [("pdb-allows-disruption", "rt-pdb"), ("pdb-matches-deployment", "rt")],
    )
    def test_runtime_labels(self, rule: str, name: str) -> None:
        def mutate(res: Res) -> None:
            _spec(res, "rt")["template"]["metadata"]["labels"] = UNKNOWN

        assert _status(judge(inputs(mutate), PackConfig()), rule, name) == {"not-judged"}

    @pytest.mark.parametrize("name", ["rt-pdb", "rt"])
    def test_namespace(self, name: str) -> None:
        # A budget allowing no disruption at rt's minimum: whether it blocks rt's drains depends
        # on both objects sharing a namespace.
        def mutate(res: Res) -> None:
            _spec(res, "rt-pdb").update(maxUnavailable=None, minAvailable=2)
            props(res, name)["metadata"]["namespace"] = UNKNOWN

        verdicts = judge(inputs(mutate), PackConfig())
        assert _status(verdicts, "pdb-allows-disruption", "rt-pdb") == {"not-judged"}

    def test_health_check_link(self) -> None:
        def mutate(res: Res) -> None:
            props(res, "a-backend")["healthChecks"] = UNKNOWN

        verdicts = judge(inputs(mutate), PackConfig())
        assert _status(verdicts, "lb-health-check-configured", "a-backend") == {"not-judged"}

    def test_health_check_link_resolved_by_dependency(self) -> None:
        # The engine (and the offline runner) give the link's URN as a property dependency.
        res = resources()
        props(res, "a-backend")["healthChecks"] = UNKNOWN
        check = urn("a-health", res["a-health"][0])
        resolved = [
            ResourceInput(
                urn(name, type_token),
                type_token,
                name,
                body,
                property_dependencies={"healthChecks": [check]} if name == "a-backend" else {},
            )
            for name, (type_token, body) in res.items()
        ]
        verdicts = judge(resolved, PackConfig())
        assert _status(verdicts, "lb-health-check-configured", "a-backend") == {"pass"}


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


LEAVES = [(name, path) for name, (_, body) in resources().items() for path in _leaves(body) if path]
"""Every scalar of the baseline, as (resource, path)."""


def _set_unknown(res: Res, name: str, path: tuple[str | int, ...]) -> None:
    node: Any = props(res, name)
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = UNKNOWN


class TestUnknownNeverTurnsFailIntoPass:
    """For every rule's failing case: one value made unknown leaves the verdict failed (the
    value did not matter) or not judged (it did), never passed."""

    @pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
    @settings(max_examples=30, deadline=None)
    @given(leaf=st.sampled_from(LEAVES))
    def test_never_pass(self, case: Case, leaf: tuple[str, tuple[str | int, ...]]) -> None:
        name, path = leaf

        def mutate(res: Res) -> None:
            case.mutate(res)
            try:
                _set_unknown(res, name, path)
            except (KeyError, IndexError, TypeError):
                return  # the case removed this value

        statuses = _status(judge(inputs(mutate), PackConfig()), case.rule, case.resource)
        assert "pass" not in statuses or "fail" in statuses or not statuses, (name, path)
