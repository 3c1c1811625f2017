"""Tier D: the runtime (RT) Deployment on GKE, exposed to Kong through a ClusterIP Service.

Owns the runtime's Namespace, Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler
a NetworkPolicy that admits only Kong's pods, and one that lets the pods reach only the cluster
DNS (and `egress_cidrs`). The Deployment rolls surge-only, keeps serving
through a preStop sleep while endpoint removal propagates, and has a grace period that covers the
longest request. Its own server settings (request timeout, keep-alive idle timeout, body limit)
are declared as annotations, which the chain rules read, and passed to the container as env.

Deliberately not managed here: the container image's build, its TLS certificate (the runtime
serves `scheme` on `port` itself), Kong's routing to it (`hitless.components.kong_entities`), the
cluster and its provider (`hitless.components.gke_cluster`), and any Ingress: the runtime is
reached only through Kong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from hitless.components import k8s_common as kc
from hitless.components.config import ClusterConfig, PlatformConfig, RuntimeConfig
from hitless_policy import identity
from hitless_policy.identity import Tier

TYPE = "hitless:gke:RuntimeService"
"""Type token of the component."""

COMPONENT = "runtime"
"""`app.kubernetes.io/component` of the runtime's objects."""

TMP_VOLUME = "tmp"
"""emptyDir mounted at /tmp: the root filesystem is read-only, uploads may spool to /tmp."""

ENV_REQUEST_TIMEOUT = "RT_REQUEST_TIMEOUT_SECONDS"
"""Env var carrying the runtime's own request timeout (seconds)."""
ENV_KEEPALIVE_IDLE = "RT_KEEPALIVE_IDLE_TIMEOUT_SECONDS"
"""Env var carrying the runtime's own keep-alive idle timeout (seconds)."""
ENV_MAX_BODY = "RT_MAX_BODY_MIB"
"""Env var carrying the runtime's own request body limit (MiB)."""


@dataclass(frozen=True)
class RuntimeServiceArgs:
    """Inputs of `RuntimeService`."""

    config: RuntimeConfig
    """The runtime's config (an item of `hitless:runtimes`)."""
    platform: PlatformConfig
    """Chain name, zones (spread across zones when regional) and extra labels."""
    cluster: ClusterConfig
    """The cluster's config: its Kubernetes version decides the preStop form."""
    kong_namespace: str
    """Namespace of Kong's pods, the only clients the NetworkPolicy admits."""
    kong_pod_labels: Mapping[str, str]
    """Labels selecting Kong's pods (`KongDataPlane.pod_labels`)."""
    await_timeout_seconds: int
    """How long `pulumi up` awaits the Deployment's rollout (`StackConfig.rollout_awaits()`)."""


def service_host(config: RuntimeConfig) -> str:
    """The in-cluster DNS name of the runtime's Service (plain, known at preview)."""
    return f"{config.name}.{config.namespace}.svc.cluster.local"


def pod_labels(config: RuntimeConfig, platform: PlatformConfig) -> dict[str, str]:
    """Labels selecting the runtime's pods (stable: the Deployment selector is immutable)."""
    return kc.selector_labels(platform.chain, Tier.D, config.name)


def port_name(config: RuntimeConfig) -> str:
    """Name of the container and Service port: the protocol (`http`/`https`)."""
    return config.scheme.lower()


def _labels(args: RuntimeServiceArgs, role: str) -> dict[str, str]:
    return kc.object_labels(
        args.platform.chain,
        Tier.D,
        role,
        app=args.config.name,
        component=COMPONENT,
        extra=args.platform.labels,
    )


def declared_settings(config: RuntimeConfig) -> dict[str, str]:
    """The runtime's own server settings and traffic promise as Deployment annotations.

    The chain rules read them: the settings always, the promise (`hitless.dev/profile.<field>`)
    where it differs from the chain's profile, so `hitless check` on the rendered manifests
    judges this runtime's path as `hitless preview` does.
    """
    return {
        identity.RT_REQUEST_TIMEOUT_ANNOTATION: str(config.request_timeout_seconds),
        identity.RT_KEEPALIVE_IDLE_ANNOTATION: str(config.keepalive_idle_timeout_seconds),
        identity.RT_MAX_BODY_ANNOTATION: str(config.max_body_mib),
        **{
            f"{identity.RT_PROFILE_ANNOTATION_PREFIX}{name}": f"{value:g}"
            for name, value in config.profile.overrides().items()
        },
    }


