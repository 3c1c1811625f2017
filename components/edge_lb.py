"""Tier A's front door: the global external Application Load Balancer (EXTERNAL_MANAGED).

Owns: the LB health check on A's `/healthz` (fast, so a draining instance leaves quickly); the
backend service with every setting a rollout depends on stated explicitly (scheme, response
timeout `timeout_sec`, connection draining, UTILIZATION balancing over A's MIG, no session
affinity, request logging); the URL map; the certificate (Google-managed for the configured
domains, or the given self links); the HTTPS proxy with its client keep-alive; the reserved
global address; the HTTPS forwarding rule on 443; and the HTTP->HTTPS redirect (URL map, HTTP
proxy, forwarding rule on 80) on the same address; the SSL policy of the HTTPS proxy (minimum
TLS version and a MODERN or RESTRICTED profile).

Deliberately not here: A's instances and their firewall (`nginx_tier`), Cloud Armor, CDN, IAP,
DNS records for the domains and any path-based routing (A forwards everything). HSTS is
added by A's nginx (`nginx_conf`), which answers every request.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from hitless.components.config import EDGE_LB_SCHEME, EdgeConfig, PlatformConfig
from hitless.components.nginx_conf import HEALTH_PATH
from hitless_policy import identity
from hitless_policy.identity import Tier

TYPE = "hitless:gce:EdgeLoadBalancer"
"""Type token of the component."""

LOAD_BALANCING_SCHEME = EDGE_LB_SCHEME
"""The global external Application LB (Envoy-based), not the classic one."""
BACKEND_PORT_NAME = "http"
"""Named port of A's MIG the backend service sends to (`NginxMigTier` names it)."""
HTTPS_PORT = "443"
"""Port of the HTTPS forwarding rule."""
HTTP_PORT = "80"
"""Port of the redirecting HTTP forwarding rule."""


@dataclass(frozen=True)
class EdgeLoadBalancerArgs:
    """Inputs of `EdgeLoadBalancer`."""

    edge: EdgeConfig
    """Tier A's config: backend timeout, draining, keep-alive, certificates, health timings."""
    platform: PlatformConfig
    """Chain name and extra labels."""
    instance_group: pulumi.Input[str]
    """A's instance group URL (`NginxMigTier.instance_group`)."""
    health_port: int
    """Port of A's `/healthz` server (`edge.mig.health_port`)."""


def backend_service_name(name: str) -> str:
    """Logical name of the backend service of the edge LB called `name` (Pulumi suffixes it)."""
    return f"{name}-backend"


