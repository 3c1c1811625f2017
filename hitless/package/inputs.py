"""Input types of the hitless component package, from `hitless.components.config`.

Generated; do not edit: run `python -m hitless.package.generate`. Each class mirrors one
config model, each docstring is the field's description and its default; optional inputs left
unset take the model's default. Values are plain (not Outputs): every setting a rule judges
must be known during a preview.
"""

from typing import NotRequired, TypedDict

from hitless.components.config import UpgradeStrategy


class NetworkConfig(TypedDict):
    """The VPC the chain runs in: one subnet per GCE tier and one for GKE."""

    a_cidr: NotRequired[str]
    """Subnet of tier A's instances (nginx L7). An IPv4 CIDR range. Default: `\"10.10.0.0/24\"`."""

    b_cidr: NotRequired[str]
    (
        "Subnet of tier B's instances (nginx L4) and of B's internal LB address. An IPv4 CIDR "
        'range. Default: `"10.10.1.0/24"`.'
    )

    gke_nodes_cidr: NotRequired[str]
    (
        "Primary range of the GKE subnet (nodes and Kong's internal LB address). An IPv4 CIDR "
        'range. Default: `"10.20.0.0/20"`.'
    )

    gke_pods_cidr: NotRequired[str]
    (
        "Secondary range for pod IPs (VPC-native cluster). An IPv4 CIDR range. Default: "
        '`"10.24.0.0/14"`.'
    )

    gke_services_cidr: NotRequired[str]
    """Secondary range for ClusterIP Services. An IPv4 CIDR range. Default: `\"10.28.0.0/20\"`."""

    gke_master_cidr: NotRequired[str]
    (
        "/28 range of the private control plane's endpoint. An IPv4 CIDR range. Default: "
        '`"172.16.0.0/28"`.'
    )

    b_ilb_address: NotRequired[str]
    (
        "Reserved internal address of B's passthrough NLB. A's nginx.conf embeds it, so it is a "
        "plain value known at preview, not a computed one. Must lie in `b_cidr`. An IPv4 address."
        ' Default: `"10.10.1.10"`.'
    )

    kong_ilb_address: NotRequired[str]
    (
        "Reserved internal address of Kong's GKE internal LoadBalancer Service; B's nginx.conf "
        'embeds it. Must lie in `gke_nodes_cidr`. An IPv4 address. Default: `"10.20.0.10"`.'
    )

    flow_log_sampling: NotRequired[float]
    (
        "Share of each subnet's flows VPC flow logs record (0 < x <= 1); every subnet logs its "
        "flows so a connection to or from any tier can be audited. Default: `0.5`."
    )

    flow_log_aggregation_interval: NotRequired[str]
    (
        'Aggregation interval of the VPC flow log entries. One of: `"INTERVAL_5_SEC"`, '
        '`"INTERVAL_30_SEC"`, `"INTERVAL_1_MIN"`, `"INTERVAL_5_MIN"`, `"INTERVAL_10_MIN"`, '
        '`"INTERVAL_15_MIN"`. Default: `"INTERVAL_5_SEC"`.'
    )


class PlatformConfig(TypedDict):
    """Where the chain runs and what it is called (`hitless:platform`)."""

    chain: NotRequired[str]
    ('Chain name: prefixes resource names and marks every resource\'s identity. Default: `"main"`.')

    region: str
    """GCP region of every regional resource."""

    zones: list[str]
    """Zones the MIGs and node pools span; 3 for a zone-failure-safe chain."""

    labels: NotRequired[dict[str, str]]
    """Extra labels put on every labelled GCP resource and Kubernetes object. Default: `{}`."""

    network: NotRequired[NetworkConfig]
    """VPC ranges and reserved internal addresses. Default: each of its fields' defaults."""


class TrafficProfile(TypedDict):
    """What the chain promises to carry while any tier rolls."""

    max_body_mib: NotRequired[float]
    """Largest request body (MiB) that must survive a rollout of any tier. Default: `50`."""

    min_client_mbps: NotRequired[float]
    (
        "Upload bandwidth (Mbit/s) of the slowest client the chain serves; it sets how long a "
        "body takes to reach tier A. 8 Mbit/s moves 50 MiB in about 52 s. Default: `8`."
    )

    internal_mbps: NotRequired[float]
    """Bandwidth (Mbit/s) of one request between tiers inside the VPC. Default: `1000`."""

    rt_max_processing_seconds: NotRequired[float]
    """Longest time the runtime (D) works on a request after its body arrived. Default: `30`."""

    endpoint_propagation_seconds: NotRequired[float]
    (
        "Lag between a pod turning Terminating and every kube-proxy and Kong node no longer "
        "sending it new connections (10-30 s on large clusters). Default: `10`."
    )

    lb_propagation_seconds: NotRequired[float]
    (
        "Lag for a GCP load balancer (GFE, tier B's internal passthrough NLB) to stop or start "
        "sending new connections to a backend after its health changes. Default: `30`."
    )

    kong_lb_propagation_seconds: NotRequired[float]
    (
        "Lag for Kong's GKE internal LoadBalancer (externalTrafficPolicy Local, GKE subsetting, "
        "Dataplane V2) to stop sending new connections to a node whose Kong pod terminates. Only "
        "nodes with a ready, non-terminating serving pod take packets: GKE drops the node from "
        "the Service's GCE_VM_IP NEG and its healthCheckNodePort check fails "
        "(cloud.google.com/kubernetes-engine/docs/concepts/service-load-balancer, "
        "/docs/how-to/internal-load-balancing). Dataplane V2 replaces kube-proxy inside the node "
        "only; the LB's lag is its health check's (interval x unhealthy threshold) plus NEG "
        "programming, which GKE does not state: 30 s, as for GCP's other LBs. Default: `30`."
    )


