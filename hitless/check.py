"""`hitless check`: judge existing Kubernetes manifests and nginx configs with the pack's rules.

A team's manifests carry no identity labels, so tiers are inferred (a Deployment running a
Kong image or KONG_* env is tier C, any other Deployment tier D) and nginx files are given
with their tier. Chain hops whose two sides are present are judged; the others are listed as
not-judged. The config file is the engine's `--policy-pack-config` document (per-policy
entries) or a bare `{profile, thresholds}` mapping, JSON or YAML.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hitless_policy.extract import NGINX_FILE, ResourceInput
from hitless_policy.extract.k8s import KONG_CONFIG_KEY
from hitless_policy.extract.kong import KongConfigError, parse_declarative
from hitless_policy.extract.nginx import parse_text
from hitless_policy.identity import NGINX_CONF_METADATA_KEY, Tier
from hitless_policy.loader import InputError, load_file, load_one_file, read_text
from hitless_policy.profile import PackConfig
from hitless_policy.rules import RULE_IDS, RULES, Level
from hitless_policy.runner import Verdict, judge

CheckInputError = InputError
"""An input file that cannot be read or understood; the CLI exits with status 2."""


def type_token(api_version: str, kind: str) -> str:
    """Pulumi type token of a Kubernetes object (`apps/v1` + `Deployment`)."""
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


def _read(path: Path) -> str:
    return read_text(path)


def _documents(path: Path) -> list[tuple[int, Any]]:
    """(first line, document) of every YAML document in `path`."""
    return [(doc.line, doc.data) for doc in load_file(path)]


def _manifest_inputs(path: Path) -> list[ResourceInput]:
    out: list[ResourceInput] = []
    for line, doc in _documents(path):
        if doc is None:
            continue
        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "List" else [doc]
        for item in items or []:
            if not isinstance(item, dict):
                raise CheckInputError(path, line, "a document is not a Kubernetes object")
            api, kind = item.get("apiVersion"), item.get("kind")
            metadata = item.get("metadata") or {}
            name = metadata.get("name") if isinstance(metadata, dict) else None
            if not isinstance(api, str) or not isinstance(kind, str) or not isinstance(name, str):
                raise CheckInputError(
                    path, line, "a Kubernetes object needs apiVersion, kind and metadata.name"
                )
            data = item.get("data")
            if kind == "ConfigMap" and isinstance(data, dict) and KONG_CONFIG_KEY in data:
                try:
                    parse_declarative(str(data[KONG_CONFIG_KEY]))
                except KongConfigError as error:
                    raise CheckInputError(
                        path, line, f"ConfigMap {name} {KONG_CONFIG_KEY}: {error}"
                    ) from error
            out.append(
                ResourceInput(
                    urn=f"{path}:{kind}/{name}",
                    type=type_token(api, kind),
                    name=name,
                    props=item,
                )
            )
    return out


def _nginx_input(path: Path, tier: Tier) -> ResourceInput:
    text = _read(path)
    parsed = parse_text(text)
    if parsed.errors:
        line, message = parsed.errors[0]
        raise CheckInputError(path, line, f"nginx config: {message}")
    if tier is Tier.B and not parsed.stream:
        raise CheckInputError(path, 0, "tier B's config has no stream block (an L4 proxy)")
    if tier is Tier.A and parsed.stream and not parsed.proxies:
        raise CheckInputError(path, 0, "tier A's config has no http proxy_pass location")
    return ResourceInput(
        urn=f"{path}:NginxConf/tier-{tier.value}",
        type=NGINX_FILE,
        name=path.name,
        props={"tier": tier.value, "metadata": {NGINX_CONF_METADATA_KEY: text}},
    )


_LEVELS: dict[str, Level | None] = {"mandatory": "mandatory", "advisory": "advisory"}


def load_config(path: Path) -> tuple[PackConfig, dict[str, Level | None]]:
    """The PackConfig and the per-rule level overrides (None: disabled) of a config file."""
    raw = load_one_file(path) or {}
    if not isinstance(raw, dict):
        raise CheckInputError(path, 1, "the config must be a mapping")
    levels: dict[str, Level | None] = {}
    if set(raw) <= {"profile", "thresholds"}:
        bodies = [raw]
    else:
        bodies = []
        unknown = sorted(set(raw) - set(RULE_IDS) - {"all"})
        if unknown:
            raise CheckInputError(path, 1, f"unknown policies {', '.join(unknown)}")
        for key, value in raw.items():
            level = value if isinstance(value, str) else None
            if isinstance(value, dict):
                level = value.get("enforcementLevel")
                body = {k: v for k, v in value.items() if k != "enforcementLevel"}
                if body:
                    bodies.append(body)
            if level is not None:
                if level not in ("mandatory", "advisory", "disabled"):
                    raise CheckInputError(path, 1, f"{key}: unknown enforcementLevel {level!r}")
                for rule_id in RULE_IDS if key == "all" else [key]:
                    levels.setdefault(rule_id, _LEVELS.get(level))
                    if key != "all":
                        levels[rule_id] = _LEVELS.get(level)
    try:
        configs = [PackConfig.model_validate(body) for body in bodies] or [PackConfig()]
    except ValidationError as error:
        raise CheckInputError(path, 1, f"invalid policy config: {error}") from error
    if any(config != configs[0] for config in configs[1:]):
        raise CheckInputError(path, 1, "policies are given different profiles or thresholds")
    return configs[0], levels


def run_check(
    manifest_files: Sequence[Path],
    nginx_a: Path | None,
    nginx_b: Path | None,
    config_file: Path | None,
) -> list[Verdict]:
    """Judge manifests (multi-document YAML) and nginx configs (CheckInputError on bad input)."""
    config, levels = load_config(config_file) if config_file else (PackConfig(), {})
    inputs: list[ResourceInput] = []
    for path in manifest_files:
        inputs.extend(_manifest_inputs(path))
    if nginx_a is not None:
        inputs.append(_nginx_input(nginx_a, Tier.A))
    if nginx_b is not None:
        inputs.append(_nginx_input(nginx_b, Tier.B))
    rules = [rule for rule in RULES if levels.get(rule.id, rule.level) is not None]
    verdicts = judge(inputs, config, rules)
    out: list[Verdict] = []
    for verdict in verdicts:
        level = levels.get(verdict.rule)
        out.append(verdict if level is None else dataclasses.replace(verdict, level=level))
    return out
