"""GCP facts from pulumi-gcp props (wire camelCase), with GCP's defaults applied."""

from __future__ import annotations

import re

from hitless_policy.extract import nginx
from hitless_policy.extract.props import Props, is_unknown
from hitless_policy.facts import (
    AlertPolicy,
    BackendService,
    Cluster,
    HealthCheck,
    Mig,
    NginxSource,
    NodePool,
    Placement,
    Ref,
    Unknown,
)
from hitless_policy.identity import NGINX_CONF_METADATA_KEY

INSTANCE_TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
"""Type token of a (global) instance template."""
REGION_INSTANCE_TEMPLATE = "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate"
"""Type token of a regional instance template."""
MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
"""Type token of a regional managed instance group."""
BACKEND_SERVICE = "gcp:compute/backendService:BackendService"
"""Type token of a global backend service (tier A, external Application LB)."""
REGION_BACKEND_SERVICE = "gcp:compute/regionBackendService:RegionBackendService"
"""Type token of a regional backend service (tier B, internal passthrough NLB)."""
HEALTH_CHECK = "gcp:compute/healthCheck:HealthCheck"
"""Type token of a global health check."""
REGION_HEALTH_CHECK = "gcp:compute/regionHealthCheck:RegionHealthCheck"
"""Type token of a regional health check."""
CLUSTER = "gcp:container/cluster:Cluster"
"""Type token of a GKE cluster."""
NODE_POOL = "gcp:container/nodePool:NodePool"
"""Type token of a GKE node pool."""
ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
"""Type token of a Cloud Monitoring alert policy."""

DEFAULT_BACKEND_TIMEOUT_SEC = 30
"""GCP's default backend service timeout."""
DEFAULT_DRAINING_SEC = 300
"""pulumi-gcp 10.x default connection draining (global and regional)."""
MIG_DEFAULT_TIMEOUT_SECONDS = 900
"""pulumi-gcp's await of a MIG create/update without customTimeouts: 15 min
(terraform-provider-google, resource_compute_region_instance_group_manager.go:
`Update: schema.DefaultTimeout(15 * time.Minute)`)."""
NODE_POOL_DEFAULT_TIMEOUT_SECONDS = 1800
"""pulumi-gcp's await of a node pool update without customTimeouts: 30 min
(terraform-provider-google, resource_container_node_pool.go:
`Update: schema.DefaultTimeout(30 * time.Minute)`)."""


def instance_template(ref: Ref, place: Placement, props: Props) -> NginxSource:
    """The nginx.conf an instance template carries in its metadata."""
    text = props.get("metadata", NGINX_CONF_METADATA_KEY)
    if isinstance(text, Unknown):
        return NginxSource(ref, place, text)
    if not isinstance(text, str):
        return NginxSource(ref, place, None)
    return NginxSource(ref, place, nginx.parse_text(text).bind(ref, place))


def mig(ref: Ref, place: Placement, props: Props) -> Mig:
    """A regional MIG fact."""
    zones_raw = props.get("distributionPolicyZones")
    zones: int | Unknown | None
    if isinstance(zones_raw, Unknown) or zones_raw is None:
        zones = zones_raw
    elif isinstance(zones_raw, list):
        zones = len(zones_raw)
    else:
        zones = Unknown("distributionPolicyZones", f"is not a list: {zones_raw!r}")
    healing = props.get("autoHealingPolicies")
    if isinstance(healing, list):  # older SDKs send a one-element list
        healing_props = props.sub("autoHealingPolicies", 0)
    else:
        healing_props = props.sub("autoHealingPolicies")
    check: bool | Unknown | None
    delay: int | Unknown | None
    if healing_props is None or isinstance(healing_props, Unknown):
        check, delay = healing_props, healing_props
    else:
        raw_check = healing_props.get("healthCheck")
        # An unknown reference is still a reference: the check exists, its link is computed.
        check = bool(raw_check) or isinstance(raw_check, Unknown)
        # The API's default initialDelaySec is 0 (compute v1 InstanceGroupManagerAutoHealingPolicy:
        # "the number of seconds that the managed instance group waits before it applies
        # autohealing policies ... between 0 and 3600"; an absent field is 0, not 300).
        delay = healing_props.integer("initialDelaySec", default=DEFAULT_AUTOHEALING_DELAY_SEC)
    target = props.get("targetSize")
    return Mig(
        ref=ref,
        place=place,
        update_policy=props.mapping("updatePolicy"),
        zones=zones,
        target_size=None if target is None else props.integer("targetSize", default=0),
        autohealing_health_check=check,
        autohealing_initial_delay=delay,
        wait_for_instances=props.flag("waitForInstances", default=False),
        wait_status=props.text("waitForInstancesStatus", default="STABLE"),
    )


