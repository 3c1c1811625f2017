"""Pure builders of the Kubernetes manifest parts that Kong (tier C) and the runtime (tier D) share.

Every function returns plain camelCase dicts: exactly the manifest the API server receives and
the props a policy pack sees, so the builders are testable without mocks and their output can be
validated against the real Kubernetes schemas. The workload components (`hitless.components.kong`,
`hitless.components.runtime`) assemble these parts and create the resources.

This module owns the hitless conventions every workload follows: identity and recommended labels,
a selector that never changes, probes, the preStop sleep, the surge-only rolling update, topology
spread, the restricted security context, the PodDisruptionBudget and the HPA. It deliberately
creates no resource and knows nothing about Kong or the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from hitless.components.config import (
    ROLLING_MAX_SURGE,
    ROLLING_MAX_UNAVAILABLE,
    AutoscalingConfig,
    ProbeConfig,
    ResourcesConfig,
)
from hitless_policy import identity
from hitless_policy.identity import Tier

Manifest = dict[str, Any]
"""A Kubernetes object or object part in wire form (camelCase keys)."""

APP_NAME_LABEL = "app.kubernetes.io/name"
"""Recommended label: the application's name (`kong`, the runtime's name)."""
APP_PART_OF_LABEL = "app.kubernetes.io/part-of"
"""Recommended label: the larger application this one belongs to (`hitless-<chain>`)."""
APP_COMPONENT_LABEL = "app.kubernetes.io/component"
"""Recommended label: the component within the architecture (`gateway`, `runtime`)."""
APP_MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
"""Recommended label: the tool managing the object (`pulumi`)."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Label the API server puts on every Namespace with its name (for namespaceSelector)."""

HOSTNAME_TOPOLOGY_KEY = "kubernetes.io/hostname"
"""Node label of the node's name: spreading on it keeps one node drain from taking all pods."""
ZONE_TOPOLOGY_KEY = "topology.kubernetes.io/zone"
"""Node label of the node's zone: spreading on it keeps a zone outage from taking all pods."""
POD_TEMPLATE_HASH_LABEL = "pod-template-hash"
"""Label the Deployment controller puts on each ReplicaSet's pods."""

DNS_PORT = 53
"""Port of the cluster DNS (kube-dns), UDP and TCP."""
KUBE_DNS_NAMESPACE = "kube-system"
"""Namespace of GKE's kube-dns pods."""
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}
"""Labels of GKE's kube-dns pods."""

NON_ROOT_UID = 1000
"""Default numeric uid for images that run as a non-root user (Kong's image uses 1000)."""


def part_of(chain: str) -> str:
    """The `app.kubernetes.io/part-of` value of a chain's objects."""
    return f"hitless-{chain}"


def selector_labels(chain: str, tier: Tier, app: str) -> dict[str, str]:
    """Labels that select a workload's pods.

    Only values that never change for the workload's lifetime: a Deployment's selector is
    immutable, so a change (an extra platform label, a renamed role) would force a replacement,
    which deletes every pod at once. The PDB, the Service and NetworkPolicies select with these.
    """
    return {
        APP_NAME_LABEL: app,
        identity.K8S_CHAIN_LABEL: chain,
        identity.K8S_TIER_LABEL: tier.value,
    }


def object_labels(
    chain: str,
    tier: Tier,
    role: str,
    *,
    app: str,
    component: str,
    extra: Mapping[str, str],
) -> dict[str, str]:
    """All labels of one object: platform labels, recommended labels, then identity labels.

    Identity labels come last so a platform label can never overwrite them.
    """
    return {
        **extra,
        APP_NAME_LABEL: app,
        APP_PART_OF_LABEL: part_of(chain),
        APP_COMPONENT_LABEL: component,
        APP_MANAGED_BY_LABEL: "pulumi",
        **identity.k8s_labels(chain, tier, role),
    }