class Thresholds(TypedDict):
    """Margins and bounds the rules apply on top of the profile."""

    margin_seconds: NotRequired[float]
    (
        "Safety margin added to pod grace periods (after preStop and the longest request) and to "
        "the progress deadline; timeout and drain orderings are strict bounds. Default: `15`."
    )

    max_probe_period_seconds: NotRequired[int]
    ("Longest readiness-probe period: a slower probe lets a dead pod take traffic. Default: `10`.")

    kong_min_retries: NotRequired[int]
    """Fewest Kong retries (connect-phase failover). Default: `1`."""

    kong_max_retries: NotRequired[int]
    """Most Kong retries: more multiplies the worst case seen by outer tiers. Default: `3`."""

    kong_max_connect_timeout_ms: NotRequired[int]
    (
        "Longest Kong connect_timeout (ms): a vanished pod IP stalls a try this long. Default: "
        "`5000`."
    )

    max_drain_seconds: NotRequired[int]
    """Longest drain GCP allows (LB connection draining, GKE upgrade grace). Default: `3600`."""

    gfe_backend_keepalive_seconds: NotRequired[int]
    ("GFE's fixed keepalive towards backends; A must keep idle connections longer. Default: `600`.")

    min_maintenance_hours_per_32_days: NotRequired[float]
    """GKE's minimum maintenance availability per 32 days. Default: `48`."""

    min_maintenance_block_hours: NotRequired[float]
    """GKE counts only maintenance blocks at least this long. Default: `4`."""

    pod_start_seconds: NotRequired[float]
    (
        "Worst-case scheduling, image pull and start of a new pod until its app answers; with the"
        " probes it bounds the time to Available a rollout waits for. Default: `60`."
    )

    mig_boot_seconds: NotRequired[float]
    (
        "Worst-case boot plus nginx start of a MIG instance; autohealing must not judge an "
        "instance earlier, or it recreates booting instances in a loop. Default: `120`."
    )

    node_boot_seconds: NotRequired[float]
    (
        "Worst-case time for a GKE surge or green node to be created, boot and turn Ready for "
        "pods; with the drains it bounds a node pool upgrade `pulumi up` must await. Default: "
        "`300`."
    )

    mig_shutdown_seconds: NotRequired[float]
    (
        "Time GCE gives an on-demand VM's shutdown script when the MIG deletes it (about 90 s, "
        "https://cloud.google.com/compute/docs/shutdownscript); part of each MIG update batch. "
        "Default: `90`."
    )

    max_lb_time_to_unhealthy_seconds: NotRequired[float]
    (
        "Longest time a load balancer health check may take to mark a dead backend unhealthy "
        "(interval x unhealthy threshold + timeout); meanwhile requests fail. Default: `30`."
    )


class HealthCheckConfig(TypedDict):
    """Timing of a GCP health check."""

    check_interval_sec: NotRequired[int]
    """Seconds between probes. Default: `5`."""

    timeout_sec: NotRequired[int]
    """Seconds a probe may take; must not exceed the interval. Default: `4`."""

    healthy_threshold: NotRequired[int]
    """Consecutive successes that make a backend healthy. Default: `2`."""

    unhealthy_threshold: NotRequired[int]
    """Consecutive failures that make a backend unhealthy. Default: `2`."""


