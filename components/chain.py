"""The whole chain, composed from a validated stack config: A -> B -> C -> D with their LBs.

Owns the wiring between the tier components (which address each tier forwards to, which
provider the workloads use). Deliberately not here: reading or validating stack config
(`hitless.components.config`), and exports (the program's `__main__.py`).

Decisions:
- Internal addresses of B's NLB and Kong's internal LB are reserved from plain config values, so
  both nginx configs (and every timeout a policy reads) are known during a preview of a brand-new
  stack.
- Kong reaches the runtime through its ClusterIP Service (one Kong target, no Kong health check
  that could eject it); the runtime's preStop covers endpoint propagation to kube-proxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from hitless.components.chain_runtime import ChainFacts, KongFacts, wire_form
from hitless.components.config import GOOGLE_FRONTEND_RANGES, StackConfig
from hitless.components.edge_lb import EdgeLoadBalancer, EdgeLoadBalancerArgs, backend_service_name
from hitless.components.gke_cluster import GkeCluster, GkeClusterArgs
from hitless.components.internal_lb import InternalLoadBalancer, InternalLoadBalancerArgs
from hitless.components.kong import KongDataPlane, KongDataPlaneArgs, KongRuntimeBackend
from hitless.components.kong_entities import KongRuntimeTarget
from hitless.components.monitoring import ChainMonitoring, ChainMonitoringArgs, MonitoredRuntime
from hitless.components.network import Network, NetworkArgs
from hitless.components.nginx_conf import render_edge_conf, render_relay_conf
from hitless.components.nginx_tier import NginxMigTier, NginxMigTierArgs, mig_name
from hitless.components.runtime import RuntimeService, RuntimeServiceArgs, service_host
from hitless.components.runtime import pod_labels as runtime_pod_labels
from hitless_policy.identity import Tier


@dataclass(frozen=True)
class Chain:
    """The components of one chain, for exports and for stacks that build on it."""

    network: Network
    """VPC, subnets and NAT."""
    cluster: GkeCluster
    """The GKE cluster carrying C and D."""
    kong: KongDataPlane
    """Tier C."""
    runtimes: dict[str, RuntimeService]
    """Tier D: each runtime service, by name (`hitless:runtimes`)."""
    relay: NginxMigTier
    """Tier B's instance group."""
    relay_lb: InternalLoadBalancer
    """Tier B's internal passthrough NLB."""
    edge: NginxMigTier
    """Tier A's instance group."""
    edge_lb: EdgeLoadBalancer
    """Tier A's external Application LB."""
    monitoring: ChainMonitoring | None
    """Scraping, log-based metrics, alerts and dashboards (None: `observability.enabled` off)."""


def chain_reference(cfg: StackConfig) -> dict[str, Any]:
    """What another stack needs to add a runtime service behind this chain (plain values).

    Its identity and platform (labels, zones, the cluster's Kubernetes version), the chain's
    promise, where bodies are buffered and the longest request A, B and Kong carry: the fields
    of `ChainFacts`, which `ChainRuntime` takes back.
    """
    return ChainFacts.of(cfg).model_dump(mode="json")


def kong_reference(cfg: StackConfig) -> dict[str, Any]:
    """Kong's side of the chain for another stack: the fields of `KongFacts`.

    Its namespace and pods, its mode (DB-less or hybrid, with the control plane's Admin API)
    and how it verifies runtimes' certificates.
    """
    return KongFacts.of(cfg).model_dump(mode="json")


def chain_runtime_inputs(cfg: StackConfig) -> dict[str, Any]:
    """`chain` and `kong` as the component package's `ChainRuntime` takes them (camelCase).

    A TypeScript, Go or YAML stack passes them on as they are (`docs/package.md`).
    """
    return {"chain": wire_form(ChainFacts.of(cfg)), "kong": wire_form(KongFacts.of(cfg))}


def kong_backends(cfg: StackConfig) -> list[KongRuntimeBackend]:
    """Every runtime service of `cfg` as Kong reaches it.

    Its Service's address, its Kong Service and Route settings, and the pods Kong's egress
    admits.
    """
    return [
        KongRuntimeBackend(
            target=KongRuntimeTarget(
                name=rt.name, host=service_host(rt), port=rt.port, scheme=rt.scheme, route=rt.kong
            ),
            namespace=rt.namespace,
            pod_labels=runtime_pod_labels(rt, cfg.platform),
        )
        for rt in cfg.runtimes
    ]


