"""EdgeLoadBalancer: the global external Application LB in front of tier A."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hitless.components.config import EdgeConfig, StackConfig
from hitless.components.edge_lb import TYPE, EdgeLoadBalancer, EdgeLoadBalancerArgs
from hitless.harness import Capture
from hitless_policy import identity
from hitless_policy.identity import Tier

INSTANCE_GROUP = (
    "https://www.googleapis.com/compute/v1/projects/p/regions/r/instanceGroups/main-a-mig"
)
NAME = "main-a-lb"
HEALTH_CHECK = "gcp:compute/healthCheck:HealthCheck"
BACKEND = "gcp:compute/backendService:BackendService"
URL_MAP = "gcp:compute/uRLMap:URLMap"
CERT = "gcp:compute/managedSslCertificate:ManagedSslCertificate"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"
ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
RULE = "gcp:compute/globalForwardingRule:GlobalForwardingRule"


def program(cfg: StackConfig, edge: EdgeConfig | None = None) -> Callable[[], None]:
    def run() -> None:
        EdgeLoadBalancer(
            NAME,
            EdgeLoadBalancerArgs(
                edge=edge or cfg.edge,
                platform=cfg.platform,
                instance_group=INSTANCE_GROUP,
                health_port=cfg.edge.mig.health_port,
            ),
        )

    return run


@pytest.fixture
def captured(
    capture: Callable[..., Capture], stack_name: str, stack_config: StackConfig
) -> Capture:
    """The edge LB of each stack."""
    return capture(program(stack_config), stack=stack_name)


class TestBackendServiceHitless:
    """The backend service decides three failure modes: a response timeout below the slow upload
    (504 mid-upload), no connection draining (in-flight requests cut when an A instance goes),
    and the classic LB (other keepalive and outlier semantics than the rules assume).
    """

    def test_settings(self, captured: Capture, stack_config: StackConfig) -> None:
        backend = captured.named(f"{NAME}-backend", BACKEND)
        edge = stack_config.edge
        expected = {
            "loadBalancingScheme": "EXTERNAL_MANAGED",
            "protocol": "HTTP",
            "portName": "http",
            "timeoutSec": edge.backend_timeout_sec,
            "connectionDrainingTimeoutSec": edge.connection_draining_timeout_sec,
            "sessionAffinity": "NONE",
            "healthChecks": f"{NAME}-hc-id",
        }
        for key, value in expected.items():
            assert backend.props.get(key) == value, (
                f"{backend.urn}: {key} = {backend.props.get(key)}"
            )
        assert backend.props["connectionDrainingTimeoutSec"] > 0, backend.urn
        assert backend.props["logConfig"]["enable"] is True, backend.urn

    def test_backend_group(self, captured: Capture) -> None:
        backend = captured.named(f"{NAME}-backend", BACKEND)
        assert backend.props["backends"] == [
            {"group": INSTANCE_GROUP, "balancingMode": "UTILIZATION", "capacityScaler": 1.0}
        ], backend.urn


class TestLbHealthCheck:
    """Rule lb-health-check-configured: a fast, bounded check on /healthz is what takes a draining
    A instance (503) out of rotation before nginx quits.
    """

    def test_health_check(self, captured: Capture, stack_config: StackConfig) -> None:
        check = captured.named(f"{NAME}-hc", HEALTH_CHECK)
        timing = stack_config.edge.mig.lb_health_check
        assert check.props["httpHealthCheck"] == {
            "port": stack_config.edge.mig.health_port,
            "requestPath": "/healthz",
        }, check.urn
        assert check.props["checkIntervalSec"] == timing.check_interval_sec, check.urn
        assert check.props["timeoutSec"] == timing.timeout_sec, check.urn
        assert check.props["unhealthyThreshold"] == timing.unhealthy_threshold, check.urn
        assert check.props["healthyThreshold"] == timing.healthy_threshold, check.urn


class TestFrontend:
    """HTTPS with the configured client keepalive on a reserved address; HTTP only redirects."""

    def test_https_path(self, captured: Capture, stack_config: StackConfig) -> None:
        url_map = captured.named(f"{NAME}-url-map", URL_MAP)
        assert url_map.props["defaultService"] == f"{NAME}-backend-id", url_map.urn
        proxy = captured.named(f"{NAME}-https-proxy", HTTPS_PROXY)
        assert proxy.props["urlMap"] == f"{NAME}-url-map-id", proxy.urn
        assert (
            proxy.props["httpKeepAliveTimeoutSec"] == stack_config.edge.client_keepalive_timeout_sec
        ), proxy.urn
        assert proxy.props["sslCertificates"] == [f"{NAME}-cert-id"], proxy.urn
        cert = captured.named(f"{NAME}-cert", CERT)
        assert cert.props["managed"]["domains"] == stack_config.edge.managed_certificate_domains
        rule = captured.named(f"{NAME}-https", RULE)
        assert rule.props["loadBalancingScheme"] == "EXTERNAL_MANAGED", rule.urn
        assert rule.props["portRange"] == "443", rule.urn
        assert rule.props["target"] == f"{NAME}-https-proxy-id", rule.urn
        assert rule.props["ipAddress"] == "203.0.113.10", rule.urn

    def test_http_redirects(self, captured: Capture) -> None:
        redirect = captured.named(f"{NAME}-redirect", URL_MAP)
        assert redirect.props["defaultUrlRedirect"]["httpsRedirect"] is True, redirect.urn
        assert "defaultService" not in redirect.props, redirect.urn
        proxy = captured.named(f"{NAME}-http-proxy", HTTP_PROXY)
        assert proxy.props["urlMap"] == f"{NAME}-redirect-id", proxy.urn
        rule = captured.named(f"{NAME}-http", RULE)
        assert rule.props["portRange"] == "80", rule.urn
        assert rule.props["target"] == f"{NAME}-http-proxy-id", rule.urn
        assert rule.props["ipAddress"] == captured.named(f"{NAME}-https", RULE).props["ipAddress"]

    def test_given_certificates(
        self, capture: Callable[..., Capture], dev_config: StackConfig
    ) -> None:
        links = ["https://www.googleapis.com/compute/v1/projects/p/global/sslCertificates/c"]
        edge = dev_config.edge.model_copy(
            update={"managed_certificate_domains": [], "ssl_certificates": links}
        )
        cap = capture(program(dev_config, edge))
        assert not cap.of_type(CERT)
        proxy = cap.named(f"{NAME}-https-proxy", HTTPS_PROXY)
        assert proxy.props["sslCertificates"] == links, proxy.urn


class TestIdentity:
    """Unlabelled LB resources carry the identity in their description; the chain rules find A's
    backend service and health check by it.
    """

    @pytest.mark.parametrize(
        ("name", "role"),
        [
            ("backend", "backend"),
            ("hc", "lb-health-check"),
            ("url-map", "url-map"),
            ("https-proxy", "https-proxy"),
            ("https", "forwarding-rule"),
            ("http", "forwarding-rule"),
        ],
    )
    def test_identity(self, captured: Capture, name: str, role: str) -> None:
        res = captured.named(f"{NAME}-{name}")
        assert identity.identity_of(res.props) == identity.Identity("main", Tier.A, role), res.urn

    def test_forwarding_rules_labelled(self, captured: Capture) -> None:
        for rule in captured.of_type(RULE):
            assert rule.props["labels"] == identity.gcp_labels("main", Tier.A, "forwarding-rule")


class TestComponentShape:
    """Children parented under the component (or their owner), named from it; real outputs."""

    def test_parenting_and_names(self, captured: Capture) -> None:
        (component,) = captured.of_type(TYPE)
        urns = {res.urn: res for res in captured.resources}
        for res in captured.resources:
            if res is component:
                continue
            assert res.name.startswith(f"{NAME}-"), res.urn
            owner = urns.get(res.parent)
            while owner is not None and owner is not component:
                owner = urns.get(owner.parent)
            assert owner is component, f"{res.urn}: not under {component.urn}"
        assert captured.named(f"{NAME}-backend", BACKEND).parent == component.urn
        assert (
            captured.named(f"{NAME}-https", RULE).parent
            == captured.named(f"{NAME}-https-proxy").urn
        )

    def test_registered_outputs(self, captured: Capture) -> None:
        (component,) = captured.of_type(TYPE)
        assert component.outputs == {
            "address": "203.0.113.10",
            "backendServiceSelfLink": (
                "https://www.googleapis.com/compute/v1/projects/hitless-"
                f"{component.urn.split(':')[2]}/backendServices/{NAME}-backend"
            ),
        }, component.urn
