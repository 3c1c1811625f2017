"""The hitless chain: A (nginx L7) -> B (nginx L4) -> C (Kong DP) -> D (runtime), one stack.

Decisions recorded here:
- Config is validated once, as one model, before any resource is registered: a stack whose
  numbers cannot give a hitless rollout fails with the key, the value, the consequence and the fix.
- Internal addresses of B's NLB and Kong's internal LB are reserved from plain config values, so
  both nginx configs (and every timeout a policy reads) are known during a preview of a brand-new
  stack.
- Kong reaches the runtime through its ClusterIP Service (one Kong target, no Kong health check
  that could eject it); the runtime's preStop covers endpoint propagation to kube-proxy.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config

from components.config import PROJECT, SECRET_STACK_KEYS, STACK_KEYS, load_stack_config
from components.edge_lb import EdgeLoadBalancer, EdgeLoadBalancerArgs
from components.gke_cluster import GkeCluster, GkeClusterArgs
from components.internal_lb import InternalLoadBalancer, InternalLoadBalancerArgs
from components.kong import KongDataPlane, KongDataPlaneArgs
from components.network import Network, NetworkArgs
from components.nginx_conf import render_edge_conf, render_relay_conf
from components.nginx_tier import NginxMigTier, NginxMigTierArgs
from components.runtime import RuntimeService, RuntimeServiceArgs
from hitless_policy.identity import Tier

GOOGLE_HEALTH_CHECK_RANGES = ["35.191.0.0/16", "130.211.0.0/22"]
"""Source ranges of Google's health checkers (and GFE proxies) for GCE backends."""


def _stack_values() -> dict[str, Any]:
    """Every `hitless:*` key of the stack, parsed from its structured (JSON) value."""
    config = pulumi.Config(PROJECT)
    present = {key: config.get_object(key) for key in STACK_KEYS}
    # Every key the stack sets: the engine passes config in PULUMI_CONFIG, mocks set it directly.
    everything = {**pulumi.runtime.get_config_env(), **pulumi_config.CONFIG.get()}
    unknown = {
        full.split(":", 1)[1]: value
        for full, value in everything.items()
        if full.startswith(f"{PROJECT}:")
        and full.split(":", 1)[1] not in (*STACK_KEYS, *SECRET_STACK_KEYS)
    }
    return {key: value for key, value in {**present, **unknown}.items() if value is not None}


def main() -> None:
    """Validate the stack config and compose the four tiers."""
    cfg = load_stack_config(_stack_values(), pulumi.get_stack())
    platform, chain = cfg.platform, cfg.platform.chain
    net = platform.network

    network = Network(chain, NetworkArgs(platform=platform))

    cluster = GkeCluster(
        f"{chain}-gke",
        GkeClusterArgs(
            config=cfg.cluster,
            platform=platform,
            network=network.network_self_link,
            subnetwork=network.gke_subnet_self_link,
            pods_range_name=network.pods_range_name,
            services_range_name=network.services_range_name,
        ),
    )
    on_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})

    kong = KongDataPlane(
        f"{chain}-kong",
        KongDataPlaneArgs(
            config=cfg.kong,
            platform=platform,
            cluster=cfg.cluster,
            runtime_host=f"{cfg.runtime.name}.{cfg.runtime.namespace}.svc.cluster.local",
            runtime_port=cfg.runtime.port,
            runtime_scheme=cfg.runtime.scheme,
        ),
        opts=on_cluster,
    )
    runtime = RuntimeService(
        f"{chain}-rt",
        RuntimeServiceArgs(
            config=cfg.runtime,
            platform=platform,
            cluster=cfg.cluster,
            kong_namespace=cfg.kong.namespace,
            kong_pod_labels=kong.pod_labels,
        ),
        opts=on_cluster,
    )

    relay = NginxMigTier(
        f"{chain}-b",
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
            health_check_sources=GOOGLE_HEALTH_CHECK_RANGES,
            stream_module=True,
        ),
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
    )

    edge = NginxMigTier(
        f"{chain}-a",
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
            health_check_sources=GOOGLE_HEALTH_CHECK_RANGES,
            stream_module=False,
        ),
    )
    edge_lb = EdgeLoadBalancer(
        f"{chain}-a-lb",
        EdgeLoadBalancerArgs(
            edge=cfg.edge,
            platform=platform,
            instance_group=edge.instance_group,
            health_port=cfg.edge.mig.health_port,
        ),
    )

    pulumi.export("edge_address", edge_lb.address)
    pulumi.export("relay_address", relay_lb.address)
    pulumi.export("kong_address", kong.service_address)
    pulumi.export("runtime_host", runtime.service_host)
    pulumi.export("cluster_name", cluster.cluster_name)
    pulumi.export(
        "longest_request_seconds",
        {tier: round(cfg.longest_requests().for_tier(tier), 1) for tier in ("a", "b", "c", "d")},
    )


main()
