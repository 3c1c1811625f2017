"""The Kong entities that route to the runtime services, modelled once and rendered two ways.

Per runtime service one Service, one Route, one Upstream and one Target, built from `KongConfig`
and the runtime's own `kong` settings by `build_entities` (or `runtime_entities` for one).
`KongEntities.to_declarative()` renders them as Kong's DB-less declarative config (the ConfigMap of
`hitless.components.kong`); `KongEntities.apply()` creates the same entities with pulumi-kong
against a control plane's Admin API (hybrid mode). Both renderings come from the same model, so the
two modes cannot drift apart.

The single Target is the runtime Service's DNS name, not pod IPs: kube-proxy picks a ready pod
per connection, and Kong's retries (after a failed connect for every request; after a read
timeout or reset too for idempotent ones) re-dial through it. With a single target, any Kong
health check could only eject the whole runtime, so every health check is disabled (active
intervals 0, passive thresholds 0).

With an https runtime the Service verifies the runtime's certificate (`tls_verify`), against the
CA certificate the proxy container mounts from a Secret (`hitless.components.kong`).

One global plugin may be added: Prometheus (`with_metrics`), whose metrics Kong serves at
`/metrics` on its Status API, the only API a data plane here listens on (`KONG_ADMIN_LISTEN` is
off in `hitless.components.kong`). Deliberately not managed here: other plugins, consumers,
certificates, and the Kong nodes themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kong as kong
import yaml

from hitless.components.config import KongConfig, RuntimeKongConfig
from hitless_policy import identity
from hitless_policy.identity import Tier

DECLARATIVE_FORMAT_VERSION = "3.0"
"""`_format_version` of the declarative config (Kong 3.x)."""


@dataclass(frozen=True)
class KongUpstream:
    """A Kong Upstream: the load-balancing ring in front of the runtime."""

    name: str
    """Upstream name; equals the Service's `host`, which is how Kong binds them."""
    algorithm: str = "round-robin"
    """Balancing algorithm (Kong's default)."""
    slots: int = 10000
    """Ring slots (Kong's default)."""

    def healthchecks(self) -> kong.UpstreamHealthchecksArgsDict:
        """Every health check off: the only target is a Service name that must never be ejected.

        Active checks are off with both intervals 0; passive checks with every threshold 0.
        """
        return {
            "active": {
                "healthy": {"interval": 0, "successes": 0},
                "unhealthy": {"interval": 0, "tcp_failures": 0, "timeouts": 0, "http_failures": 0},
            },
            "passive": {
                "healthy": {"successes": 0},
                "unhealthy": {"tcp_failures": 0, "timeouts": 0, "http_failures": 0},
            },
        }


@dataclass(frozen=True)
class KongTarget:
    """A Kong Target: where the Upstream sends connections."""

    target: str
    """`<host>:<port>` of the runtime's Service."""
    weight: int = 100
    """Target weight (Kong's default)."""


@dataclass(frozen=True)
class KongRoute:
    """A Kong Route matching the runtime's paths."""

    name: str
    """Route name."""
    paths: list[str]
    """Path prefixes routed to the Service."""
    request_buffering: bool
    """Buffer the request body before proxying: a retry can resend it, and the runtime sees the
    body at internal speed."""
    protocols: list[str] = field(default_factory=lambda: ["http"])
    """B hands Kong plain HTTP (TLS ends at the external LB)."""
    strip_path: bool = False
    """Forward the path unchanged."""
    preserve_host: bool = True
    """Forward the client's Host header."""
    response_buffering: bool = True
    """Buffer responses (Kong's default)."""


@dataclass(frozen=True)
class KongService:
    """A Kong Service: the runtime, with Kong's timeouts and retries towards it."""

    name: str
    """Service name."""
    protocol: str
    """`http` or `https` (the runtime's scheme)."""
    host: str
    """The Upstream's name."""
    port: int
    """The runtime's Service port."""
    connect_timeout_ms: int
    """Timeout of one connect try (ms)."""
    read_timeout_ms: int
    """Timeout between two reads of the response (ms)."""
    write_timeout_ms: int
    """Timeout between two writes of the request (ms)."""
    retries: int
    """Tries after a failed connect; after a read timeout or reset too for an idempotent request."""
    tls_verify: bool | None = None
    """`https` only: verify the runtime's certificate (None: not https, Kong's default applies)."""
    tls_verify_depth: int | None = None
    """`https` with `tls_verify`: longest certificate chain accepted."""


@dataclass(frozen=True)
class KongPlugin:
    """A global Kong plugin (applied to every Service and Route)."""

    name: str
    """Plugin name."""
    config: dict[str, Any]
    """The plugin's `config` object."""


