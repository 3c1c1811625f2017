"""The GCP resources of a run as a Terraform plan (JSON), the shape outside scanners read.

pulumi-gcp is bridged from the Terraform google provider: each resource is a Terraform
resource type with the same attributes, spelled camelCase, with repeated blocks pluralised
(`allow` -> `allows`). `terraform_plan` turns `build/<stack>/resources.json` back into
Terraform's plan representation (`planned_values.root_module.resources[]` with `address`,
`type`, `name`, `values`), so a scanner such as checkov (`--framework terraform_plan`) judges the
same resources the policy pack judges.

As in a real plan, a value that is unknown until the update runs is left out of `values` and
listed in the change's `after_unknown`. Maps (labels, metadata) keep their keys. Resources
of types not in `TERRAFORM_TYPES` (providers, components, Kubernetes objects, which scanners
read as manifests) are not converted; `unconverted` lists their types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""Pulumi's unknown sentinel, as resources.json holds it."""
PLAN_FORMAT_VERSION = "1.0"
"""`format_version` of the plan representation written (Terraform's JSON output format 1.0)."""
PLAN_TERRAFORM_VERSION = "1.0.0"
"""`terraform_version`: the release that introduced format 1.0. Scanners require the field
(checkov recognises a plan by `terraform_version` and `planned_values`); no Terraform runs."""

TERRAFORM_TYPES: dict[str, str] = {
    "gcp:compute/network:Network": "google_compute_network",
    "gcp:compute/subnetwork:Subnetwork": "google_compute_subnetwork",
    "gcp:compute/router:Router": "google_compute_router",
    "gcp:compute/routerNat:RouterNat": "google_compute_router_nat",
    "gcp:compute/firewall:Firewall": "google_compute_firewall",
    "gcp:compute/address:Address": "google_compute_address",
    "gcp:compute/globalAddress:GlobalAddress": "google_compute_global_address",
    "gcp:compute/instanceTemplate:InstanceTemplate": "google_compute_instance_template",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": (
        "google_compute_region_instance_group_manager"
    ),
    "gcp:compute/healthCheck:HealthCheck": "google_compute_health_check",
    "gcp:compute/regionHealthCheck:RegionHealthCheck": "google_compute_region_health_check",
    "gcp:compute/backendService:BackendService": "google_compute_backend_service",
    "gcp:compute/regionBackendService:RegionBackendService": (
        "google_compute_region_backend_service"
    ),
    "gcp:compute/uRLMap:URLMap": "google_compute_url_map",
    "gcp:compute/targetHttpProxy:TargetHttpProxy": "google_compute_target_http_proxy",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "google_compute_target_https_proxy",
    "gcp:compute/sSLPolicy:SSLPolicy": "google_compute_ssl_policy",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": (
        "google_compute_managed_ssl_certificate"
    ),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": (
        "google_compute_global_forwarding_rule"
    ),
    "gcp:compute/forwardingRule:ForwardingRule": "google_compute_forwarding_rule",
    "gcp:container/cluster:Cluster": "google_container_cluster",
    "gcp:container/nodePool:NodePool": "google_container_node_pool",
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:projects/iAMMember:IAMMember": "google_project_iam_member",
    "gcp:logging/metric:Metric": "google_logging_metric",
    "gcp:monitoring/alertPolicy:AlertPolicy": "google_monitoring_alert_policy",
    "gcp:monitoring/dashboard:Dashboard": "google_monitoring_dashboard",
    "gcp:monitoring/notificationChannel:NotificationChannel": (
        "google_monitoring_notification_channel"
    ),
}
"""Pulumi type token -> Terraform resource type (the bridged google provider's names)."""

BLOCK_NAMES: dict[str, str] = {
    "allows": "allow",
    "denies": "deny",
    "networkInterfaces": "network_interface",
    "accessConfigs": "access_config",
    "ipv6AccessConfigs": "ipv6_access_config",
    "aliasIpRanges": "alias_ip_range",
    "disks": "disk",
    "secondaryIpRanges": "secondary_ip_range",
    "backends": "backend",
    "nodeDrainConfigs": "node_drain_config",
    "namedPorts": "named_port",
    "versions": "version",
    "hostRules": "host_rule",
    "pathMatchers": "path_matcher",
    "subnetworks": "subnetwork",
}
"""Repeated blocks pulumi-gcp pluralises, by their Pulumi name -> Terraform block name."""

MAP_ATTRIBUTES = frozenset(
    {"labels", "metadata", "resourceLabels", "userLabels", "effectiveLabels", "terraformLabels"}
)
"""Attributes that are Terraform maps: their keys are data, not attribute names."""

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])")
"""An upper-case letter that starts a new word of a camelCase name."""


def snake(name: str) -> str:
    """A camelCase attribute name in Terraform's snake_case (`enableVtpm` -> `enable_vtpm`)."""
    return _CAMEL.sub(lambda m: "_" + (m.group(1) or m.group(2)), name).lower()


def attribute(name: str) -> str:
    """The Terraform name of a Pulumi attribute."""
    return BLOCK_NAMES.get(name) or snake(name)


def _convert(value: Any, *, is_map: bool = False) -> tuple[Any, Any]:
    """(known value, after_unknown marker) for one wire-form value; unknowns are dropped."""
    if value == UNKNOWN:
        return None, True
    if isinstance(value, Mapping):
        known: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key) if is_map else attribute(str(key))
            converted, marker = _convert(item, is_map=not is_map and str(key) in MAP_ATTRIBUTES)
            if marker is True:
                unknown[name] = True
                continue
            known[name] = converted
            if marker:
                unknown[name] = marker
        return known, unknown or False
    if isinstance(value, list):
        items: list[Any] = []
        markers: list[Any] = []
        for item in value:
            converted, marker = _convert(item)
            if marker is True:
                markers.append(True)
                continue
            items.append(converted)
            markers.append(marker or False)
        return items, markers if any(markers) else False
    if isinstance(value, float) and value.is_integer():
        return int(value), False
    return value, False


def _address_name(name: str) -> str:
    """A Terraform resource name from a Pulumi logical name."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return cleaned if cleaned[:1].isalpha() or cleaned[:1] == "_" else f"r_{cleaned}"


def terraform_plan(resources: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The plan representation of the convertible resources of `resources.json`'s list."""
    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for res in resources:
        tf_type = TERRAFORM_TYPES.get(str(res.get("type")))
        if tf_type is None or not res.get("custom", True):
            continue
        name = _address_name(str(res.get("name")))
        address = f"{tf_type}.{name}"
        if address in seen:
            raise ValueError(f"two resources convert to the Terraform address {address}")
        seen.add(address)
        props = res.get("props")
        values, unknown = _convert(props if isinstance(props, Mapping) else {})
        base = {
            "address": address,
            "mode": "managed",
            "type": tf_type,
            "name": name,
            "provider_name": "registry.terraform.io/hashicorp/google",
        }
        planned.append({**base, "schema_version": 0, "values": values})
        changes.append(
            {
                **base,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": values,
                    "after_unknown": unknown or {},
                },
            }
        )
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "terraform_version": PLAN_TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
    }


def unconverted(resources: Iterable[Mapping[str, Any]]) -> list[str]:
    """Type tokens of custom GCP resources `terraform_plan` has no Terraform type for."""
    return sorted(
        {
            str(res.get("type"))
            for res in resources
            if str(res.get("type")).startswith("gcp:")
            and res.get("custom", True)
            and str(res.get("type")) not in TERRAFORM_TYPES
        }
    )
