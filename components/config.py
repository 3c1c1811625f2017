"""The stack config model: every value a stack file may set, its default, its bounds.

`stacks/Pulumi.<env>.yaml` holds one structured object per key below (`hitless:<key>`);
`load_stack_config` validates them together, once, before any resource is registered. A bad
value fails with a message naming the stack key, the value, the consequence and the fix.

Cross-tier bounds use the formulas of `hitless_policy.budget`, the same the policy pack judges
the rendered resources with, so a stack that loads is one the pack accepts.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import math
import urllib.parse
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hitless_policy import addresses, budget, catalog
from hitless_policy.loader import CLIP, clip
from hitless_policy.profile import PackConfig, PathProfile, Thresholds, TrafficProfile, path_profile

PROJECT = "hitless"
"""Pulumi project name, the namespace of every stack key."""

GOOGLE_FRONTEND_RANGES: tuple[ipaddress.IPv4Network, ...] = addresses.GOOGLE_FRONTEND_RANGES
"""Source ranges of Google's health checkers and GFE proxies (stated once, in the policy pack)."""

Port = Annotated[int, Field(ge=1, le=65535)]
Seconds = Annotated[int, Field(ge=1, le=86400)]
DrainSeconds = Annotated[int, Field(ge=1, le=3600)]
K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
Quantity = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")]
ImageDigest = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
"""A container image digest, `sha256:<64 hex>`."""


def _is_loopback_host(host: str) -> bool:
    """Whether `host` is `localhost` or a loopback IP literal (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ROLLING_MAX_SURGE = 1
"""maxSurge of every Deployment's RollingUpdate (`k8s_common.surge_only_strategy`)."""
ROLLING_MAX_UNAVAILABLE = 0
"""maxUnavailable of every Deployment's RollingUpdate: capacity never drops."""
MIG_MAX_UNAVAILABLE_FIXED = 0
"""`max_unavailable_fixed` of every MIG's update policy: instances go only after replacement."""
# Kong's schema bounds every timeout to 0..2^31-2 ms (Kong/kong kong/db/schema/typedefs.lua,
# typedefs.timeout).
KongTimeoutMs = Annotated[int, Field(ge=1, le=2**31 - 2)]
MAX_BODY_MIB = 1024 * 1024
"""Largest body size any tier may be configured with (1 TiB): beyond it a number is a typo."""
MAX_COUNT = 10_000_000
"""Largest request or connection count a keepalive setting may take."""
MAX_RUNTIMES = 50
"""Most runtime services one chain carries (one Kong Service, Route and Upstream each)."""


