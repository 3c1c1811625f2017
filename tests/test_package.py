"""The component package (`hitless.package`, `package/PulumiPlugin.yaml`) and the version.

The schema is inferred offline by the SDK's own analyzer (`ComponentProvider`, as the plugin
does at start-up) and, separately, asked of the plugin process over the provider gRPC protocol.
"""

from __future__ import annotations

import enum
import json
import re
import subprocess
import sys
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pydantic import BaseModel
from typer.testing import CliRunner

from hitless import package_version
from hitless.cli import app
from hitless.components.config import (
    ClusterConfig,
    NodePoolConfig,
    PlatformConfig,
    StackConfig,
    UpgradeStrategy,
)
from hitless.harness import Capture, run_program
from hitless.package import components, generate
from hitless.package.chain import CHAIN_TYPE, Chain, ChainInputError
from hitless.package.chain_runtime import CHAIN_RUNTIME_TYPE
from hitless.program import judge_capture
from hitless_policy.profile import PackConfig
from tests.conftest import ROOT, hitless_values, stack_values

PYPROJECT_VERSION: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
"""The one source of the version."""


def _schema() -> dict[str, Any]:
    provider = ComponentProvider(components(), "hitless", None, package_version())
    schema: dict[str, Any] = json.loads(provider.schema or "{}")
    return schema


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The package schema as the plugin infers it."""
    return _schema()


class TestVersion:
    """One version: pyproject's, read at runtime; the changelog's newest entry names it."""

    def test_installed_version_is_pyprojects(self) -> None:
        assert package_version() == PYPROJECT_VERSION

    def test_cli_prints_it(self) -> None:
        result = CliRunner().invoke(app, ["--version"])
        assert result.exit_code == 0
        assert result.output.strip() == f"hitless {PYPROJECT_VERSION}"

    def test_changelog_top_version(self) -> None:
        text = (ROOT / "CHANGELOG.md").read_text()
        versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", text, re.M)
        assert versions, "CHANGELOG.md has no `## [x.y.z] - YYYY-MM-DD` entry"
        assert versions[0][0] == PYPROJECT_VERSION

    def test_changelog_is_keep_a_changelog(self) -> None:
        text = (ROOT / "CHANGELOG.md").read_text()
        assert text.startswith("# Changelog\n")
        headings = re.findall(r"^## (.+)$", text, re.M)
        assert all(
            h == "[Unreleased]" or re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", h)
            for h in headings
        ), headings
        kinds = set(re.findall(r"^### (.+)$", text, re.M))
        assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
        numbers = [
            tuple(int(p) for p in v.split(".")) for v in re.findall(r"^## \[([\d.]+)\]", text, re.M)
        ]
        assert numbers == sorted(numbers, reverse=True)


class TestGeneratedInputs:
    """The package's input types are the config model's, regenerated whenever it changes."""

    def test_inputs_module_is_current(self) -> None:
        current = generate.TARGET.read_text(encoding="utf-8")
        assert current == generate.render(), (
            "hitless/package/inputs.py is stale: run `python -m hitless.package.generate`"
        )

    def test_check_mode_passes_when_current(self) -> None:
        check = [sys.executable, "-m", "hitless.package.generate", "--check"]
        assert subprocess.run(check, cwd=ROOT, check=False).returncode == 0


def _ref_name(prop: dict[str, Any]) -> str:
    return str(prop["$ref"]).rsplit(":", 1)[-1]


class TestChainSchema:
    """`hitless:index:Chain` takes the stack keys as typed inputs and returns the chain's ends."""

    def test_package_identity(self, schema: dict[str, Any]) -> None:
        assert schema["name"] == "hitless"
        assert schema["version"] == PYPROJECT_VERSION
        assert set(schema["resources"]) == {CHAIN_TYPE, CHAIN_RUNTIME_TYPE}
        assert schema["resources"][CHAIN_TYPE]["isComponent"] is True
        # Copied as written: an indented continuation would render as code in the SDKs' docs.
        assert "\n" not in schema["resources"][CHAIN_TYPE]["description"]

    def test_inputs_are_the_stack_keys(self, schema: dict[str, Any]) -> None:
        chain = schema["resources"][CHAIN_TYPE]
        fields = StackConfig.model_fields
        assert set(chain["inputProperties"]) == {camel_case(name) for name in fields}
        assert set(chain["requiredInputs"]) == {
            camel_case(name) for name, field in fields.items() if field.is_required()
        }
        for name, field in fields.items():
            prop = chain["inputProperties"][camel_case(name)]
            assert prop["description"].startswith(str(field.description)), name
            assert prop["plain"] is True, f"{name}: the chain's settings are plain values"
            annotation = field.annotation
            if typing.get_origin(annotation) is list:  # hitless:runtimes, a list of models
                assert prop["type"] == "array", name
                prop, annotation = prop["items"], typing.get_args(annotation)[0]
            assert _ref_name(prop) == getattr(annotation, "__name__", None), name

    def test_every_model_is_a_type_with_its_fields(self, schema: dict[str, Any]) -> None:
        for model in generate.models():
            if model is StackConfig:
                continue
            token = f"hitless:index:{model.__name__}"
            assert token in schema["types"], token
            kind = schema["types"][token]
            assert set(kind["properties"]) == {camel_case(n) for n in model.model_fields}, token
            assert set(kind.get("required", [])) == {
                camel_case(n) for n, f in model.model_fields.items() if f.is_required()
            }, token
            for name, field in model.model_fields.items():
                description = kind["properties"][camel_case(name)]["description"]
                assert description.startswith(str(field.description).strip()), (token, name)
                assert "\n" not in description, (token, name)

    def test_scalar_and_collection_types(self, schema: dict[str, Any]) -> None:
        types = schema["types"]
        platform = types["hitless:index:PlatformConfig"]["properties"]
        assert platform["zones"]["type"] == "array"
        assert platform["zones"]["items"]["type"] == "string"
        assert platform["labels"]["additionalProperties"]["type"] == "string"
        profile = types["hitless:index:TrafficProfile"]["properties"]
        assert profile["maxBodyMib"]["type"] == "number"
        pools = types["hitless:index:ClusterConfig"]["properties"]["nodePools"]
        assert _ref_name(pools["items"]) == NodePoolConfig.__name__
        pool = types["hitless:index:NodePoolConfig"]["properties"]
        assert pool["diskSizeGb"]["type"] == "integer"
        assert pool["spot"]["type"] == "boolean"

    def test_enums_and_literals(self, schema: dict[str, Any]) -> None:
        strategy = schema["types"]["hitless:index:UpgradeStrategy"]
        assert [item["value"] for item in strategy["enum"]] == [m.value for m in UpgradeStrategy]
        channel = schema["types"]["hitless:index:ClusterConfig"]["properties"]["releaseChannel"]
        # A Literal becomes its base type; the allowed values are in the description.
        assert channel["type"] == "string"
        assert '`"REGULAR"`' in channel["description"]

    def test_defaults_are_described_not_set(self, schema: dict[str, Any]) -> None:
        pool = schema["types"]["hitless:index:NodePoolConfig"]["properties"]
        default = NodePoolConfig.model_fields["machine_type"].default
        assert pool["machineType"]["description"].endswith(f'Default: `"{default}"`.')
        assert "default" not in pool["machineType"]  # the model applies it, not the SDKs
        assert "region" in schema["types"]["hitless:index:PlatformConfig"]["required"]
        assert "chain" not in schema["types"]["hitless:index:PlatformConfig"]["required"]
        assert PlatformConfig.model_fields["chain"].default is not None

    def test_outputs(self, schema: dict[str, Any]) -> None:
        chain = schema["resources"][CHAIN_TYPE]
        expected = {
            name: value.__doc__
            for name, value in Chain.__annotations__.items()
            if not name.startswith("_")
        }
        assert set(chain["properties"]) == {camel_case(name) for name in expected}
        assert set(chain["required"]) == set(chain["properties"])
        for name in expected:
            prop = chain["properties"][camel_case(name)]
            assert prop["type"] == "string"
            assert prop["description"]


