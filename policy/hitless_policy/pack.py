"""The CrossGuard policies: one per rule id, calling the same rule functions as every runner.

Single-resource rules become `ResourceValidationPolicy`s matched on their type tokens; chain
and cross-resource rules become `StackValidationPolicy`s. Each policy takes the pack config
(`profile`, `thresholds`; schema generated from the pydantic models) and parses it into a
`PackConfig`. Failures are reported as violations on the resource's URN; resources a rule
cannot judge (preview unknowns, missing tiers) are reported after them through
`UnknownValueError`, which the engine shows as an advisory "can't run policy" diagnostic.

Importing this module starts nothing; `policy/__main__.py` builds the `PolicyPack`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError
from pydantic import BaseModel, ValidationError

from hitless_policy.extract import ResourceInput, collect_facts
from hitless_policy.extract.props import plain
from hitless_policy.facts import CustomTimeouts, Facts
from hitless_policy.profile import PackConfig, Thresholds, TrafficProfile
from hitless_policy.rules import RULES, Finding, Rule

PACK_NAME = "hitless"
"""Name of the policy pack."""
PACK_DESCRIPTION = (
    "Rolling upgrades without failed requests across nginx L7 (MIG) -> nginx L4 (MIG) -> Kong "
    "(GKE) -> runtime (GKE): timeouts, keepalives, drains, probes, budgets, update policies."
)
"""Description shown by `pulumi policy` commands."""

LEVELS: dict[str, EnforcementLevel] = {
    "mandatory": EnforcementLevel.MANDATORY,
    "advisory": EnforcementLevel.ADVISORY,
}
"""Rule level to CrossGuard enforcement level."""


class NotJudgedError(UnknownValueError):
    """Some resources could not be judged; the engine reports this as an advisory diagnostic."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("04da6b54-80e4-46f7-96ec-b56ff0331ba9", [])
        self.message = " | ".join(messages)


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["default"] = model().model_dump(mode="json")
    return schema


def config_schema() -> PolicyConfigSchema:
    """The config every policy takes: the pack config's properties, defaults from the models."""
    return PolicyConfigSchema(
        properties={"profile": _schema(TrafficProfile), "thresholds": _schema(Thresholds)}
    )


def parse_config(raw: Mapping[str, Any] | None) -> PackConfig:
    """A policy's config (as `args.get_config()` returns it) as a PackConfig, defaults filled."""
    data = {key: value for key, value in (raw or {}).items() if key != "enforcementLevel"}
    try:
        return PackConfig.model_validate(data)
    except ValidationError as error:
        raise ValueError(f"invalid hitless policy config: {error}") from error


def pack_config_document(config: PackConfig) -> dict[str, Any]:
    """The `--policy-pack-config` JSON giving `config` to every policy of the pack."""
    body = config.model_dump(mode="json")
    return {item.id: dict(body) for item in RULES}


def _report(findings: Sequence[Finding], report_violation: ReportViolation) -> None:
    skipped: list[str] = []
    for finding in findings:
        if finding.status == "fail":
            urn = finding.ref.id if finding.ref.id.startswith("urn:") else None
            report_violation(finding.message, urn)
        elif finding.status == "not-judged":
            skipped.append(finding.message)
    if skipped:
        raise NotJudgedError(skipped)


def custom_timeouts(opts: PolicyResourceOptions | None) -> CustomTimeouts:
    """The engine's `opts.custom_timeouts` (seconds, 0 when unset) as the facts take them."""
    found = getattr(opts, "custom_timeouts", None)
    if found is None:
        return CustomTimeouts(0, 0, 0)
    return CustomTimeouts(
        float(found.create_seconds), float(found.update_seconds), float(found.delete_seconds)
    )


def _resource_validator(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.types:
            return
        config = parse_config(args.get_config())
        resource = ResourceInput(
            args.urn,
            args.resource_type,
            args.name,
            args.props,
            custom_timeouts=custom_timeouts(args.opts),
        )
        _report(rule.check(collect_facts([resource]), config), report_violation)

    validate.__doc__ = f"Validate one resource against {rule.id}."
    return validate


def stack_inputs(args: StackValidationArgs) -> list[ResourceInput]:
    """The stack's resources as ResourceInputs (parents and property dependencies as URNs)."""
    return [
        ResourceInput(
            urn=res.urn,
            type=res.resource_type,
            name=res.name,
            props=res.props,
            parent=res.parent.urn if res.parent is not None else None,
            property_dependencies={
                key: [dep.urn for dep in deps]
                for key, deps in (res.property_dependencies or {}).items()
            },
            custom_timeouts=custom_timeouts(res.opts),
        )
        for res in args.resources
    ]


_FACTS_CACHE: OrderedDict[str, Facts] = OrderedDict()
"""The facts of the stacks judged last, by fingerprint (the engine calls every stack policy
with its own copy of the same resources; extraction runs once per stack)."""
_FACTS_CACHE_SIZE = 2
"""Stacks kept (one preview, plus one in flight)."""
_FACTS_LOCK = threading.Lock()


def _fingerprint(inputs: Sequence[ResourceInput]) -> str:
    """A digest of everything extraction reads from the resources (options included)."""
    digest = hashlib.sha256()
    for item in inputs:
        body = [
            item.urn,
            item.type,
            item.name,
            item.parent,
            {key: list(urns) for key, urns in item.property_dependencies.items()},
            item.custom_timeouts.to_json() if item.custom_timeouts else None,
            plain(item.props),
        ]
        digest.update(json.dumps(body, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def stack_facts(args: StackValidationArgs) -> Facts:
    """The stack's facts, extracted once per stack however many stack policies ask."""
    inputs = stack_inputs(args)
    key = _fingerprint(inputs)
    with _FACTS_LOCK:
        found = _FACTS_CACHE.get(key)
        if found is not None:
            _FACTS_CACHE.move_to_end(key)
            return found
    facts = collect_facts(inputs)
    with _FACTS_LOCK:
        _FACTS_CACHE[key] = facts
        while len(_FACTS_CACHE) > _FACTS_CACHE_SIZE:
            _FACTS_CACHE.popitem(last=False)
    return facts


def _stack_validator(rule: Rule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = parse_config(args.get_config())
        _report(rule.check(stack_facts(args), config), report_violation)

    validate.__doc__ = f"Validate the stack against {rule.id}."
    return validate


def policy_for(rule: Rule) -> Policy:
    """The CrossGuard policy of one rule (named by the rule id)."""
    if rule.is_stack:
        return StackValidationPolicy(
            name=rule.id,
            description=rule.description,
            validate=_stack_validator(rule),
            enforcement_level=LEVELS[rule.level],
            config_schema=config_schema(),
        )
    return ResourceValidationPolicy(
        name=rule.id,
        description=rule.description,
        validate=_resource_validator(rule),
        enforcement_level=LEVELS[rule.level],
        config_schema=config_schema(),
    )


def policies() -> list[Policy]:
    """Every policy of the pack, one per rule."""
    return [policy_for(rule) for rule in RULES]
