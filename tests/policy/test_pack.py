"""The CrossGuard policies of pack.py, driven through `validate()` with proxied props."""

from __future__ import annotations

import ast
import asyncio
import copy
import inspect
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UnknownValueError, unknown_checking_proxy

from hitless_policy.pack import (
    NotJudgedError,
    config_schema,
    pack_config_document,
    parse_config,
    policies,
)
from hitless_policy.profile import PackConfig, Thresholds, TrafficProfile
from hitless_policy.rules import RULE_IDS
from tests.policy.baseline import inputs, resources, urn

OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def _policy(name: str) -> Any:
    return next(p for p in policies() if p.name == name)


def _run(policy: Any, args: Any) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    result = policy.validate(args, lambda msg, urn=None: out.append((msg, urn)))
    if inspect.isawaitable(result):
        asyncio.new_event_loop().run_until_complete(result)
    return out


def _resource_args(name: str, props: dict[str, Any], config: Any = None) -> ResourceValidationArgs:
    type_token = resources()[name][0]
    return ResourceValidationArgs(
        type_token, unknown_checking_proxy(props), urn(name, type_token), name, OPTS, None, config
    )


def _stack_args(mutate: Any = None) -> StackValidationArgs:
    return StackValidationArgs(
        [
            PolicyResource(
                r.type,
                unknown_checking_proxy(dict(r.props)),
                r.urn,
                r.name,
                OPTS,
                None,
                None,
                [],
                {},
            )
            for r in inputs(mutate)
        ]
    )


class TestPackAssembly:
    """One policy per rule id, stack or resource policy by scope, levels as designed."""

    def test_one_policy_per_rule(self) -> None:
        assert [p.name for p in policies()] == list(RULE_IDS)

    def test_kinds_and_levels(self) -> None:
        by_name = {p.name: p for p in policies()}
        assert isinstance(by_name["deployment-rolling-update-hitless"], ResourceValidationPolicy)
        assert isinstance(by_name["chain-request-timeouts-ordered"], StackValidationPolicy)
        assert (
            by_name["service-no-client-ip-affinity"].enforcement_level == EnforcementLevel.ADVISORY
        )
        assert by_name["pdb-matches-deployment"].enforcement_level == EnforcementLevel.MANDATORY

    def test_schema_defaults_come_from_models(self) -> None:
        schema = config_schema().properties
        assert schema["profile"]["default"] == TrafficProfile().model_dump(mode="json")
        assert schema["thresholds"]["properties"]["margin_seconds"]["default"] == (
            Thresholds().margin_seconds
        )

    def test_config_round_trip(self) -> None:
        config = PackConfig.model_validate({"profile": {"max_body_mib": 80}})
        document = pack_config_document(config)
        assert set(document) == set(RULE_IDS)
        # The engine sends numbers as floats (protobuf Struct).
        engine = {
            "profile": {"max_body_mib": 80.0},
            "thresholds": {"max_probe_period_seconds": 10.0},
        }
        assert parse_config(engine).profile.max_body_mib == 80
        assert parse_config(None) == PackConfig()
        with pytest.raises(ValueError, match="invalid hitless policy config"):
            parse_config({"profile": {"max_body_mib": -1}})


class TestPackFolderStandsAlone:
    """`pulumi policy publish` ships only policy/: its project file must let Pulumi build the
    pack's own virtualenv, and everything the pack imports must come from that folder or from
    its requirements."""

    def test_project_file_and_requirements(self) -> None:
        folder = Path(__file__).resolve().parents[2] / "policy"
        project = yaml.safe_load((folder / "PulumiPolicy.yaml").read_text())
        assert project["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
        assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
        requirements = (folder / "requirements.txt").read_text()
        for package in ("pulumi-policy", "pulumi", "pydantic", "crossplane", "pyyaml"):
            assert re.search(rf"^{package}[><=]", requirements, re.M), package

    def test_pack_imports_only_its_folder_and_requirements(self) -> None:
        folder = Path(__file__).resolve().parents[2] / "policy"
        allowed = {"hitless_policy", "pulumi_policy", "pulumi", "pydantic", "crossplane", "yaml"}
        for path in folder.rglob("*.py"):
            if "venv" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else []
                )
                for name in names:
                    top = name.split(".")[0]
                    assert top in allowed or top in sys.stdlib_module_names, f"{path}: {name}"


class TestResourcePolicy:
    """A resource policy reports the violation on the resource's URN and ignores other types."""

    def test_violation(self) -> None:
        props = copy.deepcopy(resources()["rt"][1])
        props["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = "50%"
        out = _run(_policy("deployment-rolling-update-hitless"), _resource_args("rt", props))
        assert len(out) == 1
        message, where = out[0]
        assert where == urn("rt", "kubernetes:apps/v1:Deployment")
        assert "maxUnavailable 50% -> 1 at 2 replicas" in message

    def test_pass_and_other_types(self) -> None:
        policy = _policy("deployment-rolling-update-hitless")
        assert _run(policy, _resource_args("rt", resources()["rt"][1])) == []
        assert _run(policy, _resource_args("rt-pdb", resources()["rt-pdb"][1])) == []

    def test_config_from_engine(self) -> None:
        props = copy.deepcopy(resources()["rt"][1])
        props["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["periodSeconds"] = 20
        policy = _policy("deployment-readiness-probe")
        assert len(_run(policy, _resource_args("rt", props))) == 1
        relaxed = {"thresholds": {"max_probe_period_seconds": 30.0}}
        assert _run(policy, _resource_args("rt", props, relaxed)) == []

    def test_unknown_is_not_judged_without_crash(self) -> None:
        props = copy.deepcopy(resources()["rt"][1])
        props["spec"]["replicas"] = UNKNOWN_NUMBER_VALUE
        with pytest.raises(UnknownValueError) as caught:
            _run(_policy("deployment-rolling-update-hitless"), _resource_args("rt", props))
        assert isinstance(caught.value, NotJudgedError)
        assert "Deployment 'rt': cannot judge: spec.replicas is unknown" in caught.value.message


class TestStackPolicy:
    """A stack policy reads several resources; violations name the resource to change."""

    def test_violation_on_lb(self) -> None:
        out = _run(
            _policy("chain-request-timeouts-ordered"),
            _stack_args(lambda r: r["a-backend"][1].update(timeoutSec=30)),
        )
        assert len(out) == 1
        assert out[0][1] == urn("a-backend", "gcp:compute/backendService:BackendService")
        assert "timeoutSec 30: the LB gives up" in out[0][0]

    def test_baseline_passes(self) -> None:
        for name in ("pdb-matches-deployment", "chain-drain-covers-longest-request"):
            assert _run(_policy(name), _stack_args()) == []

    def test_fail_then_not_judged(self) -> None:
        def mutate(res: Any) -> None:
            res.pop("rt-pdb")
            res["kong"][1]["spec"]["template"]["metadata"]["labels"] = UNKNOWN_NUMBER_VALUE

        out: list[tuple[str, str | None]] = []
        with pytest.raises(NotJudgedError) as caught:
            _policy("pdb-matches-deployment").validate(
                _stack_args(mutate), lambda msg, urn=None: out.append((msg, urn))
            )
        assert [where for _, where in out] == [urn("rt", "kubernetes:apps/v1:Deployment")]
        assert "Deployment 'kong': cannot judge" in caught.value.message
