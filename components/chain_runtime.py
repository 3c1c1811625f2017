"""One more runtime service behind an existing hybrid-mode chain, built by another stack.

The chain (the hitless program's stack, `hitless.components.chain`) owns A, B, Kong and its own
runtime services, and exports what another stack needs to add one more (`ChainFacts`,
`KongFacts`, its kubeconfig). `ChainRuntime` owns, on the chain's cluster:

- the runtime itself (`RuntimeService`: Namespace, Deployment, Service, PDB, HPA and its
  NetworkPolicies), stamped with the chain's identity;
- a NetworkPolicy in Kong's namespace letting the chain's Kong pods reach the new pods
  (NetworkPolicies add up, so the chain's own egress policy stays as it is);
- its Kong Service, Route, Upstream and Target, created with pulumi-kong through the chain's
  Kong control plane (`KongRuntimeEntities.apply`), and the two providers they go through.

Deliberately not managed here: anything of the chain's tiers (A, B, Kong's Deployment and
global settings) and the reading of the chain's outputs (the consuming program's
`pulumi.StackReference`; `chain_outputs` reads them for a Python program).

Decisions:
- Hybrid chains only. In DB-less mode Kong's entities are one declarative file that the chain's
  stack renders and owns; a second stack cannot add a route to it. Such a chain is refused when
  the config is validated, with the fix (add the runtime to the chain's `hitless:runtimes`, or
  run Kong in hybrid mode), never silently skipped.
- The chain's tiers every path crosses (A, B, Kong's drains and timeouts) were sized for the
  chain's own paths. This runtime's path must fit in them: its longest request on A, B and C may
  not exceed the chain's (`ChainFacts.longest`).
- Everything is validated in `ChainRuntimeConfig`, before any resource is registered.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

import pulumi
import pulumi_kong
import pulumi_kubernetes as k8s
from pulumi.provider.experimental.util import camel_case
from pulumi.runtime.sync_await import _sync_await
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hitless.components import k8s_common as kc
from hitless.components.config import (
    ClusterConfig,
    KongConfig,
    PlatformConfig,
    RuntimeConfig,
    StackConfig,
    format_validation_error,
    runtime_await,
    shown,
)
from hitless.components.kong import pod_labels as kong_pod_labels
from hitless.components.kong_entities import KongRuntimeTarget, runtime_entities
from hitless.components.runtime import RuntimeService, RuntimeServiceArgs, pod_labels, service_host
from hitless_policy import budget
from hitless_policy.identity import Tier, k8s_labels
from hitless_policy.profile import Thresholds, TrafficProfile, path_profile

TYPE = "hitless:gke:ChainRuntime"
"""Type token of the component."""

SHARED_TIERS: tuple[tuple[str, str], ...] = (("a", "A"), ("b", "B"), ("c", "Kong"))
"""The tiers every path crosses, owned by the chain's stack: (tier, name in messages)."""

_Seconds = Annotated[float, Field(ge=0, le=86400 * 7)]


class _Facts(BaseModel):
    """Base of the chain's exported facts: plain, immutable, finite, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TierSeconds(_Facts):
    """The longest request (seconds) each tier of the chain carries, over the chain's paths."""

    a: _Seconds = Field(description="Tier A (nginx L7): its drains and timeouts cover this.")
    b: _Seconds = Field(description="Tier B (nginx L4): its drains and timeouts cover this.")
    c: _Seconds = Field(description="Tier C (Kong): its drains and timeouts cover this.")
    d: _Seconds = Field(description="Tier D (the chain's runtimes), the longest of them.")

    def for_tier(self, tier: str) -> float:
        """The longest request of tier `a`, `b`, `c` or `d`."""
        return float(getattr(self, tier))