def object_metadata(
    name: str,
    labels: Mapping[str, str],
    *,
    namespace: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Manifest:
    """An ObjectMeta (namespace omitted for cluster-scoped objects)."""
    meta: Manifest = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def namespace_manifest(name: str, labels: Mapping[str, str]) -> Manifest:
    """A Namespace."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": object_metadata(name, labels)}


def image_reference(image: str, digest: str | None) -> str:
    """`image@digest` when a digest is given (the pods then run exactly that image), else `image`.

    A tag or digest already in `image` stays; a digest replaces nothing, it is appended.
    """
    if digest is None or "@" in image:
        return image
    return f"{image}@{digest}"


def http_probe(path: str, port: str | int, scheme: str, timing: ProbeConfig) -> Manifest:
    """An httpGet probe with explicit timing (Kubernetes' defaults are slow: period 10 s)."""
    return {
        "httpGet": {"path": path, "port": port, "scheme": scheme.upper()},
        "initialDelaySeconds": timing.initial_delay_seconds,
        "periodSeconds": timing.period_seconds,
        "timeoutSeconds": timing.timeout_seconds,
        "failureThreshold": timing.failure_threshold,
        "successThreshold": timing.success_threshold,
    }


def single_success(timing: ProbeConfig) -> ProbeConfig:
    """The same timing with successThreshold 1, which liveness and startup probes require."""
    return timing.model_copy(update={"success_threshold": 1})


def prestop_sleep(seconds: int, *, native: bool) -> Manifest:
    """A preStop handler that keeps the container serving for `seconds`.

    Endpoint removal runs in parallel with preStop/SIGTERM and lags it; sleeping first keeps the
    pod accepting until every kube-proxy and Kong node stopped sending it connections. `native`
    uses the kubelet's `sleep` action (on by default from 1.30; no `sleep` binary needed in the
    image); otherwise an exec of `sh -c 'sleep N'`.
    """
    if native:
        return {"sleep": {"seconds": seconds}}
    return {"exec": {"command": ["sh", "-c", f"sleep {seconds}"]}}


def exec_handler(command: Sequence[str]) -> Manifest:
    """A lifecycle handler that runs `command` in the container."""
    return {"exec": {"command": list(command)}}


def surge_only_strategy() -> Manifest:
    """RollingUpdate that adds a pod before it removes one: capacity never drops.

    Integers, not percents: with 2 replicas `25%` rounds to surge 1 / unavailable 0, but `50%`
    rounds unavailable to 1, halving capacity. Explicit 0/1 removes the rounding question.
    """
    return {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": ROLLING_MAX_UNAVAILABLE, "maxSurge": ROLLING_MAX_SURGE},
    }


CLUSTER_IS_REGIONAL = True
"""`hitless.components.gke_cluster` always builds a regional cluster (location = region), even
when its nodes sit in one zone; the policy judges zone spread by the cluster's location. With one
zone the zone constraint has a single domain and is always satisfied, and it starts spreading as
soon as zones are added."""


def topology_spread(selector: Mapping[str, str], *, regional: bool) -> list[Manifest]:
    """Spread pods over nodes (and zones when the cluster is regional), strictly.

    `DoNotSchedule`: a surge pod that would land next to its sibling stays Pending and the
    cluster autoscaler adds a node, instead of one node drain (or zone loss) taking every pod.
    `matchLabelKeys: [pod-template-hash]` counts only the pods of the same ReplicaSet, so the
    old pods that are about to leave do not skew the placement of new ones during a rollout.
    """
    keys = [HOSTNAME_TOPOLOGY_KEY, *([ZONE_TOPOLOGY_KEY] if regional else [])]
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": dict(selector)},
            "matchLabelKeys": [POD_TEMPLATE_HASH_LABEL],
        }
        for key in keys
    ]


def container_resources(cfg: ResourcesConfig) -> Manifest:
    """Requests (CPU and memory) and a memory limit; no CPU limit, so no throttling mid-request."""
    return {
        "requests": {"cpu": cfg.cpu_request, "memory": cfg.memory_request},
        "limits": {"memory": cfg.memory_limit},
    }


def pod_security_context(run_as_user: int | None) -> Manifest:
    """Pod-level restricted context: non-root, RuntimeDefault seccomp."""
    ctx: Manifest = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if run_as_user is not None:
        ctx["runAsUser"] = run_as_user
        ctx["runAsGroup"] = run_as_user
        ctx["fsGroup"] = run_as_user
    return ctx


