"""Terminal tables: the resources of a run with their rollout settings, the verdicts, the budget.

Rendering only: the settings shown are read from the captured wire-form props (camelCase), the
verdicts come from the policy pack, the budget from `hitless.explain`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from rich.markup import escape
from rich.table import Table

from hitless.explain import Bound, Explanation, seconds
from hitless.harness import Capture, CapturedResource, contains_unknown
from hitless.render import KONG_CONFIG_KEY, readable
from hitless_policy.identity import NGINX_CONF_METADATA_KEY, Tier, identity_of
from hitless_policy.loader import InputError, load_one

TIER_ORDER = (Tier.A, Tier.B, Tier.C, Tier.D, Tier.GKE, Tier.NET)
"""Order in which the resource table lists tiers (outer to inner, then the platform)."""
NO_TIER = "-"
"""Tier column of a resource that no component marked."""

NGINX_KEYS = (
    "client_max_body_size",
    "client_body_timeout",
    "keepalive_timeout",
    "keepalive_time",
    "proxy_request_buffering",
    "proxy_connect_timeout",
    "proxy_read_timeout",
    "proxy_timeout",
    "proxy_next_upstream_tries",
    "worker_shutdown_timeout",
)
"""nginx directives that decide whether a rollout or a slow request fails."""
_COMMENT = re.compile(r"#[^\n]*")
_STATEMENT_END = re.compile(r"[;{}]")


class VerdictLike(Protocol):
    """What the tables read from a policy verdict (`hitless_policy.runner.Verdict`)."""

    @property
    def rule(self) -> str:
        """Rule id."""

    @property
    def resource(self) -> str:
        """The judged resource (URN or name)."""

    @property
    def level(self) -> str:
        """`mandatory` or `advisory`."""

    @property
    def status(self) -> str:
        """`fail`, `not-judged` or `pass`."""

    @property
    def message(self) -> str:
        """Measured values, bound and fix."""


# --------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------


def _get(value: Any, *path: str) -> Any:
    """`value[p0][p1]...`, stepping into the single item of one-element lists; None if absent."""
    for part in path:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _pairs(props: Mapping[str, Any], fields: Iterable[tuple[str, tuple[str, ...]]]) -> str:
    """`label=value` for each path present in `props`."""
    parts = []
    for label, path in fields:
        value = _get(props, *path)
        if value is not None:
            parts.append(f"{label}={'?' if contains_unknown(value) else readable(value)}")
    return " ".join(parts)


def _prestop(container: Mapping[str, Any]) -> str | None:
    hook = _get(container, "lifecycle", "preStop")
    if not isinstance(hook, Mapping):
        return None
    if "sleep" in hook:
        return f"sleep {readable(_get(hook, 'sleep', 'seconds'))}"
    command = _get(hook, "exec", "command")
    return " ".join(str(part) for part in command) if isinstance(command, list) else "set"


def _deployment(props: Mapping[str, Any]) -> str:
    text = _pairs(
        props,
        (
            ("replicas", ("spec", "replicas")),
            ("maxSurge", ("spec", "strategy", "rollingUpdate", "maxSurge")),
            ("maxUnavailable", ("spec", "strategy", "rollingUpdate", "maxUnavailable")),
            ("minReady", ("spec", "minReadySeconds")),
            ("progressDeadline", ("spec", "progressDeadlineSeconds")),
            ("grace", ("spec", "template", "spec", "terminationGracePeriodSeconds")),
        ),
    )
    containers = _get(props, "spec", "template", "spec", "containers")
    for container in containers if isinstance(containers, list) else []:
        if not isinstance(container, Mapping):
            continue
        parts = [f"[{container.get('name', '?')}]"]
        prestop = _prestop(container)
        if prestop is not None:
            parts.append(f"preStop={prestop}")
        period = _get(container, "readinessProbe", "periodSeconds")
        parts.append(f"readiness={readable(period)}s" if period is not None else "readiness=none")
        text += " " + " ".join(parts)
    return text


def nginx_settings(conf: str) -> str:
    """The rollout-relevant directives of an nginx.conf; repeated directives joined by `/`."""
    seen: dict[str, list[str]] = {}
    for statement in _STATEMENT_END.split(_COMMENT.sub("", conf)):
        name, _, value = statement.strip().partition(" ")
        value = " ".join(value.split())
        if name in NGINX_KEYS and value and value not in seen.setdefault(name, []):
            seen[name].append(value)
    return " ".join(f"{key}={'/'.join(seen[key])}" for key in NGINX_KEYS if key in seen)


def _kong_yml(text: str) -> str:
    try:
        doc = load_one(text, KONG_CONFIG_KEY)
    except InputError:
        return "kong.yml: not YAML"
    parts = []
    for service in _get(doc, "services") or []:
        parts.append(
            _pairs(
                service,
                (
                    ("service", ("name",)),
                    ("connect_timeout", ("connect_timeout",)),
                    ("read_timeout", ("read_timeout",)),
                    ("write_timeout", ("write_timeout",)),
                    ("retries", ("retries",)),
                ),
            )
        )
        for route in _get(service, "routes") or []:
            parts.append(_pairs(route, (("request_buffering", ("request_buffering",)),)))
    return " ".join(part for part in parts if part)


def _config_map(props: Mapping[str, Any]) -> str:
    data = props.get("data")
    if isinstance(data, Mapping) and isinstance(data.get(KONG_CONFIG_KEY), str):
        return _kong_yml(data[KONG_CONFIG_KEY])
    return ""


def _instance_template(props: Mapping[str, Any]) -> str:
    conf = _get(props, "metadata", NGINX_CONF_METADATA_KEY)
    machine = _pairs(props, (("machineType", ("machineType",)),))
    return f"{machine} {nginx_settings(conf)}".strip() if isinstance(conf, str) else machine


_SETTINGS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "Deployment": _deployment,
    "ConfigMap": _config_map,
    "InstanceTemplate": _instance_template,
    "RegionInstanceTemplate": _instance_template,
}
"""Settings readers by the type token's last segment, for types needing more than paths."""