class TestPluginOverGrpc:
    """The plugin process answers the engine's GetPluginInfo and GetSchema on loopback."""

    def test_get_schema(self, tmp_path: Path, schema: dict[str, Any]) -> None:
        out = tmp_path / "out.json"
        subprocess.run(
            [
                "unshare",
                "-rn",
                "sh",
                "-c",
                'ip link set lo up && exec "$0" -m tests.package_client "$0" "$1"',
                sys.executable,
                str(out),
            ],
            cwd=ROOT,
            check=True,
            timeout=300,
        )
        answer = json.loads(out.read_text())
        assert answer["version"] == PYPROJECT_VERSION
        assert answer["schema"] == schema

    def test_plugin_manifest(self) -> None:
        manifest = (ROOT / "package" / "PulumiPlugin.yaml").read_text()
        assert re.search(r"^runtime:\n  name: python$", manifest, re.M)
        assert (ROOT / "package" / "requirements.txt").read_text().splitlines()[-1] == ".."


def _chain_program(values: dict[str, Any]) -> Any:
    def program() -> None:
        Chain("edge", values)  # type: ignore[arg-type]

    return program


def _run_chain(values: dict[str, Any], stack: str = "dev") -> Capture:
    return run_program(
        _chain_program(values),
        project="consumer",
        stack=stack,
        config=stack_values(stack),
        preview=True,
    )