def container_security_context() -> Manifest:
    """Container-level restricted context (Pod Security Standard `restricted`)."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


PDB_MAX_UNAVAILABLE = 1
"""Pods a PodDisruptionBudget lets be unavailable at once (`pdb_manifest`); the alerts of
`hitless.components.monitoring` read the same number."""


def pdb_manifest(
    name: str, namespace: str, labels: Mapping[str, str], selector: Mapping[str, str]
) -> Manifest:
    """A PodDisruptionBudget allowing one disruption at a time, evicting unhealthy pods freely.

    `maxUnavailable: 1` (not `minAvailable: N`) follows replica changes and never blocks a node
    drain; `AlwaysAllow` lets a drain evict a crash-looping pod instead of wedging on it.
    """
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_metadata(name, labels, namespace=namespace),
        "spec": {
            "maxUnavailable": PDB_MAX_UNAVAILABLE,
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": {"matchLabels": dict(selector)},
        },
    }


def hpa_manifest(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    deployment: str,
    scaling: AutoscalingConfig,
) -> Manifest:
    """An autoscaling/v2 HPA on average CPU utilisation of the Deployment `deployment`."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": object_metadata(name, labels, namespace=namespace),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": scaling.cpu_utilization_percent,
                        },
                    },
                }
            ],
        },
    }


def await_options(seconds: int) -> pulumi.ResourceOptions:
    """Options making `pulumi up` await a Deployment's rollout `seconds` on create and update.

    pulumi-kubernetes gives up after 10 minutes by default and reports the update failed, in the
    middle of a healthy rollout (https://www.pulumi.com/registry/packages/kubernetes/api-docs/
    apps/v1/deployment/, "If the Deployment has not reached a Ready state after 10 minutes ...
    override the default timeout value by setting the 'customTimeouts' option"; pulumi-kubernetes
    PR #721). `seconds` comes from `StackConfig.rollout_awaits()`.
    """
    return pulumi.ResourceOptions(
        custom_timeouts=pulumi.CustomTimeouts(create=f"{seconds}s", update=f"{seconds}s")
    )


def create(
    resource_name: str, manifest: Manifest, opts: pulumi.ResourceOptions
) -> pulumi.CustomResource:
    """Register `manifest` as the typed pulumi-kubernetes resource of its apiVersion/kind.

    Typed resources (not `yaml.ConfigGroup`) keep the type tokens the policy pack matches on,
    e.g. `kubernetes:apps/v1:Deployment`.
    """
    kind = (manifest["apiVersion"], manifest["kind"])
    meta = manifest["metadata"]
    if kind == ("v1", "Namespace"):
        return k8s.core.v1.Namespace(resource_name, metadata=meta, opts=opts)
    if kind == ("v1", "ConfigMap"):
        return k8s.core.v1.ConfigMap(resource_name, metadata=meta, data=manifest["data"], opts=opts)
    if kind == ("v1", "Service"):
        return k8s.core.v1.Service(resource_name, metadata=meta, spec=manifest["spec"], opts=opts)
    if kind == ("apps/v1", "Deployment"):
        # Every workload here has an HPA: `replicas` sizes the first rollout, and later
        # `pulumi up`s leave the HPA's count alone instead of shrinking capacity mid-deploy.
        hpa_owns_replicas = pulumi.ResourceOptions(ignore_changes=["spec.replicas"])
        return k8s.apps.v1.Deployment(
            resource_name,
            metadata=meta,
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions.merge(opts, hpa_owns_replicas),
        )
    if kind == ("policy/v1", "PodDisruptionBudget"):
        return k8s.policy.v1.PodDisruptionBudget(
            resource_name, metadata=meta, spec=manifest["spec"], opts=opts
        )
    if kind == ("autoscaling/v2", "HorizontalPodAutoscaler"):
        return k8s.autoscaling.v2.HorizontalPodAutoscaler(
            resource_name, metadata=meta, spec=manifest["spec"], opts=opts
        )
    if kind == ("networking.k8s.io/v1", "NetworkPolicy"):
        return k8s.networking.v1.NetworkPolicy(
            resource_name, metadata=meta, spec=manifest["spec"], opts=opts
        )
    raise ValueError(
        f"no typed resource for {kind}; add it to hitless.components.k8s_common.create"
    )


def dns_egress_rule() -> Manifest:
    """An egress rule admitting the cluster DNS (kube-dns in kube-system), UDP and TCP 53."""
    return {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: KUBE_DNS_NAMESPACE}},
                "podSelector": {"matchLabels": dict(KUBE_DNS_LABELS)},
            }
        ],
        "ports": [
            {"port": DNS_PORT, "protocol": "UDP"},
            {"port": DNS_PORT, "protocol": "TCP"},
        ],
    }