class _Model(BaseModel):
    """Base of every config model: unknown keys are errors, values are immutable and finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------------------------
# Platform: region, zones, network
# --------------------------------------------------------------------------------------------


class NetworkConfig(_Model):
    """The VPC the chain runs in: one subnet per GCE tier and one for GKE."""

    a_cidr: ipaddress.IPv4Network = Field(
        default=ipaddress.IPv4Network("10.10.0.0/24"),
        description="Subnet of tier A's instances (nginx L7).",
    )
    b_cidr: ipaddress.IPv4Network = Field(
        default=ipaddress.IPv4Network("10.10.1.0/24"),
        description="Subnet of tier B's instances (nginx L4) and of B's internal LB address.",
    )
    gke_nodes_cidr: ipaddress.IPv4Network = Field(
        default=ipaddress.IPv4Network("10.20.0.0/20"),
        description="Primary range of the GKE subnet (nodes and Kong's internal LB address).",
    )
    gke_pods_cidr: ipaddress.IPv4Network = Field(
        default=ipaddress.IPv4Network("10.24.0.0/14"),
        description="Secondary range for pod IPs (VPC-native cluster).",
    )
    gke_services_cidr: ipaddress.IPv4Network = Field(
        default=ipaddress.IPv4Network("10.28.0.0/20"),
        description="Secondary range for ClusterIP Services.",
    )
    gke_master_cidr: ipaddress.IPv4Network = Field(
        default=ipaddress.IPv4Network("172.16.0.0/28"),
        description="/28 range of the private control plane's endpoint.",
    )
    b_ilb_address: ipaddress.IPv4Address = Field(
        default=ipaddress.IPv4Address("10.10.1.10"),
        description=(
            "Reserved internal address of B's passthrough NLB. A's nginx.conf embeds it, so it is "
            "a plain value known at preview, not a computed one. Must lie in `b_cidr`."
        ),
    )
    kong_ilb_address: ipaddress.IPv4Address = Field(
        default=ipaddress.IPv4Address("10.20.0.10"),
        description=(
            "Reserved internal address of Kong's GKE internal LoadBalancer Service; B's "
            "nginx.conf embeds it. Must lie in `gke_nodes_cidr`."
        ),
    )
    flow_log_sampling: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.5,
        description=(
            "Share of each subnet's flows VPC flow logs record (0 < x <= 1); every subnet logs "
            "its flows so a connection to or from any tier can be audited."
        ),
    )
    flow_log_aggregation_interval: Literal[
        "INTERVAL_5_SEC",
        "INTERVAL_30_SEC",
        "INTERVAL_1_MIN",
        "INTERVAL_5_MIN",
        "INTERVAL_10_MIN",
        "INTERVAL_15_MIN",
    ] = Field(
        default="INTERVAL_5_SEC", description="Aggregation interval of the VPC flow log entries."
    )


class PlatformConfig(_Model):
    """Where the chain runs and what it is called (`hitless:platform`)."""

    chain: K8sName = Field(
        default="main",
        description="Chain name: prefixes resource names and marks every resource's identity.",
    )
    region: str = Field(
        pattern=r"^[a-z]+-[a-z]+[0-9]$", description="GCP region of every regional resource."
    )
    zones: list[str] = Field(
        min_length=1,
        max_length=4,
        description="Zones the MIGs and node pools span; 3 for a zone-failure-safe chain.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Extra labels put on every labelled GCP resource and Kubernetes object.",
    )
    network: NetworkConfig = Field(
        default_factory=NetworkConfig, description="VPC ranges and reserved internal addresses."
    )

    @model_validator(mode="after")
    def _zones_in_region(self) -> Self:
        for zone in self.zones:
            if not zone.startswith(f"{self.region}-"):
                raise ValueError(
                    f"zones: {clip(repr(zone))} is not in region {self.region!r}; a regional MIG "
                    f"or cluster cannot place instances there. Fix: list zones such as "
                    f"'{self.region}-a'."
                )
        if len(set(self.zones)) != len(self.zones):
            raise ValueError(f"zones: {self.zones} lists a zone twice. Fix: list each zone once.")
        return self

    @property
    def regional(self) -> bool:
        """Whether the chain spans more than one zone."""
        return len(self.zones) > 1


# --------------------------------------------------------------------------------------------
# GCE tiers A and B
# --------------------------------------------------------------------------------------------


class HealthCheckConfig(_Model):
    """Timing of a GCP health check."""

    check_interval_sec: Annotated[int, Field(ge=1, le=300)] = Field(
        default=5, description="Seconds between probes."
    )
    timeout_sec: Annotated[int, Field(ge=1, le=300)] = Field(
        default=4, description="Seconds a probe may take; must not exceed the interval."
    )
    healthy_threshold: Annotated[int, Field(ge=1, le=10)] = Field(
        default=2, description="Consecutive successes that make a backend healthy."
    )
    unhealthy_threshold: Annotated[int, Field(ge=1, le=10)] = Field(
        default=2, description="Consecutive failures that make a backend unhealthy."
    )

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> Self:
        if self.timeout_sec > self.check_interval_sec:
            raise ValueError(
                f"timeout_sec {self.timeout_sec} > check_interval_sec {self.check_interval_sec}: "
                "GCP rejects the health check. Fix: make timeout_sec <= check_interval_sec."
            )
        return self


class MigConfig(_Model):
    """A regional managed instance group running nginx, and how it rolls."""

    machine_type: str = Field(default="e2-standard-2", description="Machine type of instances.")
    image: str = Field(
        default="projects/debian-cloud/global/images/family/debian-12",
        description="Boot image; the startup script installs Debian's nginx on it.",
    )
    disk_size_gb: Annotated[int, Field(ge=10, le=2000)] = Field(
        default=20, description="Boot disk size (GB)."
    )
    target_size: Annotated[int, Field(ge=2, le=1000)] = Field(
        default=3,
        description="Instances in the group; at least 2 so one can drain while another serves.",
    )
    max_surge_fixed: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=3,
        description=(
            "Extra instances created during a rollout; a regional MIG needs at least one per zone."
        ),
    )
    min_ready_sec: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=45,
        description=(
            "Seconds a new instance stays healthy before the updater removes an old one; covers "
            "the load balancer programming the new backend (profile lb_propagation_seconds)."
        ),
    )
    autohealing_initial_delay_sec: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=300,
        description=(
            "Grace before autohealing judges a new instance; must cover boot plus nginx start "
            "(hitless:thresholds.mig_boot_seconds)."
        ),
    )
    lb_health_check: HealthCheckConfig = Field(
        default_factory=HealthCheckConfig,
        description="The LB's health check: fast, so draining instances leave quickly.",
    )
    autohealing_health_check: HealthCheckConfig = Field(
        default_factory=lambda: HealthCheckConfig(
            check_interval_sec=10, timeout_sec=5, healthy_threshold=2, unhealthy_threshold=6
        ),
        description="Autohealing's own health check: slower, so a busy instance is not recreated.",
    )
    health_port: Port = Field(
        default=8081, description="Port of the small http server answering /healthz."
    )
    await_timeout_seconds: Annotated[int, Field(ge=60, le=86400)] | None = Field(
        default=None,
        description=(
            "How long `pulumi up` awaits the rolling update (customTimeouts create/update, with "
            "waitForInstances UPDATED). null: sized from the update's worst case plus margin, "
            "rounded up to whole minutes (see `hitless explain`); a value must cover that bound."
        ),
    )


class EdgeConfig(_Model):
    """Tier A: nginx L7 on a regional MIG behind the global external Application LB."""

    mig: MigConfig = Field(default_factory=MigConfig, description="The instance group of A.")
    listen_port: Port = Field(default=80, description="Port nginx serves the LB on.")
    client_max_body_mib: Annotated[int, Field(ge=1, le=MAX_BODY_MIB)] = Field(
        default=64, description="nginx client_max_body_size (MiB); nginx's default 1m gives 413."
    )
    client_body_timeout_seconds: Seconds = Field(
        default=60, description="nginx client_body_timeout: longest gap between two body reads."
    )
    keepalive_timeout_seconds: Seconds = Field(
        default=650,
        description="nginx keepalive_timeout towards the LB; must exceed GFE's fixed 600 s.",
    )
    keepalive_requests: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(
        default=10000, description="Requests per client connection before nginx closes it."
    )
    proxy_request_buffering: bool = Field(
        default=True,
        description="Buffer request bodies at A, so a slow upload ends here and is retryable.",
    )
    proxy_connect_timeout_seconds: Annotated[int, Field(ge=1, le=75)] = Field(
        default=5, description="nginx proxy_connect_timeout towards B."
    )
    proxy_send_timeout_seconds: Seconds = Field(
        default=60, description="nginx proxy_send_timeout: longest gap between two writes to B."
    )
    proxy_read_timeout_seconds: Seconds = Field(
        default=160,
        description=(
            "nginx proxy_read_timeout; must outlast Kong's worst case for a GET with retries: "
            "(connect + read) x (1 + retries)."
        ),
    )
    proxy_next_upstream_tries: Annotated[int, Field(ge=1, le=10)] = Field(
        default=2,
        description=(
            "nginx proxy_next_upstream_tries for idempotent requests. A's upstream is one address "
            "(B's NLB), so nginx tries once, plus a re-send when a pooled connection was stale; "
            "connect-phase failover across pods is Kong's job (retries at one layer)."
        ),
    )
    upstream_keepalive_connections: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(
        default=64, description="Idle connections to B each worker keeps."
    )
    upstream_keepalive_timeout_seconds: Seconds = Field(
        default=50,
        description=(
            "Idle time after which A drops a pooled connection to B; must stay below B's "
            "proxy_timeout and Kong's client keepalive, so A never reuses a connection they closed."
        ),
    )
    upstream_keepalive_time_seconds: Seconds = Field(
        default=30,
        description=(
            "Lifetime of a pooled connection to B (nginx keepalive_time); with the idle timeout "
            "B's longest request and the internal LB's lag it must fit in B's drain."
        ),
    )
    worker_shutdown_timeout_seconds: Seconds = Field(
        default=150, description="nginx worker_shutdown_timeout; must cover A's longest request."
    )
    backend_timeout_sec: Annotated[int, Field(ge=1, le=86400)] = Field(
        default=240,
        description="LB backend-service timeoutSec: slow upload plus A's read timeout.",
    )
    connection_draining_timeout_sec: DrainSeconds = Field(
        default=150, description="LB connection draining for A; covers A's longest request."
    )
    client_keepalive_timeout_sec: Annotated[int, Field(ge=5, le=1200)] = Field(
        default=610,
        description="Client-side HTTP keepalive of the LB's HTTPS proxy (GCP default 610).",
    )
    managed_certificate_domains: list[str] = Field(
        default_factory=list,
        description="Domains for a Google-managed certificate; empty to use ssl_certificates.",
    )
    ssl_certificates: list[str] = Field(
        default_factory=list,
        description="Self links of existing SSL certificates; used when no managed domains.",
    )
    source_ranges: list[ipaddress.IPv4Network] = Field(
        default_factory=lambda: list(GOOGLE_FRONTEND_RANGES),
        description="Ranges admitted to A: Google's health-check and GFE proxy ranges.",
    )
    ssl_policy_profile: Literal["MODERN", "RESTRICTED"] = Field(
        default="MODERN",
        description=(
            "Cipher profile of the HTTPS proxy's SSL policy: MODERN (broad client support) or "
            "RESTRICTED (the strictest); COMPATIBLE would admit weak ciphers."
        ),
    )
    ssl_min_tls_version: Literal["TLS_1_2", "TLS_1_3"] = Field(
        default="TLS_1_2",
        description="Lowest TLS version the HTTPS proxy accepts; TLS_1_3 needs RESTRICTED.",
    )
    hsts_max_age_seconds: Annotated[int, Field(ge=300, le=63072000)] = Field(
        default=31536000,
        description=(
            "Strict-Transport-Security max-age A adds to every response (one year): browsers "
            "then refuse plain HTTP to the domain."
        ),
    )
    hsts_include_subdomains: bool = Field(
        default=True, description="Add `includeSubDomains` to the Strict-Transport-Security header."
    )

    @model_validator(mode="after")
    def _sources_restricted(self) -> Self:
        # Judged as the set of addresses admitted, not as strings (rule
        # firewall-sources-restricted): [0.0.0.0/1, 128.0.0.0/1] is the whole internet.
        networks: list[addresses.IPNetwork] = list(self.source_ranges)
        shown = [str(network) for network in self.source_ranges]
        if not networks:
            raise ValueError(
                "source_ranges = []: A's firewall would admit nothing and the LB never reaches A. "
                "Fix: keep Google's front-end ranges (the default)."
            )
        if addresses.whole_internet(networks):
            raise ValueError(
                f"source_ranges = {shown}: together the ranges admit the whole internet to A, "
                "bypassing the load balancer, its TLS policy and its drain. Fix: keep Google's "
                "front-end ranges (the default)."
            )
        public = addresses.public_outside(networks)
        if public:
            raise ValueError(
                f"source_ranges = {shown}: they admit {addresses.describe(public)} of public "
                "address space beyond Google's front ends, so clients can bypass the load "
                "balancer. Fix: keep Google's front-end ranges and private ranges only."
            )
        return self

    @model_validator(mode="after")
    def _tls_policy_valid(self) -> Self:
        if self.ssl_min_tls_version == "TLS_1_3" and self.ssl_policy_profile != "RESTRICTED":
            raise ValueError(
                f"ssl_min_tls_version = TLS_1_3 with ssl_policy_profile = "
                f"{self.ssl_policy_profile}: GCP rejects the SSL policy (TLS 1.3 minimum needs the "
                "RESTRICTED profile). Fix: set ssl_policy_profile RESTRICTED or "
                "ssl_min_tls_version TLS_1_2."
            )
        return self

    @model_validator(mode="after")
    def _certificate_given(self) -> Self:
        if not self.managed_certificate_domains and not self.ssl_certificates:
            raise ValueError(
                "no certificate: set managed_certificate_domains (a Google-managed certificate) or "
                "ssl_certificates (existing self links); the HTTPS proxy cannot be created without "
                "one."
            )
        return self


class RelayConfig(_Model):
    """Tier B: nginx stream (L4) on a regional MIG behind the internal passthrough NLB."""

    mig: MigConfig = Field(default_factory=MigConfig, description="The instance group of B.")
    listen_port: Port = Field(default=80, description="TCP port B accepts A's connections on.")
    proxy_connect_timeout_seconds: Annotated[int, Field(ge=1, le=75)] = Field(
        default=5, description="nginx stream proxy_connect_timeout towards Kong."
    )
    proxy_timeout_seconds: Seconds = Field(
        default=300,
        description=(
            "nginx stream proxy_timeout: idle time after which B closes a flow; must cover A's "
            "read timeout (a silent request) and A's upstream keepalive."
        ),
    )
    worker_shutdown_timeout_seconds: Seconds = Field(
        default=150, description="nginx worker_shutdown_timeout; covers B's longest flow."
    )
    connection_draining_timeout_sec: DrainSeconds = Field(
        default=150, description="ILB connection draining for B; covers B's longest request."
    )


# --------------------------------------------------------------------------------------------
# GKE: cluster and node pools
# --------------------------------------------------------------------------------------------


class Weekday(StrEnum):
    """Days of a weekly maintenance recurrence (RRULE BYDAY, UTC)."""

    MO = "MO"
    TU = "TU"
    WE = "WE"
    TH = "TH"
    FR = "FR"
    SA = "SA"
    SU = "SU"


class MaintenanceWindowConfig(_Model):
    """Recurring GKE maintenance window, in UTC."""

    start_time_utc: str = Field(
        default="03:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM UTC."
    )
    duration_hours: Annotated[int, Field(ge=1, le=24)] = Field(
        default=6, description="Length of each window; GKE counts only blocks of 4 h or more."
    )
    days: list[Weekday] | None = Field(
        default_factory=lambda: [Weekday.SA, Weekday.SU],
        description="Weekly days (UTC); null for a daily window.",
    )


class UpgradeStrategy(StrEnum):
    """GKE node-pool upgrade strategies."""

    SURGE = "SURGE"
    BLUE_GREEN = "BLUE_GREEN"


class NodePoolConfig(_Model):
    """One GKE node pool and how it upgrades."""

    name: K8sName = Field(description="Pool key; the pool's name is derived from it.")
    machine_type: str = Field(default="e2-standard-4", description="Node machine type.")
    disk_size_gb: Annotated[int, Field(ge=20, le=2000)] = Field(
        default=100, description="Node boot disk size (GB)."
    )
    disk_type: Literal["pd-standard", "pd-balanced", "pd-ssd"] = Field(
        default="pd-balanced", description="Node boot disk type."
    )
    min_nodes_per_zone: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=1, description="Autoscaler minimum per zone."
    )
    max_nodes_per_zone: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=3, description="Autoscaler maximum per zone."
    )
    strategy: UpgradeStrategy = Field(
        default=UpgradeStrategy.SURGE, description="SURGE (new node first) or BLUE_GREEN."
    )
    max_surge: Annotated[int, Field(ge=1, le=20)] = Field(
        default=1, description="SURGE: nodes added before old ones drain (at least 1)."
    )
    max_unavailable: Literal[0] = Field(
        default=0, description="SURGE: nodes taken away without replacement; 0 keeps capacity."
    )
    node_pool_soak_duration: str = Field(
        default="1800s",
        pattern=r"^[0-9]+s$",
        description="BLUE_GREEN: soak after the blue pool drained, before it is deleted.",
    )
    batch_node_count: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=1, description="BLUE_GREEN: nodes drained per batch."
    )
    batch_soak_duration: str = Field(
        default="120s", pattern=r"^[0-9]+s$", description="BLUE_GREEN: soak after each batch."
    )
    spot: bool = Field(default=False, description="Spot VMs (not for the serving tiers).")

    @model_validator(mode="after")
    def _autoscaling_bounds(self) -> Self:
        if self.max_nodes_per_zone < self.min_nodes_per_zone:
            raise ValueError(
                f"max_nodes_per_zone {self.max_nodes_per_zone} < min_nodes_per_zone "
                f"{self.min_nodes_per_zone}: the autoscaler rejects it. Fix: raise the maximum."
            )
        return self


class ClusterConfig(_Model):
    """The regional GKE cluster that carries C and D (`hitless:cluster`)."""

    kubernetes_version: str = Field(
        default="1.33",
        pattern=r"^1\.[0-9]{2}$",
        description=(
            "Minimum control-plane minor version; decides features such as the native preStop "
            "sleep action (1.30+)."
        ),
    )
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = Field(
        default="REGULAR", description="GKE release channel (auto-upgrades follow it)."
    )
    deletion_protection: bool = Field(
        default=True, description="Refuse `pulumi destroy` of the cluster."
    )
    maintenance: MaintenanceWindowConfig = Field(
        default_factory=MaintenanceWindowConfig, description="Recurring maintenance window."
    )
    master_authorized_cidrs: list[ipaddress.IPv4Network] = Field(
        default_factory=list,
        description="Ranges allowed to reach the control plane endpoint (empty: VPC only).",
    )
    binary_authorization_mode: Literal["PROJECT_SINGLETON_POLICY_ENFORCE", "DISABLED"] = Field(
        default="PROJECT_SINGLETON_POLICY_ENFORCE",
        description=(
            "Binary Authorization evaluation mode: PROJECT_SINGLETON_POLICY_ENFORCE admits only "
            "images the project's policy allows; DISABLED admits any image."
        ),
    )
    node_pools: list[NodePoolConfig] = Field(
        default_factory=lambda: [NodePoolConfig(name="serving")],
        min_length=1,
        description="Node pools; Kong and the runtime run on every pool unless pinned.",
    )

    @model_validator(mode="after")
    def _pool_names_unique(self) -> Self:
        names = [pool.name for pool in self.node_pools]
        if len(set(names)) != len(names):
            raise ValueError(f"node_pools: duplicate names in {names}. Fix: name each pool once.")
        return self

    @property
    def supports_sleep_action(self) -> bool:
        """Whether the native `preStop.sleep` action is on (beta by default from 1.30)."""
        return int(self.kubernetes_version.split(".")[1]) >= 30


# --------------------------------------------------------------------------------------------
# Kubernetes workloads C and D
# --------------------------------------------------------------------------------------------


class ResourcesConfig(_Model):
    """Container resource requests and limits."""

    cpu_request: Quantity = Field(default="500m", description="CPU request.")
    memory_request: Quantity = Field(default="512Mi", description="Memory request.")
    memory_limit: Quantity = Field(default="1Gi", description="Memory limit (CPU is unlimited).")


class ProbeConfig(_Model):
    """Timing of a Kubernetes probe."""

    initial_delay_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=0, description="Delay before the first probe."
    )
    period_seconds: Annotated[int, Field(ge=1, le=300)] = Field(
        default=5, description="Seconds between probes."
    )
    timeout_seconds: Annotated[int, Field(ge=1, le=300)] = Field(
        default=2, description="Seconds a probe may take."
    )
    failure_threshold: Annotated[int, Field(ge=1, le=100)] = Field(
        default=2, description="Consecutive failures that fail the probe."
    )
    success_threshold: Annotated[int, Field(ge=1, le=10)] = Field(
        default=1, description="Consecutive successes that pass it (1 for liveness/startup)."
    )

    def timing(self) -> budget.ProbeTiming:
        """The probe's timing, as the budget formulas take it."""
        return budget.ProbeTiming(
            initial_delay_seconds=self.initial_delay_seconds,
            period_seconds=self.period_seconds,
            timeout_seconds=self.timeout_seconds,
            success_threshold=self.success_threshold,
            failure_threshold=self.failure_threshold,
        )


