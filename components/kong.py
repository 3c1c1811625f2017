"""Tier C: the Kong data plane on GKE, behind a GKE internal passthrough LoadBalancer Service.

Owns Kong's Namespace, Deployment, LoadBalancer Service (on the reserved internal address B's
nginx.conf embeds, admitting only B's subnet), PodDisruptionBudget, HorizontalPodAutoscaler, two
NetworkPolicies (ingress: the proxy port from B's subnet and the LB's health checkers, the status
port from the nodes; egress: the runtime's pods and DNS) and
the runtime's Kong entities: DB-less, as a ConfigMap holding the declarative `kong.yml` (a config
change rolls the pods through a checksum annotation); hybrid, as pulumi-kong resources against
the control plane's Admin API (the control plane pushes them to the data plane live).

Kong drains with `kong quit --wait=W --timeout=T` as preStop: it keeps accepting for W seconds
while the internal LB stops sending it new connections, then lets in-flight requests finish for up
to T seconds. Every timeout the chain rules judge is an env var of the proxy container.
With an https runtime Kong verifies its certificate against a CA mounted from a Secret
(`upstream_ca_secret`, which must exist in Kong's namespace); nginx checks the certificate's
name against the Host Kong forwards (`proxy_ssl_name $upstream_host`: with `preserve_host`, the
client's Host), so the runtime's certificate must name the public host(s).

Deliberately not managed here: the Kong control plane, its cluster certificate Secret (hybrid:
`cluster_cert_secret` must exist), the Admin API (off on the data plane), plugins.
The internal address B's nginx.conf embeds is reserved here, from the plain config value, in
the GKE subnet, so no node or other LB can take it before the Service claims it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
import pulumi_kong

from hitless.components import k8s_common as kc
from hitless.components.config import (
    GOOGLE_FRONTEND_RANGES,
    ClusterConfig,
    KongConfig,
    KongHybridConfig,
    ObservabilityConfig,
    PlatformConfig,
)
from hitless.components.kong_entities import (
    KongEntities,
    KongRuntimeTarget,
    build_entities,
    verifies_upstream,
)
from hitless_policy.identity import Tier, gcp_description, gcp_labels

TYPE = "hitless:gke:KongDataPlane"
"""Type token of the component."""

APP = "kong"
"""`app.kubernetes.io/name` of Kong's objects and the name of its Kubernetes objects."""
COMPONENT = "gateway"
"""`app.kubernetes.io/component` of Kong's objects."""
CONTAINER = "proxy"
"""Name of Kong's container."""
KONG_UID = 1000
"""uid of the `kong` user in Kong's official image."""

CONFIG_KEY = "kong.yml"
"""ConfigMap data key holding the declarative config (DB-less)."""
CONFIG_MAP_NAME = "kong-declarative-config"
"""Name of the ConfigMap holding the declarative config (DB-less)."""
CONFIG_DIR = "/kong_dbless"
"""Where the ConfigMap is mounted."""
PREFIX_DIR = "/kong_prefix"
"""Kong's prefix (nginx.conf, pid, client body temp files) on an emptyDir: root fs is read-only."""
CLUSTER_CERT_DIR = "/etc/secrets/kong-cluster-cert"
"""Where the hybrid cluster certificate Secret is mounted."""
UPSTREAM_CA_DIR = "/etc/secrets/upstream-ca"
"""Where the Secret holding the runtime's CA certificate is mounted (https runtime)."""
TRUSTED_UPSTREAM_CA_ENV = "KONG_NGINX_PROXY_PROXY_SSL_TRUSTED_CERTIFICATE"
"""Env var injecting `proxy_ssl_trusted_certificate` into Kong's proxy `server {}` block.

Kong's nginx template (kong/templates/nginx_kong.lua, "injected nginx_proxy_* directives" in the
proxy server) turns `KONG_NGINX_PROXY_<DIRECTIVE>` into that directive; a Service with
`tls_verify` and no `ca_certificates` then uses nginx's trust store, i.e. this file (Kong's
Service reference: "If set to null when Nginx default is respected").
"""
CONFIG_CHECKSUM_ANNOTATION = "hitless.dev/kong-config-sha256"
"""Pod template annotation: sha256 of the declarative config, so a config change rolls the pods."""
INTERNAL_LB_ANNOTATION = "networking.gke.io/load-balancer-type"
"""Service annotation that makes GKE build an internal passthrough NLB."""

