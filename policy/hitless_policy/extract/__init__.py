"""Extraction: resources' props (wire camelCase, possibly proxied) to per-tier facts.

`collect_facts` is the one entry point: the engine's policies, the offline runner and
`hitless check` all call it, so every place judges the same facts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hitless_policy.extract import gcp, k8s, kong, nginx, security
from hitless_policy.extract.props import Props, is_unknown, plain
from hitless_policy.facts import (
    AwaitTimeout,
    CustomTimeouts,
    Facts,
    NginxConf,
    NginxSource,
    Placement,
    Ref,
)
from hitless_policy.identity import Tier, identity_of

__all__ = ["NGINX_FILE", "ResourceInput", "collect_facts", "placement"]

UNASSIGNED = ""
"""Chain of a resource without identity marks, until `collect_facts` assigns one."""
NGINX_FILE = "hitless:file:NginxConf"
"""Type token of an nginx.conf given as a file (`hitless check`): props `tier` and either
`metadata.nginx-conf` (the text) or `path` (read with its includes; `prefix`, `reach_ports`)."""
DEFAULT_CHAIN = "default"
"""Chain of unmarked resources when the set holds no (or several) marked chains."""


@dataclass(frozen=True)
class ResourceInput:
    """One resource to judge: what the engine (or the mock harness) knows about it."""

    urn: str
    """URN (or `<file>:<Kind>/<name>` for files)."""
    type: str
    """Pulumi type token."""
    name: str
    """Logical name."""
    props: Mapping[str, Any]
    """Props in wire form (camelCase); unknowns as Pulumi's sentinels; proxies accepted."""
    parent: str | None = None
    """Parent URN, when known."""
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """URNs each property depends on (the engine resolves computed references this way)."""
    custom_timeouts: CustomTimeouts | None = None
    """The `custom_timeouts` resource option (None: no resource options, e.g. a manifest)."""


def await_timeout(
    timeouts: CustomTimeouts | None, operation: str, default_seconds: float, default_source: str
) -> AwaitTimeout | None:
    """How long `pulumi up` awaits `operation` (`create`/`update`): the option or the default.

    None when the resource carries no resource options (files judged by `hitless check`).
    """
    if timeouts is None:
        return None
    seconds = float(getattr(timeouts, f"{operation}_seconds"))
    if seconds > 0:
        return AwaitTimeout(seconds, f"customTimeouts.{operation}")
    return AwaitTimeout(default_seconds, f"no customTimeouts.{operation}: {default_source}")


def placement(props: Mapping[str, object], inferred: Tier | None) -> Placement:
    """Chain and tier from identity marks, else the inferred tier in an unassigned chain."""
    found = identity_of(props)
    if found is not None:
        return Placement(found.chain, found.tier, found.role)
    return Placement(UNASSIGNED, inferred)


def _assign_chains(facts: Facts) -> None:
    marked = {chain for chain in facts.chains() if chain != UNASSIGNED}
    chain = next(iter(marked)) if len(marked) == 1 else DEFAULT_CHAIN
    for name in (f.name for f in dataclasses.fields(facts)):
        items: list[Any] = getattr(facts, name)
        for index, item in enumerate(items):
            place = getattr(item, "place", None)
            if place is not None and place.chain == UNASSIGNED:
                new_place = dataclasses.replace(place, chain=chain)
                updated = dataclasses.replace(item, place=new_place)
                if isinstance(updated, NginxSource) and isinstance(updated.conf, NginxConf):
                    updated = dataclasses.replace(
                        updated, conf=dataclasses.replace(updated.conf, place=new_place)
                    )
                items[index] = updated