_PATHS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "PodDisruptionBudget": (
        ("maxUnavailable", ("spec", "maxUnavailable")),
        ("minAvailable", ("spec", "minAvailable")),
        ("unhealthyPodEvictionPolicy", ("spec", "unhealthyPodEvictionPolicy")),
    ),
    "HorizontalPodAutoscaler": (
        ("min", ("spec", "minReplicas")),
        ("max", ("spec", "maxReplicas")),
    ),
    "Service": (
        ("type", ("spec", "type")),
        ("sessionAffinity", ("spec", "sessionAffinity")),
        ("externalTrafficPolicy", ("spec", "externalTrafficPolicy")),
        ("loadBalancerIP", ("spec", "loadBalancerIP")),
        # kong:index/service:Service (pulumi-kong) shares the last segment.
        ("connectTimeout", ("connectTimeout",)),
        ("readTimeout", ("readTimeout",)),
        ("writeTimeout", ("writeTimeout",)),
        ("retries", ("retries",)),
    ),
    "Route": (("requestBuffering", ("requestBuffering",)),),
    "RegionInstanceGroupManager": (
        ("targetSize", ("targetSize",)),
        ("update", ("updatePolicy", "type")),
        ("minimalAction", ("updatePolicy", "minimalAction")),
        ("replacement", ("updatePolicy", "replacementMethod")),
        ("maxSurge", ("updatePolicy", "maxSurgeFixed")),
        ("maxUnavailable", ("updatePolicy", "maxUnavailableFixed")),
        ("minReadySec", ("updatePolicy", "minReadySec")),
        ("autohealDelay", ("autoHealingPolicies", "initialDelaySec")),
    ),
    "BackendService": (
        ("scheme", ("loadBalancingScheme",)),
        ("timeoutSec", ("timeoutSec",)),
        ("draining", ("connectionDrainingTimeoutSec",)),
        ("balancing", ("backends", "balancingMode")),
        ("affinity", ("sessionAffinity",)),
    ),
    "HealthCheck": (
        ("interval", ("checkIntervalSec",)),
        ("timeout", ("timeoutSec",)),
        ("unhealthy", ("unhealthyThreshold",)),
        ("healthy", ("healthyThreshold",)),
    ),
    "TargetHttpsProxy": (("clientKeepalive", ("httpKeepAliveTimeoutSec",)),),
    "NodePool": (
        ("strategy", ("upgradeSettings", "strategy")),
        ("maxSurge", ("upgradeSettings", "maxSurge")),
        ("maxUnavailable", ("upgradeSettings", "maxUnavailable")),
        ("soak", ("upgradeSettings", "blueGreenSettings", "nodePoolSoakDuration")),
        ("autoUpgrade", ("management", "autoUpgrade")),
    ),
    "Cluster": (
        ("channel", ("releaseChannel", "channel")),
        ("window", ("maintenancePolicy", "recurringWindow", "startTime")),
        ("recurrence", ("maintenancePolicy", "recurringWindow", "recurrence")),
    ),
}
"""Paths into the props worth showing, by the type token's last segment."""
_PATHS["RegionBackendService"] = _PATHS["BackendService"]
_PATHS["RegionHealthCheck"] = _PATHS["HealthCheck"]