class MigConfig(TypedDict):
    """A regional managed instance group running nginx, and how it rolls."""

    machine_type: NotRequired[str]
    """Machine type of instances. Default: `\"e2-standard-2\"`."""

    image: NotRequired[str]
    (
        "Boot image; the startup script installs Debian's nginx on it. Default: "
        '`"projects/debian-cloud/global/images/family/debian-12"`.'
    )

    disk_size_gb: NotRequired[int]
    """Boot disk size (GB). Default: `20`."""

    target_size: NotRequired[int]
    """Instances in the group; at least 2 so one can drain while another serves. Default: `3`."""

    max_surge_fixed: NotRequired[int]
    (
        "Extra instances created during a rollout; a regional MIG needs at least one per zone. "
        "Default: `3`."
    )

    min_ready_sec: NotRequired[int]
    (
        "Seconds a new instance stays healthy before the updater removes an old one; covers the "
        "load balancer programming the new backend (profile lb_propagation_seconds). Default: "
        "`45`."
    )

    autohealing_initial_delay_sec: NotRequired[int]
    (
        "Grace before autohealing judges a new instance; must cover boot plus nginx start "
        "(hitless:thresholds.mig_boot_seconds). Default: `300`."
    )

    lb_health_check: NotRequired[HealthCheckConfig]
    (
        "The LB's health check: fast, so draining instances leave quickly. Default: each of its "
        "fields' defaults."
    )

    autohealing_health_check: NotRequired[HealthCheckConfig]
    (
        "Autohealing's own health check: slower, so a busy instance is not recreated. Default: "
        "each of its fields' defaults."
    )

    health_port: NotRequired[int]
    """Port of the small http server answering /healthz. Default: `8081`."""

    await_timeout_seconds: NotRequired[int]
    (
        "How long `pulumi up` awaits the rolling update (customTimeouts create/update, with "
        "waitForInstances UPDATED). null: sized from the update's worst case plus margin, rounded"
        " up to whole minutes (see `hitless explain`); a value must cover that bound. Default: "
        "unset."
    )


class EdgeConfig(TypedDict):
    """Tier A: nginx L7 on a regional MIG behind the global external Application LB."""

    mig: NotRequired[MigConfig]
    """The instance group of A. Default: each of its fields' defaults."""

    listen_port: NotRequired[int]
    """Port nginx serves the LB on. Default: `80`."""

    client_max_body_mib: NotRequired[int]
    """nginx client_max_body_size (MiB); nginx's default 1m gives 413. Default: `64`."""

    client_body_timeout_seconds: NotRequired[int]
    """nginx client_body_timeout: longest gap between two body reads. Default: `60`."""

    keepalive_timeout_seconds: NotRequired[int]
    """nginx keepalive_timeout towards the LB; must exceed GFE's fixed 600 s. Default: `650`."""

    keepalive_requests: NotRequired[int]
    """Requests per client connection before nginx closes it. Default: `10000`."""

    proxy_request_buffering: NotRequired[bool]
    """Buffer request bodies at A, so a slow upload ends here and is retryable. Default: `true`."""

    proxy_connect_timeout_seconds: NotRequired[int]
    """nginx proxy_connect_timeout towards B. Default: `5`."""

    proxy_send_timeout_seconds: NotRequired[int]
    """nginx proxy_send_timeout: longest gap between two writes to B. Default: `60`."""

    proxy_read_timeout_seconds: NotRequired[int]
    (
        "nginx proxy_read_timeout; must outlast Kong's worst case for a GET with retries: "
        "(connect + read) x (1 + retries). Default: `160`."
    )

    proxy_next_upstream_tries: NotRequired[int]
    (
        "nginx proxy_next_upstream_tries for idempotent requests. A's upstream is one address "
        "(B's NLB), so nginx tries once, plus a re-send when a pooled connection was stale; "
        "connect-phase failover across pods is Kong's job (retries at one layer). Default: `2`."
    )

    upstream_keepalive_connections: NotRequired[int]
    """Idle connections to B each worker keeps. Default: `64`."""

    upstream_keepalive_timeout_seconds: NotRequired[int]
    (
        "Idle time after which A drops a pooled connection to B; must stay below B's "
        "proxy_timeout and Kong's client keepalive, so A never reuses a connection they closed. "
        "Default: `50`."
    )

    upstream_keepalive_time_seconds: NotRequired[int]
    (
        "Lifetime of a pooled connection to B (nginx keepalive_time); with the idle timeout B's "
        "longest request and the internal LB's lag it must fit in B's drain. Default: `30`."
    )

    worker_shutdown_timeout_seconds: NotRequired[int]
    """nginx worker_shutdown_timeout; must cover A's longest request. Default: `150`."""

    backend_timeout_sec: NotRequired[int]
    """LB backend-service timeoutSec: slow upload plus A's read timeout. Default: `240`."""

    connection_draining_timeout_sec: NotRequired[int]
    """LB connection draining for A; covers A's longest request. Default: `150`."""

    client_keepalive_timeout_sec: NotRequired[int]
    """Client-side HTTP keepalive of the LB's HTTPS proxy (GCP default 610). Default: `610`."""

    managed_certificate_domains: NotRequired[list[str]]
    """Domains for a Google-managed certificate; empty to use ssl_certificates. Default: `[]`."""

    ssl_certificates: NotRequired[list[str]]
    """Self links of existing SSL certificates; used when no managed domains. Default: `[]`."""

    source_ranges: NotRequired[list[str]]
    (
        "Ranges admitted to A: Google's health-check and GFE proxy ranges. An IPv4 CIDR range. "
        'Default: `["35.191.0.0/16", "130.211.0.0/22"]`.'
    )

    ssl_policy_profile: NotRequired[str]
    (
        "Cipher profile of the HTTPS proxy's SSL policy: MODERN (broad client support) or "
        'RESTRICTED (the strictest); COMPATIBLE would admit weak ciphers. One of: `"MODERN"`, '
        '`"RESTRICTED"`. Default: `"MODERN"`.'
    )

    ssl_min_tls_version: NotRequired[str]
    (
        "Lowest TLS version the HTTPS proxy accepts; TLS_1_3 needs RESTRICTED. One of: "
        '`"TLS_1_2"`, `"TLS_1_3"`. Default: `"TLS_1_2"`.'
    )

    hsts_max_age_seconds: NotRequired[int]
    (
        "Strict-Transport-Security max-age A adds to every response (one year): browsers then "
        "refuse plain HTTP to the domain. Default: `31536000`."
    )

    hsts_include_subdomains: NotRequired[bool]
    """Add `includeSubDomains` to the Strict-Transport-Security header. Default: `true`."""


