"""InternalLoadBalancer: the internal passthrough NLB in front of tier B at a reserved address."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hitless.components.config import StackConfig
from hitless.components.internal_lb import TYPE, InternalLoadBalancer, InternalLoadBalancerArgs
from hitless.harness import Capture, contains_unknown
from hitless_policy import identity
from hitless_policy.identity import Tier

INSTANCE_GROUP = (
    "https://www.googleapis.com/compute/v1/projects/p/regions/r/instanceGroups/main-b-mig"
)
NETWORK = "https://www.googleapis.com/compute/v1/projects/p/global/networks/vpc"
SUBNET = "https://www.googleapis.com/compute/v1/projects/p/regions/r/subnetworks/b"
NAME = "main-b-ilb"
HEALTH_CHECK = "gcp:compute/regionHealthCheck:RegionHealthCheck"
BACKEND = "gcp:compute/regionBackendService:RegionBackendService"
ADDRESS = "gcp:compute/address:Address"
RULE = "gcp:compute/forwardingRule:ForwardingRule"


def program(cfg: StackConfig) -> Callable[[], None]:
    def run() -> None:
        InternalLoadBalancer(
            NAME,
            InternalLoadBalancerArgs(
                relay=cfg.relay,
                platform=cfg.platform,
                instance_group=INSTANCE_GROUP,
                network=NETWORK,
                subnetwork=SUBNET,
                health_port=cfg.relay.mig.health_port,
            ),
        )

    return run


@pytest.fixture
def captured(
    capture: Callable[..., Capture], stack_name: str, stack_config: StackConfig
) -> Capture:
    """The internal LB of each stack."""
    return capture(program(stack_config), stack=stack_name)


class TestPassthroughBackendService:
    """Rules internal-backend-connection-balancing and backend-service-draining-enabled: an
    INTERNAL backend service rejects UTILIZATION and a port_name, and without draining a removed
    B instance resets A's in-flight requests.
    """

    def test_settings(self, captured: Capture, stack_config: StackConfig) -> None:
        backend = captured.named(f"{NAME}-backend", BACKEND)
        expected = {
            "loadBalancingScheme": "INTERNAL",
            "protocol": "TCP",
            "region": stack_config.platform.region,
            "connectionDrainingTimeoutSec": stack_config.relay.connection_draining_timeout_sec,
            "healthChecks": f"{NAME}-hc-id",
            "sessionAffinity": "NONE",
        }
        for key, value in expected.items():
            assert backend.props.get(key) == value, (
                f"{backend.urn}: {key} = {backend.props.get(key)}"
            )
        assert backend.props["connectionDrainingTimeoutSec"] > 0, backend.urn

    def test_no_port_name(self, captured: Capture) -> None:
        backend = captured.named(f"{NAME}-backend", BACKEND)
        assert "portName" not in backend.props, f"{backend.urn}: passthrough LBs reject port_name"
        assert "timeoutSec" not in backend.props, backend.urn

    def test_connection_balancing(self, captured: Capture) -> None:
        backend = captured.named(f"{NAME}-backend", BACKEND)
        assert backend.props["backends"] == [
            {"group": INSTANCE_GROUP, "balancingMode": "CONNECTION"}
        ], backend.urn

    def test_flows_persist_on_draining_backend(self, captured: Capture) -> None:
        backend = captured.named(f"{NAME}-backend", BACKEND)
        assert backend.props["connectionTrackingPolicy"] == {
            "trackingMode": "PER_CONNECTION",
            "connectionPersistenceOnUnhealthyBackends": "ALWAYS_PERSIST",
        }, backend.urn


class TestLbHealthCheck:
    """Rule lb-health-check-configured: B's /healthz turns 503 when it drains; a bounded check is
    what stops new A connections reaching it.
    """

    def test_health_check(self, captured: Capture, stack_config: StackConfig) -> None:
        check = captured.named(f"{NAME}-hc", HEALTH_CHECK)
        timing = stack_config.relay.mig.lb_health_check
        assert check.props["httpHealthCheck"] == {
            "port": stack_config.relay.mig.health_port,
            "requestPath": "/healthz",
        }, check.urn
        assert check.props["region"] == stack_config.platform.region, check.urn
        assert check.props["checkIntervalSec"] == timing.check_interval_sec, check.urn
        assert check.props["timeoutSec"] == timing.timeout_sec, check.urn
        assert check.props["unhealthyThreshold"] == timing.unhealthy_threshold, check.urn


class TestReservedAddress:
    """A's nginx.conf embeds B's address as a plain value; the LB must serve exactly there, and the
    forwarding rule must carry it literally so it is known at preview.
    """

    def test_address(self, captured: Capture, stack_config: StackConfig) -> None:
        address = captured.named(f"{NAME}-address", ADDRESS)
        expected = str(stack_config.platform.network.b_ilb_address)
        assert address.props["address"] == expected, address.urn
        assert address.props["addressType"] == "INTERNAL", address.urn
        assert address.props["purpose"] == "GCE_ENDPOINT", address.urn
        assert address.props["subnetwork"] == SUBNET, address.urn

    def test_forwarding_rule(self, captured: Capture, stack_config: StackConfig) -> None:
        rule = captured.named(f"{NAME}-forwarding-rule", RULE)
        expected = {
            "loadBalancingScheme": "INTERNAL",
            "backendService": f"{NAME}-backend-id",
            "ipAddress": str(stack_config.platform.network.b_ilb_address),
            "ipProtocol": "TCP",
            "ports": [str(stack_config.relay.listen_port)],
            "network": NETWORK,
            "subnetwork": SUBNET,
            "region": stack_config.platform.region,
        }
        for key, value in expected.items():
            assert rule.props.get(key) == value, f"{rule.urn}: {key} = {rule.props.get(key)}"

    def test_known_at_preview(
        self, capture: Callable[..., Capture], stack_name: str, stack_config: StackConfig
    ) -> None:
        cap = capture(program(stack_config), stack=stack_name, preview=True)
        rule = cap.named(f"{NAME}-forwarding-rule", RULE)
        assert not contains_unknown(rule.props["ipAddress"]), rule.urn
        backend = cap.named(f"{NAME}-backend", BACKEND)
        assert not contains_unknown(backend.props["connectionDrainingTimeoutSec"]), backend.urn


class TestIdentity:
    """The chain rules find B's backend service, health check and forwarding rule by identity."""

    @pytest.mark.parametrize(
        ("name", "role"),
        [
            ("backend", "backend"),
            ("hc", "lb-health-check"),
            ("address", "address"),
            ("forwarding-rule", "forwarding-rule"),
        ],
    )
    def test_identity(self, captured: Capture, name: str, role: str) -> None:
        res = captured.named(f"{NAME}-{name}")
        assert identity.identity_of(res.props) == identity.Identity("main", Tier.B, role), res.urn

    def test_descriptions(self, captured: Capture) -> None:
        for name, role in (("backend", "backend"), ("hc", "lb-health-check")):
            res = captured.named(f"{NAME}-{name}")
            assert res.props["description"].startswith(
                f"[hitless chain=main tier=b role={role}] "
            ), res.urn


class TestComponentShape:
    """Children parented under the component, named from it; outputs registered for real."""

    def test_parenting_and_names(self, captured: Capture) -> None:
        (component,) = captured.of_type(TYPE)
        for res in captured.resources:
            if res is not component:
                assert res.parent == component.urn, f"{res.urn}: not under {component.urn}"
                assert res.name.startswith(f"{NAME}-"), res.urn

    def test_registered_outputs(self, captured: Capture, stack_config: StackConfig) -> None:
        (component,) = captured.of_type(TYPE)
        outputs = component.outputs
        assert outputs["address"] == str(stack_config.platform.network.b_ilb_address)
        assert str(outputs["backendServiceSelfLink"]).endswith(
            f"/regionBackendServices/{NAME}-backend"
        ), component.urn
