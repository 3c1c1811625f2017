"""Kong facts: declarative config (DB-less `kong.yml`), pulumi-kong entities, and Kong's env.

Declarative config uses Kong's snake_case field names; pulumi-kong resources arrive in wire
camelCase. Both apply Kong's defaults (timeouts 60000 ms, retries 5, request buffering on,
health checks off).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hitless_policy.extract import nginx
from hitless_policy.extract.props import Props, is_unknown
from hitless_policy.facts import (
    Deployment,
    KongConfig,
    KongService,
    KongSettings,
    KongUpstream,
    Placement,
    Ref,
    Unknown,
    sure,
)
from hitless_policy.loader import InputError, load_one

KONG_DEFAULT_TIMEOUT_MS = 60000
"""Kong's default connect/read/write timeout (ms)."""
KONG_DEFAULT_RETRIES = 5
"""Kong's default retries."""

KONG_SERVICE = "kong:index/service:Service"
"""pulumi-kong Service type token."""
KONG_ROUTE = "kong:index/route:Route"
"""pulumi-kong Route type token."""
KONG_UPSTREAM = "kong:index/upstream:Upstream"
"""pulumi-kong Upstream type token."""
KONG_TARGET = "kong:index/target:Target"
"""pulumi-kong Target type token."""
KONG_TYPES = frozenset({KONG_SERVICE, KONG_ROUTE, KONG_UPSTREAM, KONG_TARGET})
"""Every pulumi-kong entity type the pack reads."""
KONG_FILE = "hitless:file:KongDeclarative"
"""Type token of a bare DB-less declarative config file (`hitless check -f kong.yml`): props
`config` hold the parsed mapping."""
FORMAT_KEY = "_format_version"
"""The key every declarative config carries (`"1.1"`, `"2.1"`, `"3.0"`): how one is recognised."""
_FORMAT_TEXT = re.compile(r"""(^|[{,\s])["']?_format_version["']?\s*:""", re.MULTILINE)


class KongConfigError(ValueError):
    """Declarative config that is not valid YAML or not a Kong config."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def parse_declarative(text: str) -> dict[str, object]:
    """Parse DB-less declarative config text into a mapping (raises KongConfigError).

    Cached by text: `hitless check` reads a ConfigMap's config to find Kong's targets and again
    to extract its facts. Callers must not change the mapping.
    """
    return _parse_declarative(text)


@functools.lru_cache(maxsize=8)
def _parse_declarative(text: str) -> dict[str, object]:
    try:
        loaded = load_one(text, "kong.yml")
    except InputError as error:
        raise KongConfigError(error.line, error.reason) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise KongConfigError(1, "not a Kong declarative config (expected a mapping)")
    return {str(key): value for key, value in loaded.items()}


def _ejects(check: Props | Unknown | None, *, active: bool, camel: bool) -> bool | Unknown:
    """Whether a health check block can mark a target unhealthy."""
    if check is None:
        return False
    if isinstance(check, Unknown):
        return check
    keys = (
        ("tcpFailures", "timeouts", "httpFailures")
        if camel
        else (
            "tcp_failures",
            "timeouts",
            "http_failures",
        )
    )
    counters = [check.num("unhealthy", key, default=0) for key in keys]
    interval = check.num("unhealthy", "interval", default=0) if active else 1.0
    for value in (*counters, interval):
        if isinstance(value, Unknown):
            return value
    return sure(interval) > 0 and any(sure(c) > 0 for c in counters)


def _upstream(
    name: str, props: Props, targets: list[str] | Unknown, *, camel: bool
) -> KongUpstream:
    return KongUpstream(
        name=name,
        targets=targets,
        active_ejects=_ejects(props.sub("healthchecks", "active"), active=True, camel=camel),
        passive_ejects=_ejects(props.sub("healthchecks", "passive"), active=False, camel=camel),
    )


def _service(name: str, props: Props, *, camel: bool) -> KongService:
    def key(snake: str) -> str:
        return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), snake) if camel else snake

    return KongService(
        name=name,
        connect_timeout_ms=props.num(key("connect_timeout"), default=KONG_DEFAULT_TIMEOUT_MS),
        read_timeout_ms=props.num(key("read_timeout"), default=KONG_DEFAULT_TIMEOUT_MS),
        write_timeout_ms=props.num(key("write_timeout"), default=KONG_DEFAULT_TIMEOUT_MS),
        retries=props.integer("retries", default=KONG_DEFAULT_RETRIES),
    )


def looks_declarative(text: object) -> bool:
    """Whether a text (a ConfigMap value) is Kong declarative config: it sets `_format_version`."""
    return isinstance(text, str) and bool(_FORMAT_TEXT.search(text))


CONVENTIONAL_KEYS = frozenset({"kong.yml", "kong.yaml", "kong.json"})
"""ConfigMap keys that are Kong config by name (whatever they hold: invalid content is reported)."""


def config_keys(data: object) -> list[str]:
    """The keys of a ConfigMap's `data` holding Kong declarative config, whatever their name."""
    if not isinstance(data, dict):
        return []
    return [
        str(key)
        for key, value in data.items()
        if str(key) in CONVENTIONAL_KEYS or looks_declarative(value)
    ]