class RelayConfig(TypedDict):
    """Tier B: nginx stream (L4) on a regional MIG behind the internal passthrough NLB."""

    mig: NotRequired[MigConfig]
    """The instance group of B. Default: each of its fields' defaults."""

    listen_port: NotRequired[int]
    """TCP port B accepts A's connections on. Default: `80`."""

    proxy_connect_timeout_seconds: NotRequired[int]
    """nginx stream proxy_connect_timeout towards Kong. Default: `5`."""

    proxy_timeout_seconds: NotRequired[int]
    (
        "nginx stream proxy_timeout: idle time after which B closes a flow; must cover A's read "
        "timeout (a silent request) and A's upstream keepalive. Default: `300`."
    )

    worker_shutdown_timeout_seconds: NotRequired[int]
    """nginx worker_shutdown_timeout; covers B's longest flow. Default: `150`."""

    connection_draining_timeout_sec: NotRequired[int]
    """ILB connection draining for B; covers B's longest request. Default: `150`."""


class MaintenanceWindowConfig(TypedDict):
    """Recurring GKE maintenance window, in UTC."""

    start_time_utc: NotRequired[str]
    """HH:MM UTC. Default: `\"03:00\"`."""

    duration_hours: NotRequired[int]
    """Length of each window; GKE counts only blocks of 4 h or more. Default: `6`."""

    days: NotRequired[list[str]]
    (
        'Weekly days (UTC); null for a daily window. Each one of: `"MO"`, `"TU"`, `"WE"`, `"TH"`,'
        ' `"FR"`, `"SA"`, `"SU"`. Default: `["SA", "SU"]`.'
    )


class NodePoolConfig(TypedDict):
    """One GKE node pool and how it upgrades."""

    name: str
    """Pool key; the pool's name is derived from it."""

    machine_type: NotRequired[str]
    """Node machine type. Default: `\"e2-standard-4\"`."""

    disk_size_gb: NotRequired[int]
    """Node boot disk size (GB). Default: `100`."""

    disk_type: NotRequired[str]
    (
        'Node boot disk type. One of: `"pd-standard"`, `"pd-balanced"`, `"pd-ssd"`. Default: '
        '`"pd-balanced"`.'
    )

    min_nodes_per_zone: NotRequired[int]
    """Autoscaler minimum per zone. Default: `1`."""

    max_nodes_per_zone: NotRequired[int]
    """Autoscaler maximum per zone. Default: `3`."""

    strategy: NotRequired[UpgradeStrategy]
    """SURGE (new node first) or BLUE_GREEN. Default: `\"SURGE\"`."""

    max_surge: NotRequired[int]
    """SURGE: nodes added before old ones drain (at least 1). Default: `1`."""

    max_unavailable: NotRequired[int]
    """SURGE: nodes taken away without replacement; 0 keeps capacity. One of: `0`. Default: `0`."""

    node_pool_soak_duration: NotRequired[str]
    """BLUE_GREEN: soak after the blue pool drained, before it is deleted. Default: `\"1800s\"`."""

    batch_node_count: NotRequired[int]
    """BLUE_GREEN: nodes drained per batch. Default: `1`."""

    batch_soak_duration: NotRequired[str]
    """BLUE_GREEN: soak after each batch. Default: `\"120s\"`."""

    spot: NotRequired[bool]
    """Spot VMs (not for the serving tiers). Default: `false`."""