def compose_chain(cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> Chain:
    """Build the four tiers, their load balancers, the network and the cluster from `cfg`.

    `cfg` is a validated `StackConfig` (see `hitless.components.config.load_stack_config`);
    child names derive from the chain's name, so two chains in one stack do not collide.
    `opts` applies to every tier component (e.g. `parent=` a component that wraps the chain).
    """
    base = opts or pulumi.ResourceOptions()
    platform, chain = cfg.platform, cfg.platform.chain
    net = platform.network

    network = Network(chain, NetworkArgs(platform=platform), opts=base)

    cluster = GkeCluster(
        f"{chain}-gke",
        GkeClusterArgs(
            config=cfg.cluster,
            platform=platform,
            network=network.network_self_link,
            subnetwork=network.gke_subnet_self_link,
            pods_range_name=network.pods_range_name,
            services_range_name=network.services_range_name,
            # How long `pulumi up` awaits each rollout, sized from its worst case.
            upgrade_timeout_seconds={
                pool.name: cfg.await_timeout(f"cluster.node_pools.{pool.name}")
                for pool in cfg.cluster.node_pools
            },
        ),
        opts=base,
    )
    on_cluster = pulumi.ResourceOptions.merge(
        base, pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
    )

    kong = KongDataPlane(
        f"{chain}-kong",
        KongDataPlaneArgs(
            config=cfg.kong,
            platform=platform,
            cluster=cfg.cluster,
            runtimes=kong_backends(cfg),
            subnetwork=network.gke_subnet_self_link,
            await_timeout_seconds=cfg.await_timeout("kong"),
            observability=cfg.observability,
        ),
        opts=on_cluster,
    )
    # One component per runtime service, named after it: two runtimes never collide.
    runtimes = {
        rt.name: RuntimeService(
            f"{chain}-{rt.name}",
            RuntimeServiceArgs(
                config=rt,
                platform=platform,
                cluster=cfg.cluster,
                kong_namespace=cfg.kong.namespace,
                kong_pod_labels=kong.pod_labels,
                await_timeout_seconds=cfg.await_timeout(f"runtimes.{rt.name}"),
            ),
            opts=on_cluster,
        )
        for rt in cfg.runtimes
    }

    relay_name, edge_name, edge_lb_name = f"{chain}-b", f"{chain}-a", f"{chain}-a-lb"
    relay = NginxMigTier(
        relay_name,
        NginxMigTierArgs(
            tier=Tier.B,
            platform=platform,
            mig=cfg.relay.mig,
            nginx_conf=render_relay_conf(
                cfg.relay,
                str(net.kong_ilb_address),
                cfg.kong.service_port,
                cfg.relay.mig.health_port,
            ),
            network=network.network_self_link,
            subnetwork=network.b_subnet_self_link,
            listen_port=cfg.relay.listen_port,
            firewall_sources=[str(net.a_cidr)],
            health_check_sources=[str(cidr) for cidr in GOOGLE_FRONTEND_RANGES],
            stream_module=True,
            await_timeout_seconds=cfg.await_timeout("relay.mig"),
        ),
        opts=base,
    )
    relay_lb = InternalLoadBalancer(
        f"{chain}-b-ilb",
        InternalLoadBalancerArgs(
            relay=cfg.relay,
            platform=platform,
            instance_group=relay.instance_group,
            network=network.network_self_link,
            subnetwork=network.b_subnet_self_link,
            health_port=cfg.relay.mig.health_port,
        ),
        opts=base,
    )

    edge = NginxMigTier(
        edge_name,
        NginxMigTierArgs(
            tier=Tier.A,
            platform=platform,
            mig=cfg.edge.mig,
            nginx_conf=render_edge_conf(
                cfg.edge, str(net.b_ilb_address), cfg.relay.listen_port, cfg.edge.mig.health_port
            ),
            network=network.network_self_link,
            subnetwork=network.a_subnet_self_link,
            listen_port=cfg.edge.listen_port,
            firewall_sources=[str(cidr) for cidr in cfg.edge.source_ranges],
            health_check_sources=[str(cidr) for cidr in GOOGLE_FRONTEND_RANGES],
            stream_module=False,
            await_timeout_seconds=cfg.await_timeout("edge.mig"),
        ),
        opts=base,
    )
    edge_lb = EdgeLoadBalancer(
        edge_lb_name,
        EdgeLoadBalancerArgs(
            edge=cfg.edge,
            platform=platform,
            instance_group=edge.instance_group,
            health_port=cfg.edge.mig.health_port,
        ),
        opts=base,
    )

    monitoring = (
        ChainMonitoring(
            f"{chain}-obs",
            ChainMonitoringArgs(
                config=cfg.observability,
                platform=platform,
                kong=cfg.kong,
                runtimes=[
                    MonitoredRuntime(rt, runtime_pod_labels(rt, platform)) for rt in cfg.runtimes
                ],
                edge_mig=cfg.edge.mig,
                relay_mig=cfg.relay.mig,
                kong_pod_labels=kong.pod_labels,
                edge_backend_service=backend_service_name(edge_lb_name),
                edge_instance_group=mig_name(edge_name),
                relay_instance_group=mig_name(relay_name),
            ),
            opts=on_cluster,
        )
        if cfg.observability.enabled
        else None
    )

    return Chain(
        network=network,
        cluster=cluster,
        kong=kong,
        runtimes=runtimes,
        relay=relay,
        relay_lb=relay_lb,
        edge=edge,
        edge_lb=edge_lb,
        monitoring=monitoring,
    )
