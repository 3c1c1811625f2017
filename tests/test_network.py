"""Network: the VPC, the three subnets and Cloud NAT every tier depends on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hitless.components.config import StackConfig
from hitless.components.network import (
    TYPE,
    Network,
    NetworkArgs,
    pods_range_name,
    services_range_name,
)
from hitless.harness import Capture
from hitless_policy.identity import Tier, identity_of

NETWORK = "gcp:compute/network:Network"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
ROUTER = "gcp:compute/router:Router"
NAT = "gcp:compute/routerNat:RouterNat"


def program(cfg: StackConfig) -> Callable[[], None]:
    def run() -> None:
        Network(cfg.platform.chain, NetworkArgs(platform=cfg.platform))

    return run


@pytest.fixture
def captured(
    capture: Callable[..., Capture], stack_name: str, stack_config: StackConfig
) -> Capture:
    """The network of each stack."""
    return capture(program(stack_config), stack=stack_name)


class TestCustomModeVpc:
    """Auto-created subnets would overlap the chain's ranges and put instances in every region."""

    def test_vpc(self, captured: Capture) -> None:
        vpc = captured.only(NETWORK)
        assert vpc.props["autoCreateSubnetworks"] is False, vpc.urn
        assert vpc.props["routingMode"] == "REGIONAL", vpc.urn


class TestSubnets:
    """Each tier's subnet must carry the configured range: the reserved internal LB addresses and
    B's firewall source (A's CIDR) are plain config values that assume them.
    """

    def test_ranges(self, captured: Capture, stack_config: StackConfig) -> None:
        net = stack_config.platform.network
        chain = stack_config.platform.chain
        expected = {
            f"{chain}-subnet-a": str(net.a_cidr),
            f"{chain}-subnet-b": str(net.b_cidr),
            f"{chain}-subnet-gke": str(net.gke_nodes_cidr),
        }
        subnets = {res.name: res for res in captured.of_type(SUBNET)}
        assert set(subnets) == set(expected)
        for name, cidr in expected.items():
            subnet = subnets[name]
            assert subnet.props["ipCidrRange"] == cidr, subnet.urn
            assert subnet.props["region"] == stack_config.platform.region, subnet.urn
            assert subnet.props["network"] == f"{chain}-vpc-id", subnet.urn
            # No external IPs anywhere: Google APIs only through private access.
            assert subnet.props["privateIpGoogleAccess"] is True, subnet.urn

    def test_gke_secondary_ranges(self, captured: Capture, stack_config: StackConfig) -> None:
        net, chain = stack_config.platform.network, stack_config.platform.chain
        gke = captured.named(f"{chain}-subnet-gke")
        assert gke.props["secondaryIpRanges"] == [
            {"rangeName": f"{chain}-pods", "ipCidrRange": str(net.gke_pods_cidr)},
            {"rangeName": f"{chain}-services", "ipCidrRange": str(net.gke_services_cidr)},
        ], gke.urn
        assert pods_range_name(chain) == f"{chain}-pods"
        assert services_range_name(chain) == f"{chain}-services"


class TestNatForPrivateInstances:
    """Instances and private nodes have no external IP; without NAT the startup script cannot
    install nginx and no instance ever becomes healthy.
    """

    def test_nat(self, captured: Capture, stack_config: StackConfig) -> None:
        router = captured.only(ROUTER)
        nat = captured.only(NAT)
        chain = stack_config.platform.chain
        assert router.props["network"] == f"{chain}-vpc-id", router.urn
        assert router.props["region"] == stack_config.platform.region, router.urn
        assert nat.props["router"] == router.name, nat.urn
        assert nat.props["natIpAllocateOption"] == "AUTO_ONLY", nat.urn
        assert nat.props["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
        assert nat.props["region"] == stack_config.platform.region, nat.urn


class TestComponentShape:
    """Children parented under the component, named from it; outputs registered for real."""

    def test_parenting_and_names(self, captured: Capture, stack_config: StackConfig) -> None:
        chain = stack_config.platform.chain
        (component,) = captured.of_type(TYPE)
        vpc = captured.only(NETWORK)
        router = captured.only(ROUTER)
        assert vpc.parent == component.urn, vpc.urn
        for subnet in captured.of_type(SUBNET):
            assert subnet.parent == vpc.urn, subnet.urn
        assert router.parent == vpc.urn, router.urn
        assert captured.only(NAT).parent == router.urn
        for res in captured.resources:
            if res is not component:
                assert res.name.startswith(f"{chain}-"), res.urn

    def test_registered_outputs(self, captured: Capture, stack_config: StackConfig) -> None:
        chain = stack_config.platform.chain
        (component,) = captured.of_type(TYPE)
        outputs = component.outputs
        assert outputs["podsRangeName"] == f"{chain}-pods", component.urn
        assert outputs["servicesRangeName"] == f"{chain}-services", component.urn
        for key in ("networkSelfLink", "aSubnetSelfLink", "bSubnetSelfLink", "gkeSubnetSelfLink"):
            assert str(outputs[key]).startswith("https://"), f"{component.urn}: {key}"

    def test_range_names_known_at_preview(
        self, capture: Callable[..., Capture], stack_name: str, stack_config: StackConfig
    ) -> None:
        names: list[str] = []
        chain = stack_config.platform.chain

        def run() -> None:
            network = Network(chain, NetworkArgs(platform=stack_config.platform))
            names.extend([network.pods_range_name, network.services_range_name])

        capture(run, stack=stack_name, preview=True)
        assert names == [f"{chain}-pods", f"{chain}-services"]


class TestIdentity:
    """The shared network resources say they belong to the chain's `net` tier, so the preview
    and the policy pack attribute them, instead of listing them as strays."""

    def test_described_with_identity(self, captured: Capture, stack_config: StackConfig) -> None:
        for res in [*captured.of_type(NETWORK), *captured.of_type(SUBNET), captured.only(ROUTER)]:
            found = identity_of(res.props)
            assert found is not None, f"{res.urn}: no identity in {res.props.get('description')}"
            assert (found.chain, found.tier) == (stack_config.platform.chain, Tier.NET), res.urn