@pytest.fixture(scope="module", params=["dev", "prod"])
def built(request: pytest.FixtureRequest) -> tuple[str, Capture]:
    """Each checked-in stack's values given to a `Chain`, captured under the mock runtime."""
    stack = str(request.param)
    return stack, _run_chain(hitless_values(stack), stack)


class TestChainComponent:
    """Constructed as a consumer would, the chain is the program's chain, under one parent."""

    def test_every_resource_is_under_the_chain(self, built: tuple[str, Capture]) -> None:
        _, cap = built
        root = cap.only(CHAIN_TYPE)
        assert root.parent.endswith("pulumi:pulumi:Stack::consumer-" + built[0])
        by_urn = {res.urn: res for res in cap.resources}
        for res in cap.resources:
            if res is root:
                continue
            node = res
            while node.parent in by_urn and node.parent != root.urn:
                node = by_urn[node.parent]
            assert node.parent == root.urn, f"{res.urn} is not under {root.urn}"

    def test_same_resources_as_the_program(self, built: tuple[str, Capture]) -> None:
        stack, cap = built
        from hitless.program import run_stack

        program = run_stack(stack, ROOT, preview=True)
        ours = {(r.type, r.name) for r in cap.resources if r.type != CHAIN_TYPE}
        theirs = {(r.type, r.name) for r in program.resources if r.type != "pulumi:pulumi:Stack"}
        assert ours == theirs

    def test_passes_the_pack(self, built: tuple[str, Capture]) -> None:
        stack, cap = built
        cfg = StackConfig.model_validate(hitless_values(stack))
        verdicts = judge_capture(cap, PackConfig(profile=cfg.profile, thresholds=cfg.thresholds))
        failed = [v for v in verdicts if v.status == "fail" and v.level == "mandatory"]
        assert failed == []
        assert len({v.rule for v in verdicts if v.status == "pass"}) > 20

    def test_outputs_registered(self, built: tuple[str, Capture]) -> None:
        _, cap = built
        outputs = cap.only(CHAIN_TYPE).outputs
        assert set(outputs) == {name for name in Chain.__annotations__ if not name.startswith("_")}


