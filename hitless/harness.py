"""Run a Pulumi program under Pulumi's mock runtime and capture every resource it registers.

No engine, no cloud, no credentials: a `MockMonitor` answers the program's registrations, and
this harness records each resource's props in wire form (camelCase, unknown values as Pulumi's
unknown sentinel), its URN and its parent's URN, which is what a policy pack receives from the
engine. In preview mode the mocks return only the inputs, so every computed output (self links,
IPs, ids) stays unknown, as in the preview of a brand-new stack.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.rpc import UNKNOWN
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from hitless_policy.facts import CustomTimeouts

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"  # noqa: S105 - a wire-format marker
"""Key that marks a special value (secret, resource reference) in Pulumi's wire format."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - a wire-format marker
"""Signature of a secret value in Pulumi's wire format."""


SECRET_MASK = "[secret]"  # noqa: S105 - the placeholder shown instead of a secret
"""What captured props, artifacts and the console show instead of a Pulumi secret's value."""
MIN_SCRUBBED_SECRET = 4
"""Secrets at least this long are also scrubbed from any text written or printed; shorter ones
(which would match ordinary words) are masked where they sit in the props only."""


def _secret_strings(value: Any) -> list[str]:
    """Every string (and number, as text) inside a secret's plain value."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in _secret_strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _secret_strings(item)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value)]


def _plain(value: Any, secrets: set[str]) -> Any:
    """Mask secrets (recording their values in `secrets`), keep unknown sentinels, recurse.

    A secret whose value is still unknown keeps the unknown sentinel: the rules read it as
    "not known", and there is nothing to leak.
    """
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            inner = _plain(value.get("value"), secrets)
            if contains_unknown(inner):
                return inner
            secrets.update(_secret_strings(inner))
            return SECRET_MASK
        return {key: _plain(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, secrets) for item in value]
    return value


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret of at least MIN_SCRUBBED_SECRET characters replaced by the mask.

    Longest first, so a secret containing another is replaced whole.
    """
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SCRUBBED_SECRET:
            text = text.replace(secret, SECRET_MASK)
    return text


@dataclass
class CapturedResource:
    """One registered resource as the engine would show it to a policy pack."""

    urn: str
    """The resource's URN (parent types joined with `$`, as the engine builds it)."""
    type: str
    """Type token, e.g. `kubernetes:apps/v1:Deployment`."""
    name: str
    """Logical name."""
    parent: str
    """URN of the parent resource ("" for the stack's children)."""
    custom: bool
    """False for component resources."""
    props: dict[str, Any]
    """Inputs in wire form (camelCase); unknown values are Pulumi's unknown sentinel string."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """For components: the values passed to `register_outputs`."""
    ignore_changes: list[str] = field(default_factory=list)
    """Property paths the resource's `ignore_changes` option names."""
    dependencies: list[str] = field(default_factory=list)
    """URNs the resource depends on (`depends_on` and inputs from other resources)."""
    custom_timeouts: CustomTimeouts = field(default_factory=lambda: CustomTimeouts(0, 0, 0))
    """The `custom_timeouts` resource option, in seconds, as the engine gives it to policies."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Per input property: the URNs its value came from (what the engine gives a policy)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "props": self.props,
            "outputs": self.outputs,
            "ignore_changes": self.ignore_changes,
            "dependencies": self.dependencies,
            "opts": {"custom_timeouts": self.custom_timeouts.to_json()},
            "property_dependencies": self.property_dependencies,
        }


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """Seconds of a Go duration string (`5m`, `1h30m`, `3240s`); "" (unset) is 0.

    The SDK sends custom timeouts as these strings in the RegisterResource request; the engine
    parses them (Go's `time.ParseDuration`) and hands policies seconds
    (`PolicyCustomTimeouts.create_seconds`, 0 when unset).
    """
    if not text:
        return 0.0
    parts = _DURATION.findall(text)
    if "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"invalid duration {text!r}: expected e.g. '5m', '1h30m', '3240s'")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _custom_timeouts(request: Any) -> CustomTimeouts:
    """The request's `customTimeouts` (Go duration strings) in seconds."""
    if not request.HasField("customTimeouts"):
        return CustomTimeouts(0, 0, 0)
    found = request.customTimeouts
    return CustomTimeouts(
        duration_seconds(found.create),
        duration_seconds(found.update),
        duration_seconds(found.delete),
    )


def contains_unknown(value: Any) -> bool:
    """Whether a wire-form value holds an unknown sentinel anywhere."""
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, dict):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_unknown(item) for item in value)
    return False


class CapturingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that also records wire-form props, parents and component outputs."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.captured: dict[str, CapturedResource] = {}
        self.secrets: set[str] = set()
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """Build URNs as the engine does: the root stack is not a parent type."""
        if "::pulumi:pulumi:Stack::" in parent:
            parent = ""
        return str(super().make_urn(parent, type_, name))

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Register through the mock, then record the request."""
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            with self._lock:
                props = _plain(json_format.MessageToDict(request.object), self.secrets)
                self.captured[response.urn] = CapturedResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=bool(request.custom),
                    props=props,
                    ignore_changes=list(request.ignoreChanges),
                    dependencies=list(request.dependencies),
                    custom_timeouts=_custom_timeouts(request),
                    property_dependencies={
                        key: list(deps.urns)
                        for key, deps in request.propertyDependencies.items()
                        if deps.urns
                    },
                )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Record a component's registered outputs."""
        with self._lock:
            found = self.captured.get(request.urn)
            if found is not None:
                found.outputs = _plain(json_format.MessageToDict(request.outputs), self.secrets)
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:63]


STACK_REFERENCE = "pulumi:pulumi:StackReference"
"""Type token of a `pulumi.StackReference`."""