class ChainFacts(_Facts):
    """The chain another stack adds a runtime behind: its stack output `chain`."""

    name: str = Field(
        min_length=1, description="The chain's name (`hitless:platform.chain`), its identity."
    )
    region: str = Field(min_length=1, description="The chain's GCP region.")
    zones: list[str] = Field(
        min_length=1, description="The chain's zones (a runtime spreads across them)."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Extra labels of every object of the chain."
    )
    kubernetes_version: str = Field(
        description="The cluster's Kubernetes version: it decides the preStop form."
    )
    profile: TrafficProfile = Field(description="The chain's traffic promise (`hitless:profile`).")
    thresholds: Thresholds = Field(description="The chain's margins (`hitless:thresholds`).")
    buffering_at_a: bool = Field(description="Tier A buffers request bodies before forwarding.")
    buffering_at_c: bool = Field(description="Kong buffers request bodies on every route.")
    longest: TierSeconds = Field(description="The longest request each tier carries.")

    @classmethod
    def of(cls, cfg: StackConfig) -> ChainFacts:
        """The facts of a chain built from `cfg` (what its stack exports)."""
        longest = cfg.longest_requests()
        return cls(
            name=cfg.platform.chain,
            region=cfg.platform.region,
            zones=list(cfg.platform.zones),
            labels=dict(cfg.platform.labels),
            kubernetes_version=cfg.cluster.kubernetes_version,
            profile=cfg.profile,
            thresholds=cfg.thresholds,
            buffering_at_a=cfg.edge.proxy_request_buffering,
            buffering_at_c=all(rt.kong.request_buffering for rt in cfg.runtimes),
            longest=TierSeconds(a=longest.a, b=longest.b, c=longest.c, d=longest.d),
        )

    def platform(self) -> PlatformConfig:
        """The chain's platform as a runtime needs it: name, region, zones, labels."""
        return PlatformConfig(
            chain=self.name, region=self.region, zones=self.zones, labels=self.labels
        )


class KongFacts(_Facts):
    """The chain's Kong as another stack needs it: its stack output `kong`."""

    namespace: str = Field(description="Namespace of Kong's pods.")
    pod_labels: dict[str, str] = Field(description="Labels selecting Kong's pods.")
    mode: Literal["dbless", "hybrid"] = Field(
        description="How Kong gets its entities: a declarative file, or a control plane."
    )
    admin_url: str | None = Field(
        default=None, description="The control plane's Admin API URL (hybrid mode only)."
    )
    upstream_tls_verify: bool = Field(
        description="Kong verifies an HTTPS runtime's certificate (`hitless:kong`)."
    )
    upstream_tls_verify_depth: int = Field(
        ge=1, le=10, description="Longest certificate chain Kong accepts from a runtime."
    )

    @classmethod
    def of(cls, cfg: StackConfig) -> KongFacts:
        """The Kong facts of a chain built from `cfg` (what its stack exports)."""
        kong = cfg.kong
        return cls(
            namespace=kong.namespace,
            pod_labels=kong_pod_labels(cfg.platform),
            mode="dbless" if kong.hybrid is None else "hybrid",
            admin_url=kong.hybrid.admin_url if kong.hybrid is not None else None,
            upstream_tls_verify=kong.upstream_tls_verify,
            upstream_tls_verify_depth=kong.upstream_tls_verify_depth,
        )


class ChainRuntimeConfig(BaseModel):
    """A runtime service and the chain it joins, validated together before any resource."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    runtime: RuntimeConfig = Field(
        description="The runtime service to add: the same model as an item of hitless:runtimes."
    )
    chain: ChainFacts = Field(description="The chain it joins (the chain's stack output `chain`).")
    kong: KongFacts = Field(description="The chain's Kong (the chain's stack output `kong`).")

    def path_longest(self) -> budget.LongestRequests:
        """Each tier's longest request on the path A -> B -> C -> this runtime."""
        return budget.longest_requests(
            path_profile(self.chain.profile, self.runtime.profile.overrides()),
            buffering_at_a=self.chain.buffering_at_a,
            buffering_at_c=self.chain.buffering_at_c and self.runtime.kong.request_buffering,
        )

    def await_timeout_seconds(self) -> int:
        """How long `pulumi up` awaits the runtime's rollout (set, or sized from its bound)."""
        waited = runtime_await(self.runtime, self.chain.profile, self.chain.thresholds)
        if waited.value is None:  # a model invariant: an unset await takes its bound
            raise ValueError("runtime.await_timeout_seconds: no await was judged")
        return int(waited.value)

    @model_validator(mode="after")
    def _fits_the_chain(self) -> Self:
        problems = chain_runtime_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self


