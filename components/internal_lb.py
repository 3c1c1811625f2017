"""Tier B's front door: an internal passthrough Network Load Balancer at a reserved address.

Owns: the regional LB health check on B's `/healthz`; the INTERNAL regional backend service
(TCP, CONNECTION balancing over B's MIG, connection draining, connection tracking that keeps
established flows on a backend that turned unhealthy, no `port_name`, which passthrough LBs
reject); the reserved internal address (`platform.network.b_ilb_address`, a plain config value
that A's nginx.conf embeds, so it is known at preview); and the forwarding rule on B's listen port.

Deliberately not here: B's instances and firewall (`nginx_tier`), global access (A and B share a
region), failover policies, and `timeout_sec` (ignored by passthrough LBs: B's idle limit is
nginx's `proxy_timeout`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from hitless.components.config import PlatformConfig, RelayConfig
from hitless.components.nginx_conf import HEALTH_PATH
from hitless_policy import identity
from hitless_policy.identity import Tier

TYPE = "hitless:gce:InternalLoadBalancer"
"""Type token of the component."""

LOAD_BALANCING_SCHEME = "INTERNAL"
"""Internal passthrough Network Load Balancer."""


@dataclass(frozen=True)
class InternalLoadBalancerArgs:
    """Inputs of `InternalLoadBalancer`."""

    relay: RelayConfig
    """Tier B's config: listen port, draining, health timings."""
    platform: PlatformConfig
    """Chain name, region, labels and the reserved address `network.b_ilb_address`."""
    instance_group: pulumi.Input[str]
    """B's instance group URL (`NginxMigTier.instance_group`)."""
    network: pulumi.Input[str]
    """Self link of the VPC."""
    subnetwork: pulumi.Input[str]
    """Self link of B's subnet (it contains `b_ilb_address`)."""
    health_port: int
    """Port of B's `/healthz` server (`relay.mig.health_port`)."""


class InternalLoadBalancer(pulumi.ComponentResource):
    """The internal passthrough NLB in front of tier B's MIG."""

    address: pulumi.Output[str]
    """The reserved internal IP address (equal to `platform.network.b_ilb_address`)."""
    backend_service_self_link: pulumi.Output[str]
    """Self link of the regional backend service over B's MIG."""

    def __init__(
        self,
        name: str,
        args: InternalLoadBalancerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self._chain = args.platform.chain
        region = args.platform.region

        health_check = self._create_health_check(name, args)
        backend = self._create_backend_service(name, args, health_check)
        address = gcp.compute.Address(
            f"{name}-address",
            description=self._description("address", "Reserved address of B's internal LB."),
            region=region,
            address_type="INTERNAL",
            purpose="GCE_ENDPOINT",
            subnetwork=args.subnetwork,
            address=str(args.platform.network.b_ilb_address),
            labels=self._labels("address"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        gcp.compute.ForwardingRule(
            f"{name}-forwarding-rule",
            description=self._description("forwarding-rule", "A -> B on B's listen port."),
            region=region,
            load_balancing_scheme=LOAD_BALANCING_SCHEME,
            backend_service=backend.id,
            # The literal reserved address (known at preview); depends_on orders it after the
            # reservation, so GCP does not hand the IP out as an ephemeral one first.
            ip_address=str(args.platform.network.b_ilb_address),
            ip_protocol="TCP",
            ports=[str(args.relay.listen_port)],
            network=args.network,
            subnetwork=args.subnetwork,
            allow_global_access=False,
            labels={
                **args.platform.labels,
                **self._labels("forwarding-rule"),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[address]),
        )

        self.address = address.address
        self.backend_service_self_link = backend.self_link
        self.register_outputs(
            {
                "address": self.address,
                "backendServiceSelfLink": self.backend_service_self_link,
            }
        )

    def _description(self, role: str, text: str) -> str:
        return identity.gcp_description(self._chain, Tier.B, role, text)

    def _labels(self, role: str) -> dict[str, str]:
        return identity.gcp_labels(self._chain, Tier.B, role)

    def _create_health_check(
        self, name: str, args: InternalLoadBalancerArgs
    ) -> gcp.compute.RegionHealthCheck:
        timing = args.relay.mig.lb_health_check
        return gcp.compute.RegionHealthCheck(
            f"{name}-hc",
            description=self._description(
                "lb-health-check", "ILB check of B's /healthz; 503 while an instance drains."
            ),
            region=args.platform.region,
            check_interval_sec=timing.check_interval_sec,
            timeout_sec=timing.timeout_sec,
            healthy_threshold=timing.healthy_threshold,
            unhealthy_threshold=timing.unhealthy_threshold,
            http_health_check=gcp.compute.RegionHealthCheckHttpHealthCheckArgs(
                port=args.health_port, request_path=HEALTH_PATH
            ),
            log_config=gcp.compute.RegionHealthCheckLogConfigArgs(enable=True),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_backend_service(
        self,
        name: str,
        args: InternalLoadBalancerArgs,
        health_check: gcp.compute.RegionHealthCheck,
    ) -> gcp.compute.RegionBackendService:
        return gcp.compute.RegionBackendService(
            f"{name}-backend",
            description=self._description("backend", "Tier B's MIG behind the internal LB."),
            region=args.platform.region,
            load_balancing_scheme=LOAD_BALANCING_SCHEME,
            protocol="TCP",
            # No port_name: a passthrough LB forwards to the packet's destination port.
            # Flows of a removed instance keep going this long
            # (rule backend-service-draining-enabled, chain-drain-covers-longest-request).
            connection_draining_timeout_sec=args.relay.connection_draining_timeout_sec,
            health_checks=health_check.id,
            # INTERNAL backend services require CONNECTION (rule
            # internal-backend-connection-balancing).
            backends=[
                gcp.compute.RegionBackendServiceBackendArgs(
                    group=args.instance_group, balancing_mode="CONNECTION"
                )
            ],
            session_affinity="NONE",
            # A draining B fails its health check; its established flows (A's in-flight requests
            # and pooled connections) must stay on it rather than be re-balanced and reset.
            connection_tracking_policy=gcp.compute.RegionBackendServiceConnectionTrackingPolicyArgs(
                tracking_mode="PER_CONNECTION",
                connection_persistence_on_unhealthy_backends="ALWAYS_PERSIST",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
