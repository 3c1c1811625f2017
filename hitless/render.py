"""Write what a mock run produced: resources, manifests, nginx and Kong configs, and the docs.

Artifacts of `hitless preview --stack <s>` go to `build/<s>/`, which is emptied first so a
renamed resource leaves no stale file behind:

- `resources.json`: every captured resource in wire form (unknowns as Pulumi's sentinel);
- `tfplan.json`: the GCP resources as a Terraform plan, for scanners such as checkov;
- `k8s/<namespace>/<kind>-<name>.yaml`: each Kubernetes object (its props are the manifest);
- `kong/kong.yml`: Kong's declarative config, from the ConfigMap key `kong.yml`;
- `nginx/a.conf`, `nginx/b.conf`: the nginx.conf each MIG's instance template carries;
- `budget.md`, `policy.json`, `policy-pack-config.json`: written by the CLI (the explanation,
  the verdicts, and the stack's profile as `pulumi preview --policy-pack-config` takes it).

Every Pulumi secret is masked (`hitless.harness.SECRET_MASK`) in every file written here.

`config_reference()` generates `docs/config.md` from the pydantic models.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import shutil
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime.rpc import UNKNOWN
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hitless.components.config import PROJECT, SECRET_STACK_KEYS, STACK_KEYS, StackConfig
from hitless.harness import Capture, CapturedResource
from hitless.tfplan import terraform_plan
from hitless_policy.identity import NGINX_CONF_METADATA_KEY, Tier, identity_of

COMPUTED = "(known after apply)"
"""What rendered files show instead of the unknown sentinel."""
KONG_CONFIG_KEY = "kong.yml"
"""ConfigMap data key holding Kong's declarative config."""
TERRAFORM_PLAN_FILE = "tfplan.json"
"""The GCP resources as a Terraform plan (JSON), for outside scanners (`hitless.tfplan`)."""
CLUSTER_SCOPED = "_cluster"
"""Directory for Kubernetes objects without a namespace."""