PROXY_PORT_NAME = "proxy"
"""Name of the proxy container port (the Service's targetPort)."""
STATUS_PORT_NAME = "status"
"""Name of the status container port (probes)."""


@dataclass(frozen=True)
class KongRuntimeBackend:
    """One runtime service behind Kong: its Kong routing, and the pods Kong's egress admits."""

    target: KongRuntimeTarget
    """Its address and Kong Service/Route settings."""
    namespace: str
    """Namespace of its pods."""
    pod_labels: Mapping[str, str]
    """Labels selecting its pods (`hitless.components.runtime.pod_labels`)."""


@dataclass(frozen=True)
class KongDataPlaneArgs:
    """Inputs of `KongDataPlane`."""

    config: KongConfig
    """Kong's config (`hitless:kong`)."""
    platform: PlatformConfig
    """Chain name, zones, network (reserved ILB address, B's subnet) and extra labels."""
    cluster: ClusterConfig
    """The cluster's config."""
    runtimes: Sequence[KongRuntimeBackend]
    """The runtime services Kong routes to (one Kong Service, Route and Upstream each)."""
    subnetwork: pulumi.Input[str]
    """Self link of the GKE subnet, where Kong's internal LB address is reserved."""
    await_timeout_seconds: int
    """How long `pulumi up` awaits the Deployment's rollout (`StackConfig.rollout_awaits()`)."""
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)
    """`hitless:observability`: whether Kong exports Prometheus metrics (its plugin)."""


def pod_labels(platform: PlatformConfig) -> dict[str, str]:
    """Labels selecting Kong's pods (stable: the Deployment selector is immutable)."""
    return kc.selector_labels(platform.chain, Tier.C, APP)


def entities(args: KongDataPlaneArgs) -> KongEntities:
    """Kong's entities: one Kong Service per runtime, named after the runtime's Service."""
    return build_entities(
        args.config,
        [backend.target for backend in args.runtimes],
        with_metrics=args.observability.enabled,
    )


def config_checksum(declarative_yaml: str) -> str:
    """sha256 of the rendered declarative config."""
    return hashlib.sha256(declarative_yaml.encode()).hexdigest()


def _labels(args: KongDataPlaneArgs, role: str) -> dict[str, str]:
    return kc.object_labels(
        args.platform.chain, Tier.C, role, app=APP, component=COMPONENT, extra=args.platform.labels
    )


def body_size(mib: int) -> str:
    """The nginx `client_max_body_size` value for `mib` MiB (0: unlimited)."""
    return "0" if mib == 0 else f"{mib}m"