def backend_service(
    ref: Ref, place: Placement, props: Props, deps: list[str] | None = None
) -> BackendService:
    """A backend service fact (global or regional, by type token)."""
    regional = ref.type == REGION_BACKEND_SERVICE
    modes: list[str | Unknown] = []
    backends = props.items("backends")
    if isinstance(backends, Unknown):
        modes.append(backends)
    for backend in backends if isinstance(backends, list) else []:
        if isinstance(backend, Unknown):
            modes.append(backend)
        else:
            modes.append(backend.text("balancingMode", default="UTILIZATION"))
    checks_raw = props.get("healthChecks")
    checks: list[str | Unknown] | Unknown
    if isinstance(checks_raw, Unknown):
        checks = checks_raw
    elif isinstance(checks_raw, list):
        checks = [
            Unknown(f"healthChecks.{i}") if is_unknown(item) else str(item)
            for i, item in enumerate(checks_raw)
        ]
    elif isinstance(checks_raw, str):
        checks = [checks_raw]
    else:
        checks = []
    return BackendService(
        ref=ref,
        place=place,
        regional=regional,
        scheme=props.text(
            "loadBalancingScheme", default="INTERNAL" if regional else "EXTERNAL_MANAGED"
        ),
        timeout_sec=props.num("timeoutSec", default=DEFAULT_BACKEND_TIMEOUT_SEC),
        draining_sec=props.num("connectionDrainingTimeoutSec", default=DEFAULT_DRAINING_SEC),
        balancing_modes=modes,
        health_checks=checks,
        health_check_deps=list(deps or []),
    )


def health_check(ref: Ref, place: Placement, props: Props) -> HealthCheck:
    """A health check fact (global or regional)."""
    return HealthCheck(
        ref=ref,
        place=place,
        resource_name=props.opt_text("name"),
        interval_sec=props.num("checkIntervalSec", default=5),
        timeout_sec=props.num("timeoutSec", default=5),
        unhealthy_threshold=props.integer("unhealthyThreshold", default=2),
        healthy_threshold=props.integer("healthyThreshold", default=2),
    )


_REGION = re.compile(r"^[a-z]+-[a-z]+\d+$")


def cluster(ref: Ref, place: Placement, props: Props) -> Cluster:
    """A GKE cluster fact."""
    location = props.get("location")
    regional: bool | Unknown
    if isinstance(location, Unknown):
        regional = location
    else:
        regional = isinstance(location, str) and bool(_REGION.match(location))
    subsetting = props.get("enableL4IlbSubsetting")
    return Cluster(
        ref,
        place,
        regional,
        props.mapping("maintenancePolicy"),
        subsetting if isinstance(subsetting, Unknown) else subsetting is True,
    )


