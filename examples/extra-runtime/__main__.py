"""One more runtime service behind an existing hitless chain, as another team's stack adds it.

The chain (the `hitless` program's stack) owns A, B, Kong and its own runtimes. This stack reads
the chain's outputs by `pulumi.StackReference` and adds one runtime service with the library's
components:

- the runtime itself (`RuntimeService`): Namespace, Deployment, Service, PDB, HPA and its
  NetworkPolicies, stamped with the chain's identity, on the chain's cluster (its kubeconfig);
- a NetworkPolicy in Kong's namespace letting the chain's Kong pods reach the new pods
  (NetworkPolicies add up, so the chain's own egress policy stays as it is);
- its Kong Service, Route, Upstream and Target, created with pulumi-kong through the chain's
  Kong control plane (`KongRuntimeEntities.apply`).

Decisions:
- Hybrid chains only. In DB-less mode Kong's entities are one declarative file that the chain's
  stack renders and owns; a second stack cannot add a route to it. Such a chain is refused with
  exit code 2 and the fix (add the runtime to the chain's `hitless:runtimes`, or run Kong in
  hybrid mode), never silently skipped.
- The chain's tiers every path crosses (A, B, Kong's drains and timeouts) were sized for the
  chain's own paths. This runtime's path must fit in them: its longest request on A, B and C may
  not exceed the chain's (the chain exports them); otherwise the stack is refused (exit 2).
- Every value is read from the chain during the preview, before any resource is registered.
"""

from __future__ import annotations

import sys
from typing import Any

import pulumi
import pulumi_kong
import pulumi_kubernetes as k8s
from pulumi.runtime.sync_await import _sync_await
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hitless.components import k8s_common as kc
from hitless.components.config import (
    ClusterConfig,
    KongConfig,
    PlatformConfig,
    RuntimeConfig,
    format_validation_error,
    runtime_await,
)
from hitless.components.kong_entities import KongRuntimeTarget, runtime_entities
from hitless.components.runtime import RuntimeService, RuntimeServiceArgs, pod_labels, service_host
from hitless_policy import budget
from hitless_policy.identity import Tier, k8s_labels
from hitless_policy.profile import Thresholds, TrafficProfile, path_profile

PROJECT = "extra-runtime"
"""This project's name: the namespace of its stack keys."""
BAD_INPUT = 2
"""Exit code of a stack that cannot be built as described (hitless's exit-code contract)."""


class ExtraRuntimeConfig(BaseModel):
    """This stack's config: which chain to join and the runtime service to add."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain_stack: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="`<org>/<project>/<stack>` of the chain's stack (its StackReference).",
    )
    runtime: RuntimeConfig = Field(
        description="The runtime service to add: the same model as an item of hitless:runtimes."
    )


class ChainReferenceError(ValueError):
    """The chain's outputs do not allow this stack: the message says why and the fix."""


def chain_output(ref: pulumi.StackReference, name: str) -> Any:
    """A plain output of the chain's stack, read during the preview (exit 2 when absent)."""
    details = _sync_await(ref.get_output_details(name))
    value = details.value if details.value is not None else details.secret_value
    if value is None:
        raise ChainReferenceError(
            f"the chain's stack exports no `{name}`: it predates the outputs another stack "
            "reads, so nothing can be added behind it. Fix: update the chain's stack to a "
            "hitless version that exports it and run `pulumi up` there first"
        )
    return value


def require_hybrid(kong: dict[str, Any], chain: str) -> str:
    """The chain's Kong Admin API URL; a DB-less chain is refused with the fix."""
    if kong.get("mode") != "hybrid" or not kong.get("admin_url"):
        raise ChainReferenceError(
            f"chain {chain!r} runs Kong DB-less: its routes are one declarative config that the "
            "chain's stack renders and owns, so this stack cannot add a route to it and the "
            "runtime would receive no traffic. Fix: add the runtime to the chain's "
            "hitless:runtimes, or run the chain's Kong in hybrid mode (hitless:kong.hybrid)"
        )
    return str(kong["admin_url"])


def require_fits(chain: dict[str, Any], runtime: RuntimeConfig) -> budget.LongestRequests:
    """This runtime's path, which must fit in what A, B and Kong were sized for."""
    profile = path_profile(
        TrafficProfile.model_validate(chain["profile"]), runtime.profile.overrides()
    )
    own = budget.longest_requests(
        profile,
        buffering_at_a=bool(chain["buffering_at_a"]),
        buffering_at_c=bool(chain["buffering_at_c"]) and runtime.kong.request_buffering,
    )
    for tier, name in (("a", "A"), ("b", "B"), ("c", "Kong")):
        carried = float(chain["longest"][tier])
        if own.for_tier(tier) > carried:
            raise ChainReferenceError(
                f"runtime {runtime.name!r}: its longest request on {name} is "
                f"{own.for_tier(tier):.1f} s, but the chain's drains and timeouts cover "
                f"{carried:.1f} s, so a rollout of {name} cuts its requests. Fix: lower its "
                "promise (runtime.profile) or raise the chain's own profile"
            )
    return own