class ClusterConfig(TypedDict):
    """The regional GKE cluster that carries C and D (`hitless:cluster`)."""

    kubernetes_version: NotRequired[str]
    (
        "Minimum control-plane minor version; decides features such as the native preStop sleep "
        'action (1.30+). Default: `"1.33"`.'
    )

    release_channel: NotRequired[str]
    (
        'GKE release channel (auto-upgrades follow it). One of: `"RAPID"`, `"REGULAR"`, '
        '`"STABLE"`, `"EXTENDED"`. Default: `"REGULAR"`.'
    )

    deletion_protection: NotRequired[bool]
    """Refuse `pulumi destroy` of the cluster. Default: `true`."""

    maintenance: NotRequired[MaintenanceWindowConfig]
    """Recurring maintenance window. Default: each of its fields' defaults."""

    master_authorized_cidrs: NotRequired[list[str]]
    (
        "Ranges allowed to reach the control plane endpoint (empty: VPC only). An IPv4 CIDR "
        "range. Default: `[]`."
    )

    binary_authorization_mode: NotRequired[str]
    (
        "Binary Authorization evaluation mode: PROJECT_SINGLETON_POLICY_ENFORCE admits only "
        "images the project's policy allows; DISABLED admits any image. One of: "
        '`"PROJECT_SINGLETON_POLICY_ENFORCE"`, `"DISABLED"`. Default: '
        '`"PROJECT_SINGLETON_POLICY_ENFORCE"`.'
    )

    node_pools: NotRequired[list[NodePoolConfig]]
    (
        'Node pools; Kong and the runtime run on every pool unless pinned. Default: `[{"name": '
        '"serving", "machine_type": "e2-standard-4", "disk_size_gb": 100, "disk_type": '
        '"pd-balanced", "min_nodes_per_zone": 1, "max_nodes_per_zone": 3, "strategy": "SURGE", '
        '"max_surge": 1, "max_unavailable": 0, "node_pool_soak_duration": "1800s", '
        '"batch_node_count": 1, "batch_soak_duration": "120s", "spot": false}]`.'
    )


class AutoscalingConfig(TypedDict):
    """HorizontalPodAutoscaler bounds."""

    min_replicas: NotRequired[int]
    """Fewest pods; at least 2 so one can drain while one serves. Default: `2`."""

    max_replicas: NotRequired[int]
    """Most pods. Default: `6`."""

    cpu_utilization_percent: NotRequired[int]
    """Target average CPU utilisation. Default: `65`."""


class ResourcesConfig(TypedDict):
    """Container resource requests and limits."""

    cpu_request: NotRequired[str]
    """CPU request. Default: `\"500m\"`."""

    memory_request: NotRequired[str]
    """Memory request. Default: `\"512Mi\"`."""

    memory_limit: NotRequired[str]
    """Memory limit (CPU is unlimited). Default: `\"1Gi\"`."""


class ProbeConfig(TypedDict):
    """Timing of a Kubernetes probe."""

    initial_delay_seconds: NotRequired[int]
    """Delay before the first probe. Default: `0`."""

    period_seconds: NotRequired[int]
    """Seconds between probes. Default: `5`."""

    timeout_seconds: NotRequired[int]
    """Seconds a probe may take. Default: `2`."""

    failure_threshold: NotRequired[int]
    """Consecutive failures that fail the probe. Default: `2`."""

    success_threshold: NotRequired[int]
    """Consecutive successes that pass it (1 for liveness/startup). Default: `1`."""


class KongHybridConfig(TypedDict):
    """Hybrid mode: a Kong control plane owns the entities; the DP only proxies."""

    admin_url: str
    """Control plane Admin API URL, for pulumi-kong."""

    cluster_control_plane: str
    """host:port of the CP cluster listener."""

    cluster_telemetry_endpoint: str
    """host:port of the CP telemetry listener."""

    cluster_cert_secret: str
    """Existing TLS Secret (tls.crt/tls.key) in Kong's namespace for the DP."""

    allow_plain_http_loopback_admin: NotRequired[bool]
    (
        "Accept an `http://` admin_url, only for a loopback host (a local control plane in a "
        "test); any other http URL would send the admin token in clear. Default: `false`."
    )