def _host(address: str) -> str:
    """Host of a Kong `host`, `url` or target (`http://rt.ns.svc:8080/x` -> `rt.ns.svc`)."""
    bare = re.sub(r"^[a-z]+://", "", address).split("/", 1)[0]
    if bare.startswith("["):
        return bare.split("]", 1)[0] + "]"
    return bare.rsplit(":", 1)[0] if bare.count(":") == 1 else bare


def target_hosts(doc: dict[str, object]) -> list[str]:
    """Hosts Kong sends requests to, in a declarative config mapping.

    Each service's host, or the targets of the upstream the host names.
    """
    config = Props(doc)
    targets: dict[str, list[str]] = {}
    for upstream in config.each("upstreams"):
        name = upstream.get("name")
        if isinstance(name, str):
            targets[name] = [
                _host(str(t.get("target"))) for t in upstream.each("targets") if t.get("target")
            ]
    for target in config.each("targets"):
        if isinstance(up := target.get("upstream"), str) and target.get("target"):
            targets.setdefault(up, []).append(_host(str(target.get("target"))))
    hosts: list[str] = []
    for service in config.each("services"):
        host = service.get("host")
        if not isinstance(host, str):
            url = service.get("url")
            host = _host(url) if isinstance(url, str) else None
        if host is None:
            continue
        hosts.extend(targets.get(host, [host]))
    return hosts


def from_declarative(ref: Ref, place: Placement, text: object, path: str) -> KongConfig:
    """Kong facts from the `kong.yml` text of a ConfigMap (`path` names the data key)."""
    if is_unknown(text) or not isinstance(text, str):
        reason = "is unknown until the update runs" if is_unknown(text) else "is not text"
        marker = Unknown(path, reason)
        return KongConfig(ref, place, marker, [], marker)
    try:
        mapping = parse_declarative(text)
    except KongConfigError as error:
        marker = Unknown(path, f"is not valid Kong declarative config ({error})")
        return KongConfig(ref, place, marker, [], marker)
    return from_mapping(ref, place, mapping, path)


def from_mapping(ref: Ref, place: Placement, mapping: object, path: str) -> KongConfig:
    """Kong facts from a parsed declarative config (a bare `kong.yml`, or a ConfigMap value)."""
    if not isinstance(mapping, dict):
        marker = Unknown(path, "is not a Kong declarative config (expected a mapping)")
        return KongConfig(ref, place, marker, [], marker)
    doc = Props(mapping, path)
    services: list[KongService] = []
    buffering: list[bool | Unknown] = []
    for index, item in enumerate(doc.each("services")):
        if isinstance(item, Unknown):
            continue
        services.append(_service(str(item.get("name") or f"services[{index}]"), item, camel=False))
        buffering.extend(
            route.flag("request_buffering", default=True)
            for route in item.each("routes")
            if isinstance(route, Props)
        )
    buffering.extend(
        route.flag("request_buffering", default=True)
        for route in doc.each("routes")
        if isinstance(route, Props)
    )
    loose_targets: dict[str, list[str]] = {}
    for target in doc.each("targets"):
        if isinstance(target, Props):
            loose_targets.setdefault(str(target.get("upstream")), []).append(
                str(target.get("target"))
            )
    upstreams: list[KongUpstream] = []
    for index, item in enumerate(doc.each("upstreams")):
        if isinstance(item, Unknown):
            continue
        name = str(item.get("name") or f"upstreams[{index}]")
        targets = [
            str(target.get("target"))
            for target in item.each("targets")
            if isinstance(target, Props)
        ]
        targets.extend(loose_targets.get(name, []))
        upstreams.append(_upstream(name, item, targets, camel=False))
    return KongConfig(ref, place, _with_hosts(services, doc, upstreams), buffering, upstreams)


def _service_host(item: Props) -> str | None:
    """A declarative Service's `host` (or its `url`'s host)."""
    host = item.get("host")
    if isinstance(host, str):
        return host
    url = item.get("url")
    return _host(url) if isinstance(url, str) else None


def _resolve(host: str | Unknown | None, upstreams: list[KongUpstream]) -> list[str] | Unknown:
    """The hosts a Service whose `host` is `host` sends to: its Upstream's targets, or `host`."""
    if host is None or host == "":
        return []
    if isinstance(host, Unknown):
        return host
    for upstream in upstreams:
        if upstream.name == host:
            if isinstance(upstream.targets, Unknown):
                return upstream.targets
            return [_host(target) for target in upstream.targets]
    return [host]


