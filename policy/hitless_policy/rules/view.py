"""One chain's tiers, found by identity, and the longest request per tier it implies."""

from __future__ import annotations

from dataclasses import dataclass, field

from hitless_policy import budget
from hitless_policy.extract import kong as kong_extract
from hitless_policy.facts import (
    BackendService,
    Cluster,
    Deployment,
    Facts,
    KongConfig,
    KongSettings,
    NginxConf,
    Ref,
    Unknown,
)
from hitless_policy.identity import Tier
from hitless_policy.profile import TrafficProfile


@dataclass
class Side:
    """What a chain holds for one tier: known facts, and resources whose facts are unknown."""

    tier: str
    """Human name of the side, e.g. `A (nginx L7 config)`."""
    unknown: list[tuple[Ref, Unknown]] = field(default_factory=list)
    """Resources of this side that cannot be read yet."""

    def missing_reason(self) -> str:
        """Why the side cannot be used (unknown values, or absent)."""
        if self.unknown:
            return "; ".join(f"{ref.name}: {marker}" for ref, marker in self.unknown)
        return f"tier {self.tier} is missing from the chain"


@dataclass
class ChainView:
    """The facts of one chain, grouped by tier."""

    name: str
    """Chain name."""
    a_confs: list[NginxConf] = field(default_factory=list)
    """Tier A nginx configs (http)."""
    b_confs: list[NginxConf] = field(default_factory=list)
    """Tier B nginx configs (stream)."""
    a_side: Side = field(default_factory=lambda: Side("A (nginx L7 config)"))
    """Tier A's side (for missing/unknown reasons)."""
    b_side: Side = field(default_factory=lambda: Side("B (nginx L4 config)"))
    """Tier B's side."""
    lb_a: list[BackendService] = field(default_factory=list)
    """Global backend services in front of A."""
    lb_b: list[BackendService] = field(default_factory=list)
    """Regional (internal) backend services in front of B."""
    kong_configs: list[KongConfig] = field(default_factory=list)
    """Kong proxy configs (tier C)."""
    kong: list[KongSettings] = field(default_factory=list)
    """Kong Deployments' settings (tier C)."""
    runtimes: list[Deployment] = field(default_factory=list)
    """Runtime Deployments (tier D)."""
    clusters: list[Cluster] = field(default_factory=list)
    """GKE clusters carrying C and D."""

    def buffering_at_a(self) -> bool | Unknown:
        """A buffers bodies unless a proxying location turns it off (nginx default: on)."""
        if self.a_side.unknown:
            return self.a_side.unknown[0][1]
        return all(p.request_buffering for conf in self.a_confs for p in conf.proxies)

    def buffering_at_c(self) -> bool | Unknown:
        """Kong buffers bodies unless a route turns it off (Kong default: on)."""
        for config in self.kong_configs:
            for value in config.route_request_buffering:
                if isinstance(value, Unknown):
                    return value
        return all(
            value is not False
            for config in self.kong_configs
            for value in config.route_request_buffering
        )

    def longest(self, profile: TrafficProfile) -> budget.LongestRequests | Unknown:
        """Each tier's longest request for this chain's buffering (Unknown: buffering unknown)."""
        at_a, at_c = self.buffering_at_a(), self.buffering_at_c()
        if isinstance(at_a, Unknown):
            return at_a
        if isinstance(at_c, Unknown):
            return at_c
        return budget.longest_requests(profile, buffering_at_a=at_a, buffering_at_c=at_c)

    def regional(self) -> bool | Unknown | None:
        """Whether the chain's GKE cluster is regional (None: no cluster; Unknown: location)."""
        for cluster in self.clusters:
            if isinstance(cluster.regional, Unknown):
                return cluster.regional
        known = [c.regional for c in self.clusters if not isinstance(c.regional, Unknown)]
        return any(known) if known else None


def chain_views(facts: Facts) -> dict[str, ChainView]:
    """A view per chain holding any tier fact."""
    views = {name: ChainView(name) for name in facts.chains()}
    for source in facts.nginx:
        view = views[source.place.chain]
        side = view.a_side if source.place.tier is Tier.A else view.b_side
        confs = view.a_confs if source.place.tier is Tier.A else view.b_confs
        if isinstance(source.conf, NginxConf):
            confs.append(source.conf)
        elif isinstance(source.conf, Unknown):
            side.unknown.append((source.ref, source.conf))
    for service in facts.backend_services:
        view = views[service.place.chain]
        (view.lb_b if service.regional or service.place.tier is Tier.B else view.lb_a).append(
            service
        )
    for config in facts.kong_configs:
        views[config.place.chain].kong_configs.append(config)
    for deployment in facts.deployments:
        view = views[deployment.place.chain]
        if deployment.is_kong:
            view.kong.append(kong_extract.settings(deployment))
        else:
            view.runtimes.append(deployment)
    for cluster in facts.clusters:
        if cluster.place.chain in views:
            views[cluster.place.chain].clusters.append(cluster)
        else:
            for view in views.values():
                view.clusters.append(cluster)
    return views


def longest_for(
    views: dict[str, ChainView], chain: str, profile: TrafficProfile
) -> budget.LongestRequests | Unknown:
    """The longest requests of `chain` (defaults for tiers it lacks: buffering on)."""
    view = views.get(chain)
    if view is None:
        return budget.longest_requests(profile, buffering_at_a=True, buffering_at_c=True)
    return view.longest(profile)


def longest_values(longest: budget.LongestRequests | Unknown) -> dict[str, float | None]:
    """The catalog's `longest_*` inputs (None each when the buffering is unknown)."""
    names = ("client_upload", "internal_transfer", "a", "b", "c", "d")
    if isinstance(longest, Unknown):
        return {f"longest_{name}": None for name in names}
    return {f"longest_{name}": float(getattr(longest, name)) for name in names}