class AutoscalingConfig(_Model):
    """HorizontalPodAutoscaler bounds."""

    min_replicas: Annotated[int, Field(ge=2, le=1000)] = Field(
        default=2, description="Fewest pods; at least 2 so one can drain while one serves."
    )
    max_replicas: Annotated[int, Field(ge=2, le=1000)] = Field(default=6, description="Most pods.")
    cpu_utilization_percent: Annotated[int, Field(ge=10, le=100)] = Field(
        default=65, description="Target average CPU utilisation."
    )

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas {self.max_replicas} < min_replicas {self.min_replicas}: the HPA "
                "is rejected. Fix: raise max_replicas."
            )
        return self


class KongHybridConfig(_Model):
    """Hybrid mode: a Kong control plane owns the entities; the DP only proxies."""

    admin_url: str = Field(
        pattern=r"^https?://", description="Control plane Admin API URL, for pulumi-kong."
    )
    cluster_control_plane: str = Field(
        pattern=r"^[a-z0-9.-]+:[0-9]+$", description="host:port of the CP cluster listener."
    )
    cluster_telemetry_endpoint: str = Field(
        pattern=r"^[a-z0-9.-]+:[0-9]+$", description="host:port of the CP telemetry listener."
    )
    cluster_cert_secret: K8sName = Field(
        description="Existing TLS Secret (tls.crt/tls.key) in Kong's namespace for the DP."
    )
    allow_plain_http_loopback_admin: bool = Field(
        default=False,
        description=(
            "Accept an `http://` admin_url, only for a loopback host (a local control plane in "
            "a test); any other http URL would send the admin token in clear."
        ),
    )

    @model_validator(mode="after")
    def _admin_url_encrypted(self) -> Self:
        parsed = urllib.parse.urlsplit(self.admin_url)
        if parsed.scheme.lower() == "https":
            return self
        shown = self.admin_url[:200]
        if not self.allow_plain_http_loopback_admin:
            raise ValueError(
                f"admin_url = {shown!r}: pulumi-kong would send the admin token "
                f"({PROJECT}:kongAdminToken) in clear over plain HTTP. Fix: use the control "
                "plane's https:// Admin API URL (or, for a local test control plane on a loopback "
                "address, set kong.hybrid.allow_plain_http_loopback_admin: true)."
            )
        if not _is_loopback_host(parsed.hostname or ""):
            raise ValueError(
                f"admin_url = {shown!r}: plain HTTP is allowed only to a loopback address, and "
                f"{parsed.hostname!r} is not one, so the admin token would cross the network in "
                "clear. Fix: use the control plane's https:// Admin API URL."
            )
        return self