def proxy_env(config: KongConfig, *, verify_upstream: bool = False) -> list[kc.Manifest]:
    """The proxy container's env: listeners, timeouts, logs and the configuration source.

    The policy pack reads these names: KONG_NGINX_HTTP_KEEPALIVE_TIMEOUT,
    KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT, KONG_UPSTREAM_KEEPALIVE_MAX_REQUESTS,
    KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT, KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE.
    """
    env: dict[str, str] = {
        "KONG_PREFIX": PREFIX_DIR,
        # The data plane keeps its config in memory (DB-less, or pushed by the control plane).
        "KONG_DATABASE": "off",
        "KONG_PROXY_LISTEN": f"0.0.0.0:{config.proxy_port}",
        "KONG_STATUS_LISTEN": f"0.0.0.0:{config.status_port}",
        "KONG_ADMIN_LISTEN": "off",
        # Towards B: above A's upstream keepalive, so A drops pooled connections first.
        "KONG_NGINX_HTTP_KEEPALIVE_TIMEOUT": f"{config.client_keepalive_timeout_seconds}s",
        # Towards the runtime: below its keep-alive idle timeout, so Kong drops them first.
        "KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT": str(config.upstream_keepalive_idle_timeout_seconds),
        "KONG_UPSTREAM_KEEPALIVE_MAX_REQUESTS": str(config.upstream_keepalive_max_requests),
        # nginx's own cap on a graceful worker shutdown, equal to `kong quit --timeout`.
        "KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT": f"{config.quit_timeout_seconds}s",
        "KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE": body_size(config.client_max_body_mib),
        "KONG_PROXY_ACCESS_LOG": "/dev/stdout",
        "KONG_PROXY_ERROR_LOG": "/dev/stderr",
        "KONG_ADMIN_ACCESS_LOG": "/dev/stdout",
        "KONG_ADMIN_ERROR_LOG": "/dev/stderr",
        "KONG_STATUS_ACCESS_LOG": "off",
        "KONG_STATUS_ERROR_LOG": "/dev/stderr",
    }
    env.update(_source_env(config.hybrid))
    if verify_upstream:
        # The runtime's CA, from the mounted Secret: Kong's `tls_verify` checks against it.
        env[TRUSTED_UPSTREAM_CA_ENV] = f"{UPSTREAM_CA_DIR}/{config.upstream_ca_key}"
    return [{"name": key, "value": value} for key, value in env.items()]


def _source_env(hybrid: KongHybridConfig | None) -> dict[str, str]:
    """Where the data plane's entities come from: the mounted file, or the control plane."""
    if hybrid is None:
        return {"KONG_DECLARATIVE_CONFIG": f"{CONFIG_DIR}/{CONFIG_KEY}"}
    cert, key = f"{CLUSTER_CERT_DIR}/tls.crt", f"{CLUSTER_CERT_DIR}/tls.key"
    return {
        "KONG_ROLE": "data_plane",
        "KONG_CLUSTER_CONTROL_PLANE": hybrid.cluster_control_plane,
        "KONG_CLUSTER_TELEMETRY_ENDPOINT": hybrid.cluster_telemetry_endpoint,
        # Shared mode: CP and DP hold the same certificate (CN kong_clustering) and pin it.
        "KONG_CLUSTER_MTLS": "shared",
        "KONG_CLUSTER_CERT": cert,
        "KONG_CLUSTER_CERT_KEY": key,
        "KONG_LUA_SSL_TRUSTED_CERTIFICATE": f"system,{cert}",
    }


def quit_command(config: KongConfig) -> list[str]:
    """preStop: keep accepting `quit_wait`, then drain in-flight requests up to `quit_timeout`."""
    return [
        "kong",
        "quit",
        f"--wait={config.quit_wait_seconds}",
        f"--timeout={config.quit_timeout_seconds}",
    ]


def namespace_manifest(args: KongDataPlaneArgs) -> kc.Manifest:
    """Kong's Namespace."""
    return kc.namespace_manifest(args.config.namespace, _labels(args, "namespace"))