class TestChainInputErrors:
    """A wrong input fails before any resource, naming the input, the value and the fix."""

    def test_out_of_bounds_value(self) -> None:
        values = hitless_values("dev")
        values["runtimes"] = [{**values["runtimes"][0], "termination_grace_seconds": 1}]
        with pytest.raises(
            ChainInputError,
            match=r"(?s)Chain 'edge'.*hitless:runtimes\.0\.termination_grace_seconds = 1.*Fix",
        ):
            _run_chain(values)

    def test_wrong_type_names_the_input_not_a_stack_file(self) -> None:
        values = hitless_values("dev")
        values["platform"] = {**values["platform"], "zones": "europe-west1-b"}
        with pytest.raises(ChainInputError) as caught:
            _run_chain(values)
        message = str(caught.value)
        assert 'hitless:platform.zones = "europe-west1-b"' in message
        assert "in the inputs of 'edge'" in message
        assert "stacks/Pulumi" not in message

    def test_output_refused(self) -> None:
        import pulumi

        values = hitless_values("dev")
        values["platform"] = {**values["platform"], "region": pulumi.Output.from_input("x")}
        with pytest.raises(ChainInputError, match=r"platform\.region is an Output.*Fix"):
            _run_chain(values)
        values = hitless_values("dev")
        zones = [pulumi.Output.from_input("europe-west1-b")]
        values["platform"] = {**values["platform"], "zones": zones}
        with pytest.raises(ChainInputError, match=r"platform\.zones\[0\] is an Output"):
            _run_chain(values)

    def test_enum_instance_accepted(self) -> None:
        # The provider hands enum inputs over as the Python enum (ComponentProvider.map_inputs).
        values = hitless_values("dev")
        cluster = ClusterConfig.model_validate(values.get("cluster", {}))
        pools = [
            {**pool.model_dump(mode="json"), "strategy": UpgradeStrategy(pool.strategy)}
            for pool in cluster.node_pools
        ]
        values["cluster"] = {**values.get("cluster", {}), "node_pools": pools}
        cap = _run_chain(values)
        assert cap.only(CHAIN_TYPE)


class TestEnumsAreTheModels:
    """The schema's enums are the config model's own enum classes, not copies."""

    def test_enum_classes(self) -> None:
        from hitless.package import inputs

        enums = {
            v for v in vars(inputs).values() if isinstance(v, type) and issubclass(v, enum.Enum)
        }
        assert UpgradeStrategy in enums
        assert all(e.__module__ == "hitless.components.config" for e in enums)


def _wire(value: Any, model: type[BaseModel] | None) -> Any:
    """`value` (a section as the stack file holds it) as the engine sends it to the plugin:
    camelCase keys, every number a float (protobuf's Struct knows only doubles)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [_wire(item, model) for item in value]
    if isinstance(value, dict) and model is not None:
        out: dict[str, Any] = {}
        for key, item in value.items():
            field = model.model_fields[key]
            nested = _model_of(field.annotation)
            out[camel_case(key)] = _wire(item, nested)
        return out
    if isinstance(value, dict):
        return {key: _wire(item, None) for key, item in value.items()}
    return value


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (itself, in a list, or optional), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


class TestConstructFromAnotherLanguage:
    """The provider's construct path: wire inputs (camelCase, numbers as doubles, enums as
    strings) mapped by the SDK's `ComponentProvider` build the same chain."""

    def test_construct(self) -> None:
        values = hitless_values("prod")
        wire = _wire(values, StackConfig)
        assert "nodePools" in json.dumps(wire) or "cluster" not in values
        provider = ComponentProvider(components(), "hitless", None, package_version())
        states: list[dict[str, Any]] = []

        def program() -> None:
            result = provider.construct("edge", CHAIN_TYPE, wire, None)
            states.append(dict(result.state))

        cap = run_program(
            program, project="consumer", stack="prod", config=stack_values("prod"), preview=True
        )
        direct = _run_chain(values, "prod")
        assert {(r.type, r.name) for r in cap.resources} == {
            (r.type, r.name) for r in direct.resources
        }
        by_name = {(r.type, r.name): r.props for r in direct.resources}
        for res in cap.resources:
            assert res.props == by_name[(res.type, res.name)], res.urn
        assert set(states[0]) == {camel_case(n) for n in Chain.__annotations__}

    def test_missing_required_input(self) -> None:
        provider = ComponentProvider(components(), "hitless", None, package_version())
        wire = _wire(hitless_values("dev"), StackConfig)
        del wire["runtimes"]
        with pytest.raises(Exception, match="Missing required input 'runtimes'"):
            provider.construct("edge", CHAIN_TYPE, wire, None)


