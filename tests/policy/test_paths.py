"""Per-path judgement: each path A -> B -> C -> runtime is judged with its own longest request.

prod carries two runtime services with different promises: `rt`, the 50 MiB upload API (the
chain's profile), and `quote`, a 1 MiB / 5 s API (`hitless.dev/profile.*` on its Deployment).
A runtime's own settings and its Kong Service are judged on its own path, so a value that is
right for one API fails on the other; A, B and Kong's globals carry the longest over the paths.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hitless.components.chain import compose_chain
from hitless.components.config import StackConfig
from hitless.harness import Capture
from hitless.program import judge_capture
from hitless_policy.identity import RT_PROFILE_ANNOTATION_PREFIX
from hitless_policy.profile import PackConfig
from hitless_policy.runner import Verdict
from tests.test_wrong_stacks import unchecked

Runner = Callable[..., Capture]
RT, QUOTE = "main-rt-deployment", "main-quote-deployment"
KONG_CONFIG = "main-kong-config"
TIMEOUTS = "chain-request-timeouts-ordered"


def _capture(capture: Runner, cfg: StackConfig) -> Capture:
    return capture(lambda: compose_chain(cfg), stack="prod", preview=True)


def _verdicts(cap: Capture, cfg: StackConfig) -> list[Verdict]:
    return judge_capture(cap, PackConfig(profile=cfg.profile, thresholds=cfg.thresholds))


def _of(verdicts: list[Verdict], rule: str, name: str) -> Verdict:
    """The rule's verdicts on the resource `name`, as one: the worst status, every message."""
    found = [v for v in verdicts if v.rule == rule and v.resource.endswith(f"::{name}")]
    assert found, (rule, name)
    statuses = {v.status for v in found}
    status = next(s for s in ("fail", "not-judged", "pass") if s in statuses)
    return dataclasses.replace(
        found[0], status=status, message=" | ".join(v.message for v in found)
    )


def _judged(capture: Runner, path: str, value: object) -> list[Verdict]:
    cfg = unchecked("prod", path, value)
    return _verdicts(_capture(capture, cfg), cfg)


class TestKongReadTimeoutPerPath:
    """Kong's read_timeout of a Service must outlast the runtime it sends to: the short API's
    8 s, the upload API's 45 s. Each Service is judged against its own runtime only."""

    def test_short_api_too_short_for_its_path(self, capture: Runner) -> None:
        verdict = _of(
            _judged(capture, "runtimes.1.kong.read_timeout_ms", 8000), TIMEOUTS, KONG_CONFIG
        )
        assert verdict.status == "fail", verdict.message
        assert "service 'quote' (to runtime 'main-quote-deployment') read_timeout 8000" in (
            verdict.message
        )
        assert "must be > 8000" in verdict.message
        # The upload API's Service, in the same declarative config, passes on its own path.
        assert "service 'rt'" not in verdict.message

    def test_upload_value_fails_the_upload_path_only(self, capture: Runner) -> None:
        # 10 s is the short API's read timeout, which passes there; the upload API needs > 45 s.
        verdict = _of(
            _judged(capture, "runtimes.0.kong.read_timeout_ms", 10000), TIMEOUTS, KONG_CONFIG
        )
        assert verdict.status == "fail", verdict.message
        assert "service 'rt' (to runtime 'main-rt-deployment') read_timeout 10000" in (
            verdict.message
        )
        assert "service 'quote'" not in verdict.message


class TestGracePerPath:
    """A runtime's grace covers preStop + its own path's longest request + margin."""

    def test_short_grace_passes_the_short_api(self, capture: Runner) -> None:
        verdicts = _judged(capture, "runtimes.1.termination_grace_seconds", 36)
        quote = _of(verdicts, "deployment-grace-covers-drain", QUOTE)
        assert quote.status == "pass", quote.message
        assert "terminationGracePeriodSeconds 36 >= 35" in quote.message

    def test_the_same_grace_fails_the_upload_api(self, capture: Runner) -> None:
        verdicts = _judged(capture, "runtimes.0.termination_grace_seconds", 36)
        rt = _of(verdicts, "deployment-grace-covers-drain", RT)
        assert rt.status == "fail", rt.message
        assert "60.4" in rt.message
        assert _of(verdicts, "deployment-grace-covers-drain", QUOTE).status == "pass"