def rollout_settings(res: CapturedResource) -> str:
    """The settings of a resource that decide whether its rollout is hitless ("" if none)."""
    kind = res.type.rsplit(":", 1)[-1]
    reader = _SETTINGS.get(kind)
    text = reader(res.props) if reader is not None else _pairs(res.props, _PATHS.get(kind, ()))
    timeouts = res.custom_timeouts
    if timeouts.update_seconds:
        # How long `pulumi up` awaits the rollout (customTimeouts), when the resource sets it.
        text = f"{text} await={readable(timeouts.update_seconds)}s".strip()
    return text


def tiers(capture: Capture) -> dict[str, str]:
    """Each resource's tier: its own identity, else its nearest marked ancestor's.

    A component takes the tier its marked descendants share, so an unmarked sibling (e.g. a
    ConfigMap) under the runtime's component still shows `d`.
    """
    by_urn = {res.urn: res for res in capture.resources}
    own: dict[str, str] = {}
    for res in capture.resources:
        found = identity_of(res.props)
        if found is not None:
            own[res.urn] = found.tier.value
    below: dict[str, set[str]] = {}
    for urn, tier in own.items():
        parent = by_urn[urn].parent
        while parent in by_urn:
            below.setdefault(parent, set()).add(tier)
            parent = by_urn[parent].parent
    for urn, found_tiers in below.items():
        if urn not in own and len(found_tiers) == 1:
            own[urn] = next(iter(found_tiers))
    out: dict[str, str] = {}
    for res in capture.resources:
        current: str | None = res.urn
        while current is not None and current not in own:
            current = by_urn[current].parent if current in by_urn else None
        out[res.urn] = own[current] if current is not None else NO_TIER
    return out


def _component(capture: Capture, res: CapturedResource) -> str:
    """Name of the top-level component a resource belongs to ("" for the stack's children)."""
    by_urn = {item.urn: item for item in capture.resources}
    top = res
    while top.parent in by_urn:
        top = by_urn[top.parent]
    return top.name if top is not res else ""


def short_type(type_token: str) -> str:
    """A short type: `k8s Deployment`, `gcp BackendService`; components keep their token."""
    provider, _, rest = type_token.partition(":")
    if provider == "pulumi" and rest.startswith("providers:"):
        return f"provider {rest.removeprefix('providers:')}"
    kind = rest.rsplit(":", 1)[-1]
    label = {"kubernetes": "k8s"}.get(provider, provider)
    return f"{label} {kind}" if rest.count(":") == 1 else type_token


def resource_table(capture: Capture, stack: str) -> Table:
    """Every custom resource of a run, grouped by tier, with its rollout settings."""
    tier_of = tiers(capture)
    rank = {tier.value: index for index, tier in enumerate(TIER_ORDER)}
    rows = sorted(
        (res for res in capture.resources if res.custom),
        key=lambda res: rank.get(tier_of[res.urn], len(rank)),
    )
    table = Table(title=f"stack {stack}: {len(rows)} resources", expand=False)
    for column in ("tier", "component", "type", "name"):
        table.add_column(column, no_wrap=True)
    table.add_column("rollout settings", overflow="fold")
    for res in rows:
        table.add_row(
            tier_of[res.urn],
            escape(_component(capture, res)),
            escape(short_type(res.type)),
            escape(res.name),
            escape(rollout_settings(res)),
        )
    return table


# --------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------

_STATUS_STYLE = {"fail": "bold red", "not-judged": "yellow", "pass": "green"}


def exit_code(verdicts: Sequence[VerdictLike]) -> int:
    """1 when a mandatory rule fails, else 0."""
    return int(any(v.level == "mandatory" and v.status == "fail" for v in verdicts))