def _yaml_example() -> dict[str, Any]:
    """The YAML program of docs/package.md."""
    import yaml

    text = (ROOT / "docs" / "package.md").read_text()
    (block,) = re.findall(r"```yaml\n(.*?)```", text, re.S)
    program: dict[str, Any] = yaml.safe_load(block)
    return program


class TestDocumentedExample:
    """The YAML program in docs/package.md builds a chain the pack accepts, as YAML sends it."""

    def test_yaml_program(self) -> None:
        program = _yaml_example()
        (resource,) = program["resources"].values()
        assert resource["type"] == CHAIN_TYPE
        wire = _wire_numbers(resource["properties"])
        provider = ComponentProvider(components(), "hitless", None, package_version())

        def run() -> None:
            provider.construct("shop", CHAIN_TYPE, wire, None)

        cap = run_program(
            run,
            project="shop",
            stack="dev",
            config={"gcp:project": "acme-shop", "gcp:region": "europe-west1"},
            preview=True,
        )
        # The program sets no profile or thresholds: the pack judges with the defaults.
        verdicts = judge_capture(cap, PackConfig())
        assert [v for v in verdicts if v.status == "fail" and v.level == "mandatory"] == []
        assert cap.of_type("kubernetes:apps/v1:Deployment")
        for output in program["outputs"].values():
            name = re.fullmatch(r"\$\{shop\.(\w+)\}", output)
            assert name
            assert name.group(1) in _schema()["resources"][CHAIN_TYPE]["properties"]