class RuntimeKongConfig(_Model):
    """The Kong Service, Route and Upstream in front of one runtime service."""

    connect_timeout_ms: KongTimeoutMs = Field(
        default=2000, description="Kong Service connect_timeout (ms), per try."
    )
    write_timeout_ms: KongTimeoutMs = Field(
        default=60000, description="Kong Service write_timeout (ms): gap between two writes."
    )
    read_timeout_ms: KongTimeoutMs = Field(
        default=50000, description="Kong Service read_timeout (ms); above the runtime's timeout."
    )
    retries: Annotated[int, Field(ge=0, le=32767)] = Field(
        default=2,
        description=(
            "Kong Service retries: after a failed connect for every request, and after a read "
            "timeout or reset too for an idempotent one (a GET), nginx's default."
        ),
    )
    request_buffering: bool = Field(
        default=True, description="Kong route request_buffering; keeps POSTs retryable."
    )
    route_paths: list[str] = Field(
        default_factory=lambda: ["/"],
        min_length=1,
        description="Path prefixes Kong routes to this runtime (unique across runtimes).",
    )


MOVED_KONG_KEYS: tuple[str, ...] = tuple(RuntimeKongConfig.model_fields)
"""Keys of `hitless:kong` that moved to each runtime's `kong` block (`hitless:runtimes`)."""


class KongConfig(_Model):
    """Tier C: the Kong data plane (`hitless:kong`)."""

    namespace: K8sName = Field(default="kong", description="Namespace of Kong's objects.")
    image: str = Field(default="kong:3.9.1", description="Kong Gateway image.")
    image_digest: ImageDigest | None = Field(
        default=None,
        description=(
            "sha256 digest of `image`; when given the pods run `image@digest`, so a moved tag "
            "cannot change what runs (rule container-image-pinned)."
        ),
    )
    upstream_tls_verify: bool = Field(
        default=True,
        description=(
            "When the runtime speaks HTTPS, Kong verifies its certificate (Service `tls_verify`) "
            "against the CA in `upstream_ca_secret`."
        ),
    )
    upstream_ca_secret: K8sName = Field(
        default="rt-upstream-ca",
        description=(
            "Existing Secret in Kong's namespace holding the CA certificate that signed the "
            "runtime's serving certificate (HTTPS runtime with upstream_tls_verify only)."
        ),
    )
    upstream_ca_key: Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$")] = Field(
        default="ca.crt", description="Key of the CA certificate (PEM) in `upstream_ca_secret`."
    )
    upstream_tls_verify_depth: Annotated[int, Field(ge=1, le=10)] = Field(
        default=2, description="Longest certificate chain Kong accepts from the runtime."
    )
    replicas: Annotated[int, Field(ge=2, le=1000)] = Field(
        default=2, description="Pods; at least 2 so one can drain while one serves."
    )
    autoscaling: AutoscalingConfig = Field(
        default_factory=AutoscalingConfig, description="HPA bounds."
    )
    resources: ResourcesConfig = Field(
        default_factory=ResourcesConfig, description="Kong container resources."
    )
    proxy_port: Port = Field(default=8000, description="Kong proxy listener (container port).")
    status_port: Port = Field(default=8100, description="Kong status listener (/status/ready).")
    service_port: Port = Field(
        default=80, description="Port of the internal LB Service B connects to."
    )
    readiness: ProbeConfig = Field(
        default_factory=ProbeConfig, description="Readiness probe on /status/ready."
    )
    liveness: ProbeConfig = Field(
        default_factory=lambda: ProbeConfig(
            period_seconds=10, timeout_seconds=5, failure_threshold=6
        ),
        description="Liveness probe on /status; slower than readiness so a busy pod is not killed.",
    )
    quit_wait_seconds: Annotated[int, Field(ge=0, le=600)] = Field(
        default=35,
        description=(
            "`kong quit --wait`: keep serving while the internal LB stops sending new "
            "connections (covers profile kong_lb_propagation_seconds)."
        ),
    )
    quit_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=60,
        description=(
            "`kong quit --timeout` and nginx worker_shutdown_timeout: in-flight requests get "
            "this long; covers C's longest request."
        ),
    )
    termination_grace_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=120, description="Pod terminationGracePeriodSeconds: wait + timeout + margin."
    )
    client_keepalive_timeout_seconds: Seconds = Field(
        default=75,
        description="Kong's nginx keepalive_timeout towards B/A; above A's upstream keepalive.",
    )
    upstream_keepalive_idle_timeout_seconds: Seconds = Field(
        default=30,
        description="Kong upstream_keepalive_idle_timeout; below the runtime's keepalive idle.",
    )
    upstream_keepalive_max_requests: Annotated[int, Field(ge=0, le=MAX_COUNT)] = Field(
        default=10000, description="Requests per upstream connection before Kong closes it."
    )
    client_max_body_mib: Annotated[int, Field(ge=0, le=MAX_BODY_MIB)] = Field(
        default=0, description="Kong nginx client_max_body_size (MiB); 0 is unlimited."
    )
    hybrid: KongHybridConfig | None = Field(
        default=None,
        description="Hybrid mode (control plane); null for DB-less declarative config.",
    )
    min_ready_seconds: Annotated[int, Field(ge=0, le=600)] = Field(
        default=0,
        description=(
            "Deployment minReadySeconds: Kong is ready once /status/ready answers (the internal "
            "LB's own health check gates new connections)."
        ),
    )
    progress_deadline_seconds: Annotated[int, Field(ge=60, le=3600)] = Field(
        default=600,
        description=(
            "Deployment progressDeadlineSeconds: a rollout stuck this long fails with "
            "ProgressDeadlineExceeded, before `pulumi up`'s await gives up."
        ),
    )
    await_timeout_seconds: Annotated[int, Field(ge=60, le=86400)] | None = Field(
        default=None,
        description=(
            "How long `pulumi up` awaits the Deployment's rollout (customTimeouts create/update). "
            "null: sized from the rollout's worst case at the HPA maximum plus margin, rounded "
            "up to whole minutes (see `hitless explain`); a value must cover that bound."
        ),
    )


