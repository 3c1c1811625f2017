"""Rule observability-configured on the policy baseline: each tier needs its own alert policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hitless_policy.profile import PackConfig
from hitless_policy.rules import rule
from hitless_policy.runner import Verdict, judge
from tests.policy.baseline import inputs, props, urn

Resources = dict[str, tuple[str, dict[str, Any]]]
RULE = "observability-configured"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"


def verdicts(mutate: Callable[[Resources], object] | None = None) -> list[Verdict]:
    return judge(inputs(mutate), PackConfig(), [rule(RULE)])


class TestEveryTierWatched:
    """A rollout that fails requests in a tier without its own alert goes unnoticed, or is
    noticed at the edge with no hint of which tier did it."""

    def test_passing_fixture(self) -> None:
        found = verdicts()
        assert {v.status for v in found} == {"pass"}
        assert len(found) == 4, [v.resource for v in found]
        assert rule(RULE).level == "mandatory"

    def test_failing_fixture_names_the_tier_and_its_resource(self) -> None:
        def drop_c(res: Resources) -> None:
            del res["c-alert"]

        failed = [v for v in verdicts(drop_c) if v.status == "fail"]
        assert [v.resource for v in failed] == [urn("kong", "kubernetes:apps/v1:Deployment")]
        assert "chain main tier c has no enabled alert policy" in failed[0].message
        assert "hitless-tier=c" in failed[0].message

    @pytest.mark.parametrize(
        ("change", "why"),
        [
            ({"enabled": False}, "disabled"),
            ({"conditions": []}, "no conditions"),
            ({"userLabels": {}}, "no tier identity"),
        ],
    )
    def test_an_alert_that_watches_nothing_does_not_count(
        self, change: dict[str, Any], why: str
    ) -> None:
        def spoil(res: Resources) -> None:
            props(res, "d-alert").update(change)

        failed = [v for v in verdicts(spoil) if v.status == "fail"]
        assert [v.resource for v in failed] == [urn("rt", "kubernetes:apps/v1:Deployment")], why

    def test_unknown_conditions_are_not_judged(self) -> None:
        def unknown(res: Resources) -> None:
            props(res, "a-alert")["conditions"] = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

        found = verdicts(unknown)
        assert [v.status for v in found if v.resource == urn("a-alert", ALERT)] == ["not-judged"]
        assert any(v.status == "fail" and "tier a" in v.message for v in found)

    def test_files_without_a_gcp_stack_are_out_of_scope(self) -> None:
        def kubernetes_only(res: Resources) -> None:
            for name in [n for n, (t, _) in res.items() if t.startswith("gcp:")]:
                del res[name]

        assert verdicts(kubernetes_only) == []