def config_map_manifest(args: KongDataPlaneArgs, declarative_yaml: str) -> kc.Manifest:
    """The ConfigMap holding the declarative config (DB-less only)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": kc.object_metadata(
            CONFIG_MAP_NAME, _labels(args, "config"), namespace=args.config.namespace
        ),
        "data": {CONFIG_KEY: declarative_yaml},
    }


def deployment_manifest(args: KongDataPlaneArgs, declarative_yaml: str | None) -> kc.Manifest:
    """Kong's Deployment; `declarative_yaml` is the DB-less config (None in hybrid mode)."""
    cfg = args.config
    selector = pod_labels(args.platform)
    mounts: list[kc.Manifest] = [
        {"name": "prefix", "mountPath": PREFIX_DIR},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - a mount point, not a temp file
    ]
    volumes: list[kc.Manifest] = [
        {"name": "prefix", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
    ]
    annotations: dict[str, str] = {}
    if declarative_yaml is not None:
        mounts.append({"name": "declarative-config", "mountPath": CONFIG_DIR, "readOnly": True})
        volumes.append({"name": "declarative-config", "configMap": {"name": CONFIG_MAP_NAME}})
        annotations[CONFIG_CHECKSUM_ANNOTATION] = config_checksum(declarative_yaml)
    if cfg.hybrid is not None:
        mounts.append({"name": "cluster-cert", "mountPath": CLUSTER_CERT_DIR, "readOnly": True})
        volumes.append(
            {"name": "cluster-cert", "secret": {"secretName": cfg.hybrid.cluster_cert_secret}}
        )
    verify = any(verifies_upstream(cfg, rt.target.scheme) for rt in args.runtimes)
    if verify:
        mounts.append({"name": "upstream-ca", "mountPath": UPSTREAM_CA_DIR, "readOnly": True})
        volumes.append(
            {
                "name": "upstream-ca",
                "secret": {
                    "secretName": cfg.upstream_ca_secret,
                    "items": [{"key": cfg.upstream_ca_key, "path": cfg.upstream_ca_key}],
                },
            }
        )
    container: kc.Manifest = {
        "name": CONTAINER,
        "image": kc.image_reference(cfg.image, cfg.image_digest),
        "ports": [
            {"name": PROXY_PORT_NAME, "containerPort": cfg.proxy_port, "protocol": "TCP"},
            {"name": STATUS_PORT_NAME, "containerPort": cfg.status_port, "protocol": "TCP"},
        ],
        "env": proxy_env(cfg, verify_upstream=verify),
        "readinessProbe": kc.http_probe("/status/ready", STATUS_PORT_NAME, "HTTP", cfg.readiness),
        "livenessProbe": kc.http_probe(
            "/status", STATUS_PORT_NAME, "HTTP", kc.single_success(cfg.liveness)
        ),
        "lifecycle": {"preStop": kc.exec_handler(quit_command(cfg))},
        "resources": kc.container_resources(cfg.resources),
        "securityContext": kc.container_security_context(),
        "volumeMounts": mounts,
    }
    template_meta: kc.Manifest = {"labels": {**_labels(args, "proxy"), **selector}}
    if annotations:
        template_meta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": kc.object_metadata(APP, _labels(args, "proxy"), namespace=cfg.namespace),
        "spec": {
            # The HPA's range contains `replicas` (validated in the config model).
            "replicas": cfg.replicas,
            "selector": {"matchLabels": selector},
            "strategy": kc.surge_only_strategy(),
            "minReadySeconds": cfg.min_ready_seconds,
            # Fails a stuck rollout before `pulumi up`'s await gives up
            # (rule deployment-await-covers-rollout).
            "progressDeadlineSeconds": cfg.progress_deadline_seconds,
            "revisionHistoryLimit": 5,
            "template": {
                "metadata": template_meta,
                "spec": {
                    "terminationGracePeriodSeconds": cfg.termination_grace_seconds,
                    # The data plane does not talk to the Kubernetes API.
                    "automountServiceAccountToken": False,
                    "securityContext": kc.pod_security_context(KONG_UID),
                    "topologySpreadConstraints": kc.topology_spread(
                        selector, regional=kc.CLUSTER_IS_REGIONAL
                    ),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def service_manifest(args: KongDataPlaneArgs) -> kc.Manifest:
    """The internal passthrough LoadBalancer Service B connects to.

    `externalTrafficPolicy: Local`: the GKE internal LB health-checks each node's
    healthCheckNodePort, which answers healthy only while the node has a ready Kong pod, and
    Dataplane V2 delivers to local pods only (no second hop through a node that may be draining).
    When a Kong pod terminates, its node keeps receiving new connections until the LB's health
    check marks it unhealthy and the LB reprograms (`kong_lb_propagation_seconds`); `kong quit
    --wait` keeps Kong accepting for `quit_wait_seconds` >= that lag (validated in the config
    model), so those connections are served rather than refused.
    `loadBalancerSourceRanges` makes GKE's generated firewall rule admit only B's subnet.
    """
    cfg, net = args.config, args.platform.network
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": kc.object_metadata(
            APP,
            _labels(args, "service"),
            namespace=cfg.namespace,
            annotations={INTERNAL_LB_ANNOTATION: "Internal"},
        ),
        "spec": {
            "type": "LoadBalancer",
            "loadBalancerIP": str(net.kong_ilb_address),
            "loadBalancerSourceRanges": [str(net.b_cidr)],
            "externalTrafficPolicy": "Local",
            "sessionAffinity": "None",
            "selector": pod_labels(args.platform),
            "ports": [
                {
                    "name": PROXY_PORT_NAME,
                    "port": cfg.service_port,
                    "targetPort": PROXY_PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }


def _ip_blocks(cidrs: list[str]) -> list[kc.Manifest]:
    return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]


def ingress_policy_manifest(args: KongDataPlaneArgs) -> kc.Manifest:
    """Who may reach Kong's pods: B and the LB's checkers (proxy port), nodes (status port).

    Nothing else may, not even other pods of the cluster.
    With `externalTrafficPolicy: Local` the internal passthrough LB keeps the client's source
    address, so B's instances arrive from `b_cidr`. Kubelet probes come from the node.
    """
    cfg, net = args.config, args.platform.network
    proxy_sources = [str(net.b_cidr), *(str(cidr) for cidr in GOOGLE_FRONTEND_RANGES)]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": kc.object_metadata(
            f"{APP}-ingress", _labels(args, "network-policy"), namespace=cfg.namespace
        ),
        "spec": {
            "podSelector": {"matchLabels": pod_labels(args.platform)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": _ip_blocks(proxy_sources),
                    "ports": [{"port": cfg.proxy_port, "protocol": "TCP"}],
                },
                {
                    "from": _ip_blocks([str(net.gke_nodes_cidr)]),
                    "ports": [{"port": cfg.status_port, "protocol": "TCP"}],
                },
            ],
        },
    }


def _control_plane_ports(hybrid: KongHybridConfig) -> list[int]:
    ports = {
        int(hybrid.cluster_control_plane.rsplit(":", 1)[1]),
        int(hybrid.cluster_telemetry_endpoint.rsplit(":", 1)[1]),
    }
    return sorted(ports)


def egress_policy_manifest(args: KongDataPlaneArgs) -> kc.Manifest:
    """Where Kong's pods may connect: each runtime's pods on its port, and DNS.

    Hybrid: also the control plane's cluster and telemetry ports (its address is a DNS name,
    which a NetworkPolicy cannot select, so the ports are admitted to any address).
    """
    cfg = args.config
    rules: list[kc.Manifest] = [
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {kc.NAMESPACE_NAME_LABEL: backend.namespace}
                    },
                    "podSelector": {"matchLabels": dict(backend.pod_labels)},
                }
            ],
            "ports": [{"port": backend.target.port, "protocol": "TCP"}],
        }
        for backend in args.runtimes
    ]
    rules.append(kc.dns_egress_rule())
    if cfg.hybrid is not None:
        rules.append(
            {
                "ports": [
                    {"port": port, "protocol": "TCP"} for port in _control_plane_ports(cfg.hybrid)
                ]
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": kc.object_metadata(
            f"{APP}-egress", _labels(args, "network-policy"), namespace=cfg.namespace
        ),
        "spec": {
            "podSelector": {"matchLabels": pod_labels(args.platform)},
            "policyTypes": ["Egress"],
            "egress": rules,
        },
    }