def chain_runtime_problems(cfg: ChainRuntimeConfig) -> list[str]:
    """Why `cfg.runtime` cannot join `cfg.chain`, one line per problem with the fix."""
    rt, chain, kong = cfg.runtime, cfg.chain, cfg.kong
    out: list[str] = []
    if kong.mode != "hybrid" or not kong.admin_url:
        out.append(
            f"kong.mode = {shown(kong.mode)}: chain {chain.name!r} runs Kong DB-less: its routes "
            "are one declarative config that the chain's stack renders and owns, so another "
            "stack cannot add a route to it and the runtime would receive no traffic. Fix: add "
            "the runtime to the chain's hitless:runtimes, or run the chain's Kong in hybrid mode "
            "(hitless:kong.hybrid)."
        )
    if rt.namespace == kong.namespace:
        out.append(
            f"runtime.namespace = {rt.namespace}: it is Kong's namespace (kong.namespace), so the "
            "runtime's Namespace object would claim Kong's. Fix: give the runtime its own "
            "namespace."
        )
    own = cfg.path_longest()
    for tier, name in SHARED_TIERS:
        carried = chain.longest.for_tier(tier)
        if own.for_tier(tier) > carried:
            out.append(
                f"runtime.profile = {shown(rt.profile.model_dump(exclude_none=True))}: runtime "
                f"{rt.name!r}: its longest request on {name} is {own.for_tier(tier):.1f} s, but "
                f"the chain's drains and timeouts cover {carried:.1f} s (chain.longest.{tier}), "
                f"so a rollout of {name} cuts its requests. Fix: lower its promise "
                "(runtime.profile) or raise the chain's own hitless:profile and `pulumi up` the "
                "chain first."
            )
    waited = runtime_await(rt, chain.profile, chain.thresholds)
    if waited.status == "fail":
        out.append(
            f"runtime.await_timeout_seconds = {rt.await_timeout_seconds}: `pulumi up` would give "
            f"up during a healthy rollout (must be >= {waited.threshold}). Fix: raise it, or "
            "remove it so it is sized from the rollout."
        )
    return out


def wire_form(model: BaseModel) -> dict[str, Any]:
    """`model`'s values keyed as the component package's schema names them, for other languages.

    Field names in camelCase (`pulumi.provider.experimental.util.camel_case`, the conversion
    the schema inference applies), map keys such as labels kept as they are, plain JSON values.
    """
    return {
        camel_case(name): _wire_value(getattr(model, name)) for name in type(model).model_fields
    }


def _wire_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return wire_form(value)
    if isinstance(value, Mapping):
        return {str(key): _wire_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_wire_value(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv4Network):
        return str(value)
    return value


class ChainRuntimeError(ValueError):
    """Inputs that cannot add a hitless runtime behind the chain; the message lists each."""


def load_chain_runtime_config(
    values: Mapping[str, Any], *, prefix: str, source: str, stack: str
) -> ChainRuntimeConfig:
    """Validate `values` (keys `runtime`, `chain`, `kong`) as one `ChainRuntimeConfig`.

    A problem names the input as `<prefix>:<key>` and the file or place to fix it (`source`).
    Raises `ChainRuntimeError` listing every problem.
    """
    try:
        return ChainRuntimeConfig.model_validate(dict(values))
    except ValidationError as error:
        text = format_validation_error(
            error, stack, model=ChainRuntimeConfig, prefix=prefix, source=source
        )
        raise ChainRuntimeError(text) from None


def chain_outputs(ref: pulumi.StackReference) -> dict[str, Any]:
    """The chain's outputs `chain` and `kong` as plain values, read before any registration.

    The component validates them (and the rules need them) during a preview, so they must be
    plain values, not Outputs. Pulumi's Python SDK has no public synchronous read of another
    stack's output: `StackReference.get_output_details` is a coroutine
    (pulumi/sdk/python/lib/pulumi/stack_reference.py), and a Pulumi Python program's body is
    synchronous. The SDK's own synchronous bridge, `pulumi.runtime.sync_await._sync_await`
    (pulumi/sdk/python/lib/pulumi/runtime/sync_await.py, which the SDK's `invoke` and mocks
    use), pumps the program's event loop until the coroutine completes. This is the one
    place the program uses it. An output absent from the chain's stack raises
    `ChainRuntimeError`.
    """
    out: dict[str, Any] = {}
    for name in ("chain", "kong"):
        details = _sync_await(ref.get_output_details(name))
        value = details.value if details.value is not None else details.secret_value
        if value is None:
            raise ChainRuntimeError(
                f"the chain's stack exports no `{name}`: it predates the outputs another stack "
                "reads, so nothing can be added behind it. Fix: update the chain's stack to a "
                "hitless version that exports it and run `pulumi up` there first"
            )
        out[name] = value
    return out


@dataclass(frozen=True)
class ChainRuntimeArgs:
    """Inputs of `ChainRuntime`."""

    config: ChainRuntimeConfig
    """The runtime and the chain's facts, validated together (`load_chain_runtime_config`)."""
    kubeconfig: pulumi.Input[str]
    """Kubeconfig of the chain's cluster (the chain's stack output `kubeconfig`)."""
    kong_admin_token: pulumi.Input[str] | None = None
    """The chain's Kong control plane Admin API token (a secret); None: none is sent."""


def kong_egress_manifest(cfg: ChainRuntimeConfig) -> kc.Manifest:
    """A NetworkPolicy in Kong's namespace letting the chain's Kong pods reach this runtime."""
    rt, kong = cfg.runtime, cfg.kong
    platform = cfg.chain.platform()
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": kc.object_metadata(
            f"kong-to-{rt.name}",
            k8s_labels(platform.chain, Tier.C, f"egress-{rt.name}"),
            namespace=kong.namespace,
        ),
        "spec": {
            "podSelector": {"matchLabels": dict(kong.pod_labels)},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {kc.NAMESPACE_NAME_LABEL: rt.namespace}
                            },
                            "podSelector": {"matchLabels": pod_labels(rt, platform)},
                        }
                    ],
                    "ports": [{"port": rt.port, "protocol": "TCP"}],
                }
            ],
        },
    }