def node_pool(ref: Ref, place: Placement, props: Props) -> NodePool:
    """A GKE node pool fact."""
    drain = props.get("nodeDrainConfigs")
    drains: list[object] | Unknown | None
    if drain is None or isinstance(drain, Unknown):
        drains = drain
    elif isinstance(drain, list):
        drains = list(drain)
    else:
        drains = [drain]
    locations = props.get("nodeLocations")
    zones: int | Unknown | None
    if locations is None or isinstance(locations, Unknown):
        zones = locations
    elif isinstance(locations, list):
        zones = len(locations)
    else:
        zones = Unknown("nodeLocations", f"is not a list: {locations!r}")
    min_nodes: int | Unknown | None = None
    max_nodes: int | Unknown | None = None
    if props.get("autoscaling") is not None:
        min_nodes = props.integer("autoscaling", "minNodeCount", default=0)
        max_nodes = props.integer("autoscaling", "maxNodeCount", default=0)
    elif props.get("nodeCount") is not None:
        min_nodes = max_nodes = props.integer("nodeCount", default=0)
    return NodePool(
        ref,
        place,
        _upgrade_settings(props),
        drains,
        autoscaled=_autoscaled(props),
        zones=zones,
        min_nodes_per_zone=min_nodes,
        max_nodes_per_zone=max_nodes,
    )


def _autoscaled(props: Props) -> bool | Unknown:
    """Whether the cluster autoscaler manages the pool (node-count bounds set)."""
    scaling = props.mapping("autoscaling")
    autoscaled: bool | Unknown
    if isinstance(scaling, Unknown):
        autoscaled = scaling
    elif scaling is None:
        autoscaled = False
    else:
        # pulumi-gcp NodePoolAutoscaling: node-count bounds turn the cluster autoscaler on.
        bounds = [scaling.get(key) for key in _AUTOSCALING_BOUNDS]
        if any(is_unknown(value) for value in bounds):
            autoscaled = Unknown("autoscaling")
        else:
            autoscaled = any(value is not None for value in bounds)
    return autoscaled


DEFAULT_SOAK = "3600s"
"""GKE's `blueGreenSettings.nodePoolSoakDuration` when unset: one hour (GKE docs, "Blue-green
upgrades": "node pool soak duration ... default: one hour"; `--node-pool-soak-duration`)."""
DEFAULT_AUTOHEALING_DELAY_SEC = 0
"""The API's `autoHealingPolicies.initialDelaySec` when unset."""


def _upgrade_settings(props: Props) -> dict[str, object] | Unknown | None:
    """`upgradeSettings` with GKE's default soak filled in for a BLUE_GREEN pool."""
    settings = props.mapping("upgradeSettings")
    if not isinstance(settings, dict) or settings.get("strategy") != "BLUE_GREEN":
        return settings
    blue_green = settings.get("blueGreenSettings")
    if blue_green is None:
        blue_green = {}
    if isinstance(blue_green, dict) and blue_green.get("nodePoolSoakDuration") is None:
        return {
            **settings,
            "blueGreenSettings": {**blue_green, "nodePoolSoakDuration": DEFAULT_SOAK},
        }
    return settings


_AUTOSCALING_BOUNDS = ("minNodeCount", "maxNodeCount", "totalMinNodeCount", "totalMaxNodeCount")
"""Node-count bounds of a pool's autoscaling block (pulumi-gcp NodePoolAutoscaling)."""


def alert_policy(ref: Ref, place: Placement, props: Props) -> AlertPolicy:
    """An alert policy fact: its tier, whether it is on, how many conditions it has."""
    # `enabled` defaults to true (cloud.google.com/monitoring/api/ref_v3/rest/v3/
    # projects.alertPolicies, "enabled: Whether or not the policy is enabled. On write, the
    # default interpretation if unset is that the policy is enabled").
    conditions = props.get("conditions")
    count: int | Unknown
    if isinstance(conditions, Unknown):
        count = conditions
    elif isinstance(conditions, list):
        count = len(conditions)
    else:
        count = 0
    return AlertPolicy(
        ref=ref, place=place, enabled=props.flag("enabled", default=True), conditions=count
    )