def pdb_manifest(args: KongDataPlaneArgs) -> kc.Manifest:
    """Kong's PodDisruptionBudget."""
    return kc.pdb_manifest(
        APP, args.config.namespace, _labels(args, "pdb"), pod_labels(args.platform)
    )


def hpa_manifest(args: KongDataPlaneArgs) -> kc.Manifest:
    """Kong's HorizontalPodAutoscaler."""
    cfg = args.config
    return kc.hpa_manifest(APP, cfg.namespace, _labels(args, "hpa"), APP, cfg.autoscaling)


def admin_token() -> pulumi.Output[str] | None:
    """The control plane's Admin API token (`hitless:kongAdminToken`, secret), if set."""
    return pulumi.Config("hitless").get_secret("kongAdminToken")


class KongDataPlane(pulumi.ComponentResource):
    """The Kong data plane tier (C): a hitless Deployment behind an internal LB Service."""

    service_address: pulumi.Output[str]
    """The internal LB's reserved address (B's nginx.conf embeds it)."""
    service_port: pulumi.Output[int]
    """The internal LB Service's port."""
    namespace: pulumi.Output[str]
    """Namespace of Kong's objects."""
    pod_labels: dict[str, str]
    """Labels selecting Kong's pods (plain, for the runtime's NetworkPolicy)."""

    def __init__(
        self, name: str, args: KongDataPlaneArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self.pod_labels = pod_labels(args.platform)
        model = entities(args)
        declarative = model.to_yaml() if args.config.hybrid is None else None

        address = gcp.compute.Address(
            f"{name}-address",
            address_type="INTERNAL",
            address=str(args.platform.network.kong_ilb_address),
            subnetwork=args.subnetwork,
            region=args.platform.region,
            description=gcp_description(
                args.platform.chain,
                Tier.C,
                "address",
                "Kong's internal LB address; B's nginx.conf proxies to it.",
            ),
            labels={
                **args.platform.labels,
                **gcp_labels(args.platform.chain, Tier.C, "address"),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        ns = kc.create(f"{name}-namespace", namespace_manifest(args), self._child())
        in_ns = self._child(ns)
        if declarative is not None:
            kc.create(f"{name}-config", config_map_manifest(args, declarative), in_ns)
        else:
            self._create_hybrid_entities(name, model, args)
        kc.create(
            f"{name}-deployment",
            deployment_manifest(args, declarative),
            pulumi.ResourceOptions.merge(in_ns, kc.await_options(args.await_timeout_seconds)),
        )
        kc.create(
            f"{name}-service",
            service_manifest(args),
            pulumi.ResourceOptions(parent=self, depends_on=[ns, address]),
        )
        kc.create(f"{name}-pdb", pdb_manifest(args), in_ns)
        kc.create(f"{name}-hpa", hpa_manifest(args), in_ns)
        kc.create(f"{name}-ingress-policy", ingress_policy_manifest(args), in_ns)
        kc.create(f"{name}-egress-policy", egress_policy_manifest(args), in_ns)

        self.service_address = address.address
        self.service_port = pulumi.Output.from_input(args.config.service_port)
        self.namespace = pulumi.Output.from_input(args.config.namespace)
        self.register_outputs(
            {
                "service_address": self.service_address,
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

    def _create_hybrid_entities(
        self, name: str, model: KongEntities, args: KongDataPlaneArgs
    ) -> None:
        """Hybrid: an explicit pulumi-kong provider for the control plane, then the entities."""
        hybrid = args.config.hybrid
        assert hybrid is not None  # noqa: S101 - only called in hybrid mode
        provider = pulumi_kong.Provider(
            f"{name}-kong-admin",
            kong_admin_uri=hybrid.admin_url,
            kong_admin_token=admin_token(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        model.apply(self, provider, args.platform.chain)