def readable(value: Any) -> Any:
    """A wire-form value as a manifest spells it: whole floats as ints, unknowns as `COMPUTED`.

    The wire form (a protobuf Struct) carries every number as a float; Kubernetes wants ints.
    """
    if isinstance(value, dict):
        return {key: readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [readable(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return COMPUTED if value == UNKNOWN else value


def _safe(part: str) -> str:
    """A path component from a Kubernetes name or kind (no separators, no dot-dirs)."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in part).strip(".")
    return cleaned or "unnamed"


MANIFEST_HEAD = ("apiVersion", "kind", "metadata")
"""Keys a manifest lists first, in this order, as kubectl prints them."""


def manifest(props: Mapping[str, Any]) -> dict[str, Any]:
    """A Kubernetes object's props as a readable manifest: apiVersion, kind, metadata first."""
    ordered = {key: props[key] for key in MANIFEST_HEAD if key in props}
    ordered.update((key, value) for key, value in props.items() if key not in ordered)
    return dict(readable(ordered))


def is_kubernetes_object(res: CapturedResource) -> bool:
    """Whether a resource is a Kubernetes object whose props are its manifest."""
    return res.custom and res.type.startswith("kubernetes:") and "kind" in res.props


def manifest_path(res: CapturedResource) -> Path:
    """`k8s/<namespace>/<kind>-<name>.yaml` for a Kubernetes object (logical name if unnamed)."""
    metadata = res.props.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    namespace = metadata.get("namespace")
    name = metadata.get("name")
    namespace = namespace if isinstance(namespace, str) and namespace != UNKNOWN else None
    name = name if isinstance(name, str) and name != UNKNOWN else res.name
    kind = str(res.props["kind"]).lower()
    return Path("k8s", _safe(namespace or CLUSTER_SCOPED), f"{_safe(kind)}-{_safe(name)}.yaml")


def kong_config(capture: Capture) -> str | None:
    """Kong's declarative config from the ConfigMap that carries it, if the stack has one."""
    for res in capture.of_type("kubernetes:core/v1:ConfigMap"):
        data = res.props.get("data")
        if isinstance(data, Mapping) and isinstance(data.get(KONG_CONFIG_KEY), str):
            return str(data[KONG_CONFIG_KEY])
    return None


def nginx_confs(capture: Capture) -> dict[Tier, str]:
    """The nginx.conf carried in instance-template metadata, per tier (A and B)."""
    out: dict[Tier, str] = {}
    for res in capture.resources:
        metadata = res.props.get("metadata")
        if not isinstance(metadata, Mapping):
            continue
        conf = metadata.get(NGINX_CONF_METADATA_KEY)
        found = identity_of(res.props)
        if isinstance(conf, str) and found is not None and found.tier in (Tier.A, Tier.B):
            out[found.tier] = conf
    return out


def write_artifacts(capture: Capture, out: Path) -> list[Path]:
    """Empty `out` and write the run's resources, manifests, Kong and nginx configs into it."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written: list[Path] = []

    def put(relative: Path, text: str) -> None:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        # Props already hold the mask; scrubbing the text catches a secret copied elsewhere.
        path.write_text(capture.mask(text))
        written.append(path)

    put(Path("resources.json"), capture.to_json() + "\n")
    plan = terraform_plan(json.loads(capture.to_json()))
    put(Path(TERRAFORM_PLAN_FILE), json.dumps(plan, indent=2, sort_keys=True) + "\n")
    for res in capture.resources:
        if is_kubernetes_object(res):
            put(manifest_path(res), yaml.safe_dump(manifest(res.props), sort_keys=False))
    kong = kong_config(capture)
    if kong is not None:
        put(Path("kong", KONG_CONFIG_KEY), kong)
    for tier, conf in sorted(nginx_confs(capture).items()):
        put(Path("nginx", f"{tier.value}.conf"), conf)
    return written


def write_json(path: Path, data: Any) -> None:
    """Write `data` as indented JSON, creating the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------------------------
# docs/config.md: the inputs table, generated from the models
# --------------------------------------------------------------------------------------------

_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
_LENGTHS = (("min_length", "min items"), ("max_length", "max items"))


def _type_name(annotation: Any) -> str:
    """A readable type: `int`, `list[str]`, `"a" | "b"`, `IPv4 network`, a model's name."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(arg) for arg in args)
    if origin is typing.Annotated:
        # A bounded type inside a union (`BodyMiB | None`): the type with its bounds.
        bounds = _bounds(
            item
            for meta in annotation.__metadata__
            for item in (meta.metadata if isinstance(meta, FieldInfo) else [meta])
        )
        return f"{_type_name(args[0])} ({bounds})" if bounds else _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(arg) for arg in args)
    if origin is list:
        return f"list[{_type_name(args[0])}]"
    if origin is dict:
        return f"map[{_type_name(args[0])}, {_type_name(args[1])}]"
    if annotation is type(None):
        return "null"
    if annotation is ipaddress.IPv4Network:
        return "IPv4 CIDR"
    if annotation is ipaddress.IPv4Address:
        return "IPv4 address"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(json.dumps(member.value) for member in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _constraints(field: FieldInfo) -> str:
    """A field's bounds and pattern, e.g. `>= 1, <= 65535`."""
    return _bounds(field.metadata)


def _bounds(metadata: Iterable[Any]) -> str:
    """Bounds and pattern of constraint objects (annotated-types, pydantic's), as text."""
    parts: list[str] = []
    for item in metadata:
        parts.extend(
            f"{symbol} {getattr(item, attr):g}"
            for attr, symbol in _BOUNDS
            if getattr(item, attr, None) is not None
        )
        parts.extend(
            f"{label} {getattr(item, attr)}"
            for attr, label in _LENGTHS
            if getattr(item, attr, None) is not None
        )
        pattern = getattr(item, "pattern", None)
        if pattern is not None:
            parts.append(f"pattern `{pattern}`")
    return ", ".join(parts)


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds and whether it is a list of them (`X`, `X | None`, `list[X]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    for arg in typing.get_args(annotation):
        found, _ = _model_of(arg)
        if found is not None:
            return found, origin is list
    return None, False


def _default_text(value: Any) -> str:
    """A default as the stack file would spell it (JSON)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [
            item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in value
        ]
    return f"`{json.dumps(value, default=str)}`"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rows(
    model: type[BaseModel], prefix: str, defaults: BaseModel | None
) -> Iterator[tuple[str, str, str, str]]:
    """(path, type, default, description) for every field of `model`, nested models expanded.

    `defaults` is the parent's default instance, so a nested model built by a default factory
    with its own values (e.g. the autohealing health check) shows those, not the class defaults.
    """
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        nested, is_list = _model_of(field.annotation)
        kind = _type_name(field.annotation)
        limits = _constraints(field)
        kind = f"{kind} ({limits})" if limits else kind
        if defaults is not None:
            value: Any = getattr(defaults, name)
            default = _default_text(value)
        elif field.is_required():
            value, default = None, "required"
        else:
            value = field.get_default(call_default_factory=True)
            default = _default_text(value)
        description = _escape(field.description or "")
        if nested is None:
            yield path, kind, default, description
            continue
        if is_list:
            yield path, kind, default, description
            yield from _rows(nested, f"{path}[].", None)
        else:
            shown = "see below" if isinstance(value, BaseModel) else default
            yield path, kind, shown, description
            yield from _rows(nested, f"{path}.", value if isinstance(value, BaseModel) else None)


def config_reference() -> str:
    """`docs/config.md`: one inputs table per stack key, generated from the config models."""
    lines = [
        "# Stack configuration reference",
        "",
        "<!-- generated by `hitless docs` from hitless.components/config.py and "
        "policy/hitless_policy/profile.py: do not edit -->",
        "",
        f"Each stack file `stacks/Pulumi.<stack>.yaml` sets structured keys `{PROJECT}:<key>`; "
        "every field not set takes the default below. The program validates all keys together "
        "before it creates anything: an unknown key, a value out of range or a combination that "
        "cannot give a hitless rollout fails with the key, the value, the consequence and the fix.",
        "",
        "Nested fields are written with dots (`mig.target_size` is "
        f"`{PROJECT}:edge: {{mig: {{target_size: 3}}}}`); `[]` marks the fields of each list item.",
        "",
        "Besides these, the stack file sets the providers' `gcp:project` and `gcp:region`; "
        + ", ".join(f"`{PROJECT}:{key}`" for key in SECRET_STACK_KEYS)
        + " is a secret, set with `pulumi config set --secret`.",
    ]
    for key in STACK_KEYS:
        field = StackConfig.model_fields[key]
        nested, _ = _model_of(field.annotation)
        if nested is None:
            raise TypeError(f"stack key {key} is not a model")
        required = "required" if field.is_required() else "optional"
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        lines.extend(
            [
                "",
                f"## `{PROJECT}:{key}` ({required})",
                "",
                _escape(field.description or ""),
                "",
                "| field | type | default | description |",
                "|---|---|---|---|",
            ]
        )
        lines.extend(
            f"| `{path}` | {kind} | {value} | {description} |"
            for path, kind, value, description in _rows(
                nested, "", default if isinstance(default, BaseModel) else None
            )
        )
    return "\n".join(lines) + "\n"