def _with_hosts(
    services: list[KongService], doc: Props, upstreams: list[KongUpstream]
) -> list[KongService]:
    """The declarative Services with the hosts they send to."""
    hosts = [
        _service_host(item) if isinstance(item, Props) else None for item in doc.each("services")
    ]
    return [
        dataclasses.replace(service, hosts=_resolve(host, upstreams))
        for service, host in zip(services, hosts, strict=False)
    ]


@dataclass(frozen=True)
class KongEntity:
    """One pulumi-kong resource, as the extractor sees it."""

    ref: Ref
    """The resource."""
    place: Placement
    """Chain (from its tags)."""
    props: Props
    """Its props."""


def from_entities(entities: Sequence[KongEntity]) -> KongConfig:
    """Kong facts from the pulumi-kong resources of one chain.

    Targets are matched to upstreams by `upstreamId` when it is known and names an upstream;
    at preview ids are unknown, so a chain with a single upstream gets all its targets, and with
    several upstreams the unmatched targets make the upstreams' targets Unknown.
    """
    services: list[KongService] = []
    buffering: list[bool | Unknown] = []
    refs: dict[str, Ref] = {}
    upstream_entities: list[KongEntity] = []
    targets: list[tuple[object, str | Unknown]] = []
    service_hosts: list[str | Unknown] = []
    for entity in entities:
        kind = entity.ref.type
        name = entity.props.text("name", default=entity.ref.name)
        label = entity.ref.name if isinstance(name, Unknown) else name
        if kind == KONG_SERVICE:
            services.append(_service(label, entity.props, camel=True))
            service_hosts.append(entity.props.text("host", default=""))
            refs[label] = entity.ref
        elif kind == KONG_ROUTE:
            buffering.append(entity.props.flag("requestBuffering", default=True))
        elif kind == KONG_UPSTREAM:
            upstream_entities.append(entity)
            refs[label] = entity.ref
        elif kind == KONG_TARGET:
            targets.append(
                (entity.props.get("upstreamId"), entity.props.text("target", default=""))
            )
    upstreams: list[KongUpstream] = []
    for entity in upstream_entities:
        raw_name = entity.props.text("name", default=entity.ref.name)
        name = entity.ref.name if isinstance(raw_name, Unknown) else raw_name
        mine: list[str] | Unknown = []
        for upstream_id, target in targets:
            matched = upstream_id in (name, entity.ref.name, entity.ref.id)
            if not matched and (isinstance(upstream_id, Unknown) or upstream_id is None):
                if len(upstream_entities) == 1:
                    matched = True
                else:
                    mine = Unknown(f"{entity.ref.name}.targets", "cannot be matched at preview")
                    break
            if matched and isinstance(mine, list):
                if isinstance(target, Unknown):
                    mine = target
                    break
                mine.append(target)
        upstreams.append(_upstream(name, entity.props, mine, camel=True))
    services = [
        dataclasses.replace(service, hosts=_resolve(host, upstreams))
        for service, host in zip(services, service_hosts, strict=True)
    ]
    first = entities[0]
    return KongConfig(first.ref, first.place, services, buffering, upstreams, refs)


def _env_seconds(
    env: dict[str, str | Unknown], name: str, default: float | None
) -> float | Unknown | None:
    value = env.get(name)
    if value is None:
        return default
    if isinstance(value, Unknown):
        return value
    try:
        return nginx.seconds(value)  # Kong injects these into nginx.conf as nginx times
    except ValueError:
        return Unknown(f"env.{name}", f"is not a duration: {value!r}")


def settings(deployment: Deployment) -> KongSettings:
    """Kong's settings from the `proxy` container's env (Kong's and nginx's defaults applied)."""
    container = deployment.main_container()
    env: dict[str, str | Unknown] = container.env if container else {}
    keepalive = _env_seconds(env, "KONG_NGINX_HTTP_KEEPALIVE_TIMEOUT", 75)
    idle = _env_seconds(env, "KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT", 60)
    shutdown = _env_seconds(env, "KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT", None)
    body_raw = env.get("KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE", "0")
    body: float | Unknown
    if isinstance(body_raw, Unknown):
        body = body_raw
    else:
        try:
            body = nginx.size_bytes(body_raw)
        except ValueError:
            body = Unknown(
                "env.KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE", f"is not a size: {body_raw!r}"
            )
    return KongSettings(
        deployment=deployment,
        client_keepalive_seconds=keepalive if keepalive is not None else 75.0,
        upstream_keepalive_idle_seconds=idle if idle is not None else 60.0,
        worker_shutdown_seconds=shutdown,
        client_max_body_bytes=body,
    )