class KongConfig(TypedDict):
    """Tier C: the Kong data plane (`hitless:kong`)."""

    namespace: NotRequired[str]
    """Namespace of Kong's objects. Default: `\"kong\"`."""

    image: NotRequired[str]
    """Kong Gateway image. Default: `\"kong:3.9.1\"`."""

    image_digest: NotRequired[str]
    (
        "sha256 digest of `image`; when given the pods run `image@digest`, so a moved tag cannot "
        "change what runs (rule container-image-pinned). Default: unset."
    )

    upstream_tls_verify: NotRequired[bool]
    (
        "When the runtime speaks HTTPS, Kong verifies its certificate (Service `tls_verify`) "
        "against the CA in `upstream_ca_secret`. Default: `true`."
    )

    upstream_ca_secret: NotRequired[str]
    (
        "Existing Secret in Kong's namespace holding the CA certificate that signed the runtime's"
        " serving certificate (HTTPS runtime with upstream_tls_verify only). Default: "
        '`"rt-upstream-ca"`.'
    )

    upstream_ca_key: NotRequired[str]
    """Key of the CA certificate (PEM) in `upstream_ca_secret`. Default: `\"ca.crt\"`."""

    upstream_tls_verify_depth: NotRequired[int]
    """Longest certificate chain Kong accepts from the runtime. Default: `2`."""

    replicas: NotRequired[int]
    """Pods; at least 2 so one can drain while one serves. Default: `2`."""

    autoscaling: NotRequired[AutoscalingConfig]
    """HPA bounds. Default: each of its fields' defaults."""

    resources: NotRequired[ResourcesConfig]
    """Kong container resources. Default: each of its fields' defaults."""

    proxy_port: NotRequired[int]
    """Kong proxy listener (container port). Default: `8000`."""

    status_port: NotRequired[int]
    """Kong status listener (/status/ready). Default: `8100`."""

    service_port: NotRequired[int]
    """Port of the internal LB Service B connects to. Default: `80`."""

    readiness: NotRequired[ProbeConfig]
    """Readiness probe on /status/ready. Default: each of its fields' defaults."""

    liveness: NotRequired[ProbeConfig]
    (
        "Liveness probe on /status; slower than readiness so a busy pod is not killed. Default: "
        "each of its fields' defaults."
    )

    quit_wait_seconds: NotRequired[int]
    (
        "`kong quit --wait`: keep serving while the internal LB stops sending new connections "
        "(covers profile kong_lb_propagation_seconds). Default: `35`."
    )

    quit_timeout_seconds: NotRequired[int]
    (
        "`kong quit --timeout` and nginx worker_shutdown_timeout: in-flight requests get this "
        "long; covers C's longest request. Default: `60`."
    )

    termination_grace_seconds: NotRequired[int]
    """Pod terminationGracePeriodSeconds: wait + timeout + margin. Default: `120`."""

    client_keepalive_timeout_seconds: NotRequired[int]
    """Kong's nginx keepalive_timeout towards B/A; above A's upstream keepalive. Default: `75`."""

    upstream_keepalive_idle_timeout_seconds: NotRequired[int]
    """Kong upstream_keepalive_idle_timeout; below the runtime's keepalive idle. Default: `30`."""

    upstream_keepalive_max_requests: NotRequired[int]
    """Requests per upstream connection before Kong closes it. Default: `10000`."""

    client_max_body_mib: NotRequired[int]
    """Kong nginx client_max_body_size (MiB); 0 is unlimited. Default: `0`."""

    hybrid: NotRequired[KongHybridConfig]
    """Hybrid mode (control plane); null for DB-less declarative config. Default: unset."""

    min_ready_seconds: NotRequired[int]
    (
        "Deployment minReadySeconds: Kong is ready once /status/ready answers (the internal LB's "
        "own health check gates new connections). Default: `0`."
    )

    progress_deadline_seconds: NotRequired[int]
    (
        "Deployment progressDeadlineSeconds: a rollout stuck this long fails with "
        "ProgressDeadlineExceeded, before `pulumi up`'s await gives up. Default: `600`."
    )

    await_timeout_seconds: NotRequired[int]
    (
        "How long `pulumi up` awaits the Deployment's rollout (customTimeouts create/update). "
        "null: sized from the rollout's worst case at the HPA maximum plus margin, rounded up to "
        "whole minutes (see `hitless explain`); a value must cover that bound. Default: unset."
    )


class RuntimeKongConfig(TypedDict):
    """The Kong Service, Route and Upstream in front of one runtime service."""

    connect_timeout_ms: NotRequired[int]
    """Kong Service connect_timeout (ms), per try. Default: `2000`."""

    write_timeout_ms: NotRequired[int]
    """Kong Service write_timeout (ms): gap between two writes. Default: `60000`."""

    read_timeout_ms: NotRequired[int]
    """Kong Service read_timeout (ms); above the runtime's timeout. Default: `50000`."""

    retries: NotRequired[int]
    (
        "Kong Service retries: after a failed connect for every request, and after a read timeout"
        " or reset too for an idempotent one (a GET), nginx's default. Default: `2`."
    )

    request_buffering: NotRequired[bool]
    """Kong route request_buffering; keeps POSTs retryable. Default: `true`."""

    route_paths: NotRequired[list[str]]
    """Path prefixes Kong routes to this runtime (unique across runtimes). Default: `[\"/\"]`."""