def _wire_numbers(value: Any) -> Any:
    """Numbers as the engine sends them (doubles); keys as written."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [_wire_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _wire_numbers(item) for key, item in value.items()}
    return value


# --------------------------------------------------------------------------------------------
# hitless:index:ChainRuntime: one more runtime behind an existing chain
# --------------------------------------------------------------------------------------------


def _runtime_facts() -> tuple[StackConfig, dict[str, Any]]:
    """The hybrid dev chain, and a runtime that fits its path (the example's)."""
    from tests.test_chain_runtime import REPORTS, chain_config

    return chain_config(), dict(REPORTS)


class TestChainRuntimeSchema:
    """`hitless:index:ChainRuntime` takes the runtime, the chain's two outputs and the way in."""

    def test_inputs(self, schema: dict[str, Any]) -> None:
        from hitless.components.chain_runtime import ChainRuntimeConfig

        resource = schema["resources"][CHAIN_RUNTIME_TYPE]
        assert resource["isComponent"] is True
        assert "\n" not in resource["description"]
        props = resource["inputProperties"]
        assert set(props) == {"runtime", "chain", "kong", "kubeconfig", "kongAdminToken"}
        assert set(resource["requiredInputs"]) == {"runtime", "chain", "kong", "kubeconfig"}
        for name, field in ChainRuntimeConfig.model_fields.items():
            prop = props[name]
            assert prop["description"] == field.description, name
            assert prop["plain"] is True, f"{name}: judged before any resource, so plain"
            assert _ref_name(prop) == getattr(field.annotation, "__name__", field.annotation)
        for name in ("kubeconfig", "kongAdminToken"):
            assert props[name]["type"] == "string", name
            assert "plain" not in props[name], f"{name} may be another stack's output"
            assert "\n" not in props[name]["description"], name

    def test_facts_types(self, schema: dict[str, Any]) -> None:
        chain = schema["types"]["hitless:index:ChainFacts"]["properties"]
        assert _ref_name(chain["longest"]) == "TierSeconds"
        assert _ref_name(chain["profile"]) == "TrafficProfile"
        kong = schema["types"]["hitless:index:KongFacts"]["properties"]
        assert kong["podLabels"]["additionalProperties"]["type"] == "string"
        assert '`"hybrid"`' in kong["mode"]["description"]

    def test_outputs(self, schema: dict[str, Any]) -> None:
        from hitless.package.chain_runtime import ChainRuntime

        resource = schema["resources"][CHAIN_RUNTIME_TYPE]
        names = {camel_case(n) for n in ChainRuntime.__annotations__ if not n.startswith("_")}
        assert set(resource["properties"]) == names == {"serviceHost", "namespace", "routePaths"}
        assert resource["properties"]["routePaths"]["items"]["type"] == "string"
        assert set(resource["required"]) == names


KUBECONFIG = "apiVersion: v1\nkind: Config\n"
"""A stand-in kubeconfig of the chain's cluster."""


def _construct_runtime(wire: dict[str, Any]) -> tuple[Capture, list[dict[str, Any]]]:
    provider = ComponentProvider(components(), "hitless", None, package_version())
    states: list[dict[str, Any]] = []

    def program() -> None:
        result = provider.construct("main-reports", CHAIN_RUNTIME_TYPE, wire, None)
        states.append(dict(result.state))

    cap = run_program(program, project="reports", stack="dev", config={}, preview=True)
    return cap, states


def _runtime_wire(chain: StackConfig, runtime: dict[str, Any]) -> dict[str, Any]:
    """The inputs as a TypeScript program sends them: the chain's `chain_runtime_inputs`
    output passed on as read, the runtime in camelCase, every number a double."""
    from hitless.components.chain import chain_runtime_inputs
    from hitless.components.config import RuntimeConfig

    return {
        "runtime": _wire(runtime, RuntimeConfig),
        **_wire_numbers(chain_runtime_inputs(chain)),
        "kubeconfig": KUBECONFIG,
    }


@pytest.fixture(scope="module")
def constructed() -> tuple[Capture, list[dict[str, Any]]]:
    """The example's runtime built through the provider from wire-form inputs."""
    chain, runtime = _runtime_facts()
    return _construct_runtime(_runtime_wire(chain, runtime))


class TestChainRuntimeFromAnotherLanguage:
    """The construct path builds what the library's `ChainRuntime` builds, and the pack passes
    it with the tiers of the chain's stack not judged."""

    def test_same_resources_as_the_library_component(
        self, constructed: tuple[Capture, list[dict[str, Any]]]
    ) -> None:
        from hitless.components import chain_runtime as library
        from tests.test_chain_runtime import load

        cap, states = constructed
        chain, runtime = _runtime_facts()

        def program() -> None:
            library.ChainRuntime(
                "main-reports",
                library.ChainRuntimeArgs(config=load(runtime, chain), kubeconfig=KUBECONFIG),
            )

        direct = run_program(program, project="reports", stack="dev", config={}, preview=True)
        components = {CHAIN_RUNTIME_TYPE, library.TYPE}
        ours = {(r.type, r.name): r.props for r in cap.resources if r.type not in components}
        theirs = {(r.type, r.name): r.props for r in direct.resources if r.type not in components}
        assert set(ours) == set(theirs)
        for key, props in ours.items():
            assert props == theirs[key], key
        assert cap.only("kubernetes:apps/v1:Deployment").parent.endswith("::main-reports")
        assert set(states[0]) == {"serviceHost", "namespace", "routePaths"}

    def test_every_resource_under_the_component(
        self, constructed: tuple[Capture, list[dict[str, Any]]]
    ) -> None:
        cap, _ = constructed
        root = cap.only(CHAIN_RUNTIME_TYPE)
        assert root.outputs["route_paths"] == ["/reports"], root.urn
        by_urn = {res.urn: res for res in cap.resources}
        for res in cap.resources:
            node = res
            while node is not root and node.parent in by_urn:
                node = by_urn[node.parent]
            assert node is root, f"{res.urn} is not under {root.urn}"

    def test_passes_the_pack_with_the_chains_tiers_not_judged(
        self, constructed: tuple[Capture, list[dict[str, Any]]]
    ) -> None:
        cap, _ = constructed
        chain, _ = _runtime_facts()
        verdicts = judge_capture(
            cap, PackConfig(profile=chain.profile, thresholds=chain.thresholds)
        )
        failed = [v for v in verdicts if v.status == "fail" and v.level == "mandatory"]
        assert failed == []
        grace = [v for v in verdicts if v.rule == "deployment-grace-covers-drain"]
        assert grace
        assert {v.status for v in grace} == {"pass"}
        for rule in ("chain-idle-timeouts-cover-silence", "chain-pooled-connections-recycled"):
            judged = [v for v in verdicts if v.rule == rule]
            assert judged, rule
            assert {v.status for v in judged} == {"not-judged"}, judged


class TestChainRuntimeInputErrors:
    """A wrong input fails before any resource, naming the input, the value and the fix."""

    def test_dbless_chain(self) -> None:
        from tests.test_chain_runtime import chain_config

        _, runtime = _runtime_facts()
        wire = _runtime_wire(chain_config(hybrid=False), runtime)
        with pytest.raises(Exception, match=r"(?s)ChainRuntime 'main-reports'.*runs Kong DB-less"):
            _construct_runtime(wire)

    def test_bad_runtime_value(self) -> None:
        chain, runtime = _runtime_facts()
        wire = _runtime_wire(chain, {**runtime, "replicas": 1})
        with pytest.raises(Exception, match=r"hitless:runtime\.replicas = 1.*inputs of"):
            _construct_runtime(wire)

    def test_missing_required_input(self) -> None:
        chain, runtime = _runtime_facts()
        wire = _runtime_wire(chain, runtime)
        del wire["kong"]
        with pytest.raises(Exception, match="Missing required input 'kong'"):
            _construct_runtime(wire)

    def test_output_refused_for_a_judged_input(self) -> None:
        import pulumi

        from hitless.package.chain_runtime import ChainRuntime

        chain, runtime = _runtime_facts()
        wire = _runtime_wire(chain, runtime)

        inputs: Any = {
            "runtime": runtime,
            "chain": pulumi.Output.from_input(wire["chain"]),
            "kong": wire["kong"],
            "kubeconfig": KUBECONFIG,
        }

        def program() -> None:
            ChainRuntime("main-reports", inputs)

        with pytest.raises(ChainInputError, match=r"input chain is an Output.*Fix"):
            run_program(program, project="reports", stack="dev", config={}, preview=True)


class TestDocumentedChainRuntime:
    """The TypeScript snippet of docs/package.md names only what the schema and the chain have."""

    def test_typescript_snippet(self, schema: dict[str, Any]) -> None:
        from hitless.components.config import RuntimeConfig
        from tests.test_chain_runtime import REPORTS

        text = (ROOT / "docs" / "package.md").read_text()
        (block,) = [b for b in re.findall(r"```typescript\n(.*?)```", text, re.S) if "Runtime" in b]
        assert 'new hitless.ChainRuntime("main-reports"' in block
        (output,) = re.findall(r'getOutputDetails\("(\w+)"\)', block)
        assert output == "chain_runtime_inputs"  # exported by the chain (__main__.py)
        assert f'pulumi.export("{output}"' in (ROOT / "__main__.py").read_text()
        known = set(schema["resources"][CHAIN_RUNTIME_TYPE]["inputProperties"])
        for kind in schema["types"].values():
            known |= set(kind.get("properties", {}))
        runtime = block[block.index("runtime: {") : block.index("chain: facts")]
        keys = set(re.findall(r"(?:^|[{,])\s*(\w+):", runtime, re.M))
        assert keys <= known, keys - known
        # The snippet's runtime is the one the construct tests build.
        assert keys - {"runtime"} == set(_flat_keys(_wire(REPORTS, RuntimeConfig)))


def _flat_keys(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return []
    return list(value) + [k for item in value.values() for k in _flat_keys(item)]
