"""The pack driven as the engine drives it: a policy-analyzer plugin process spoken to over
Pulumi's analyzer gRPC protocol, with the props of `build/<stack>/resources.json` (preview
unknowns as sentinels, secrets in their wire form). Its violations equal the offline runner's,
for dev, prod and every stack of the wrong-stack table."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hitless.components.chain import compose_chain
from hitless.components.config import StackConfig, load_stack_config
from hitless.harness import Capture, contains_unknown, run_program
from hitless.program import judge_capture
from hitless_policy.pack import pack_config_document
from hitless_policy.profile import PackConfig
from tests.conftest import hitless_values, stack_values
from tests.test_wrong_stacks import WRONG, unchecked

Runner = Callable[..., Capture]

ROOT = Path(__file__).resolve().parents[2]
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"  # noqa: S105 - a wire-format marker
"""Key of a special value in Pulumi's wire format."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - a wire-format marker
"""Signature of a secret."""


def _secret(value: Any) -> dict[str, Any]:
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def _wire(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as the engine sends it: Kong's declarative config and Deployments' images
    are secrets (as a stack keeping them in secret config would make them)."""
    props = json.loads(json.dumps(resource["props"]))
    if resource["type"] == "kubernetes:core/v1:ConfigMap" and "data" in props:
        props["data"] = {key: _secret(value) for key, value in props["data"].items()}
    if resource["type"] == "kubernetes:apps/v1:Deployment":
        for container in (
            props.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        ):
            container["image"] = _secret(container["image"])
    return {**resource, "props": props}


def _case(name: str, cap: Capture, config: PackConfig) -> dict[str, Any]:
    resources = json.loads(cap.to_json())
    return {
        "name": name,
        "config": pack_config_document(config),
        "resources": [_wire(item) for item in resources],
    }


def _expected(cap: Capture, config: PackConfig) -> set[tuple[str, str, str, str]]:
    return {
        (v.rule, v.resource, v.level, v.message)
        for v in judge_capture(cap, config)
        if v.status == "fail"
    }


def _found(diagnostics: list[dict[str, str]]) -> set[tuple[str, str, str, str]]:
    out = set()
    for item in diagnostics:
        if item["message"].startswith("can't run policy"):
            continue
        _, message = item["message"].split("\n", 1)
        out.add((item["policy"], item["urn"], item["level"], message))
    return out


def _not_judged(diagnostics: list[dict[str, str]]) -> set[str]:
    return {d["policy"] for d in diagnostics if d["message"].startswith("can't run policy")}


def _program(cfg: StackConfig) -> Callable[[], None]:
    def program() -> None:
        compose_chain(cfg)

    return program


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case composed, judged offline and sent through one plugin session."""
    cases: list[dict[str, Any]] = []
    expected: dict[str, Any] = {}
    stacks = [(stack, unchecked(stack, "profile.max_body_mib", 50)) for stack in ("dev", "prod")]
    wrong = [(f"dev:{path}", unchecked("dev", path, value)) for path, value, _ in WRONG]
    for name, cfg in stacks + wrong:
        stack = name.split(":", 1)[0]
        cap = run_program(
            _program(cfg),
            project="hitless",
            stack=stack,
            config=stack_values(stack),
            preview=True,
        )
        config = PackConfig(profile=cfg.profile, thresholds=cfg.thresholds)
        cases.append(_case(name, cap, config))
        verdicts = judge_capture(cap, config)
        expected[name] = {
            "fail": _expected(cap, config),
            "not-judged": {v.rule for v in verdicts if v.status == "not-judged"},
            "unknowns": sum(contains_unknown(r.props) for r in cap.resources),
        }
    folder = tmp_path_factory.mktemp("analyzer")
    (folder / "cases.json").write_text(json.dumps(cases))
    # The plugin listens on loopback: run the session in a network namespace of its own.
    subprocess.run(
        [
            "unshare",
            "-rn",
            "sh",
            "-c",
            'ip link set lo up && exec "$0" -m tests.policy.analyzer_client "$1" "$2"',
            sys.executable,
            str(folder / "cases.json"),
            str(folder / "out.json"),
        ],
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads((folder / "out.json").read_text())
    return {"expected": expected, "result": result}


NAMES = ["dev", "prod", *(f"dev:{path}" for path, _, _ in WRONG)]


class TestAnalyzerInfo:
    """The plugin describes the pack: its name and one policy per rule, mandatory but one."""

    def test_info(self, sessions: dict[str, Any]) -> None:
        info = sessions["result"]["info"]
        assert info["name"] == "hitless"
        assert info["policies"]["chain-request-timeouts-ordered"] == "mandatory"
        assert info["policies"]["service-no-client-ip-affinity"] == "advisory"


class TestSameVerdictsAsRunner:
    """Every violation the engine would show is one the offline runner reports, and back."""

    @pytest.mark.parametrize("name", NAMES)
    def test_violations_equal(self, sessions: dict[str, Any], name: str) -> None:
        expected = sessions["expected"][name]
        diagnostics = sessions["result"]["cases"][name]
        assert expected["unknowns"] > 0  # the preview props carry unknowns
        assert _found(diagnostics) == expected["fail"]
        assert _not_judged(diagnostics) == expected["not-judged"]

    def test_checked_in_stacks_have_none(self, sessions: dict[str, Any]) -> None:
        for name in ("dev", "prod"):
            found = _found(sessions["result"]["cases"][name])
            assert {f for f in found if f[2] == "mandatory"} == set()
            # The stacks name no image digest: only the advisory pinning rule speaks, once per
            # Deployment (Kong and each runtime service).
            assert {(f[0], f[2]) for f in found} <= {("container-image-pinned", "advisory")}
            runtimes = len(load_stack_config(hitless_values(name), name).runtimes)
            assert len(found) == 1 + runtimes