class RuntimeConfig(_Model):
    """Tier D: one runtime service (RT) behind Kong, an item of `hitless:runtimes`."""

    name: K8sName = Field(
        default="rt",
        description="Name of the runtime's Deployment, Service and Kong Service (unique).",
    )
    namespace: K8sName = Field(
        default="rt",
        description="Namespace of the runtime's objects; each runtime owns its namespace.",
    )
    image: str = Field(min_length=1, description="The runtime's container image (required).")
    image_digest: ImageDigest | None = Field(
        default=None,
        description=(
            "sha256 digest of `image`; when given the pods run `image@digest`, so a moved tag "
            "cannot change what runs (rule container-image-pinned)."
        ),
    )
    replicas: Annotated[int, Field(ge=2, le=1000)] = Field(
        default=2, description="Pods; at least 2 so one can drain while one serves."
    )
    autoscaling: AutoscalingConfig = Field(
        default_factory=AutoscalingConfig, description="HPA bounds."
    )
    resources: ResourcesConfig = Field(
        default_factory=ResourcesConfig, description="Runtime container resources."
    )
    port: Port = Field(default=8080, description="Container port the runtime serves on.")
    scheme: Literal["HTTP", "HTTPS"] = Field(
        default="HTTPS", description="Protocol the runtime speaks on `port`."
    )
    health_path: str = Field(default="/health", description="Readiness path.")
    liveness_path: str = Field(default="/health", description="Liveness path.")
    readiness: ProbeConfig = Field(
        default_factory=ProbeConfig, description="Readiness probe (period <= 10 s)."
    )
    liveness: ProbeConfig = Field(
        default_factory=lambda: ProbeConfig(
            period_seconds=10, timeout_seconds=3, failure_threshold=6
        ),
        description="Liveness probe; slower than readiness, so a busy pod is not killed.",
    )
    startup: ProbeConfig = Field(
        default_factory=lambda: ProbeConfig(
            period_seconds=5, timeout_seconds=2, failure_threshold=24
        ),
        description="Startup probe: the app has failure_threshold x period to start.",
    )
    prestop_seconds: Annotated[int, Field(ge=1, le=600)] = Field(
        default=15,
        description="preStop sleep: keeps serving while endpoints propagate (>= propagation lag).",
    )
    termination_grace_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=75,
        description="terminationGracePeriodSeconds: preStop + longest request + margin.",
    )
    min_ready_seconds: Annotated[int, Field(ge=0, le=600)] = Field(
        default=5, description="Seconds a new pod stays ready before it counts as available."
    )
    progress_deadline_seconds: Annotated[int, Field(ge=60, le=3600)] = Field(
        default=600, description="Deployment progressDeadlineSeconds."
    )
    request_timeout_seconds: Seconds = Field(
        default=45, description="The runtime's own request timeout; >= longest processing."
    )
    keepalive_idle_timeout_seconds: Seconds = Field(
        default=75, description="The runtime's own keep-alive idle timeout; above Kong's."
    )
    max_body_mib: Annotated[int, Field(ge=1, le=MAX_BODY_MIB)] = Field(
        default=64, description="The runtime's own body limit (MiB); >= the profile's."
    )
    await_timeout_seconds: Annotated[int, Field(ge=60, le=86400)] | None = Field(
        default=None,
        description=(
            "How long `pulumi up` awaits the Deployment's rollout (customTimeouts create/update). "
            "null: sized from the rollout's worst case at the HPA maximum plus margin, rounded "
            "up to whole minutes (see `hitless explain`); a value must cover that bound."
        ),
    )
    egress_cidrs: list[ipaddress.IPv4Network] = Field(
        default_factory=list,
        max_length=64,
        description=(
            "Destinations the runtime's pods may connect to besides the cluster DNS (its "
            "database, other services); empty: DNS only."
        ),
    )
    kong: RuntimeKongConfig = Field(
        default_factory=RuntimeKongConfig,
        description="Kong's Service, Route and Upstream for this runtime (timeouts, paths).",
    )
    profile: PathProfile = Field(
        default_factory=PathProfile,
        description=(
            "This service's own traffic promise where it differs from `hitless:profile` "
            "(max_body_mib, min_client_mbps, rt_max_processing_seconds); it sets the longest "
            "request of the path A -> B -> C -> this runtime."
        ),
    )


# --------------------------------------------------------------------------------------------
# Observability: metrics, alerts, dashboards of a rollout
# --------------------------------------------------------------------------------------------