def verdict_summary(verdicts: Sequence[VerdictLike]) -> str:
    """One line: counts of mandatory fails, advisory fails, not-judged and passes."""
    counts = Counter(f"{v.level} fail" if v.status == "fail" else v.status for v in verdicts)
    return ", ".join(
        f"{counts[key]} {key}" for key in ("mandatory fail", "advisory fail", "not-judged", "pass")
    )


def short_resource(resource: str) -> str:
    """A verdict's resource as the table shows it: a URN's logical name, other ids unchanged."""
    return resource.rsplit("::", 1)[-1] if resource.startswith("urn:pulumi:") else resource


def verdict_table(verdicts: Sequence[VerdictLike], title: str) -> Table:
    """Every fail and not-judged verdict, then one row per rule summarising its passes."""
    order = {("mandatory", "fail"): 0, ("advisory", "fail"): 1}
    listed = sorted(
        (v for v in verdicts if v.status != "pass"),
        key=lambda v: (order.get((v.level, v.status), 2), v.rule, v.resource),
    )
    passes: dict[tuple[str, str], int] = Counter(
        (v.rule, v.level) for v in verdicts if v.status == "pass"
    )
    table = Table(title=f"{title}: {verdict_summary(verdicts)}", expand=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("resource", overflow="fold", ratio=2)
    table.add_column("level", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("message", overflow="fold", ratio=5)
    for v in listed:
        style = _STATUS_STYLE.get(v.status, "")
        table.add_row(
            escape(v.rule),
            escape(short_resource(v.resource)),
            v.level,
            f"[{style}]{v.status}[/]",
            escape(v.message),
        )
    for (rule, level), count in sorted(passes.items()):
        noun = "resource" if count == 1 else "resources"
        table.add_row(
            escape(rule), f"{count} {noun}", level, f"[{_STATUS_STYLE['pass']}]pass[/]", ""
        )
    return table


# --------------------------------------------------------------------------------------------
# Budget
# --------------------------------------------------------------------------------------------


def _bound_table(title: str, bounds: Sequence[Bound]) -> Table:
    table = Table(title=title)
    table.add_column("setting (stack key)")
    table.add_column("value", justify="right")
    table.add_column("must be", no_wrap=True)
    table.add_column("bound from")
    table.add_column("ok")
    for item in bounds:
        table.add_row(
            f"{escape(item.what)}\n[dim]{escape(item.key)}[/]",
            seconds(item.value),
            f"{item.relation} {seconds(item.bound)}",
            escape(item.basis),
            "[green]yes[/]" if item.holds else "[bold red]NO[/]",
        )
    return table


def budget_tables(expl: Explanation) -> list[Table]:
    """The explanation as terminal tables: longest requests, the bounds, the RT timeline."""
    longest = Table(
        title=(
            f"stack {expl.stack}: longest request per tier (upload "
            f"{seconds(expl.client_upload)} s, internal hop {seconds(expl.internal_transfer)} s)"
        )
    )
    for column in ("path", "tier", "first byte at (s)", "response at (s)", "longest request (s)"):
        longest.add_column(column)
    rows = [("every path", hold) for hold in expl.holds]
    rows += [(f"A -> B -> C -> {path.runtime}", hold) for path in expl.paths for hold in path.holds]
    for path_name, hold in rows:
        longest.add_row(
            path_name, hold.tier, seconds(hold.start), seconds(hold.end), seconds(hold.seconds)
        )
    timelines = []
    for runtime, events in [(p.runtime, p.timeline) for p in expl.paths] or [("RT", expl.timeline)]:
        timeline = Table(title=f"rollout timeline of one {runtime} pod")
        timeline.add_column("t (s)", justify="right")
        timeline.add_column("event")
        for event in events:
            timeline.add_row(seconds(event.at), event.what)
        timelines.append(timeline)
    return [
        longest,
        _bound_table("drain windows", expl.drains),
        _bound_table("timeout chain, outer to inner", expl.timeouts),
        _bound_table("keepalive ordering per hop", expl.keepalives),
        _bound_table("body limits, rollout pacing, probes, maintenance", expl.others),
        _bound_table("rollout durations and the awaits that cover them", expl.awaits),
        *timelines,
    ]