def kong_settings(kong: KongFacts) -> KongConfig:
    """The chain's Kong settings a runtime's Kong Service depends on (upstream TLS)."""
    return KongConfig(
        namespace=kong.namespace,
        upstream_tls_verify=kong.upstream_tls_verify,
        upstream_tls_verify_depth=kong.upstream_tls_verify_depth,
    )


def compose_chain_runtime(
    name: str, args: ChainRuntimeArgs, opts: pulumi.ResourceOptions
) -> RuntimeService:
    """Register the runtime, Kong's egress to it and its Kong entities, under `opts.parent`.

    `ChainRuntime` and the component package's `ChainRuntime` both call it with
    `parent=self`. The runtime takes `name`, so its objects are named as the chain names its
    own runtimes' (`<chain>-<runtime>-deployment` when `name` is `<chain>-<runtime>`); the
    other children are `<name>-k8s`, `<name>-kong-egress`, `<name>-kong-admin` and
    `<name>-kong-<runtime>-*`.
    """
    parent = opts.parent
    if parent is None:
        raise ValueError("compose_chain_runtime: opts.parent is the component that owns them")
    cfg = args.config
    rt = cfg.runtime
    platform = cfg.chain.platform()
    cluster = k8s.Provider(
        f"{name}-k8s", kubeconfig=args.kubeconfig, opts=pulumi.ResourceOptions(parent=parent)
    )
    service = RuntimeService(
        name,
        RuntimeServiceArgs(
            config=rt,
            platform=platform,
            cluster=ClusterConfig(kubernetes_version=cfg.chain.kubernetes_version),
            kong_namespace=cfg.kong.namespace,
            kong_pod_labels=dict(cfg.kong.pod_labels),
            await_timeout_seconds=cfg.await_timeout_seconds(),
        ),
        opts=pulumi.ResourceOptions(parent=parent, providers={"kubernetes": cluster}),
    )
    kc.create(
        f"{name}-kong-egress",
        kong_egress_manifest(cfg),
        pulumi.ResourceOptions(parent=parent, provider=cluster),
    )
    admin = pulumi_kong.Provider(
        f"{name}-kong-admin",
        kong_admin_uri=str(cfg.kong.admin_url),
        kong_admin_token=args.kong_admin_token,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    target = KongRuntimeTarget(
        name=rt.name, host=service_host(rt), port=rt.port, scheme=rt.scheme, route=rt.kong
    )
    runtime_entities(kong_settings(cfg.kong), target).apply(parent, admin, platform.chain)
    return service


class ChainRuntime(pulumi.ComponentResource):
    """One more runtime service behind an existing hybrid chain, with its Kong entities."""

    service_host: pulumi.Output[str]
    """In-cluster DNS name of the runtime's Service (Kong's target)."""
    namespace: pulumi.Output[str]
    """Namespace of the runtime's objects."""
    route_paths: pulumi.Output[list[str]]
    """Path prefixes the chain's Kong routes to the runtime."""

    def __init__(
        self, name: str, args: ChainRuntimeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        service = compose_chain_runtime(name, args, pulumi.ResourceOptions(parent=self))
        self.service_host = service.service_host
        self.namespace = service.namespace
        self.route_paths = pulumi.Output.from_input(list(args.config.runtime.kong.route_paths))
        self.register_outputs(
            {
                "service_host": self.service_host,
                "namespace": self.namespace,
                "route_paths": self.route_paths,
            }
        )