Email = Annotated[str, Field(pattern=r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")]
"""An email address a notification channel sends to."""


class ObservabilityConfig(_Model):
    """What the chain exports about its rollouts (`hitless:observability`).

    Kong's Prometheus metrics, scraping by Google Managed Prometheus, log-based metrics, alerts
    and dashboards (`hitless.components.monitoring`).
    """

    enabled: bool = Field(
        default=True,
        description=(
            "Create the monitoring resources (hitless.components.monitoring). Off, no tier has "
            "its alert and rule observability-configured fails where it is mandatory."
        ),
    )
    enforcement: Literal["mandatory", "advisory"] = Field(
        default="mandatory",
        description=(
            "Level of rule observability-configured for this stack: mandatory (a tier without "
            "its alert fails the preview) or advisory (reported only, e.g. for dev)."
        ),
    )
    scrape_interval_seconds: Annotated[int, Field(ge=5, le=300)] = Field(
        default=30,
        description="How often Managed Prometheus scrapes Kong and the runtime (PodMonitoring).",
    )
    runtime_metrics_port: Port | None = Field(
        default=None,
        description=(
            "Container port on which the runtime serves Prometheus metrics; None: the runtime "
            "exports none and only Kong is scraped."
        ),
    )
    runtime_metrics_path: str = Field(
        default="/metrics",
        pattern=r"^/[A-Za-z0-9._~/-]{0,200}$",
        description="HTTP path of the runtime's metrics (with runtime_metrics_port).",
    )
    runtime_drain_log_line: str | None = Field(
        default=None,
        min_length=3,
        max_length=200,
        description=(
            "A line the runtime logs when it starts draining on SIGTERM; when set, a log-based "
            "metric counts it, so the dashboard marks each pod's drain."
        ),
    )
    alert_duration_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=0,
        description=(
            "How long a condition must hold before an alert opens; 0: at once (one failed "
            "request during a rollout is the event to see)."
        ),
    )
    notification_emails: list[Email] = Field(
        default_factory=list,
        max_length=20,
        description="Email addresses every alert notifies (one notification channel each).",
    )


# --------------------------------------------------------------------------------------------
# The whole stack
# --------------------------------------------------------------------------------------------


class StackConfig(_Model):
    """All of a stack's config, validated together (one model per stack key)."""

    platform: PlatformConfig = Field(description="Region, zones, network (`hitless:platform`).")
    profile: TrafficProfile = Field(
        default_factory=TrafficProfile, description="Traffic promise (`hitless:profile`)."
    )
    thresholds: Thresholds = Field(
        default_factory=Thresholds, description="Margins and bounds (`hitless:thresholds`)."
    )
    edge: EdgeConfig = Field(description="Tier A (`hitless:edge`).")
    relay: RelayConfig = Field(default_factory=RelayConfig, description="Tier B (`hitless:relay`).")
    cluster: ClusterConfig = Field(
        default_factory=ClusterConfig, description="GKE (`hitless:cluster`)."
    )
    kong: KongConfig = Field(default_factory=KongConfig, description="Tier C (`hitless:kong`).")
    runtimes: list[RuntimeConfig] = Field(
        min_length=1,
        max_length=MAX_RUNTIMES,
        description=(
            "Tier D: the runtime services behind Kong (`hitless:runtimes`), each with its own "
            "Deployment, Kong Service and Route; names, namespaces and route paths unique. Each "
            "makes one path A -> B -> C -> runtime the chain rules judge."
        ),
    )
    observability: ObservabilityConfig = Field(
        default_factory=ObservabilityConfig,
        description="Metrics, alerts and dashboards of the chain (`hitless:observability`).",
    )

    def runtime_named(self, name: str | None = None) -> RuntimeConfig:
        """The runtime service called `name` (None: the first). Raises KeyError naming the known."""
        if name is None:
            return self.runtimes[0]
        for runtime in self.runtimes:
            if runtime.name == name:
                return runtime
        known = ", ".join(runtime.name for runtime in self.runtimes)
        raise KeyError(f"no runtime service named {name!r} in hitless:runtimes (known: {known})")

    def one_path(self, name: str | None = None) -> StackConfig:
        """This config narrowed to the path A -> B -> C -> runtime `name` (None: the first).

        For the tools that replay one path (simulate, lab, verify): the only runtime is `name`,
        and the chain's profile is that path's promise. Raises KeyError for an unknown name.
        """
        runtime = self.runtime_named(name)
        return self.model_copy(
            update={
                "profile": self.path_profile(runtime),
                "runtimes": [runtime.model_copy(update={"profile": PathProfile()})],
            }
        )

    def path_profile(self, runtime: RuntimeConfig) -> TrafficProfile:
        """The traffic promise of the path A -> B -> C -> `runtime`."""
        return path_profile(self.profile, runtime.profile.overrides())

    def shared_profile(self) -> TrafficProfile:
        """The promise the tiers every path crosses (A, B, Kong's globals) must keep.

        The chain's profile with the largest body over the paths.
        """
        body = max(self.path_profile(runtime).max_body_mib for runtime in self.runtimes)
        return path_profile(self.profile, {"max_body_mib": body})

    def longest_requests(self, runtime: RuntimeConfig | None = None) -> budget.LongestRequests:
        """Each tier's longest request on `runtime`'s path (None: the longest over every path)."""
        if runtime is None:
            return budget.longest_over_paths([self.longest_requests(rt) for rt in self.runtimes])
        return budget.longest_requests(
            self.path_profile(runtime),
            buffering_at_a=self.edge.proxy_request_buffering,
            buffering_at_c=all(rt.kong.request_buffering for rt in self.runtimes),
        )

    def rollout_awaits(self) -> list[catalog.Outcome]:
        """Each rollout's await judged by the catalog (`outcome.duration`: its worst case)."""
        return [item for item in catalog_outcomes(self) if item.entry.section == "await"]

    def await_timeout(self, key: str) -> int:
        """The await timeout (s) of the rollout at `key` (`runtimes.rt`, `edge.mig`, ...).

        Keys: `kong`, `runtimes.<name>`, `edge.mig`, `relay.mig`, `cluster.node_pools.<name>`.
        """
        for item in self.rollout_awaits():
            if _await_key(item) == key and item.value is not None:
                return int(item.value)
        raise KeyError(f"no rollout with key {key!r}")

    @model_validator(mode="after")
    def _chain_is_hitless(self) -> Self:
        problems = list(_runtime_problems(self)) or list(_chain_problems(self))
        if problems:
            raise ValueError("\n".join(problems))
        return self


EDGE_LB_SCHEME = "EXTERNAL_MANAGED"
"""Tier A's `loadBalancingScheme`: the global external Application LB (Envoy-based)."""


def _runtime_problems(cfg: StackConfig) -> list[str]:
    """Runtime services that would collide: a name, a namespace or a route path used twice."""
    out: list[str] = []
    seen: dict[str, dict[str, int]] = {"name": {}, "namespace": {}}
    paths: dict[str, int] = {}
    for index, runtime in enumerate(cfg.runtimes):
        for what in ("name", "namespace"):
            value = getattr(runtime, what)
            if value in seen[what]:
                out.append(
                    f"{PROJECT}:runtimes.{index}.{what} = {value}: runtime "
                    f"{seen[what][value]} has it too, so their objects collide (each runtime owns "
                    f"its {what}). Fix: give each runtime its own {what}."
                )
            seen[what].setdefault(value, index)
        if runtime.namespace == cfg.kong.namespace:
            out.append(
                f"{PROJECT}:runtimes.{index}.namespace = {runtime.namespace}: it is Kong's "
                f"namespace ({PROJECT}:kong.namespace), so both components would own it. Fix: "
                "give the runtime its own namespace."
            )
        for path in runtime.kong.route_paths:
            if path in paths:
                out.append(
                    f"{PROJECT}:runtimes.{index}.kong.route_paths = {shown(path)}: runtime "
                    f"{paths[path]} routes the same path, so Kong sends its requests to one of "
                    "them only. Fix: give each runtime its own path prefixes."
                )
            paths.setdefault(path, index)
    return out


def _worst_kong_route(cfg: StackConfig) -> RuntimeKongConfig:
    """The Kong Service that keeps A waiting longest on a GET (its worst case with retries)."""
    return max(
        (runtime.kong for runtime in cfg.runtimes),
        key=lambda route: budget.kong_worst_case_seconds(
            route.connect_timeout_ms, route.read_timeout_ms, route.retries
        ),
    )


def config_values(cfg: StackConfig) -> dict[str, float | None]:
    """The catalog's named inputs of the tiers every path crosses, read from the config.

    The longest requests are the longest over the paths; a runtime's own inputs
    (`runtime_values`) replace them for the entries judged per runtime.
    """
    longest = cfg.longest_requests()
    edge, relay, kong, t = cfg.edge, cfg.relay, cfg.kong, cfg.thresholds
    route = _worst_kong_route(cfg)
    days = cfg.cluster.maintenance.days
    values: dict[str, float | None] = {
        **_longest_values(longest),
        "lb_timeout_counts_upload": float(budget.lb_timeout_counts_upload(EDGE_LB_SCHEME) or 0),
        "a_proxy_read_timeout": edge.proxy_read_timeout_seconds,
        "a_upstream_keepalive_timeout": edge.upstream_keepalive_timeout_seconds,
        "a_upstream_keepalive_time": edge.upstream_keepalive_time_seconds,
        "kong_connect_timeout_ms": route.connect_timeout_ms,
        "kong_read_timeout_ms": route.read_timeout_ms,
        "kong_retries": route.retries,
        "kong_prestop": kong.quit_wait_seconds,
        "kong_drain": kong.quit_timeout_seconds,
        # Kong's one upstream keepalive setting must idle out before every runtime's.
        "rt_keepalive_idle": min(rt.keepalive_idle_timeout_seconds for rt in cfg.runtimes),
        "downstream_idle": min(relay.proxy_timeout_seconds, kong.client_keepalive_timeout_seconds),
        "b_drain": relay.connection_draining_timeout_sec,
        # Every pool of the stack runs the cluster autoscaler (min/max_nodes_per_zone).
        "grace_cap": budget.grace_cap_seconds(t.max_drain_seconds, autoscaled=True),
        "maintenance_blocks": budget.maintenance_blocks_per_32_days(
            None if days is None else len(days)
        ),
    }
    for tier, mig, drain in (
        ("a", edge.mig, edge.connection_draining_timeout_sec),
        ("b", relay.mig, relay.connection_draining_timeout_sec),
    ):
        values[f"{tier}_zones"] = len(cfg.platform.zones)
        values[f"{tier}_hc_interval"] = mig.lb_health_check.check_interval_sec
        values[f"{tier}_hc_timeout"] = mig.lb_health_check.timeout_sec
        # The updater counts a new VM once the group's (autohealing) health check passed once.
        check = mig.autohealing_health_check
        values |= {
            f"{tier}_mig_size": mig.target_size,
            f"{tier}_mig_surge": mig.max_surge_fixed,
            f"{tier}_mig_unavailable": MIG_MAX_UNAVAILABLE_FIXED,
            f"{tier}_mig_time_to_healthy": budget.ProbeTiming(
                period_seconds=check.check_interval_sec,
                timeout_seconds=check.timeout_sec,
                success_threshold=check.healthy_threshold,
            ).worst_time_to_pass(t.mig_boot_seconds),
            f"{tier}_mig_min_ready": mig.min_ready_sec,
            f"{tier}_mig_drain": drain,
        }
    values |= rollout_values(cfg.thresholds, "kong", kong, None)
    return values


def _longest_values(longest: budget.LongestRequests) -> dict[str, float | None]:
    """The catalog's `longest_*` inputs."""
    names = ("client_upload", "internal_transfer", "a", "b", "c", "d")
    return {f"longest_{name}": float(getattr(longest, name)) for name in names}


def rollout_values(
    thresholds: Thresholds,
    prefix: str,
    work: RuntimeConfig | KongConfig,
    startup: ProbeConfig | None,
) -> dict[str, float | None]:
    """The `<prefix>_rollout_*` inputs of a Deployment's await (catalog `<prefix>-await`)."""
    return {
        f"{prefix}_rollout_replicas": work.autoscaling.max_replicas,
        f"{prefix}_rollout_surge": ROLLING_MAX_SURGE,
        f"{prefix}_rollout_unavailable": ROLLING_MAX_UNAVAILABLE,
        f"{prefix}_time_to_available": budget.worst_time_to_available(
            work.readiness.timing(),
            startup.timing() if startup is not None else None,
            work.min_ready_seconds,
            thresholds.pod_start_seconds,
        ),
        f"{prefix}_rollout_grace": work.termination_grace_seconds,
        f"{prefix}_progress_deadline": work.progress_deadline_seconds,
    }


def runtime_await(
    runtime: RuntimeConfig, profile: TrafficProfile, thresholds: Thresholds
) -> catalog.Outcome:
    """The catalog's `rt-await` judged on one runtime outside a chain's config.

    For a runtime another stack adds: its set await, or the bound in whole minutes when unset
    (`outcome.value`).
    """
    pack = PackConfig(
        profile=path_profile(profile, runtime.profile.overrides()), thresholds=thresholds
    )
    values = rollout_values(thresholds, "rt", runtime, runtime.startup)
    return _outcome(catalog.entry("rt-await"), runtime.await_timeout_seconds, pack, values)


def runtime_values(cfg: StackConfig, runtime: RuntimeConfig) -> dict[str, float | None]:
    """The catalog's inputs of the path A -> B -> C -> `runtime`, over the shared ones.

    Its own longest requests, its Kong Service, its server settings and its rollout.
    """
    route = runtime.kong
    return {
        **config_values(cfg),
        **_longest_values(cfg.longest_requests(runtime)),
        "kong_connect_timeout_ms": route.connect_timeout_ms,
        "kong_read_timeout_ms": route.read_timeout_ms,
        "kong_retries": route.retries,
        "rt_request_timeout": runtime.request_timeout_seconds,
        "rt_keepalive_idle": runtime.keepalive_idle_timeout_seconds,
        "rt_prestop": runtime.prestop_seconds,
        "worst_time_to_available": budget.worst_time_to_available(
            runtime.readiness.timing(),
            runtime.startup.timing(),
            runtime.min_ready_seconds,
            cfg.thresholds.pod_start_seconds,
        ),
        **rollout_values(cfg.thresholds, "rt", runtime, runtime.startup),
    }


def _time_to_available(
    cfg: StackConfig, work: RuntimeConfig | KongConfig, startup: ProbeConfig | None
) -> float:
    """One new pod's worst time to Available (`budget.worst_time_to_available`)."""
    return budget.worst_time_to_available(
        work.readiness.timing(),
        startup.timing() if startup is not None else None,
        work.min_ready_seconds,
        cfg.thresholds.pod_start_seconds,
    )


def pool_values(cfg: StackConfig, pool: NodePoolConfig) -> dict[str, float | None]:
    """The catalog's `pool_*` inputs for one node pool's upgrade."""
    t = cfg.thresholds
    zones = len(cfg.platform.zones)
    nodes_min = pool.min_nodes_per_zone * zones
    workloads: list[tuple[RuntimeConfig | KongConfig, ProbeConfig | None]] = [
        *((rt, rt.startup) for rt in cfg.runtimes),
        (cfg.kong, None),
    ]
    # A node's drain: the worst over the workloads it carries (PDB waits, then grace).
    drain = max(
        budget.node_drain_seconds(
            math.ceil(work.autoscaling.max_replicas / nodes_min),
            _time_to_available(cfg, work, startup),
            work.termination_grace_seconds,
            t.max_drain_seconds,
        )
        for work, startup in workloads
    )
    blue_green = pool.strategy is UpgradeStrategy.BLUE_GREEN
    return {
        "pool_nodes": pool.max_nodes_per_zone * zones,
        "pool_surge": pool.max_surge,
        "pool_unavailable": pool.max_unavailable,
        "pool_drain": drain,
        "pool_blue_green": 1 if blue_green else 0,
        "pool_batch": pool.batch_node_count,
        "pool_batch_soak": _duration_seconds(pool.batch_soak_duration),
        "pool_soak": _duration_seconds(pool.node_pool_soak_duration),
    }


POOL_KEY = "cluster.node_pools."
"""Stack-key prefix of the settings each node pool has (`cluster.node_pools.<setting>`)."""
RUNTIME_KEY = "runtimes."
"""Stack-key prefix of the settings each runtime service has (`runtimes.<setting>`); a problem
names the item (`hitless:runtimes.<index>.<setting>`)."""


def config_value(cfg: StackConfig, key: str, runtime: RuntimeConfig | None = None) -> float | None:
    """The config's value at a stack key (dotted path, without the `hitless:` prefix).

    A runtime's setting (`runtimes.<setting>`) is read on `runtime` (None: the first).
    None: an optional setting left unset (an await sized from its bound) or a setting of each
    node pool (`cluster.node_pools.<setting>`, judged once per pool).
    """
    if key.startswith(POOL_KEY):
        return None
    node: object = cfg
    if key.startswith(RUNTIME_KEY):
        node = runtime if runtime is not None else cfg.runtimes[0]
        key = key.removeprefix(RUNTIME_KEY)
    for part in key.split("."):
        node = getattr(node, part)
    if node is None:
        return None
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise TypeError(f"{key} is not a number: {node!r}")
    return node


def stack_key(cfg: StackConfig, outcome: catalog.Outcome) -> str:
    """The stack key an outcome judges: a runtime's setting names its item's index."""
    key = outcome.entry.key
    if key.startswith(RUNTIME_KEY) and outcome.where:
        index = [runtime.name for runtime in cfg.runtimes].index(outcome.where)
        return f"{RUNTIME_KEY}{index}.{key.removeprefix(RUNTIME_KEY)}"
    return key


def _outcome(
    item: catalog.Entry, value: float | None, pack: PackConfig, values: catalog.Values
) -> catalog.Outcome:
    """`item` judged on `value`; an unset await takes its bound in whole minutes."""
    if value is None and item.section == "await":
        value = budget.await_timeout_seconds(item.formula(catalog.Ctx(pack, values)), 0)
    return item.judge(value, pack, values)


def catalog_outcomes(cfg: StackConfig) -> list[catalog.Outcome]:
    """Every catalog entry judged on this config.

    A node pool's entries are judged once per pool, a runtime's once per runtime on its own
    path's promise; the rest once, on the promise every path crosses (the largest body).
    """
    shared = PackConfig(profile=cfg.shared_profile(), thresholds=cfg.thresholds)
    values = config_values(cfg)
    paths = {
        runtime.name: (
            PackConfig(profile=cfg.path_profile(runtime), thresholds=cfg.thresholds),
            runtime_values(cfg, runtime),
        )
        for runtime in cfg.runtimes
    }
    out: list[catalog.Outcome] = []
    for item in catalog.ENTRIES.values():
        if item.key.startswith(RUNTIME_KEY):
            for runtime in cfg.runtimes:
                pack, own = paths[runtime.name]
                judged = _outcome(item, config_value(cfg, item.key, runtime), pack, own)
                out.append(dataclasses.replace(judged, where=runtime.name))
            continue
        if not item.key.startswith(POOL_KEY):
            out.append(_outcome(item, config_value(cfg, item.key), shared, values))
            continue
        for pool in cfg.cluster.node_pools:
            judged = _outcome(item, None, shared, {**values, **pool_values(cfg, pool)})
            out.append(dataclasses.replace(judged, where=pool.name))
    return out


def outcome_pack(cfg: StackConfig, outcome: catalog.Outcome) -> tuple[PackConfig, catalog.Values]:
    """The pack config and inputs an outcome was judged with (for its consequence text)."""
    if outcome.entry.key.startswith(RUNTIME_KEY) and outcome.where:
        runtime = cfg.runtime_named(outcome.where)
        pack = PackConfig(profile=cfg.path_profile(runtime), thresholds=cfg.thresholds)
        return pack, runtime_values(cfg, runtime)
    pack = PackConfig(profile=cfg.shared_profile(), thresholds=cfg.thresholds)
    return pack, config_values(cfg)


def _await_key(item: catalog.Outcome) -> str:
    """The rollout's key in `await_timeout`: `runtimes.rt`, `edge.mig`, `cluster.node_pools.x`."""
    if item.where and item.entry.key.startswith(RUNTIME_KEY):
        return f"{RUNTIME_KEY}{item.where}"
    if item.where:
        return f"{POOL_KEY}{item.where}"
    return item.entry.key.removesuffix(".await_timeout_seconds")


AWAIT_FIX: dict[str, str] = {"await": ", or remove it so it is sized from the rollout"}
"""The other fix of an await set in the stack: leave it to the bound."""


def _chain_problems(cfg: StackConfig) -> list[str]:
    """Cross-tier bounds, each as 'hitless:<key> = value: consequence. Fix: ...'.

    The bounds are the catalog's (`hitless_policy.catalog`), the same the rules judge the
    rendered resources with; the rest are checks of the config's own shape.
    """
    out: list[str] = []
    net = cfg.platform.network

    def need(ok: bool, key: str, value: object, consequence: str, fix: str) -> None:  # noqa: FBT001
        if not ok:
            out.append(f"{PROJECT}:{key} = {value}: {consequence}. Fix: {fix}.")

    need(
        net.b_ilb_address in net.b_cidr,
        "platform.network.b_ilb_address",
        net.b_ilb_address,
        f"it is outside b_cidr {net.b_cidr}, so the internal NLB address cannot be reserved",
        f"pick an address inside {net.b_cidr}",
    )
    need(
        net.kong_ilb_address in net.gke_nodes_cidr,
        "platform.network.kong_ilb_address",
        net.kong_ilb_address,
        f"it is outside gke_nodes_cidr {net.gke_nodes_cidr}, so Kong's internal LB cannot use it",
        f"pick an address inside {net.gke_nodes_cidr}",
    )
    for outcome in catalog_outcomes(cfg):
        if outcome.status == "fail":
            pack, values = outcome_pack(cfg, outcome)
            runtime = (
                cfg.runtime_named(outcome.where)
                if outcome.entry.key.startswith(RUNTIME_KEY)
                else None
            )
            on = f"runtime '{runtime.name}': " if runtime is not None else ""
            need(
                False,
                stack_key(cfg, outcome),
                config_value(cfg, outcome.entry.key, runtime),
                on + outcome.consequence(catalog.Ctx(pack, values)),
                outcome.fix() + AWAIT_FIX.get(outcome.entry.section, ""),
            )
    kong = cfg.kong
    scaled: list[tuple[str, AutoscalingConfig, int]] = [
        ("kong.autoscaling.min_replicas", kong.autoscaling, kong.replicas)
    ]
    for index, rt in enumerate(cfg.runtimes):
        need(
            not (rt.liveness_path == rt.health_path and rt.liveness == rt.readiness),
            f"runtimes.{index}.liveness",
            rt.liveness.model_dump(),
            "liveness is identical to readiness, so a slow pod is restarted instead of taken out "
            "of rotation",
            f"give liveness its own path ({PROJECT}:runtimes.{index}.liveness_path) or a higher "
            "failure_threshold",
        )
        scaled.append((f"runtimes.{index}.autoscaling.min_replicas", rt.autoscaling, rt.replicas))
    for key, scaling, replicas in scaled:
        need(
            replicas in range(scaling.min_replicas, scaling.max_replicas + 1),
            key,
            scaling.min_replicas,
            f"the HPA range {scaling.min_replicas}-{scaling.max_replicas} does not contain the "
            f"Deployment's replicas ({replicas}), so the HPA resizes it at once",
            "make min_replicas <= replicas <= max_replicas",
        )
    return out


def _duration_seconds(text: str) -> float:
    """Seconds of a GKE duration string such as `1800s` (validated by the model's pattern)."""
    return float(text.removesuffix("s"))


class StackConfigError(ValueError):
    """A stack file that would not give a hitless chain; the message lists every problem."""


STACK_KEYS: tuple[str, ...] = tuple(StackConfig.model_fields)
"""The stack keys (`hitless:<key>`) the program reads."""

SECRET_STACK_KEYS: tuple[str, ...] = ("kongAdminToken",)
"""Secret stack keys read where they are used (`pulumi config set --secret hitless:<key>`)."""


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside a field annotation (`X`, `X | None`, `list[X]`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _describe(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The description of the field at `loc`, for the 'why' part of a message."""
    current: type[BaseModel] | None = model
    description = ""
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part)
        if field is None:
            break
        description = field.description or description
        current = _model_in(field.annotation)
    return description


def _sentence(text: str) -> str:
    """Pydantic's message as a clause: first letter lowered, values left as they are."""
    return text[:1].lower() + text[1:]


MAX_LINE = 1000
"""Longest line of a config error: a message never repeats a huge value whole."""


def shown(value: object, width: int = CLIP) -> str:
    """JSON text of `value` as a message repeats it: at most `width` characters.

    The value is rendered only until the width is reached, so a huge or deeply nested input
    costs no more than its first characters.
    """
    out: list[str] = []
    size = 0
    todo: list[object] = [value]
    while todo and size <= width:
        item = todo.pop()
        if isinstance(item, _Token):
            text = item.text
        elif isinstance(item, Mapping):
            todo.append(_Token("}"))
            pairs = list(item.items())
            for index in range(len(pairs) - 1, -1, -1):
                todo.extend(
                    (
                        pairs[index][1],
                        _Token(": "),
                        _Token(json.dumps(str(pairs[index][0])[:width])),
                    )
                )
                if index:
                    todo.append(_Token(", "))
            text = "{"
        elif isinstance(item, list | tuple):
            todo.append(_Token("]"))
            for index in range(len(item) - 1, -1, -1):
                todo.append(item[index])
                if index:
                    todo.append(_Token(", "))
            text = "["
        elif isinstance(item, int) and not isinstance(item, bool) and item.bit_length() > 200:
            text = f"<integer of about {math.ceil(item.bit_length() * math.log10(2))} digits>"
        elif isinstance(item, bool | int | float) or item is None:
            text = json.dumps(item)
        else:
            text = json.dumps(str(item)[:width])
        out.append(text)
        size += len(text)
    text = "".join(out)
    return text if size <= width and not todo else f"{text[: width - 1]}…"


class _Token:
    """Literal text (a bracket or separator) in `shown`'s work list."""

    def __init__(self, text: str) -> None:
        self.text = text


def format_validation_error(
    error: ValidationError,
    stack: str,
    *,
    model: type[BaseModel] = StackConfig,
    prefix: str = PROJECT,
    source: str | None = None,
) -> str:
    """One line per problem: the stack key, the value, what goes wrong, and the fix.

    `model` is the validated model (its field descriptions explain a value), `prefix` the keys'
    namespace and `source` where the value is set (default: the stack file).
    """
    source = source or f"stacks/Pulumi.{stack}.yaml"
    lines = [f"stack {stack!r}: the config does not give a hitless chain:"]
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        key = ".".join(str(part) for part in loc)
        key = f"{prefix}:{key}" if key else f"{prefix}:<root>"
        kind = item["type"]
        value = shown(item.get("input"))
        why = _describe(model, loc).rstrip(".")
        if kind == "value_error" and not loc:
            lines.extend(
                f"  - {clip(line, MAX_LINE)}" for line in str(item["ctx"]["error"]).splitlines()
            )
            continue
        if kind == "value_error":
            lines.append(f"  - {key}: {clip(str(item['ctx']['error']), MAX_LINE)}")
            continue
        if kind == "extra_forbidden":
            lines.append(
                f"  - {key} = {value}: unknown key; it would be silently ignored, so the setting "
                f"you meant is not applied. Fix: remove it or correct its spelling (see "
                f"docs/config.md)."
            )
        elif kind == "missing":
            lines.append(f"  - {key} is required and missing ({why}). Fix: set it in {source}.")
        else:
            lines.append(
                f"  - {key} = {value}: {_sentence(item['msg'])}. The field is: {why}; with this "
                f"value the stack cannot be built as described. Fix: set {key} to a value that "
                f"satisfies '{_sentence(item['msg'])}' in {source}."
            )
    return "\n".join(lines)


def _migration_problems(values: Mapping[str, Any]) -> list[str]:
    """Keys of the one-runtime layout, each with the move that replaces it.

    A chain carries a list of runtime services (`hitless:runtimes`); Kong's per-service settings
    moved into each runtime's `kong` block. The old keys are refused, never read beside the new.
    """
    out: list[str] = []
    if "runtime" in values:
        out.append(
            f"  - {PROJECT}:runtime = {shown(values['runtime'])}: the single-runtime key is "
            f"replaced by {PROJECT}:runtimes, a list of runtime services, and is no longer read, "
            f"so this runtime would not be deployed. Fix: rename the key to {PROJECT}:runtimes "
            "and make its object the first item of the list (`runtimes: [{name: rt, ...}]`)."
        )
    kong = values.get("kong")
    if isinstance(kong, Mapping):
        moved = [key for key in MOVED_KONG_KEYS if key in kong]
        if moved:
            out.append(
                f"  - {PROJECT}:kong = {shown({key: kong[key] for key in moved})}: "
                f"{', '.join(moved)} are settings of each runtime's Kong Service and Route now, "
                f"no longer read from {PROJECT}:kong, so they would not be applied. Fix: move "
                f"them to {PROJECT}:runtimes[].kong (e.g. `runtimes: [{{name: rt, kong: "
                f"{{{moved[0]}: ...}}}}]`)."
            )
    return out


def load_stack_config(values: Mapping[str, Any], stack: str) -> StackConfig:
    """Validate a stack's `hitless:*` values (already parsed from YAML/JSON) as one model.

    `values` maps a stack key without the `hitless:` prefix (e.g. `runtime`) to its object.
    Unknown keys are errors. Raises `StackConfigError` listing every problem.
    """
    migration = _migration_problems(values)
    if migration:
        raise StackConfigError(
            "\n".join([f"stack {stack!r}: keys of an older layout:", *migration])
        )
    unknown = sorted(set(values) - set(STACK_KEYS) - set(SECRET_STACK_KEYS))
    if unknown:
        lines = [f"stack {stack!r}: unknown stack key(s):"]
        for key in unknown:
            close = difflib.get_close_matches(key, STACK_KEYS, n=1)
            hint = f"did you mean {PROJECT}:{close[0]}? " if close else ""
            lines.append(
                f"  - {PROJECT}:{clip(key)} = {shown(values[key])}: unknown key; it "
                f"would be silently ignored, so the setting you meant is not applied. Fix: "
                f"{hint}use only " + ", ".join(f"{PROJECT}:{known}" for known in STACK_KEYS) + "."
            )
        raise StackConfigError("\n".join(lines))
    try:
        return StackConfig.model_validate(
            {key: value for key, value in values.items() if key not in SECRET_STACK_KEYS}
        )
    except ValidationError as error:
        raise StackConfigError(format_validation_error(error, stack)) from None


class GcpProviderConfig(BaseModel):
    """The Google provider's stack keys the program relies on (`gcp:*`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # Project ids: 6-30 lowercase letters, digits or hyphens, starting with a letter, no trailing
    # hyphen (Resource Manager v3, Project.projectId); legacy ids carry a `domain:` prefix.
    project: str = Field(
        pattern=r"^([a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$",
        description=(
            "GCP project every resource is created in (`gcp:project`); the GKE cluster, its node "
            "service account and the instance templates name it."
        ),
    )


def load_provider_config(values: Mapping[str, Any], stack: str) -> GcpProviderConfig:
    """Validate the stack's `gcp:*` values (keyed without the prefix) before any resource.

    Raises `StackConfigError` naming `gcp:<key>`, the value, the consequence and the fix.
    """
    try:
        return GcpProviderConfig.model_validate(values)
    except ValidationError as error:
        lines = [f"stack {stack!r}: the Google provider's config is incomplete:"]
        for item in error.errors(include_url=False):
            key = "gcp:" + ".".join(str(part) for part in item["loc"])
            fix = (
                f"Fix: set `{key}: <project id>` in stacks/Pulumi.{stack}.yaml "
                f"(pulumi config set {key} <project id>)."
            )
            if item["type"] == "missing":
                lines.append(
                    f"  - {key} is required and missing: without it no resource has a project "
                    f"to be created in and the program stops half-way. {fix}"
                )
            else:
                lines.append(
                    f"  - {key} = {shown(item.get('input'))}: {_sentence(item['msg'])}; GCP "
                    f"rejects every resource of a project id it does not know. {fix}"
                )
        raise StackConfigError("\n".join(lines)) from None