def namespace_manifest(args: RuntimeServiceArgs) -> kc.Manifest:
    """The runtime's Namespace."""
    return kc.namespace_manifest(args.config.namespace, _labels(args, "namespace"))


def deployment_manifest(args: RuntimeServiceArgs) -> kc.Manifest:
    """The runtime's Deployment."""
    cfg = args.config
    selector = pod_labels(cfg, args.platform)
    port = port_name(cfg)
    container: kc.Manifest = {
        "name": cfg.name,
        "image": kc.image_reference(cfg.image, cfg.image_digest),
        "ports": [{"name": port, "containerPort": cfg.port, "protocol": "TCP"}],
        "env": [
            {"name": ENV_REQUEST_TIMEOUT, "value": str(cfg.request_timeout_seconds)},
            {"name": ENV_KEEPALIVE_IDLE, "value": str(cfg.keepalive_idle_timeout_seconds)},
            {"name": ENV_MAX_BODY, "value": str(cfg.max_body_mib)},
        ],
        "readinessProbe": kc.http_probe(cfg.health_path, port, cfg.scheme, cfg.readiness),
        "livenessProbe": kc.http_probe(
            cfg.liveness_path, port, cfg.scheme, kc.single_success(cfg.liveness)
        ),
        "startupProbe": kc.http_probe(
            cfg.health_path, port, cfg.scheme, kc.single_success(cfg.startup)
        ),
        "lifecycle": {
            "preStop": kc.prestop_sleep(
                cfg.prestop_seconds, native=args.cluster.supports_sleep_action
            )
        },
        "resources": kc.container_resources(cfg.resources),
        "securityContext": kc.container_security_context(),
        "volumeMounts": [{"name": TMP_VOLUME, "mountPath": "/tmp"}],  # noqa: S108 - a mount
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": kc.object_metadata(
            cfg.name,
            _labels(args, "server"),
            namespace=cfg.namespace,
            annotations=declared_settings(cfg),
        ),
        "spec": {
            # The HPA's range contains `replicas` (validated in the config model).
            "replicas": cfg.replicas,
            "selector": {"matchLabels": selector},
            "strategy": kc.surge_only_strategy(),
            "minReadySeconds": cfg.min_ready_seconds,
            "progressDeadlineSeconds": cfg.progress_deadline_seconds,
            "revisionHistoryLimit": 5,
            "template": {
                "metadata": {"labels": {**_labels(args, "server"), **selector}},
                "spec": {
                    "terminationGracePeriodSeconds": cfg.termination_grace_seconds,
                    # The runtime talks to nothing in the cluster API.
                    "automountServiceAccountToken": False,
                    "securityContext": kc.pod_security_context(None),
                    "topologySpreadConstraints": kc.topology_spread(
                        selector, regional=kc.CLUSTER_IS_REGIONAL
                    ),
                    "containers": [container],
                    "volumes": [{"name": TMP_VOLUME, "emptyDir": {}}],
                },
            },
        },
    }


def service_manifest(args: RuntimeServiceArgs) -> kc.Manifest:
    """The runtime's ClusterIP Service (no client-IP affinity: it pins clients to draining pods)."""
    cfg = args.config
    port = port_name(cfg)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": kc.object_metadata(cfg.name, _labels(args, "service"), namespace=cfg.namespace),
        "spec": {
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "selector": pod_labels(cfg, args.platform),
            "ports": [
                {
                    "name": port,
                    "port": cfg.port,
                    "targetPort": port,
                    "protocol": "TCP",
                    "appProtocol": port,
                }
            ],
        },
    }


def pdb_manifest(args: RuntimeServiceArgs) -> kc.Manifest:
    """The runtime's PodDisruptionBudget."""
    cfg = args.config
    return kc.pdb_manifest(
        cfg.name, cfg.namespace, _labels(args, "pdb"), pod_labels(cfg, args.platform)
    )