class PathProfile(TypedDict):
    """One runtime service's own traffic promise, where it differs from the chain's profile."""

    max_body_mib: NotRequired[float]
    """Largest request body (MiB) this service receives; null: the chain's. Default: unset."""

    min_client_mbps: NotRequired[float]
    """Upload bandwidth (Mbit/s) of this service's slowest client; null: chain's. Default: unset."""

    rt_max_processing_seconds: NotRequired[float]
    """Longest time this service works on a request; null: the chain's. Default: unset."""


class RuntimeConfig(TypedDict):
    """Tier D: one runtime service (RT) behind Kong, an item of `hitless:runtimes`."""

    name: NotRequired[str]
    """Name of the runtime's Deployment, Service and Kong Service (unique). Default: `\"rt\"`."""

    namespace: NotRequired[str]
    """Namespace of the runtime's objects; each runtime owns its namespace. Default: `\"rt\"`."""

    image: str
    """The runtime's container image (required)."""

    image_digest: NotRequired[str]
    (
        "sha256 digest of `image`; when given the pods run `image@digest`, so a moved tag cannot "
        "change what runs (rule container-image-pinned). Default: unset."
    )

    replicas: NotRequired[int]
    """Pods; at least 2 so one can drain while one serves. Default: `2`."""

    autoscaling: NotRequired[AutoscalingConfig]
    """HPA bounds. Default: each of its fields' defaults."""

    resources: NotRequired[ResourcesConfig]
    """Runtime container resources. Default: each of its fields' defaults."""

    port: NotRequired[int]
    """Container port the runtime serves on. Default: `8080`."""

    scheme: NotRequired[str]
    ('Protocol the runtime speaks on `port`. One of: `"HTTP"`, `"HTTPS"`. Default: `"HTTPS"`.')

    health_path: NotRequired[str]
    """Readiness path. Default: `\"/health\"`."""

    liveness_path: NotRequired[str]
    """Liveness path. Default: `\"/health\"`."""

    readiness: NotRequired[ProbeConfig]
    """Readiness probe (period <= 10 s). Default: each of its fields' defaults."""

    liveness: NotRequired[ProbeConfig]
    (
        "Liveness probe; slower than readiness, so a busy pod is not killed. Default: each of its"
        " fields' defaults."
    )

    startup: NotRequired[ProbeConfig]
    (
        "Startup probe: the app has failure_threshold x period to start. Default: each of its "
        "fields' defaults."
    )

    prestop_seconds: NotRequired[int]
    ("preStop sleep: keeps serving while endpoints propagate (>= propagation lag). Default: `15`.")

    termination_grace_seconds: NotRequired[int]
    """terminationGracePeriodSeconds: preStop + longest request + margin. Default: `75`."""

    min_ready_seconds: NotRequired[int]
    """Seconds a new pod stays ready before it counts as available. Default: `5`."""

    progress_deadline_seconds: NotRequired[int]
    """Deployment progressDeadlineSeconds. Default: `600`."""

    request_timeout_seconds: NotRequired[int]
    """The runtime's own request timeout; >= longest processing. Default: `45`."""

    keepalive_idle_timeout_seconds: NotRequired[int]
    """The runtime's own keep-alive idle timeout; above Kong's. Default: `75`."""

    max_body_mib: NotRequired[int]
    """The runtime's own body limit (MiB); >= the profile's. Default: `64`."""

    await_timeout_seconds: NotRequired[int]
    (
        "How long `pulumi up` awaits the Deployment's rollout (customTimeouts create/update). "
        "null: sized from the rollout's worst case at the HPA maximum plus margin, rounded up to "
        "whole minutes (see `hitless explain`); a value must cover that bound. Default: unset."
    )

    egress_cidrs: NotRequired[list[str]]
    (
        "Destinations the runtime's pods may connect to besides the cluster DNS (its database, "
        "other services); empty: DNS only. An IPv4 CIDR range. Default: `[]`."
    )

    kong: NotRequired[RuntimeKongConfig]
    (
        "Kong's Service, Route and Upstream for this runtime (timeouts, paths). Default: each of "
        "its fields' defaults."
    )

    profile: NotRequired[PathProfile]
    (
        "This service's own traffic promise where it differs from `hitless:profile` "
        "(max_body_mib, min_client_mbps, rt_max_processing_seconds); it sets the longest request "
        "of the path A -> B -> C -> this runtime. Default: each of its fields' defaults."
    )


