"""How a resource says which chain and which tier it belongs to.

The components stamp every resource they create; the chain rules group resources by these marks,
so they work for any stack built with the components and name the tier that is missing.

- Kubernetes objects: labels `hitless.dev/chain` and `hitless.dev/tier` on the object's
  metadata (and, for workloads, on the pod template).
- GCP resources with labels (instance templates, MIG instances, forwarding rules, clusters, node
  pools): labels `hitless-chain` and `hitless-tier`.
- Kong entities applied with pulumi-kong: Kong tags `hitless-chain=<c>`, `hitless-tier=<t>`,
  `hitless-role=<r>`.
- GCP resources without labels (backend services, health checks, URL maps, target proxies,
  firewalls, addresses, log-based metrics): a description that starts with
  `[hitless chain=<c> tier=<t> role=<r>]`.
- Cloud Monitoring alert policies: `userLabels` `hitless-chain`, `hitless-tier`, `hitless-role`;
  dashboards: the same keys in the `labels` of their `dashboardJson`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Tier(StrEnum):
    """The four tiers of the chain, plus the GKE platform that carries C and D."""

    A = "a"
    """nginx L7 on a regional MIG behind the external Application LB."""
    B = "b"
    """nginx L4 (stream) on a regional MIG behind the internal passthrough NLB."""
    C = "c"
    """Kong data plane on GKE."""
    D = "d"
    """The runtime (RT) Deployment on GKE."""
    GKE = "gke"
    """The GKE cluster and node pools that carry C and D."""
    NET = "net"
    """The VPC, subnets and NAT shared by all tiers."""


K8S_CHAIN_LABEL = "hitless.dev/chain"
"""Kubernetes label naming the chain an object belongs to."""
K8S_TIER_LABEL = "hitless.dev/tier"
"""Kubernetes label naming the tier (`c` or `d`) an object belongs to."""
K8S_ROLE_LABEL = "hitless.dev/role"
"""Kubernetes label naming the object's role within its tier (e.g. `proxy`, `config`)."""

GCP_CHAIN_LABEL = "hitless-chain"
"""GCP label naming the chain a resource belongs to."""
GCP_TIER_LABEL = "hitless-tier"
"""GCP label naming the tier a resource belongs to."""
GCP_ROLE_LABEL = "hitless-role"
"""GCP label naming the resource's role within its tier."""

RT_ANNOTATION_PREFIX = "hitless.dev/"
"""Prefix of the annotations on the runtime Deployment that declare its own server settings."""
RT_REQUEST_TIMEOUT_ANNOTATION = "hitless.dev/request-timeout-seconds"
"""Runtime's own request timeout (seconds), declared on its Deployment."""
RT_KEEPALIVE_IDLE_ANNOTATION = "hitless.dev/keepalive-idle-timeout-seconds"
"""Runtime's own HTTP keep-alive idle timeout (seconds), declared on its Deployment."""
RT_MAX_BODY_ANNOTATION = "hitless.dev/max-body-mib"
"""Runtime's own request body limit (MiB), declared on its Deployment."""

RT_PROFILE_ANNOTATION_PREFIX = "hitless.dev/profile."
"""Prefix of the annotations on a runtime Deployment that state its own traffic promise where it
differs from the chain's (`hitless.dev/profile.max_body_mib: "1"`); the field names are
`profile.PATH_PROFILE_FIELDS`."""

NGINX_CONF_METADATA_KEY = "nginx-conf"
"""Instance-template metadata key that carries the tier's rendered nginx.conf."""

_DESCRIPTION = re.compile(
    r"^\[hitless chain=(?P<chain>[a-z0-9-]+) tier=(?P<tier>[a-z]+) role=(?P<role>[a-z0-9-]+)\]"
)


@dataclass(frozen=True)
class Identity:
    """Which chain, tier and role a resource belongs to."""

    chain: str
    """Chain name (one stack may hold several chains)."""
    tier: Tier
    """Tier within the chain."""
    role: str
    """Role within the tier, e.g. `backend`, `mig`, `proxy`."""