class TestBodyLimitPerPath:
    """A runtime's body limit covers its own path's largest body; A and Kong's global limit
    cover the largest over every path."""

    def test_short_api_limit_fails_the_upload_api(self, capture: Runner) -> None:
        verdicts = _judged(capture, "runtimes.0.max_body_mib", 2)
        rt = _of(verdicts, "chain-body-size-accepted", RT)
        assert rt.status == "fail", rt.message
        assert "must be >= 50" in rt.message
        quote = _of(verdicts, "chain-body-size-accepted", QUOTE)
        assert quote.status == "pass", quote.message
        assert "hitless.dev/max-body-mib 2 >= 1" in quote.message

    def test_edge_carries_the_largest_path(self, capture: Runner) -> None:
        verdicts = _judged(capture, "edge.client_max_body_mib", 10)
        edge = _of(verdicts, "chain-body-size-accepted", "main-a-template")
        assert edge.status == "fail", edge.message
        assert "must be >= 50" in edge.message

    def test_kong_global_limit_covers_every_path(self, capture: Runner) -> None:
        verdicts = _judged(capture, "kong.client_max_body_mib", 10)
        kong = _of(verdicts, "chain-body-size-accepted", "main-kong-deployment")
        assert kong.status == "fail", kong.message
        assert "must be >= 50" in kong.message


class TestPromiseFromAnnotations:
    """The pack reads a runtime's promise from its Deployment (as `hitless check` does on plain
    manifests); without the annotations the runtime takes the chain's profile, and an unreadable
    one leaves the path not judged, never passed."""

    @pytest.fixture
    def prod_capture(self, capture: Runner, prod_config: StackConfig) -> Capture:
        return _capture(capture, prod_config)

    def test_annotations_rendered(self, prod_capture: Capture) -> None:
        annotations = prod_capture.named(QUOTE).props["metadata"]["annotations"]
        assert annotations[f"{RT_PROFILE_ANNOTATION_PREFIX}max_body_mib"] == "1"
        assert annotations[f"{RT_PROFILE_ANNOTATION_PREFIX}rt_max_processing_seconds"] == "5"
        rt = prod_capture.named(RT).props["metadata"]["annotations"]
        assert not [key for key in rt if key.startswith(RT_PROFILE_ANNOTATION_PREFIX)]

    def test_without_annotations_the_chain_profile_applies(
        self, prod_capture: Capture, prod_config: StackConfig
    ) -> None:
        annotations = prod_capture.named(QUOTE).props["metadata"]["annotations"]
        for key in [k for k in annotations if k.startswith(RT_PROFILE_ANNOTATION_PREFIX)]:
            del annotations[key]
        verdicts = _verdicts(prod_capture, prod_config)
        # 8 s no longer covers the chain's 30 s processing; 45 s no longer covers its upload.
        timeout = _of(verdicts, TIMEOUTS, QUOTE)
        assert timeout.status == "fail", timeout.message
        assert "must be >= 30" in timeout.message
        assert _of(verdicts, "deployment-grace-covers-drain", QUOTE).status == "fail"

    def test_unreadable_promise_is_not_judged(
        self, prod_capture: Capture, prod_config: StackConfig
    ) -> None:
        annotations = prod_capture.named(QUOTE).props["metadata"]["annotations"]
        annotations[f"{RT_PROFILE_ANNOTATION_PREFIX}max_body_mib"] = "lots"
        verdicts = _verdicts(prod_capture, prod_config)
        body = _of(verdicts, "chain-body-size-accepted", QUOTE)
        assert body.status == "not-judged", body.message
        assert "max_body_mib" in body.message
        grace = _of(verdicts, "deployment-grace-covers-drain", QUOTE)
        assert grace.status == "not-judged", grace.message
        # The upload API's path is still judged.
        assert _of(verdicts, "deployment-grace-covers-drain", RT).status == "pass"


class TestCheckOnRenderedManifests:
    """`hitless check` on the rendered manifests (no Pulumi, plain YAML) judges each path as
    `hitless preview` does: the promise travels in the runtime's annotations."""

    def test_same_path_verdicts(self, tmp_path: Path) -> None:
        from typer.testing import CliRunner

        from hitless.cli import app

        cli = CliRunner()
        built = cli.invoke(app, ["preview", "--stack", "prod", "--build", str(tmp_path)])
        assert built.exit_code == 0, built.output
        k8s = tmp_path / "prod" / "k8s"
        quote = k8s / "quote" / "deployment-quote.yaml"
        # The short API's grace that fits its own path (36 >= 35) but not the upload's (60.4).
        quote.write_text(
            quote.read_text().replace(
                "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 36"
            )
        )
        result = cli.invoke(
            app,
            [
                "check",
                "-f",
                str(k8s),
                "--config",
                str(tmp_path / "prod" / "policy-pack-config.json"),
                "--format",
                "json",
            ],
        )
        document = json.loads(result.output)
        grace = [
            v
            for v in document["verdicts"]
            if v["rule"] == "deployment-grace-covers-drain" and "quote" in v["resource"]
        ]
        assert grace, result.output
        assert {v["status"] for v in grace} == {"pass"}, grace
        assert any("36 >= 35" in v["message"] for v in grace), grace