class ObservabilityConfig(TypedDict):
    """What the chain exports about its rollouts (`hitless:observability`)."""

    enabled: NotRequired[bool]
    (
        "Create the monitoring resources (hitless.components.monitoring). Off, no tier has its "
        "alert and rule observability-configured fails where it is mandatory. Default: `true`."
    )

    enforcement: NotRequired[str]
    (
        "Level of rule observability-configured for this stack: mandatory (a tier without its "
        "alert fails the preview) or advisory (reported only, e.g. for dev). One of: "
        '`"mandatory"`, `"advisory"`. Default: `"mandatory"`.'
    )

    scrape_interval_seconds: NotRequired[int]
    """How often Managed Prometheus scrapes Kong and the runtime (PodMonitoring). Default: `30`."""

    runtime_metrics_port: NotRequired[int]
    (
        "Container port on which the runtime serves Prometheus metrics; None: the runtime exports"
        " none and only Kong is scraped. Default: unset."
    )

    runtime_metrics_path: NotRequired[str]
    """HTTP path of the runtime's metrics (with runtime_metrics_port). Default: `\"/metrics\"`."""

    runtime_drain_log_line: NotRequired[str]
    (
        "A line the runtime logs when it starts draining on SIGTERM; when set, a log-based metric"
        " counts it, so the dashboard marks each pod's drain. Default: unset."
    )

    alert_duration_seconds: NotRequired[int]
    (
        "How long a condition must hold before an alert opens; 0: at once (one failed request "
        "during a rollout is the event to see). Default: `0`."
    )

    notification_emails: NotRequired[list[str]]
    """Email addresses every alert notifies (one notification channel each). Default: `[]`."""


class StackConfig(TypedDict):
    """All of a stack's config, validated together (one model per stack key)."""

    platform: PlatformConfig
    """Region, zones, network (`hitless:platform`)."""

    profile: NotRequired[TrafficProfile]
    """Traffic promise (`hitless:profile`). Default: each of its fields' defaults."""

    thresholds: NotRequired[Thresholds]
    """Margins and bounds (`hitless:thresholds`). Default: each of its fields' defaults."""

    edge: EdgeConfig
    """Tier A (`hitless:edge`)."""

    relay: NotRequired[RelayConfig]
    """Tier B (`hitless:relay`). Default: each of its fields' defaults."""

    cluster: NotRequired[ClusterConfig]
    """GKE (`hitless:cluster`). Default: each of its fields' defaults."""

    kong: NotRequired[KongConfig]
    """Tier C (`hitless:kong`). Default: each of its fields' defaults."""

    runtimes: list[RuntimeConfig]
    (
        "Tier D: the runtime services behind Kong (`hitless:runtimes`), each with its own "
        "Deployment, Kong Service and Route; names, namespaces and route paths unique. Each makes"
        " one path A -> B -> C -> runtime the chain rules judge."
    )

    observability: NotRequired[ObservabilityConfig]
    (
        "Metrics, alerts and dashboards of the chain (`hitless:observability`). Default: each of "
        "its fields' defaults."
    )


class TierSeconds(TypedDict):
    """The longest request (seconds) each tier of the chain carries, over the chain's paths."""

    a: float
    """Tier A (nginx L7): its drains and timeouts cover this."""

    b: float
    """Tier B (nginx L4): its drains and timeouts cover this."""

    c: float
    """Tier C (Kong): its drains and timeouts cover this."""

    d: float
    """Tier D (the chain's runtimes), the longest of them."""


class ChainFacts(TypedDict):
    """The chain another stack adds a runtime behind: its stack output `chain`."""

    name: str
    """The chain's name (`hitless:platform.chain`), its identity."""

    region: str
    """The chain's GCP region."""

    zones: list[str]
    """The chain's zones (a runtime spreads across them)."""

    labels: NotRequired[dict[str, str]]
    """Extra labels of every object of the chain. Default: `{}`."""

    kubernetes_version: str
    """The cluster's Kubernetes version: it decides the preStop form."""

    profile: TrafficProfile
    """The chain's traffic promise (`hitless:profile`)."""

    thresholds: Thresholds
    """The chain's margins (`hitless:thresholds`)."""

    buffering_at_a: bool
    """Tier A buffers request bodies before forwarding."""

    buffering_at_c: bool
    """Kong buffers request bodies on every route."""

    longest: TierSeconds
    """The longest request each tier carries."""


class KongFacts(TypedDict):
    """The chain's Kong as another stack needs it: its stack output `kong`."""

    namespace: str
    """Namespace of Kong's pods."""

    pod_labels: dict[str, str]
    """Labels selecting Kong's pods."""

    mode: str
    (
        'How Kong gets its entities: a declarative file, or a control plane. One of: `"dbless"`, '
        '`"hybrid"`.'
    )

    admin_url: NotRequired[str]
    """The control plane's Admin API URL (hybrid mode only). Default: unset."""

    upstream_tls_verify: bool
    """Kong verifies an HTTPS runtime's certificate (`hitless:kong`)."""

    upstream_tls_verify_depth: int
    """Longest certificate chain Kong accepts from a runtime."""