def k8s_labels(chain: str, tier: Tier, role: str) -> dict[str, str]:
    """The identity labels of a Kubernetes object."""
    return {K8S_CHAIN_LABEL: chain, K8S_TIER_LABEL: tier.value, K8S_ROLE_LABEL: role}


def gcp_labels(chain: str, tier: Tier, role: str) -> dict[str, str]:
    """The identity labels of a labelled GCP resource."""
    return {GCP_CHAIN_LABEL: chain, GCP_TIER_LABEL: tier.value, GCP_ROLE_LABEL: role}


def kong_tags(chain: str, tier: Tier, role: str) -> list[str]:
    """The identity tags of a Kong entity applied through pulumi-kong."""
    return [
        f"{GCP_CHAIN_LABEL}={chain}",
        f"{GCP_TIER_LABEL}={tier.value}",
        f"{GCP_ROLE_LABEL}={role}",
    ]


def gcp_description(chain: str, tier: Tier, role: str, text: str) -> str:
    """Description of an unlabelled GCP resource: identity tag, then human text."""
    return f"[hitless chain={chain} tier={tier.value} role={role}] {text}"


def _from_labels(labels: object, chain_key: str, tier_key: str, role_key: str) -> Identity | None:
    if not isinstance(labels, Mapping):
        return None
    chain, tier = labels.get(chain_key), labels.get(tier_key)
    if (
        not isinstance(chain, str)
        or not isinstance(tier, str)
        or tier not in Tier._value2member_map_
    ):
        return None
    role = labels.get(role_key)
    return Identity(chain=chain, tier=Tier(tier), role=role if isinstance(role, str) else "")


def _dashboard_identity(text: str) -> Identity | None:
    """The identity in a Cloud Monitoring dashboard's JSON `labels`, if any."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, Mapping):
        return None
    return _from_labels(body.get("labels"), GCP_CHAIN_LABEL, GCP_TIER_LABEL, GCP_ROLE_LABEL)


def identity_of(props: Mapping[str, object]) -> Identity | None:
    """Read the identity a component stamped on a resource's props (camelCase), if any."""
    metadata = props.get("metadata")
    if isinstance(metadata, Mapping):
        found = _from_labels(
            metadata.get("labels"), K8S_CHAIN_LABEL, K8S_TIER_LABEL, K8S_ROLE_LABEL
        )
        if found is not None:
            return found
    found = _from_labels(props.get("labels"), GCP_CHAIN_LABEL, GCP_TIER_LABEL, GCP_ROLE_LABEL)
    if found is not None:
        return found
    found = _from_labels(props.get("userLabels"), GCP_CHAIN_LABEL, GCP_TIER_LABEL, GCP_ROLE_LABEL)
    if found is not None:
        return found
    dashboard = props.get("dashboardJson")
    if isinstance(dashboard, str):
        found = _dashboard_identity(dashboard)
        if found is not None:
            return found
    all_instances = props.get("allInstancesConfig")
    if isinstance(all_instances, Mapping):
        found = _from_labels(
            all_instances.get("labels"), GCP_CHAIN_LABEL, GCP_TIER_LABEL, GCP_ROLE_LABEL
        )
        if found is not None:
            return found
    node_config = props.get("nodeConfig")
    if isinstance(node_config, Mapping):
        found = _from_labels(
            node_config.get("resourceLabels"), GCP_CHAIN_LABEL, GCP_TIER_LABEL, GCP_ROLE_LABEL
        )
        if found is not None:
            return found
    tags = props.get("tags")
    if isinstance(tags, Sequence) and not isinstance(tags, str):
        pairs = dict(str(tag).split("=", 1) for tag in tags if "=" in str(tag))
        found = _from_labels(pairs, GCP_CHAIN_LABEL, GCP_TIER_LABEL, GCP_ROLE_LABEL)
        if found is not None:
            return found
    description = props.get("description")
    if isinstance(description, str):
        match = _DESCRIPTION.match(description)
        if match and match.group("tier") in Tier._value2member_map_:
            return Identity(match.group("chain"), Tier(match.group("tier")), match.group("role"))
    return None