def hpa_manifest(args: RuntimeServiceArgs) -> kc.Manifest:
    """The runtime's HorizontalPodAutoscaler."""
    cfg = args.config
    return kc.hpa_manifest(cfg.name, cfg.namespace, _labels(args, "hpa"), cfg.name, cfg.autoscaling)


def network_policy_manifest(args: RuntimeServiceArgs) -> kc.Manifest:
    """Admit ingress to the runtime's port only from Kong's pods in Kong's namespace.

    Kubelet probes are node-originated and not subject to NetworkPolicy.
    """
    cfg = args.config
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": kc.object_metadata(
            f"{cfg.name}-from-kong", _labels(args, "network-policy"), namespace=cfg.namespace
        ),
        "spec": {
            "podSelector": {"matchLabels": pod_labels(cfg, args.platform)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {kc.NAMESPACE_NAME_LABEL: args.kong_namespace}
                            },
                            "podSelector": {"matchLabels": dict(args.kong_pod_labels)},
                        }
                    ],
                    "ports": [{"port": cfg.port, "protocol": "TCP"}],
                }
            ],
        },
    }


def egress_policy_manifest(args: RuntimeServiceArgs) -> kc.Manifest:
    """Where the runtime's pods may connect: the cluster DNS, and `egress_cidrs` when listed."""
    cfg = args.config
    rules: list[kc.Manifest] = [kc.dns_egress_rule()]
    if cfg.egress_cidrs:
        rules.append({"to": [{"ipBlock": {"cidr": str(cidr)}} for cidr in cfg.egress_cidrs]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": kc.object_metadata(
            f"{cfg.name}-egress", _labels(args, "network-policy"), namespace=cfg.namespace
        ),
        "spec": {
            "podSelector": {"matchLabels": pod_labels(cfg, args.platform)},
            "policyTypes": ["Egress"],
            "egress": rules,
        },
    }


class RuntimeService(pulumi.ComponentResource):
    """The runtime tier (D): a hitless Deployment behind a ClusterIP Service."""

    service_host: pulumi.Output[str]
    """In-cluster DNS name of the Service, `<name>.<namespace>.svc.cluster.local`."""
    service_port: pulumi.Output[int]
    """Port of the Service (the runtime's `port`)."""
    namespace: pulumi.Output[str]
    """Namespace of the runtime's objects."""
    pod_labels: dict[str, str]
    """Labels selecting the runtime's pods (plain, for selectors elsewhere)."""

    def __init__(
        self, name: str, args: RuntimeServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self.pod_labels = pod_labels(args.config, args.platform)
        ns = kc.create(f"{name}-namespace", namespace_manifest(args), self._child())
        in_ns = self._child(ns)
        kc.create(
            f"{name}-deployment",
            deployment_manifest(args),
            pulumi.ResourceOptions.merge(in_ns, kc.await_options(args.await_timeout_seconds)),
        )
        kc.create(f"{name}-service", service_manifest(args), in_ns)
        kc.create(f"{name}-pdb", pdb_manifest(args), in_ns)
        kc.create(f"{name}-hpa", hpa_manifest(args), in_ns)
        kc.create(f"{name}-network-policy", network_policy_manifest(args), in_ns)
        kc.create(f"{name}-egress-policy", egress_policy_manifest(args), in_ns)

        self.service_host = pulumi.Output.from_input(service_host(args.config))
        self.service_port = pulumi.Output.from_input(args.config.port)
        self.namespace = pulumi.Output.from_input(args.config.namespace)
        self.register_outputs(
            {
                "service_host": self.service_host,
                "service_port": self.service_port,
                "namespace": self.namespace,
                "pod_labels": self.pod_labels,
            }
        )

    def _child(self, namespace: pulumi.Resource | None = None) -> pulumi.ResourceOptions:
        """Options of a child: parented here, after the Namespace when it lives in it."""
        return pulumi.ResourceOptions(
            parent=self, depends_on=[namespace] if namespace is not None else None
        )