def collect_facts(resources: Iterable[ResourceInput]) -> Facts:
    """Extract the facts of every resource the rules know; other resources are ignored."""
    facts = Facts()
    kong_entities: dict[str, list[kong.KongEntity]] = {}
    for resource in resources:
        data = plain(resource.props)
        props = Props(data)
        ref = Ref(resource.urn, resource.name, resource.type)
        kind = resource.type
        facts.security.extend(security.extract(ref, kind, data, resource.parent))
        if kind == k8s.DEPLOYMENT:
            inferred = Tier.C if k8s.looks_like_kong(props) else Tier.D
            place = placement(data, inferred)
            if place.tier not in (Tier.C, Tier.D):
                place = dataclasses.replace(place, tier=inferred)
            facts.deployments.append(
                dataclasses.replace(
                    k8s.deployment(ref, place, props),
                    await_create=await_timeout(
                        resource.custom_timeouts,
                        "create",
                        k8s.DEPLOYMENT_AWAIT_DEFAULT_SECONDS,
                        "pulumi-kubernetes' default",
                    ),
                    await_update=await_timeout(
                        resource.custom_timeouts,
                        "update",
                        k8s.DEPLOYMENT_AWAIT_DEFAULT_SECONDS,
                        "pulumi-kubernetes' default",
                    ),
                )
            )
        elif kind == gcp.ALERT_POLICY:
            facts.alert_policies.append(gcp.alert_policy(ref, placement(data, None), props))
        elif kind == k8s.PDB:
            facts.pdbs.append(k8s.pdb(ref, placement(data, None), props))
        elif kind == k8s.SERVICE:
            facts.services.append(k8s.service(ref, placement(data, None), props))
        elif kind == k8s.HPA:
            facts.hpas.append(k8s.hpa(ref, props))
        elif kind == k8s.CONFIG_MAP:
            keys = kong.config_keys(data.get("data"))
            if is_unknown(props.get("data", k8s.KONG_CONFIG_KEY)):
                keys = [k8s.KONG_CONFIG_KEY]
            for key in keys:  # Kong config under any key, recognised by its content
                text = props.get("data", key)
                facts.kong_configs.append(
                    kong.from_declarative(ref, placement(data, Tier.C), text, f"data.{key}")
                )
        elif kind == kong.KONG_FILE:
            facts.kong_configs.append(
                kong.from_mapping(ref, placement(data, Tier.C), data.get("config"), ref.name)
            )
        elif kind in kong.KONG_TYPES:
            entity = kong.KongEntity(ref, placement(data, Tier.C), props)
            kong_entities.setdefault(entity.place.chain, []).append(entity)
        elif kind in (gcp.INSTANCE_TEMPLATE, gcp.REGION_INSTANCE_TEMPLATE):
            place = placement(data, None)
            source = gcp.instance_template(ref, place, props)
            if source.conf is not None or place.tier in (Tier.A, Tier.B):
                if place.tier is None:
                    conf = source.conf
                    is_stream = isinstance(conf, NginxConf) and conf.stream
                    place = dataclasses.replace(place, tier=Tier.B if is_stream else Tier.A)
                    source = NginxSource(
                        ref,
                        place,
                        dataclasses.replace(conf, place=place)
                        if isinstance(conf, NginxConf)
                        else conf,
                    )
                facts.nginx.append(source)
        elif kind == NGINX_FILE:
            tier = Tier.B if data.get("tier") == Tier.B.value else Tier.A
            place = Placement(UNASSIGNED, tier)
            if isinstance(data.get("path"), str):
                facts.nginx.append(nginx.file_source(ref, place, data))
            else:
                facts.nginx.append(gcp.instance_template(ref, place, props))
        elif kind == gcp.MIG:
            facts.migs.append(
                dataclasses.replace(
                    gcp.mig(ref, placement(data, None), props),
                    await_update=await_timeout(
                        resource.custom_timeouts,
                        "update",
                        gcp.MIG_DEFAULT_TIMEOUT_SECONDS,
                        "pulumi-gcp's default",
                    ),
                )
            )
        elif kind in (gcp.BACKEND_SERVICE, gcp.REGION_BACKEND_SERVICE):
            inferred = Tier.B if kind == gcp.REGION_BACKEND_SERVICE else Tier.A
            deps = list(resource.property_dependencies.get("healthChecks", []))
            facts.backend_services.append(
                gcp.backend_service(ref, placement(data, inferred), props, deps)
            )
        elif kind in (gcp.HEALTH_CHECK, gcp.REGION_HEALTH_CHECK):
            facts.health_checks.append(gcp.health_check(ref, placement(data, None), props))
        elif kind == gcp.CLUSTER:
            facts.clusters.append(gcp.cluster(ref, placement(data, Tier.GKE), props))
        elif kind == gcp.NODE_POOL:
            facts.node_pools.append(
                dataclasses.replace(
                    gcp.node_pool(ref, placement(data, Tier.GKE), props),
                    await_update=await_timeout(
                        resource.custom_timeouts,
                        "update",
                        gcp.NODE_POOL_DEFAULT_TIMEOUT_SECONDS,
                        "pulumi-gcp's default",
                    ),
                )
            )
    facts.kong_configs.extend(kong.from_entities(group) for group in kong_entities.values())
    _assign_chains(facts)
    return facts
