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
    KongService,
    KongSettings,
    NginxConf,
    Ref,
    Service,
    Unknown,
)
from hitless_policy.identity import RT_PROFILE_ANNOTATION_PREFIX, Tier
from hitless_policy.profile import PackConfig, TrafficProfile, path_profile


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

    def runtime_profile(
        self, runtime: Deployment, profile: TrafficProfile
    ) -> TrafficProfile | Unknown:
        """The promise of the path A -> B -> C -> `runtime`.

        The chain's `profile` with the runtime's own `hitless.dev/profile.<field>` annotations
        (Unknown: one is unreadable).
        """
        overrides: dict[str, float] = {}
        for name, value in runtime.profile.items():
            if isinstance(value, Unknown):
                return value
            overrides[name] = value
        try:
            return path_profile(profile, overrides)
        except ValueError:
            return Unknown(
                f"{RT_PROFILE_ANNOTATION_PREFIX}*",
                f"of runtime '{runtime.ref.name}' is outside the profile's bounds ({overrides})",
            )

    def runtime_longest(
        self, runtime: Deployment, profile: TrafficProfile
    ) -> budget.LongestRequests | Unknown:
        """The longest requests of the path A -> B -> C -> `runtime`."""
        own = self.runtime_profile(runtime, profile)
        if isinstance(own, Unknown):
            return own
        return self.longest(own)

    def shared_profile(self, profile: TrafficProfile) -> TrafficProfile | Unknown:
        """The promise the tiers every path crosses must keep (A, B, Kong's globals).

        The chain's profile with the largest body over the paths (its own without a runtime).
        """
        bodies: list[float] = []
        for runtime in self.runtimes:
            own = self.runtime_profile(runtime, profile)
            if isinstance(own, Unknown):
                return own
            bodies.append(own.max_body_mib)
        return path_profile(profile, {"max_body_mib": max(bodies)}) if bodies else profile

    def shared_longest(self, profile: TrafficProfile) -> budget.LongestRequests | Unknown:
        """The longest requests over every path (the chain's profile's without a runtime)."""
        if not self.runtimes:
            return self.longest(profile)
        paths: list[budget.LongestRequests] = []
        for runtime in self.runtimes:
            longest = self.runtime_longest(runtime, profile)
            if isinstance(longest, Unknown):
                return longest
            paths.append(longest)
        return budget.longest_over_paths(paths)

    def served_by(self, service: KongService, services: list[Service]) -> list[Deployment]:
        """The runtimes a Kong Service sends to (by its hosts and the Services selecting them).

        A Service whose hosts are unknown, or name no runtime's Service, is taken to serve
        every runtime of the chain, so it is judged against each path's bound.
        """
        hosts = service.hosts
        if isinstance(hosts, Unknown) or len(self.runtimes) < 2:
            return list(self.runtimes)
        matched = [
            runtime
            for runtime in self.runtimes
            if any(host in runtime_hosts(runtime, services) for host in hosts)
        ]
        return matched or list(self.runtimes)

    def regional(self) -> bool | Unknown | None:
        """Whether the chain's GKE cluster is regional (None: no cluster; Unknown: location)."""
        for cluster in self.clusters:
            if isinstance(cluster.regional, Unknown):
                return cluster.regional
        known = [c.regional for c in self.clusters if not isinstance(c.regional, Unknown)]
        return any(known) if known else None


def runtime_hosts(runtime: Deployment, services: list[Service]) -> set[str]:
    """The in-cluster DNS names of the Kubernetes Services selecting `runtime`'s pods."""
    labels, namespace = runtime.pod_labels, runtime.namespace
    if isinstance(labels, Unknown) or isinstance(namespace, Unknown):
        return set()
    out: set[str] = set()
    for svc in services:
        name, selector = svc.object_name, svc.selector
        if isinstance(name, Unknown) or isinstance(selector, Unknown) or not name or not selector:
            continue
        if svc.namespace != namespace or any(labels.get(k) != v for k, v in selector.items()):
            continue
        out |= {f"{name}.{namespace}.svc.cluster.local", f"{name}.{namespace}.svc"}
        out |= {f"{name}.{namespace}"}
    return out


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
    """The longest requests over every path of `chain`.

    Defaults for tiers it lacks: buffering on.
    """
    view = views.get(chain)
    if view is None:
        return budget.longest_requests(profile, buffering_at_a=True, buffering_at_c=True)
    return view.shared_longest(profile)


def runtime_longest_for(
    views: dict[str, ChainView], runtime: Deployment, profile: TrafficProfile
) -> budget.LongestRequests | Unknown:
    """The longest requests of the path A -> B -> C -> `runtime`."""
    view = views.get(runtime.place.chain) or ChainView(runtime.place.chain)
    return view.runtime_longest(runtime, profile)


def longest_values(longest: budget.LongestRequests | Unknown) -> dict[str, float | None]:
    """The catalog's `longest_*` inputs (None each when the buffering is unknown)."""
    names = ("client_upload", "internal_transfer", "a", "b", "c", "d")
    if isinstance(longest, Unknown):
        return {f"longest_{name}": None for name in names}
    return {f"longest_{name}": float(getattr(longest, name)) for name in names}


def path_config(view: ChainView, runtime: Deployment, config: PackConfig) -> PackConfig | Unknown:
    """The pack config of the path A -> B -> C -> `runtime`: its own promise, same thresholds."""
    own = view.runtime_profile(runtime, config.profile)
    if isinstance(own, Unknown):
        return own
    return PackConfig(profile=own, thresholds=config.thresholds)