class EdgeLoadBalancer(pulumi.ComponentResource):
    """The global external Application LB in front of tier A's MIG."""

    address: pulumi.Output[str]
    """The LB's reserved global IP address (HTTPS on 443, redirect on 80)."""
    backend_service_self_link: pulumi.Output[str]
    """Self link of the backend service over A's MIG."""

    def __init__(
        self, name: str, args: EdgeLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self._chain = args.platform.chain
        edge = args.edge

        health_check = self._create_health_check(name, args)
        backend = self._create_backend_service(name, args, health_check)
        url_map = gcp.compute.URLMap(
            f"{name}-url-map",
            description=self._description("url-map", "Every request to tier A's backend."),
            default_service=backend.id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        certificates = self._certificates(name, edge)
        ssl_policy = self._create_ssl_policy(name, edge)
        https_proxy = gcp.compute.TargetHttpsProxy(
            f"{name}-https-proxy",
            description=self._description("https-proxy", "Terminates TLS for tier A."),
            url_map=url_map.id,
            ssl_certificates=certificates,
            # TLS >= 1.2 with a MODERN/RESTRICTED profile (rule lb-modern-tls); without a policy
            # GCP applies COMPATIBLE with TLS 1.0.
            ssl_policy=ssl_policy.self_link,
            # Client-side idle keep-alive of the LB (5-1200 s, GCP default 610).
            http_keep_alive_timeout_sec=edge.client_keepalive_timeout_sec,
            opts=pulumi.ResourceOptions(parent=url_map),
        )
        address = gcp.compute.GlobalAddress(
            f"{name}-address",
            description=self._description("address", "Public address of the chain."),
            address_type="EXTERNAL",
            ip_version="IPV4",
            labels=self._labels("address"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        gcp.compute.GlobalForwardingRule(
            f"{name}-https",
            description=self._description("forwarding-rule", "HTTPS to tier A's LB."),
            load_balancing_scheme=LOAD_BALANCING_SCHEME,
            ip_protocol="TCP",
            ip_address=address.address,
            port_range=HTTPS_PORT,
            target=https_proxy.id,
            labels=self._labels("forwarding-rule"),
            opts=pulumi.ResourceOptions(parent=https_proxy),
        )
        self._create_http_redirect(name, args, address)

        self.address = address.address
        self.backend_service_self_link = backend.self_link
        self.register_outputs(
            {
                "address": self.address,
                "backendServiceSelfLink": self.backend_service_self_link,
            }
        )

    def _description(self, role: str, text: str) -> str:
        return identity.gcp_description(self._chain, Tier.A, role, text)

    def _labels(self, role: str) -> dict[str, str]:
        return identity.gcp_labels(self._chain, Tier.A, role)

    def _create_health_check(
        self, name: str, args: EdgeLoadBalancerArgs
    ) -> gcp.compute.HealthCheck:
        timing = args.edge.mig.lb_health_check
        return gcp.compute.HealthCheck(
            f"{name}-hc",
            description=self._description(
                "lb-health-check", "LB check of A's /healthz; 503 while an instance drains."
            ),
            check_interval_sec=timing.check_interval_sec,
            timeout_sec=timing.timeout_sec,
            healthy_threshold=timing.healthy_threshold,
            unhealthy_threshold=timing.unhealthy_threshold,
            http_health_check=gcp.compute.HealthCheckHttpHealthCheckArgs(
                port=args.health_port, request_path=HEALTH_PATH
            ),
            log_config=gcp.compute.HealthCheckLogConfigArgs(enable=True),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_backend_service(
        self, name: str, args: EdgeLoadBalancerArgs, health_check: gcp.compute.HealthCheck
    ) -> gcp.compute.BackendService:
        edge = args.edge
        return gcp.compute.BackendService(
            backend_service_name(name),
            description=self._description("backend", "Tier A's MIG behind the external LB."),
            load_balancing_scheme=LOAD_BALANCING_SCHEME,
            protocol="HTTP",
            port_name=BACKEND_PORT_NAME,
            # A response timeout, not an idle one: slow upload + A's proxy_read_timeout
            # (rule chain-request-timeouts-ordered); GCP's default 30 s cuts uploads.
            timeout_sec=edge.backend_timeout_sec,
            # A removed instance keeps its in-flight requests this long
            # (rule backend-service-draining-enabled, chain-drain-covers-longest-request).
            connection_draining_timeout_sec=edge.connection_draining_timeout_sec,
            health_checks=health_check.id,
            backends=[
                gcp.compute.BackendServiceBackendArgs(
                    group=args.instance_group,
                    balancing_mode="UTILIZATION",
                    capacity_scaler=1.0,
                )
            ],
            session_affinity="NONE",
            log_config=gcp.compute.BackendServiceLogConfigArgs(enable=True, sample_rate=1.0),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_ssl_policy(self, name: str, edge: EdgeConfig) -> gcp.compute.SSLPolicy:
        """The HTTPS proxy's SSL policy: minimum TLS version and cipher profile.

        Arguments as in pulumi_gcp.compute.SSLPolicy (`min_tls_version` TLS_1_0..TLS_1_3,
        `profile` COMPATIBLE/MODERN/RESTRICTED/CUSTOM; TLS_1_3 requires RESTRICTED), the
        Terraform provider's google_compute_ssl_policy.
        """
        return gcp.compute.SSLPolicy(
            f"{name}-ssl-policy",
            description=self._description("ssl-policy", "TLS floor of the HTTPS proxy."),
            min_tls_version=edge.ssl_min_tls_version,
            profile=edge.ssl_policy_profile,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _certificates(self, name: str, edge: EdgeConfig) -> list[pulumi.Input[str]]:
        if not edge.managed_certificate_domains:
            return list(edge.ssl_certificates)
        certificate = gcp.compute.ManagedSslCertificate(
            f"{name}-cert",
            description=self._description("certificate", "Google-managed certificate."),
            type="MANAGED",
            managed=gcp.compute.ManagedSslCertificateManagedArgs(
                domains=edge.managed_certificate_domains
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [certificate.id]

    def _create_http_redirect(
        self, name: str, args: EdgeLoadBalancerArgs, address: gcp.compute.GlobalAddress
    ) -> None:
        redirect = gcp.compute.URLMap(
            f"{name}-redirect",
            description=self._description("url-map", "HTTP to HTTPS redirect."),
            default_url_redirect=gcp.compute.URLMapDefaultUrlRedirectArgs(
                https_redirect=True,
                strip_query=False,
                redirect_response_code="MOVED_PERMANENTLY_DEFAULT",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        http_proxy = gcp.compute.TargetHttpProxy(
            f"{name}-http-proxy",
            description=self._description("http-proxy", "Redirects HTTP to HTTPS."),
            url_map=redirect.id,
            http_keep_alive_timeout_sec=args.edge.client_keepalive_timeout_sec,
            opts=pulumi.ResourceOptions(parent=redirect),
        )
        gcp.compute.GlobalForwardingRule(
            f"{name}-http",
            description=self._description("forwarding-rule", "HTTP, redirected to HTTPS."),
            load_balancing_scheme=LOAD_BALANCING_SCHEME,
            ip_protocol="TCP",
            ip_address=address.address,
            port_range=HTTP_PORT,
            target=http_proxy.id,
            labels=self._labels("forwarding-rule"),
            opts=pulumi.ResourceOptions(parent=http_proxy),
        )
