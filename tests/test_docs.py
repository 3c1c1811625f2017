"""Generated docs match the models, and the explanation matches the budget math.

docs/config.md and the numbers in docs/timing.md are generated (`hitless docs`); these golden
tests make a model or default change show up in review as a docs diff.
"""

from __future__ import annotations

import re

import pytest

from hitless.components.config import STACK_KEYS, StackConfig
from hitless.explain import (
    GENERATED_BEGIN,
    GENERATED_END,
    explain,
    refresh_generated,
    to_markdown,
)
from hitless.render import config_reference
from hitless_policy import budget
from tests.conftest import ROOT


class TestConfigReferenceIsCurrent:
    """docs/config.md is what users read before editing a stack file; it must match the models."""

    def test_golden(self) -> None:
        assert (ROOT / "docs" / "config.md").read_text() == config_reference(), (
            "docs/config.md is stale: run `.venv/bin/hitless docs` and review the diff"
        )

    def test_every_stack_key_has_a_section(self) -> None:
        text = config_reference()
        for key in STACK_KEYS:
            assert f"## `hitless:{key}`" in text

    def test_factory_defaults_shown(self) -> None:
        """A nested model built with its own values shows them, not the class defaults."""
        text = config_reference()
        row = next(
            line
            for line in text.splitlines()
            if line.startswith("| `mig.autohealing_health_check.check_interval_sec`")
        )
        assert "| `10` |" in row

    def test_required_fields_marked(self) -> None:
        runtime = config_reference().split("## `hitless:runtimes`")[1]
        row = next(line for line in runtime.splitlines() if line.startswith("| `image` |"))
        assert "| required |" in row


class TestTimingDocIsCurrent:
    """docs/timing.md shows the dev stack's numbers; they are generated, never hand-copied."""

    def test_golden(self, dev_config: StackConfig) -> None:
        text = (ROOT / "docs" / "timing.md").read_text()
        assert text == refresh_generated(text, explain(dev_config, "dev")), (
            "docs/timing.md is stale: run `.venv/bin/hitless docs` and review the diff"
        )

    def test_missing_markers_refused(self, dev_config: StackConfig) -> None:
        with pytest.raises(ValueError, match="missing the markers"):
            refresh_generated("# timing\n", explain(dev_config, "dev"))

    def test_markers_kept(self, dev_config: StackConfig) -> None:
        text = refresh_generated(
            f"intro\n{GENERATED_BEGIN.format(stack='dev')}\nSTALE-TEXT\n{GENERATED_END}\noutro\n",
            explain(dev_config, "dev"),
        )
        assert text.startswith("intro\n")
        assert text.endswith(f"{GENERATED_END}\noutro\n")
        assert "STALE-TEXT" not in text


class TestExplanationFollowsBudget:
    """The explanation must show the bounds the config model and the pack enforce."""

    def test_checked_in_stacks_hold(self, stack_config: StackConfig) -> None:
        assert explain(stack_config, "s").violated == ()

    def test_longest_requests_from_budget(self, stack_config: StackConfig) -> None:
        longest = stack_config.longest_requests()
        expl = explain(stack_config, "s")
        assert [hold.tier for hold in expl.holds] == ["A", "B", "C", "D"]
        for hold in expl.holds:
            assert hold.seconds == pytest.approx(longest.for_tier(hold.tier))
            assert hold.end == pytest.approx(longest.a)
        assert expl.client_upload == longest.client_upload

    def test_short_grace_is_violated(self, dev_config: StackConfig) -> None:
        rt = dev_config.runtimes[0].model_copy(update={"termination_grace_seconds": 40})
        expl = explain(dev_config.model_copy(update={"runtimes": [rt]}), "dev")
        keys = [item.key for item in expl.violated]
        assert keys == ["runtimes.0.termination_grace_seconds"]
        need = budget.required_grace_seconds(
            rt.prestop_seconds,
            dev_config.longest_requests().d,
            dev_config.thresholds.margin_seconds,
        )
        assert expl.violated[0].bound == pytest.approx(need)
        kill = next(e for e in expl.timeline if e.what.startswith("SIGKILL"))
        drained = next(e for e in expl.timeline if e.what.startswith("drained"))
        assert kill.at < drained.at
        assert expl.timeline.index(kill) < expl.timeline.index(drained)

    def test_timeline_order(self, dev_config: StackConfig) -> None:
        expl = explain(dev_config, "dev")
        moments = [event.at for event in expl.timeline]
        assert moments == sorted(moments)
        assert moments[0] == 0
        assert moments[-1] == dev_config.runtimes[0].termination_grace_seconds

    def test_timeout_chain_uses_kong_worst_case(self, dev_config: StackConfig) -> None:
        route = dev_config.runtimes[0].kong
        bound = next(
            item
            for item in explain(dev_config, "dev").timeouts
            if item.key == "edge.proxy_read_timeout_seconds"
        )
        assert bound.bound == budget.kong_worst_case_seconds(
            route.connect_timeout_ms, route.read_timeout_ms, route.retries
        )


class TestReadme:
    """The README's set-up commands are the ones CI and a fresh clone use."""

    def test_two_setup_commands(self) -> None:
        text = (ROOT / "README.md").read_text()
        assert "make preview" in text
        assert "make test" in text
        makefile = (ROOT / "Makefile").read_text()
        assert re.search(r"^preview:", makefile, re.MULTILINE)
        assert re.search(r"^test:", makefile, re.MULTILINE)

    def test_links_exist(self) -> None:
        text = (ROOT / "README.md").read_text()
        for target in re.findall(r"\]\(([^)#]+)\)", text):
            assert (ROOT / target).exists(), target


class TestExplanationPerPath:
    """`hitless explain` prints the longest requests of every path A -> B -> C -> runtime and
    each runtime pod's timeline; the shared rows are the longest over the paths."""

    def test_prod_paths(self, prod_config: StackConfig) -> None:
        expl = explain(prod_config, "prod")
        assert [path.runtime for path in expl.paths] == ["rt", "quote"]
        for path in expl.paths:
            own = prod_config.longest_requests(prod_config.runtime_named(path.runtime))
            assert [hold.seconds for hold in path.holds] == pytest.approx(
                [own.for_tier(tier) for tier in "abcd"]
            )
            # The quote API's pod drains its own 5 s request, not the upload's.
            assert (
                path.timeline[-1].at
                == prod_config.runtime_named(path.runtime).termination_grace_seconds
            )
        shared = [hold.seconds for hold in expl.holds]
        assert shared == pytest.approx(
            [max(p.holds[i].seconds for p in expl.paths) for i in range(4)]
        )
        text = to_markdown(expl)
        assert "| A -> B -> C -> quote | D |" in text
        assert "## Rollout timeline of one quote pod" in text