class ChainMocks(pulumi_mocks.Mocks):
    """Mocks that return realistic computed outputs, or none at all in preview mode.

    Outside preview every resource gets an id, a `name` (its input or its logical name), and
    GCP resources a `selfLink`/`selfLinkUnique`; addresses echo their reserved IP, clusters get
    an endpoint and CA. In preview mode only the inputs come back, so computed outputs are unknown.
    """

    def __init__(
        self,
        project: str,
        *,
        preview: bool,
        stack_references: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.project = project
        self.preview = preview
        self.stack_references = dict(stack_references or {})

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        """Answer a registration."""
        state = dict(args.inputs)
        if args.typ == STACK_REFERENCE:
            # Another stack's outputs are read, known in a preview too (the engine reads them).
            referenced = str(state.get("name", args.name))
            if referenced not in self.stack_references:
                raise KeyError(f"no outputs given for the stack reference {referenced!r}")
            outputs = dict(self.stack_references[referenced])
            return referenced, {"name": referenced, "outputs": outputs, "secretOutputNames": []}
        if self.preview:
            return None, state
        name = state.get("name") or _slug(args.name)
        state.setdefault("name", name)
        if args.typ.startswith("gcp:"):
            kind = args.typ.split(":")[-1]
            collection = kind[0].lower() + kind[1:] + ("es" if kind.endswith("s") else "s")
            link = (
                f"https://www.googleapis.com/compute/v1/projects/{self.project}/{collection}/{name}"
            )
            state.setdefault("selfLink", link)
            state.setdefault("selfLinkUnique", f"{link}?uniqueId=1234567890")
            state.setdefault("instanceGroup", f"{link}-ig")
        if args.typ in ("gcp:compute/address:Address", "gcp:compute/globalAddress:GlobalAddress"):
            state.setdefault("address", "203.0.113.10")
        if args.typ == "gcp:container/cluster:Cluster":
            state.setdefault("endpoint", "172.16.0.2")
            # The CA is computed; the inputs may hold `clientCertificateConfig` beside it.
            master_auth = state.get("masterAuth")
            state["masterAuth"] = {
                **(master_auth if isinstance(master_auth, dict) else {}),
                "clusterCaCertificate": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
            }
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answer data-source calls the components make."""
        answers: dict[str, dict[str, Any]] = {
            "gcp:organizations/getClientConfig:getClientConfig": {
                "project": self.project,
                "id": "client-config",
            },
            "gcp:organizations/getProject:getProject": {
                "projectId": self.project,
                "number": "123456789012",
            },
        }
        if args.token in answers:
            return answers[args.token], []
        return {}, []


@dataclass
class Capture:
    """What one mock run registered."""

    resources: list[CapturedResource]
    """Every registered resource (components included), in registration order."""
    stack_outputs: dict[str, Any]
    """The program's `pulumi.export`ed values (resolved where known; secrets masked)."""
    secrets: list[str] = field(default_factory=list)
    """Plain values of every secret the run saw (props hold `SECRET_MASK` instead); never
    written anywhere, only used to scrub text (`mask`)."""

    def mask(self, text: str) -> str:
        """`text` with every secret value of this run replaced by `SECRET_MASK`."""
        return mask_text(text, self.secrets)

    def of_type(self, type_token: str) -> list[CapturedResource]:
        """Resources of one type token."""
        return [res for res in self.resources if res.type == type_token]

    def only(self, type_token: str) -> CapturedResource:
        """The one resource of a type token (raises LookupError when there are none or several)."""
        found = self.of_type(type_token)
        if len(found) != 1:
            raise LookupError(f"expected one {type_token}, got {[res.urn for res in found]}")
        return found[0]

    def named(self, name: str, type_token: str | None = None) -> CapturedResource:
        """The resource with this logical name, of `type_token` when given.

        Raises KeyError when absent and LookupError when the type differs.
        """
        for res in self.resources:
            if res.name == name:
                if type_token is not None and res.type != type_token:
                    raise LookupError(f"{res.urn}: expected a {type_token}")
                return res
        raise KeyError(name)

    def to_json(self) -> str:
        """All resources as JSON, as written to `resources.json` (secrets masked)."""
        text = json.dumps([res.to_json() for res in self.resources], indent=2, sort_keys=True)
        return self.mask(text)


def run_program(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    config: Mapping[str, Any],
    preview: bool,
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
) -> Capture:
    """Run `program` under the mock runtime with `config` (full keys, e.g. `hitless:runtimes`).

    Structured values are passed to the program as JSON strings, as the engine does.
    `stack_references` answers each `pulumi.StackReference` by stack name with its outputs.
    """
    pulumi.runtime.set_all_config(
        {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in config.items()
        }
    )
    gcp_project = config.get("gcp:project", project)
    mocks = ChainMocks(str(gcp_project), preview=preview, stack_references=stack_references)
    monitor = CapturingMonitor(mocks)
    pulumi_settings.ROOT.set(None)  # a fresh root stack per run
    pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()
    _sync_await(run_pulumi_func(program))
    root = pulumi.runtime.get_root_resource()
    exported: dict[str, Any] = {}
    if isinstance(root, Stack):
        for key, value in root.outputs.items():
            output = pulumi.Output.from_input(value)
            # An output unknown at preview resolves to None; the others keep their values.
            resolved = _sync_await(output.future())
            if _sync_await(output.is_secret()):
                monitor.secrets.update(_secret_strings(resolved))
                resolved = SECRET_MASK
            exported[key] = resolved
    return Capture(
        resources=list(monitor.captured.values()),
        stack_outputs=exported,
        secrets=sorted(monitor.secrets),
    )