def build(cfg: ExtraRuntimeConfig) -> RuntimeService:
    """Read the chain and add the runtime service behind it; every child named after it."""
    ref = pulumi.StackReference(f"{PROJECT}-chain", stack_name=cfg.chain_stack)
    chain: dict[str, Any] = chain_output(ref, "chain")
    kong: dict[str, Any] = chain_output(ref, "kong")
    admin_url = require_hybrid(kong, str(chain["name"]))
    require_fits(chain, cfg.runtime)
    rt = cfg.runtime
    platform = PlatformConfig(
        chain=chain["name"], region=chain["region"], zones=chain["zones"], labels=chain["labels"]
    )
    cluster = ClusterConfig(kubernetes_version=chain["kubernetes_version"])
    thresholds = Thresholds.model_validate(chain["thresholds"])
    waited = runtime_await(rt, TrafficProfile.model_validate(chain["profile"]), thresholds)
    if waited.status != "pass" or waited.value is None:
        raise ChainReferenceError(
            f"runtime.await_timeout_seconds = {rt.await_timeout_seconds}: `pulumi up` would give "
            f"up during a healthy rollout (must be >= {waited.threshold}). Fix: raise it or "
            "remove it so it is sized from the rollout"
        )

    provider = k8s.Provider(f"{rt.name}-k8s", kubeconfig=ref.require_output("kubeconfig"))
    service = RuntimeService(
        f"{chain['name']}-{rt.name}",
        RuntimeServiceArgs(
            config=rt,
            platform=platform,
            cluster=cluster,
            kong_namespace=str(kong["namespace"]),
            kong_pod_labels=dict(kong["pod_labels"]),
            await_timeout_seconds=int(waited.value),
        ),
        opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
    )
    kc.create(
        f"{chain['name']}-{rt.name}-kong-egress",
        kong_egress_manifest(rt, platform, str(kong["namespace"]), dict(kong["pod_labels"])),
        pulumi.ResourceOptions(parent=service, provider=provider),
    )
    kong_admin = pulumi_kong.Provider(
        f"{rt.name}-kong-admin",
        kong_admin_uri=admin_url,
        kong_admin_token=pulumi.Config(PROJECT).get_secret("kongAdminToken"),
        opts=pulumi.ResourceOptions(parent=service),
    )
    kong_settings = KongConfig(
        namespace=kong["namespace"],
        upstream_tls_verify=kong["upstream_tls_verify"],
        upstream_tls_verify_depth=kong["upstream_tls_verify_depth"],
    )
    target = KongRuntimeTarget(
        name=rt.name, host=service_host(rt), port=rt.port, scheme=rt.scheme, route=rt.kong
    )
    runtime_entities(kong_settings, target).apply(service, kong_admin, platform.chain)
    return service


def kong_egress_manifest(
    rt: RuntimeConfig, platform: PlatformConfig, kong_namespace: str, kong_pods: dict[str, str]
) -> kc.Manifest:
    """A NetworkPolicy letting the chain's Kong pods connect to this runtime's pods."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": kc.object_metadata(
            f"kong-to-{rt.name}",
            k8s_labels(platform.chain, Tier.C, f"egress-{rt.name}"),
            namespace=kong_namespace,
        ),
        "spec": {
            "podSelector": {"matchLabels": kong_pods},
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


def load_config() -> ExtraRuntimeConfig:
    """This stack's config, validated once (exit 2 with the key, value and fix when wrong)."""
    config = pulumi.Config(PROJECT)
    try:
        return ExtraRuntimeConfig.model_validate(
            {"chain_stack": config.get("chain_stack"), "runtime": config.get_object("runtime")}
        )
    except ValidationError as error:
        text = format_validation_error(error, pulumi.get_stack())
        raise ChainReferenceError(text.replace("hitless:", f"{PROJECT}:")) from None


def main() -> None:
    """Validate, read the chain, add the runtime; a stack that cannot be built exits 2."""
    try:
        service = build(load_config())
    except ChainReferenceError as error:
        print(f"{PROJECT}: {error}", file=sys.stderr)
        raise SystemExit(BAD_INPUT) from None
    pulumi.export("runtime_host", service.service_host)
    pulumi.export("namespace", service.namespace)


main()
