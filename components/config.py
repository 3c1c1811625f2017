"""The stack config model: every value a stack file may set, its default, its bounds.

`stacks/Pulumi.<env>.yaml` holds one structured object per key below (`hitless:<key>`);
`load_stack_config` validates them together, once, before any resource is registered. A bad
value fails with a message naming the stack key, the value, the consequence and the fix.

Cross-tier bounds use the formulas of `hitless_policy.budget`, the same the policy pack judges
the rendered resources with, so a stack that loads is one the pack accepts.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hitless_policy import budget
from hitless_policy.loader import CLIP, clip
from hitless_policy.profile import Thresholds, TrafficProfile

PROJECT = "hitless"
"""Pulumi project name, the namespace of every stack key."""

GOOGLE_FRONTEND_RANGES: tuple[ipaddress.IPv4Network, ...] = (
    ipaddress.IPv4Network("35.191.0.0/16"),
    ipaddress.IPv4Network("130.211.0.0/22"),
)
"""Source ranges of Google's health checkers and GFE proxies (admitted to GCE backends)."""

Port = Annotated[int, Field(ge=1, le=65535)]
Seconds = Annotated[int, Field(ge=1, le=86400)]
DrainSeconds = Annotated[int, Field(ge=1, le=3600)]
K8sName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
Quantity = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")]
# Kong's schema bounds every timeout to 0..2^31-2 ms (Kong/kong kong/db/schema/typedefs.lua,
# typedefs.timeout).
KongTimeoutMs = Annotated[int, Field(ge=1, le=2**31 - 2)]
MAX_BODY_MIB = 1024 * 1024
"""Largest body size any tier may be configured with (1 TiB): beyond it a number is a typo."""
MAX_COUNT = 10_000_000
"""Largest request or connection count a keepalive setting may take."""


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
        default=90,
        description="nginx proxy_read_timeout; must outlast Kong's worst case with retries.",
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
        default=60,
        description=(
            "Lifetime of a pooled connection to B (nginx keepalive_time); with the idle timeout "
            "and B's longest request it must fit in B's drain."
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


class KongConfig(_Model):
    """Tier C: the Kong data plane (`hitless:kong`)."""

    namespace: K8sName = Field(default="kong", description="Namespace of Kong's objects.")
    image: str = Field(default="kong:3.9.1", description="Kong Gateway image.")
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
            "connections (covers profile lb_propagation_seconds)."
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
    connect_timeout_ms: KongTimeoutMs = Field(
        default=2000, description="Kong Service connect_timeout (ms), per try."
    )
    write_timeout_ms: KongTimeoutMs = Field(
        default=60000, description="Kong Service write_timeout (ms): gap between two writes."
    )
    read_timeout_ms: KongTimeoutMs = Field(
        default=60000, description="Kong Service read_timeout (ms); above the runtime's timeout."
    )
    retries: Annotated[int, Field(ge=0, le=32767)] = Field(
        default=2, description="Kong Service retries (connect failures, also for POST)."
    )
    request_buffering: bool = Field(
        default=True, description="Kong route request_buffering; keeps POSTs retryable."
    )
    route_paths: list[str] = Field(
        default_factory=lambda: ["/"], min_length=1, description="Paths routed to the runtime."
    )
    hybrid: KongHybridConfig | None = Field(
        default=None,
        description="Hybrid mode (control plane); null for DB-less declarative config.",
    )


class RuntimeConfig(_Model):
    """Tier D: the runtime (RT) Deployment (`hitless:runtime`)."""

    name: K8sName = Field(default="rt", description="Name of the runtime's Deployment/Service.")
    namespace: K8sName = Field(default="rt", description="Namespace of the runtime's objects.")
    image: str = Field(min_length=1, description="The runtime's container image (required).")
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
    runtime: RuntimeConfig = Field(description="Tier D (`hitless:runtime`).")

    def longest_requests(self) -> budget.LongestRequests:
        """Each tier's longest request for this stack's profile and buffering."""
        return budget.longest_requests(
            self.profile,
            buffering_at_a=self.edge.proxy_request_buffering,
            buffering_at_c=self.kong.request_buffering,
        )

    @model_validator(mode="after")
    def _chain_is_hitless(self) -> Self:
        problems = list(_chain_problems(self))
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _at_least(bound: float) -> int:
    """Smallest whole value satisfying `value >= bound`."""
    return math.ceil(bound)


def _above(bound: float) -> int:
    """Smallest whole value satisfying `value > bound`."""
    return math.floor(bound) + 1


def _chain_problems(cfg: StackConfig) -> list[str]:
    """Cross-tier bounds, each as 'hitless:<key>.<field> = value: consequence. Fix: ...'."""
    out: list[str] = []
    p, t = cfg.profile, cfg.thresholds
    longest = cfg.longest_requests()
    net = cfg.platform.network
    margin = t.margin_seconds

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
    zones = len(cfg.platform.zones)
    for key, mig in (("edge", cfg.edge.mig), ("relay", cfg.relay.mig)):
        need(
            mig.max_surge_fixed >= zones,
            f"{key}.mig.max_surge_fixed",
            mig.max_surge_fixed,
            f"a regional MIG over {zones} zones needs a surge of 0 or at least one per zone, and "
            "0 would take serving instances away",
            f"set it to >= {zones}",
        )
        need(
            mig.autohealing_initial_delay_sec >= t.mig_boot_seconds,
            f"{key}.mig.autohealing_initial_delay_sec",
            mig.autohealing_initial_delay_sec,
            f"autohealing would recreate instances that are still booting, in a loop (boot plus "
            f"nginx start {t.mig_boot_seconds:g} s)",
            f"raise it to >= {_at_least(t.mig_boot_seconds)}",
        )
        need(
            mig.min_ready_sec >= p.lb_propagation_seconds,
            f"{key}.mig.min_ready_sec",
            mig.min_ready_sec,
            f"the updater may delete an old instance before the LB sends traffic to the new one "
            f"(LB propagation {p.lb_propagation_seconds:g} s)",
            f"raise it to >= {p.lb_propagation_seconds:g}",
        )

    # cluster-maintenance-window-valid, on this stack's thresholds
    window = cfg.cluster.maintenance
    days = None if window.days is None else len(window.days)
    hours = budget.maintenance_hours_per_32_days(window.duration_hours, days)
    need(
        window.duration_hours >= t.min_maintenance_block_hours,
        "cluster.maintenance.duration_hours",
        window.duration_hours,
        f"GKE does not count blocks shorter than {t.min_maintenance_block_hours:g} h and rejects "
        "the window, so auto-upgrades cannot be scheduled",
        f"set it to >= {_at_least(t.min_maintenance_block_hours)}",
    )
    need(
        hours >= t.min_maintenance_hours_per_32_days,
        "cluster.maintenance.days",
        [day.value for day in window.days or []],
        f"with duration_hours {window.duration_hours} the window gives {hours:g} h per 32 days < "
        f"{t.min_maintenance_hours_per_32_days:g} h, and GKE rejects it",
        "add days or lengthen duration_hours",
    )

    # chain-body-size-accepted
    need(
        cfg.edge.client_max_body_mib >= p.max_body_mib,
        "edge.client_max_body_mib",
        cfg.edge.client_max_body_mib,
        f"A answers 413 to a {p.max_body_mib:g} MiB upload",
        f"raise it to >= {p.max_body_mib:g}",
    )
    need(
        cfg.kong.client_max_body_mib == 0 or cfg.kong.client_max_body_mib >= p.max_body_mib,
        "kong.client_max_body_mib",
        cfg.kong.client_max_body_mib,
        f"Kong answers 413 to a {p.max_body_mib:g} MiB upload",
        f"set it to 0 (unlimited) or >= {p.max_body_mib:g}",
    )
    need(
        cfg.runtime.max_body_mib >= p.max_body_mib,
        "runtime.max_body_mib",
        cfg.runtime.max_body_mib,
        f"the runtime refuses a {p.max_body_mib:g} MiB upload",
        f"raise it to >= {p.max_body_mib:g}",
    )

    # chain-request-timeouts-ordered
    kong_worst = budget.kong_worst_case_seconds(
        cfg.kong.connect_timeout_ms, cfg.kong.read_timeout_ms, cfg.kong.retries
    )
    lb_min = budget.min_lb_timeout_seconds(
        longest.client_upload, cfg.edge.proxy_read_timeout_seconds
    )
    need(
        cfg.edge.backend_timeout_sec > lb_min,
        "edge.backend_timeout_sec",
        cfg.edge.backend_timeout_sec,
        f"the LB gives up on a slow upload before A does (upload {longest.client_upload:.1f} s + "
        f"A proxy_read_timeout {cfg.edge.proxy_read_timeout_seconds} s = {lb_min:.1f} s)",
        f"raise it to >= {_above(lb_min)}",
    )
    a_min = budget.min_a_proxy_read_timeout_seconds(kong_worst)
    need(
        cfg.edge.proxy_read_timeout_seconds > a_min,
        "edge.proxy_read_timeout_seconds",
        cfg.edge.proxy_read_timeout_seconds,
        f"A answers 504 while Kong is still within its worst case ({a_min:g} s: connect "
        f"{cfg.kong.connect_timeout_ms} ms x (1 + {cfg.kong.retries} retries) + read "
        f"{cfg.kong.read_timeout_ms} ms)",
        f"raise it above {a_min:g} or lower Kong's timeouts",
    )
    need(
        cfg.kong.read_timeout_ms / 1000 > cfg.runtime.request_timeout_seconds,
        "kong.read_timeout_ms",
        cfg.kong.read_timeout_ms,
        f"Kong answers 504 before the runtime's own timeout "
        f"({cfg.runtime.request_timeout_seconds} s) ends the request",
        f"raise it above {cfg.runtime.request_timeout_seconds * 1000}",
    )
    need(
        cfg.runtime.request_timeout_seconds >= p.rt_max_processing_seconds,
        "runtime.request_timeout_seconds",
        cfg.runtime.request_timeout_seconds,
        f"the runtime cuts requests shorter than the longest processing "
        f"({p.rt_max_processing_seconds:g} s)",
        f"raise it to >= {p.rt_max_processing_seconds:g}",
    )

    # chain-keepalive-timeouts-ordered
    need(
        cfg.edge.keepalive_timeout_seconds > t.gfe_backend_keepalive_seconds,
        "edge.keepalive_timeout_seconds",
        cfg.edge.keepalive_timeout_seconds,
        f"A may close a connection the LB reuses (GFE keeps backend connections "
        f"{t.gfe_backend_keepalive_seconds} s) -> 502",
        f"raise it above {t.gfe_backend_keepalive_seconds}",
    )
    downstream_idle = min(
        cfg.relay.proxy_timeout_seconds, cfg.kong.client_keepalive_timeout_seconds
    )
    need(
        cfg.edge.upstream_keepalive_timeout_seconds < downstream_idle,
        "edge.upstream_keepalive_timeout_seconds",
        cfg.edge.upstream_keepalive_timeout_seconds,
        f"A may reuse a pooled connection that B or Kong already closed (min idle "
        f"{downstream_idle} s); a POST on it fails with 502 and is never retried",
        f"lower it below {downstream_idle}",
    )
    need(
        cfg.kong.upstream_keepalive_idle_timeout_seconds
        < cfg.runtime.keepalive_idle_timeout_seconds,
        "kong.upstream_keepalive_idle_timeout_seconds",
        cfg.kong.upstream_keepalive_idle_timeout_seconds,
        f"Kong may reuse a connection the runtime closed after "
        f"{cfg.runtime.keepalive_idle_timeout_seconds} s idle; a POST on it fails with 502",
        f"lower it below {cfg.runtime.keepalive_idle_timeout_seconds}",
    )

    # chain-idle-timeouts-cover-silence
    need(
        cfg.relay.proxy_timeout_seconds >= cfg.edge.proxy_read_timeout_seconds,
        "relay.proxy_timeout_seconds",
        cfg.relay.proxy_timeout_seconds,
        f"B cuts a flow that is silent while A still waits (A proxy_read_timeout "
        f"{cfg.edge.proxy_read_timeout_seconds} s)",
        f"raise it to >= {cfg.edge.proxy_read_timeout_seconds}",
    )

    # chain-drain-covers-longest-request
    for key, value, tier in (
        ("edge.connection_draining_timeout_sec", cfg.edge.connection_draining_timeout_sec, "a"),
        ("edge.worker_shutdown_timeout_seconds", cfg.edge.worker_shutdown_timeout_seconds, "a"),
        ("relay.connection_draining_timeout_sec", cfg.relay.connection_draining_timeout_sec, "b"),
        ("relay.worker_shutdown_timeout_seconds", cfg.relay.worker_shutdown_timeout_seconds, "b"),
        ("kong.quit_timeout_seconds", cfg.kong.quit_timeout_seconds, "c"),
    ):
        bound = longest.for_tier(tier)
        need(
            value >= bound,
            key,
            value,
            f"in-flight requests are cut while tier {tier.upper()} drains (longest request "
            f"{bound:.1f} s)",
            f"raise it to >= {_at_least(bound)}",
        )

    # chain-pooled-connections-recycled
    span = budget.pooled_connection_span_seconds(
        cfg.edge.upstream_keepalive_time_seconds,
        cfg.edge.upstream_keepalive_timeout_seconds,
        longest.b,
    )
    b_drain = cfg.relay.connection_draining_timeout_sec
    need(
        span <= b_drain,
        "edge.upstream_keepalive_time_seconds",
        cfg.edge.upstream_keepalive_time_seconds,
        f"a pooled A->B connection may still carry a request {span:.1f} s after B starts draining "
        f"(keepalive_time {cfg.edge.upstream_keepalive_time_seconds} + keepalive_timeout "
        f"{cfg.edge.upstream_keepalive_timeout_seconds} + B's longest request {longest.b:.1f}), "
        f"longer than B's drain ({b_drain} s), so the B instance is deleted mid-request",
        f"lower it to <= {math.floor(b_drain - span + cfg.edge.upstream_keepalive_time_seconds)} "
        f"or raise {PROJECT}:relay.connection_draining_timeout_sec to >= {_at_least(span)}",
    )

    # chain-retries-safe
    need(
        t.kong_min_retries <= cfg.kong.retries <= t.kong_max_retries,
        "kong.retries",
        cfg.kong.retries,
        f"Kong retries outside {t.kong_min_retries}-{t.kong_max_retries}: none means a refused "
        "connection to a terminating pod is a 502; many multiply the worst case",
        f"set it between {t.kong_min_retries} and {t.kong_max_retries}",
    )
    need(
        cfg.kong.connect_timeout_ms <= t.kong_max_connect_timeout_ms,
        "kong.connect_timeout_ms",
        cfg.kong.connect_timeout_ms,
        "a try to a vanished pod stalls this long before Kong retries",
        f"lower it to <= {t.kong_max_connect_timeout_ms}",
    )

    # deployment-prestop-covers-propagation / deployment-grace-covers-drain
    rt = cfg.runtime
    need(
        rt.prestop_seconds < rt.termination_grace_seconds,
        "runtime.prestop_seconds",
        rt.prestop_seconds,
        f"the preStop sleep is not shorter than the grace period "
        f"({rt.termination_grace_seconds} s),"
        " so the runtime is killed before it can drain anything",
        f"lower it or raise {PROJECT}:runtime.termination_grace_seconds",
    )
    rt_prestop = budget.runtime_prestop_bound_seconds(p)
    need(
        rt.prestop_seconds >= rt_prestop,
        "runtime.prestop_seconds",
        rt.prestop_seconds,
        f"the runtime stops accepting before Kong's nodes stop sending it connections "
        f"(propagation {rt_prestop:g} s) -> connection refused, 502",
        f"raise it to >= {_at_least(rt_prestop)}",
    )
    rt_grace = budget.required_grace_seconds(rt.prestop_seconds, longest.d, margin)
    need(
        rt.termination_grace_seconds >= rt_grace,
        "runtime.termination_grace_seconds",
        rt.termination_grace_seconds,
        f"the runtime is killed mid-request (preStop {rt.prestop_seconds} + longest request "
        f"{longest.d:.1f} + margin {margin:g} = {rt_grace:.1f} s)",
        f"raise it to >= {_at_least(rt_grace)}",
    )
    kong = cfg.kong
    kong_wait = budget.kong_quit_wait_bound_seconds(p)
    need(
        kong.quit_wait_seconds >= kong_wait,
        "kong.quit_wait_seconds",
        kong.quit_wait_seconds,
        f"Kong stops accepting before the internal LB and kube-proxy stop sending it connections "
        f"(propagation {kong_wait:g} s)",
        f"raise it to >= {_at_least(kong_wait)}",
    )
    kong_grace = budget.required_grace_seconds(
        kong.quit_wait_seconds, kong.quit_timeout_seconds, margin
    )
    need(
        kong.termination_grace_seconds >= kong_grace,
        "kong.termination_grace_seconds",
        kong.termination_grace_seconds,
        f"Kong is killed before `kong quit` finishes (wait {kong.quit_wait_seconds} + timeout "
        f"{kong.quit_timeout_seconds} + margin {margin:g} = {kong_grace:.1f} s)",
        f"raise it to >= {_at_least(kong_grace)}",
    )
    for key, probe in (
        ("runtime.readiness.period_seconds", rt.readiness),
        ("kong.readiness.period_seconds", kong.readiness),
    ):
        need(
            probe.period_seconds <= t.max_probe_period_seconds,
            key,
            probe.period_seconds,
            "a pod that stopped serving keeps receiving traffic for several periods",
            f"lower it to <= {t.max_probe_period_seconds}",
        )
    need(
        not (rt.liveness_path == rt.health_path and rt.liveness == rt.readiness),
        "runtime.liveness",
        rt.liveness.model_dump(),
        "liveness is identical to readiness, so a slow pod is restarted instead of taken out of "
        "rotation",
        f"give liveness its own path ({PROJECT}:runtime.liveness_path) or a higher "
        "failure_threshold",
    )
    deadline = budget.required_progress_deadline_seconds(
        rt.readiness.timing(),
        rt.startup.timing(),
        rt.min_ready_seconds,
        t.pod_start_seconds,
        margin,
    )
    need(
        rt.progress_deadline_seconds >= deadline,
        "runtime.progress_deadline_seconds",
        rt.progress_deadline_seconds,
        f"the rollout is reported failed while a new pod may still be starting (worst time to "
        f"Available + margin {margin:g} = {deadline:.1f} s)",
        f"raise it to >= {_at_least(deadline)}",
    )
    for key, check in (
        ("edge.mig.lb_health_check", cfg.edge.mig.lb_health_check),
        ("relay.mig.lb_health_check", cfg.relay.mig.lb_health_check),
    ):
        unhealthy = budget.lb_time_to_unhealthy(
            check.check_interval_sec, check.timeout_sec, check.unhealthy_threshold
        )
        need(
            unhealthy <= t.max_lb_time_to_unhealthy_seconds,
            key,
            check.model_dump(),
            f"a dead backend stays in rotation {unhealthy:g} s (interval x unhealthy_threshold + "
            f"timeout) > {t.max_lb_time_to_unhealthy_seconds:g} s, failing requests meanwhile",
            "lower check_interval_sec or unhealthy_threshold",
        )
    for key, scaling, replicas in (
        ("runtime.autoscaling.min_replicas", rt.autoscaling, rt.replicas),
        ("kong.autoscaling.min_replicas", kong.autoscaling, kong.replicas),
    ):
        need(
            scaling.min_replicas <= replicas <= scaling.max_replicas,
            key,
            scaling.min_replicas,
            f"the HPA range {scaling.min_replicas}-{scaling.max_replicas} does not contain the "
            f"Deployment's replicas ({replicas}), so the HPA resizes it at once",
            "make min_replicas <= replicas <= max_replicas",
        )
    return out


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


def format_validation_error(error: ValidationError, stack: str) -> str:
    """One line per problem: the stack key, the value, what goes wrong, and the fix."""
    lines = [f"stack {stack!r}: the config does not give a hitless chain:"]
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        key = ".".join(str(part) for part in loc)
        key = f"{PROJECT}:{key}" if key else f"{PROJECT}:<root>"
        kind = item["type"]
        value = shown(item.get("input"))
        why = _describe(StackConfig, loc).rstrip(".")
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
            lines.append(
                f"  - {key} is required and missing ({why}). Fix: set it in "
                f"stacks/Pulumi.{stack}.yaml."
            )
        else:
            lines.append(
                f"  - {key} = {value}: {_sentence(item['msg'])}. The field is: {why}; with this "
                f"value the stack cannot be built as described. Fix: set {key} to a value that "
                f"satisfies '{_sentence(item['msg'])}' in stacks/Pulumi.{stack}.yaml."
            )
    return "\n".join(lines)


def load_stack_config(values: Mapping[str, Any], stack: str) -> StackConfig:
    """Validate a stack's `hitless:*` values (already parsed from YAML/JSON) as one model.

    `values` maps a stack key without the `hitless:` prefix (e.g. `runtime`) to its object.
    Unknown keys are errors. Raises `StackConfigError` listing every problem.
    """
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
