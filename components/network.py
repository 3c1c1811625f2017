"""The chain's VPC: one subnet per GCE tier, one VPC-native subnet for GKE, and Cloud NAT.

Owns: the custom-mode VPC network, the subnets of tier A (`a_cidr`), tier B (`b_cidr`, which
also holds B's reserved internal LB address) and GKE (`gke_nodes_cidr` with the secondary ranges
`<chain>-pods` and `<chain>-services`), Private Google Access on each, and a Cloud Router with
Cloud NAT, because A's and B's instances and the private GKE nodes have no external IP yet must
reach the Debian mirrors and container registries. Every subnet writes VPC flow logs
(sampling and interval from `platform.network`).

Deliberately not here: firewall rules (each tier opens exactly its own ports, in `nginx_tier`;
GKE opens its own), the reserved internal LB addresses (`internal_lb` and the Kong Service),
peering, Shared VPC, DNS, and any route other than the VPC's default internet route used by NAT.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from hitless.components.config import PlatformConfig
from hitless_policy.identity import Tier, gcp_description

TYPE = "hitless:net:Network"
"""Type token of the component."""


def pods_range_name(chain: str) -> str:
    """Name of the GKE subnet's secondary range for pod IPs."""
    return f"{chain}-pods"


def services_range_name(chain: str) -> str:
    """Name of the GKE subnet's secondary range for ClusterIP Services."""
    return f"{chain}-services"


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of `Network`."""

    platform: PlatformConfig
    """Region, chain name and every CIDR (`platform.network`)."""


class Network(pulumi.ComponentResource):
    """The VPC, subnets and NAT shared by all tiers."""

    network_self_link: pulumi.Output[str]
    """Self link of the VPC network."""
    a_subnet_self_link: pulumi.Output[str]
    """Self link of tier A's subnet."""
    b_subnet_self_link: pulumi.Output[str]
    """Self link of tier B's subnet (B's instances and B's internal LB address)."""
    gke_subnet_self_link: pulumi.Output[str]
    """Self link of the GKE subnet (nodes, and Kong's internal LB address)."""
    pods_range_name: str
    """Secondary range of the GKE subnet for pod IPs (known at preview)."""
    services_range_name: str
    """Secondary range of the GKE subnet for Services (known at preview)."""

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        platform = args.platform
        net = platform.network
        self.pods_range_name = pods_range_name(platform.chain)
        self.services_range_name = services_range_name(platform.chain)

        vpc = self._create_vpc(name, platform.chain)
        a_subnet = self._create_subnet(
            f"{name}-subnet-a",
            vpc=vpc,
            platform=platform,
            cidr=str(net.a_cidr),
            description=gcp_description(
                platform.chain, Tier.NET, "subnet-a", "Tier A (nginx L7) instances."
            ),
        )
        b_subnet = self._create_subnet(
            f"{name}-subnet-b",
            vpc=vpc,
            platform=platform,
            cidr=str(net.b_cidr),
            description=gcp_description(
                platform.chain,
                Tier.NET,
                "subnet-b",
                "Tier B (nginx L4) instances and B's internal LB address.",
            ),
        )
        gke_subnet = self._create_subnet(
            f"{name}-subnet-gke",
            vpc=vpc,
            platform=platform,
            cidr=str(net.gke_nodes_cidr),
            description=gcp_description(
                platform.chain,
                Tier.NET,
                "subnet-gke",
                "GKE nodes (VPC-native) and Kong's internal LB address.",
            ),
            secondary=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=self.pods_range_name, ip_cidr_range=str(net.gke_pods_cidr)
                ),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=self.services_range_name,
                    ip_cidr_range=str(net.gke_services_cidr),
                ),
            ],
        )
        self._create_nat(name, vpc, platform)

        self.network_self_link = vpc.self_link
        self.a_subnet_self_link = a_subnet.self_link
        self.b_subnet_self_link = b_subnet.self_link
        self.gke_subnet_self_link = gke_subnet.self_link
        self.register_outputs(
            {
                "networkSelfLink": self.network_self_link,
                "aSubnetSelfLink": self.a_subnet_self_link,
                "bSubnetSelfLink": self.b_subnet_self_link,
                "gkeSubnetSelfLink": self.gke_subnet_self_link,
                "podsRangeName": self.pods_range_name,
                "servicesRangeName": self.services_range_name,
            }
        )

    def _create_vpc(self, name: str, chain: str) -> gcp.compute.Network:
        return gcp.compute.Network(
            f"{name}-vpc",
            auto_create_subnetworks=False,
            # Regional routing: every tier lives in one region.
            routing_mode="REGIONAL",
            description=gcp_description(
                chain, Tier.NET, "vpc", "hitless chain VPC: subnets for tiers A, B and GKE."
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_subnet(
        self,
        resource_name: str,
        *,
        vpc: gcp.compute.Network,
        platform: PlatformConfig,
        cidr: str,
        description: str,
        secondary: list[gcp.compute.SubnetworkSecondaryIpRangeArgs] | None = None,
    ) -> gcp.compute.Subnetwork:
        return gcp.compute.Subnetwork(
            resource_name,
            network=vpc.id,
            region=platform.region,
            ip_cidr_range=cidr,
            # Instances have no external IP: Google APIs (logging, monitoring) via private access.
            private_ip_google_access=True,
            # VPC flow logs: every connection to or from a tier can be audited. Arguments as in
            # pulumi_gcp.compute.SubnetworkLogConfigArgs (aggregation_interval, flow_sampling,
            # metadata); the Terraform provider's `log_config` block of google_compute_subnetwork.
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval=platform.network.flow_log_aggregation_interval,
                flow_sampling=platform.network.flow_log_sampling,
                metadata="INCLUDE_ALL_METADATA",
            ),
            secondary_ip_ranges=secondary,
            description=description,
            opts=pulumi.ResourceOptions(parent=vpc),
        )

    def _create_nat(
        self, name: str, vpc: gcp.compute.Network, platform: PlatformConfig
    ) -> gcp.compute.RouterNat:
        router = gcp.compute.Router(
            f"{name}-router",
            network=vpc.id,
            region=platform.region,
            description=gcp_description(
                platform.chain, Tier.NET, "router", "Cloud Router of the chain's Cloud NAT."
            ),
            opts=pulumi.ResourceOptions(parent=vpc),
        )
        return gcp.compute.RouterNat(
            f"{name}-nat",
            router=router.name,
            region=platform.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=pulumi.ResourceOptions(parent=router),
        )