PROMETHEUS_PLUGIN = KongPlugin(
    name="prometheus",
    # Kong 3.x's Prometheus plugin exports per-service status codes, latencies and upstream
    # health only when asked: `status_code_metrics`, `latency_metrics` and
    # `upstream_health_metrics` default to false; bandwidth and per-consumer series are not read
    # by the dashboard and stay off. The metrics are served at /metrics on the Admin and the
    # Status API (developer.konghq.com/plugins/prometheus, "Metrics tracked by this plugin are
    # available on both the Admin API and Status API at the /metrics endpoint").
    config={
        "status_code_metrics": True,
        "latency_metrics": True,
        "upstream_health_metrics": True,
        "bandwidth_metrics": False,
        "per_consumer": False,
    },
)
"""Kong's Prometheus plugin as the dashboards and alerts read it (`kong_http_requests_total`,
`kong_upstream_latency_ms`)."""


@dataclass(frozen=True)
class KongRuntimeEntities:
    """The Kong entities of one runtime service: its Service, Route, Upstream and Target."""

    service: KongService
    """The Service."""
    route: KongRoute
    """The Route of the Service."""
    upstream: KongUpstream
    """The Upstream the Service's host names."""
    target: KongTarget
    """The Upstream's only Target."""

    def to_declarative(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The Service (with its Route) and the Upstream (with its Target), declarative form."""
        svc, route, up = self.service, self.route, self.upstream
        service = {
            "name": svc.name,
            "protocol": svc.protocol,
            "host": svc.host,
            "port": svc.port,
            "connect_timeout": svc.connect_timeout_ms,
            "read_timeout": svc.read_timeout_ms,
            "write_timeout": svc.write_timeout_ms,
            "retries": svc.retries,
            **svc_tls(svc),
            "routes": [
                {
                    "name": route.name,
                    "paths": list(route.paths),
                    "protocols": list(route.protocols),
                    "strip_path": route.strip_path,
                    "preserve_host": route.preserve_host,
                    "request_buffering": route.request_buffering,
                    "response_buffering": route.response_buffering,
                }
            ],
        }
        upstream = {
            "name": up.name,
            "algorithm": up.algorithm,
            "slots": up.slots,
            "healthchecks": up.healthchecks(),
            "targets": [{"target": self.target.target, "weight": self.target.weight}],
        }
        return service, upstream

    def apply(self, parent: pulumi.Resource, provider: kong.Provider, chain: str) -> None:
        """Create the entities with pulumi-kong through `provider`.

        Names derive from `parent`'s name and the Service's, so two runtimes never collide.
        """
        base = f"{parent._name}-kong-{self.service.name}"
        svc, route, up = self.service, self.route, self.upstream

        def tags(role: str) -> list[str]:
            return identity.kong_tags(chain, Tier.C, role)

        # pulumi-kong's Upstream has no `algorithm` argument (nor `healthchecks.threshold`);
        # Kong's default, round-robin, is what the model states.
        upstream = kong.Upstream(
            f"{base}-upstream",
            name=up.name,
            slots=up.slots,
            healthchecks=up.healthchecks(),
            tags=tags("upstream"),
            opts=pulumi.ResourceOptions(parent=parent, provider=provider),
        )
        kong.Target(
            f"{base}-target",
            target=self.target.target,
            weight=self.target.weight,
            upstream_id=upstream.id,
            tags=tags("target"),
            opts=pulumi.ResourceOptions(parent=upstream, provider=provider),
        )
        service = kong.Service(
            f"{base}-service",
            name=svc.name,
            protocol=svc.protocol,
            host=svc.host,
            port=svc.port,
            connect_timeout=svc.connect_timeout_ms,
            read_timeout=svc.read_timeout_ms,
            write_timeout=svc.write_timeout_ms,
            retries=svc.retries,
            tls_verify=svc.tls_verify,
            tls_verify_depth=svc.tls_verify_depth,
            tags=tags("service"),
            opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[upstream]),
        )
        kong.Route(
            f"{base}-route",
            name=route.name,
            service_id=service.id,
            protocols=list(route.protocols),
            paths=list(route.paths),
            strip_path=route.strip_path,
            preserve_host=route.preserve_host,
            request_buffering=route.request_buffering,
            response_buffering=route.response_buffering,
            tags=tags("route"),
            opts=pulumi.ResourceOptions(parent=service, provider=provider),
        )


@dataclass(frozen=True)
class KongEntities:
    """Kong's entities: one set per runtime service, and the global plugins."""

    runtimes: tuple[KongRuntimeEntities, ...]
    """Each runtime's Service, Route, Upstream and Target."""
    plugins: tuple[KongPlugin, ...] = ()
    """Global plugins (Prometheus when the stack exports metrics)."""

    def to_declarative(self) -> dict[str, Any]:
        """The entities as Kong's DB-less declarative config."""
        rendered = [runtime.to_declarative() for runtime in self.runtimes]
        return {
            "_format_version": DECLARATIVE_FORMAT_VERSION,
            "services": [service for service, _ in rendered],
            "upstreams": [upstream for _, upstream in rendered],
            **self._declarative_plugins(),
        }

    def _declarative_plugins(self) -> dict[str, Any]:
        if not self.plugins:
            return {}
        return {
            "plugins": [
                {"name": plugin.name, "config": dict(plugin.config)} for plugin in self.plugins
            ]
        }

    def to_yaml(self) -> str:
        """The declarative config as YAML (the ConfigMap's `kong.yml`)."""
        return yaml.safe_dump(self.to_declarative(), sort_keys=False)

    def apply(self, parent: pulumi.Resource, provider: kong.Provider, chain: str) -> None:
        """Create the entities with pulumi-kong through `provider` (hybrid mode).

        Resource names derive from `parent`'s name and each Service's name. Every entity carries
        the identity tags `hitless-chain=`, `hitless-tier=c` and `hitless-role=` that the chain
        rules read.
        """
        for runtime in self.runtimes:
            runtime.apply(parent, provider, chain)
        for plugin in self.plugins:
            kong.Plugin(
                f"{parent._name}-kong-plugin-{plugin.name}",
                name=plugin.name,
                config_json=json.dumps(plugin.config, sort_keys=True),
                tags=identity.kong_tags(chain, Tier.C, f"plugin-{plugin.name}"),
                opts=pulumi.ResourceOptions(parent=parent, provider=provider),
            )


def svc_tls(service: KongService) -> dict[str, Any]:
    """The Service's `tls_verify`/`tls_verify_depth` fields, when set (declarative form)."""
    out: dict[str, Any] = {}
    if service.tls_verify is not None:
        out["tls_verify"] = service.tls_verify
    if service.tls_verify_depth is not None:
        out["tls_verify_depth"] = service.tls_verify_depth
    return out


def verifies_upstream(config: KongConfig, runtime_scheme: str) -> bool:
    """Whether Kong verifies the runtime's certificate: an https runtime and `tls_verify` on."""
    return runtime_scheme.lower() == "https" and config.upstream_tls_verify


@dataclass(frozen=True)
class KongRuntimeTarget:
    """Where one runtime service is reached, and how Kong routes to it (plain values)."""

    name: str
    """Name of the Kong Service (the runtime's Service name)."""
    host: str
    """DNS name of the runtime's Service, e.g. `rt.rt.svc.cluster.local`."""
    port: int
    """Port of the runtime's Service."""
    scheme: str
    """Protocol the runtime speaks (`HTTP`/`HTTPS`)."""
    route: RuntimeKongConfig
    """The runtime's Kong Service and Route settings (`hitless:runtimes[].kong`)."""


def runtime_entities(config: KongConfig, target: KongRuntimeTarget) -> KongRuntimeEntities:
    """One runtime's Kong Service, Route, Upstream and Target (pure).

    Kong's global settings (`config`: upstream TLS verification) with the runtime's own.
    """
    upstream = f"{target.name}.upstream"
    https = target.scheme.lower() == "https"
    verify = verifies_upstream(config, target.scheme)
    route = target.route
    return KongRuntimeEntities(
        service=KongService(
            name=target.name,
            protocol=target.scheme.lower(),
            host=upstream,
            port=target.port,
            connect_timeout_ms=route.connect_timeout_ms,
            read_timeout_ms=route.read_timeout_ms,
            write_timeout_ms=route.write_timeout_ms,
            retries=route.retries,
            # Kong's Service `tls_verify` (pulumi_kong.Service `tls_verify`, declarative
            # `tls_verify`): with it, nginx checks the runtime's certificate against the trusted
            # CA the proxy container mounts (`hitless.components.kong`, upstream CA Secret).
            tls_verify=verify if https else None,
            tls_verify_depth=config.upstream_tls_verify_depth if verify else None,
        ),
        route=KongRoute(
            name=f"{target.name}-route",
            paths=list(route.route_paths),
            request_buffering=route.request_buffering,
        ),
        upstream=KongUpstream(name=upstream),
        target=KongTarget(target=f"{target.host}:{target.port}"),
    )


def build_entities(
    config: KongConfig,
    runtimes: Sequence[KongRuntimeTarget],
    *,
    with_metrics: bool = False,
) -> KongEntities:
    """Kong's entities for every runtime service of the chain (pure).

    `with_metrics` adds the global Prometheus plugin; `hitless.components.kong` passes
    `hitless:observability.enabled`.
    """
    return KongEntities(
        runtimes=tuple(runtime_entities(config, target) for target in runtimes),
        plugins=(PROMETHEUS_PLUGIN,) if with_metrics else (),
    )
