"""The simulator's inputs: extracted facts (as `check`, `preview` and the lab read them).

`stack_facts` renders a stack under the mock runtime, as `hitless preview` does, and extracts the
facts; `file_facts` reads manifests, nginx configs and a `kong.yml` as `hitless check` does, and
takes the tiers the files do not carry from a stack's facts (`merge_facts` says which). `models`
turns the facts into each rolling tier's `TierModel` and the chain's `ChainModel`. Platform
defaults (Kubernetes', nginx's, Kong's, GCP's) are already in the facts (extraction applies
them); an unknown value the model needs is a `SimulationInputError` naming the resource.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from hitless.check import read_facts
from hitless.program import load_config, resource_inputs, run_stack
from hitless_policy import budget
from hitless_policy.extract import collect_facts
from hitless_policy.extract import kong as kong_extract
from hitless_policy.facts import (
    BackendService,
    Deployment,
    Facts,
    HealthCheck,
    KongService,
    Mig,
    NginxConf,
    NginxProxy,
    Probe,
    Unknown,
)
from hitless_policy.identity import Tier
from hitless_policy.profile import PackConfig, TrafficProfile, path_profile

T = TypeVar("T")


class SimulationInputError(ValueError):
    """Facts the simulator cannot run on (a missing tier, an unknown value): exit 2."""


ROLLING_TIERS = (Tier.A, Tier.B, Tier.C, Tier.D)
"""The tiers a simulation rolls, outside in."""


@dataclass(frozen=True)
class Setting:
    """One input of the model, with the fact it was read from."""

    what: str
    """What the value is."""
    value: str
    """The value as printed."""
    source: str
    """The resource (or profile key) it comes from."""


@dataclass(frozen=True)
class Pooling:
    """The caller's keepalive pool towards the rolling tier (idle connections reused)."""

    enabled: bool
    """Whether the caller keeps idle connections (nginx `keepalive`, Kong's upstream pool, GFE)."""
    callers: int
    """How many caller instances keep a pool each."""
    caller_idle_seconds: float
    """The caller closes a connection idle this long (inf: never)."""
    lifetime_seconds: float
    """The caller closes a connection after a request once it is this old (nginx
    `keepalive_time`; inf: never)."""
    far_idle_seconds: float
    """The rolling tier closes a client connection idle this long (inf: never or unknown)."""
    closes_idle_on_quit: bool
    """Whether the rolling tier closes idle keepalive connections when it quits gracefully
    (nginx http and Kong: yes; an nginx `stream` session lives on until it ends)."""


@dataclass(frozen=True)
class TierModel:
    """Everything the simulation needs about one rolling tier, read from its facts."""

    tier: Tier
    """The rolling tier."""
    title: str
    """What rolls, in the chain's terms."""
    name: str
    """The rolled object's name (backend names derive from it)."""
    unit: str
    """`pod` or `instance`."""
    replicas: int
    """Backends before and after the rollout."""
    max_surge: int
    """Resolved surge: backends above `replicas` during the rollout."""
    max_unavailable: int
    """Resolved unavailability: backends below `replicas` that may be missing."""
    start_max_seconds: float
    """A new backend's app answers after a time drawn in [0, this] (scheduling, pull, boot)."""
    readiness: budget.ProbeTiming
    """The check that lets routers add a backend (readiness probe, LB health check)."""
    startup: budget.ProbeTiming | None
    """Startup probe gating readiness (None: none)."""
    ready_at_start: bool
    """Whether a new backend is Ready once its container started, before its app answers: a
    container without a readinessProbe (routers list it while its app may still refuse)."""
    min_ready_seconds: float
    """Ready this long before the controller counts the backend available."""
    lag_max_seconds: tuple[float, ...]
    """Routers add or drop a backend after the largest of lags drawn in [0, each]."""
    accepts_for_seconds: float
    """After the termination starts: the listener closes this much later (preStop, quit wait,
    LB draining end)."""
    killed_after_seconds: float
    """After the termination starts: the backend is killed or deleted (grace, quit timeout,
    draining timeout), cutting what is still in flight."""
    shutdown_seconds: float
    """After the listener closed: in-flight requests are closed this much later (nginx
    `worker_shutdown_timeout`, Kong's `--timeout`; inf: never before the kill)."""
    caller: str
    """Who connects to the rolling tier."""
    retries: int
    """Retries of the caller (Kong's `retries`; nginx with one upstream address: 0)."""
    retries_reads: bool
    """Whether the caller also retries an idempotent request after a read timeout or an error
    once the request was sent (Kong: `proxy_next_upstream error timeout`)."""
    connect_timeout_seconds: float
    """A try to a vanished address stalls this long before it fails (the caller's connect
    timeout)."""
    pooling: Pooling
    """The caller's keepalive pool towards this tier."""
    settings: tuple[Setting, ...]
    """The inputs, for the report."""


@dataclass(frozen=True)
class ChainModel:
    """How long a request spends in each tier, and the timeouts that measure it."""

    body_mib: float
    """An upload's body (profile.max_body_mib)."""
    min_client_mbps: float
    """The slowest client's upload speed (profile.min_client_mbps)."""
    internal_mbps: float
    """One internal hop's bandwidth (profile.internal_mbps)."""
    rt_max_processing_seconds: float
    """The runtime's longest work on a request (profile.rt_max_processing_seconds)."""
    a_buffers: bool
    """A's `proxy_request_buffering`."""
    kong_buffers: bool
    """Kong's route `request_buffering`."""
    lb_timeout_seconds: float
    """The external LB's backend service `timeoutSec`."""
    lb_counts_upload: bool
    """Whether `timeoutSec` runs while the client still uploads (classic EXTERNAL)."""
    a_read_timeout_seconds: float
    """A's `proxy_read_timeout` (from the request sent to the response)."""
    b_idle_timeout_seconds: float
    """B's stream `proxy_timeout` (no byte either way this long)."""
    kong_read_timeout_seconds: float
    """Kong's service `read_timeout` (per try)."""
    rt_request_timeout_seconds: float
    """The runtime's declared request timeout (inf: not declared)."""
    settings: tuple[Setting, ...]
    """The inputs, for the report."""


@dataclass(frozen=True)
class SimInputs:
    """The facts, the profile and thresholds they are judged with, and what was defaulted."""

    facts: Facts
    """Every extracted fact."""
    config: PackConfig
    """The traffic profile and thresholds (the stack's, or the pack's defaults)."""
    source: str
    """Where the facts come from (`stack dev`, or the files)."""
    defaulted: tuple[str, ...] = ()
    """Tiers whose facts were not given and come from the stack's rendering."""


# ---------------------------------------------------------------------------------------------
# Facts from a stack or from files
# ---------------------------------------------------------------------------------------------


def stack_facts(stack: str, root: Path) -> SimInputs:
    """Render `stack` under the mock runtime (as `preview` does) and extract its facts."""
    capture = run_stack(stack, root, preview=True)
    cfg = load_config(stack, root)
    facts = collect_facts(resource_inputs(capture))
    config = PackConfig(profile=cfg.profile, thresholds=cfg.thresholds)
    return SimInputs(facts=facts, config=config, source=f"stack {stack}")


def _tiers_of(facts: Facts) -> set[Tier]:
    found: set[Tier] = set()
    for group in (facts.deployments, facts.kong_configs, facts.nginx, facts.migs):
        found.update(item.place.tier for item in group if item.place.tier is not None)
    return found


def merge_facts(given: Facts, defaults: SimInputs, source: str) -> SimInputs:
    """`given`'s facts for the tiers it carries; the other tiers' facts from `defaults`."""
    have = _tiers_of(given)
    base = defaults.facts
    if Tier.A in have or Tier.B in have:
        # A file gives the nginx.conf only: the MIG and its LB come from the stack.
        have_conf = {item.place.tier for item in given.nginx}
        have = (have - {Tier.A, Tier.B}) | {t for t in (Tier.A, Tier.B) if t in have_conf}
    merged = Facts()
    for name in (
        "deployments",
        "pdbs",
        "services",
        "kong_configs",
        "nginx",
        "migs",
        "backend_services",
        "health_checks",
    ):
        mine = [item for item in getattr(given, name) if item.place.tier in have]
        theirs = [item for item in getattr(base, name) if item.place.tier not in have]
        setattr(merged, name, [*mine, *theirs])
    merged.hpas = [*given.hpas, *base.hpas]
    merged.node_pools = list(base.node_pools)
    defaulted = tuple(t.value for t in ROLLING_TIERS if t not in have)
    return SimInputs(facts=merged, config=defaults.config, source=source, defaulted=defaulted)


def file_facts(
    manifests: Sequence[Path],
    nginx_a: Path | None,
    nginx_b: Path | None,
    kong: Path | None,
    defaults: SimInputs,
) -> SimInputs:
    """Facts of the given files (read as `hitless check` reads them), the rest from `defaults`."""
    paths = [*manifests, *([kong] if kong is not None else [])]
    given = read_facts(paths, nginx_a, nginx_b)
    names = [str(p) for p in (*paths, nginx_a, nginx_b) if p is not None]
    return merge_facts(given, defaults, ", ".join(names))


# ---------------------------------------------------------------------------------------------
# Facts to models
# ---------------------------------------------------------------------------------------------


def _known(value: T | Unknown | None, where: str, what: str) -> T:
    if isinstance(value, Unknown):
        raise SimulationInputError(
            f"{where}: {what}: {value}; the simulator needs it. Fix: give a known value."
        )
    if value is None:
        raise SimulationInputError(f"{where}: {what} is absent; the simulator needs it.")
    return value


def _one(items: Sequence[T], tier: Tier, what: str) -> T:
    if not items:
        raise SimulationInputError(
            f"tier {tier.value.upper()}: no {what} among the facts; give it (-f, --nginx-a, "
            "--nginx-b, --kong) or simulate a stack"
        )
    return items[0]


def _seconds(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:g}"


def runtimes(facts: Facts) -> list[Deployment]:
    """The runtime Deployments (tier D), by namespace and name.

    Sorted, not in input order: a stack's resources reach the facts in the order the mock
    runtime registered them, which varies between runs.
    """
    found = [d for d in facts.deployments if d.place.tier is Tier.D]
    return sorted(found, key=lambda d: (str(d.namespace), str(d.object_name or d.ref.name)))


def _path_profile(rt: Deployment, config: PackConfig) -> TrafficProfile:
    """The promise of the path to `rt`: the chain's profile with its own annotations."""
    overrides: dict[str, float] = {}
    for name, value in rt.profile.items():
        overrides[name] = float(_known(value, str(rt.ref), f"annotation profile.{name}"))
    try:
        return path_profile(config.profile, overrides)
    except ValueError as error:
        raise SimulationInputError(
            f"{rt.ref}: its profile annotations {overrides} are outside the profile's bounds"
        ) from error


def widest_path(facts: Facts, config: PackConfig) -> Deployment:
    """The runtime whose path carries the largest body, then the longest work.

    Tiers A, B and C carry every path, so they are simulated with the most demanding one.
    """
    found = runtimes(facts)
    if not found:
        return _one(found, Tier.D, "runtime Deployment")
    return max(
        found,
        key=lambda rt: (
            _path_profile(rt, config).max_body_mib,
            _path_profile(rt, config).rt_max_processing_seconds,
        ),
    )


def _kong_deployment(facts: Facts) -> Deployment:
    return _one([d for d in facts.deployments if d.is_kong], Tier.C, "Kong Deployment")


def _kong_service(facts: Facts, runtime: Deployment | None) -> KongService:
    config = _one(facts.kong_configs, Tier.C, "Kong configuration")
    services = _known(config.services, str(config.ref), "services")
    if not services:
        raise SimulationInputError(f"{config.ref}: Kong's configuration has no service")
    if runtime is not None and len(services) > 1:
        name = runtime.object_name if isinstance(runtime.object_name, str) else runtime.ref.name
        for service in services:
            if service.name == name:
                return service
        upstreams = config.upstreams if isinstance(config.upstreams, list) else []
        for upstream in upstreams:
            targets = upstream.targets if isinstance(upstream.targets, list) else []
            if any(t.split(".", 1)[0] == name for t in targets):
                for service in services:
                    if upstream.name.startswith(service.name):
                        return service
    return services[0]


def _proxy(facts: Facts, tier: Tier) -> tuple[NginxConf, NginxProxy]:
    source = _one([n for n in facts.nginx if n.place.tier is tier], tier, "nginx.conf")
    conf = _known(source.conf, str(source.ref), "nginx.conf")
    if not conf.proxies:
        raise SimulationInputError(f"{conf.ref}: the nginx.conf of tier {tier.value} proxies none")
    return conf, conf.proxies[0]


def _deployment_shape(dep: Deployment) -> tuple[int, int, int]:
    where = str(dep.ref)
    replicas = _known(dep.replicas, where, "spec.replicas")
    strategy = _known(dep.strategy, where, "spec.strategy.type")
    if strategy != "RollingUpdate":
        raise SimulationInputError(
            f"{where}: strategy {strategy}: the simulator rolls RollingUpdate Deployments only"
        )
    # Kubernetes' default for both fields is 25% (Deployment API reference).
    raw_surge = "25%" if dep.max_surge is None else dep.max_surge
    raw_unavailable = "25%" if dep.max_unavailable is None else dep.max_unavailable
    if isinstance(raw_surge, Unknown) or isinstance(raw_unavailable, Unknown):
        raise SimulationInputError(
            f"{where}: maxSurge/maxUnavailable: is unknown; the simulator needs it. Fix: give a "
            "known value."
        )
    surge, unavailable = budget.resolve_rolling_update(replicas, raw_surge, raw_unavailable)
    return replicas, surge, unavailable


def _probe(probe: Probe | Unknown | None, where: str, what: str) -> budget.ProbeTiming | None:
    if probe is None:
        return None
    known = _known(probe, where, what)
    timing: budget.ProbeTiming = _known(known.timing, where, f"{what} timing")
    return timing


def _deployment_model(
    dep: Deployment, config: PackConfig, tier: Tier, caller_pool: Pooling
) -> tuple[TierModel, list[Setting]]:
    """The common part of tiers C and D: the Deployment as its controller and kubelet roll it."""
    where = str(dep.ref)
    replicas, surge, unavailable = _deployment_shape(dep)
    container = dep.main_container()
    if container is None:
        raise SimulationInputError(f"{where}: no serving container")
    readiness = _probe(container.readiness, where, "readinessProbe")
    startup = _probe(container.startup, where, "startupProbe")
    prestop = _known(container.prestop, where, "preStop") if container.prestop else None
    delay = 0.0 if prestop is None else float(_known(prestop.delay_seconds, where, "preStop"))
    grace = float(_known(dep.grace_seconds, where, "terminationGracePeriodSeconds"))
    min_ready = float(_known(dep.min_ready_seconds, where, "minReadySeconds"))
    t, p = config.thresholds, config.profile
    settings = [
        Setting("replicas", str(replicas), where),
        Setting("maxSurge / maxUnavailable (resolved)", f"{surge} / {unavailable}", where),
        Setting(
            "readiness period / success threshold",
            "none: Ready once its container started, before its app answers"
            if readiness is None
            else f"{readiness.period_seconds} s / {readiness.success_threshold}",
            where,
        ),
        Setting("minReadySeconds", f"{min_ready:g}", where),
        Setting("preStop holds the pod serving (s)", f"{min(delay, grace):g}", where),
        Setting("terminationGracePeriodSeconds", f"{grace:g}", where),
        Setting(
            "a new pod's app answers after (s)",
            f"drawn in [0, {t.pod_start_seconds:g}]",
            "thresholds.pod_start_seconds",
        ),
    ]
    lags = (
        (p.endpoint_propagation_seconds,)
        if tier is Tier.D
        else (p.kong_lb_propagation_seconds, p.endpoint_propagation_seconds)
    )
    model = TierModel(
        tier=tier,
        title="",
        name=dep.object_name if isinstance(dep.object_name, str) else dep.ref.name,
        unit="pod",
        replicas=replicas,
        max_surge=surge,
        max_unavailable=unavailable,
        start_max_seconds=t.pod_start_seconds,
        # No readiness probe: the kubelet reports the container Ready once it has started, not
        # once its app answers ("If a container does not provide a readiness probe, the default
        # state is Success": https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
        # #container-probes; ContainerStatus.ready "defaults to true once the container is fully
        # started"), so the pod joins the endpoints while its app may still refuse connections.
        readiness=readiness or budget.ProbeTiming(period_seconds=0, timeout_seconds=0),
        startup=startup,
        ready_at_start=readiness is None,
        min_ready_seconds=min_ready,
        lag_max_seconds=lags,
        accepts_for_seconds=min(delay, grace),
        killed_after_seconds=grace,
        shutdown_seconds=math.inf,
        caller="",
        retries=0,
        retries_reads=False,
        connect_timeout_seconds=0.0,
        pooling=caller_pool,
        settings=(),
    )
    return model, settings


def _a_pool(facts: Facts, far_idle: float, *, closes_idle_on_quit: bool) -> Pooling:
    """A's upstream keepalive pool (towards B, and through B's stream to Kong)."""
    conf, proxy = _proxy(facts, Tier.A)
    upstream = conf.upstream_of(proxy)
    mig = _one([m for m in facts.migs if m.place.tier is Tier.A], Tier.A, "MIG")
    callers = _known(mig.target_size, str(mig.ref), "targetSize")
    if upstream is None or upstream.keepalive is None:
        return Pooling(
            enabled=False,
            callers=callers,
            caller_idle_seconds=0.0,
            lifetime_seconds=0.0,
            far_idle_seconds=far_idle,
            closes_idle_on_quit=closes_idle_on_quit,
        )
    return Pooling(
        enabled=True,
        callers=callers,
        caller_idle_seconds=upstream.keepalive_timeout_seconds,
        lifetime_seconds=upstream.keepalive_time_seconds,
        far_idle_seconds=far_idle,
        closes_idle_on_quit=closes_idle_on_quit,
    )


def runtime_model(facts: Facts, config: PackConfig, runtime: Deployment) -> TierModel:
    """Tier D: one runtime Deployment, reached by Kong (retries, pooled upstream connections)."""
    kong_dep = _kong_deployment(facts)
    kong = kong_extract.settings(kong_dep)
    service = _kong_service(facts, runtime)
    where_k = str(kong_dep.ref)
    idle = float(_known(kong.upstream_keepalive_idle_seconds, where_k, "upstream keepalive idle"))
    far = runtime.keepalive_idle_seconds
    far_idle = math.inf if far is None else float(_known(far, str(runtime.ref), "keep-alive"))
    pool = Pooling(
        # Kong keeps upstream connections (upstream_keepalive_pool_size, default 512:
        # https://docs.konghq.com/gateway/latest/reference/configuration/#upstream_keepalive_pool_size);
        # an idle timeout of 0 means "never closed" (same page, upstream_keepalive_idle_timeout).
        enabled=True,
        callers=_known(kong_dep.replicas, where_k, "spec.replicas"),
        caller_idle_seconds=math.inf if idle == 0 else idle,
        lifetime_seconds=math.inf,
        far_idle_seconds=far_idle,
        closes_idle_on_quit=True,
    )
    model, settings = _deployment_model(runtime, config, Tier.D, pool)
    retries = int(_known(service.retries, f"Kong service {service.name}", "retries"))
    connect = float(_known(service.connect_timeout_ms, f"Kong service {service.name}", "connect"))
    settings += [
        Setting(
            "routers add/drop a pod after (s)",
            f"drawn in [0, {config.profile.endpoint_propagation_seconds:g}]",
            "profile.endpoint_propagation_seconds",
        ),
        Setting("Kong retries / connect_timeout (ms)", f"{retries} / {connect:g}", service.name),
        Setting(
            "Kong upstream keepalive idle / RT keep-alive idle (s)",
            f"{_seconds(pool.caller_idle_seconds)} / {_seconds(far_idle)}",
            f"{where_k}; {runtime.ref}",
        ),
    ]
    return dataclasses.replace(
        model,
        title=f"D: runtime Deployment {model.name}",
        caller="Kong",
        retries=retries,
        # Kong's balancer retries a failed connect for any method; nginx's default
        # `proxy_next_upstream error timeout` passes an idempotent request on after an error or
        # a read timeout, never a POST once sent ("non_idempotent" unset):
        # https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_next_upstream
        retries_reads=True,
        connect_timeout_seconds=connect / 1000,
        settings=tuple(settings),
    )


def kong_model(facts: Facts, config: PackConfig) -> TierModel:
    """Tier C: Kong's Deployment behind its internal LB, reached through B's stream."""
    dep = _kong_deployment(facts)
    kong = kong_extract.settings(dep)
    where = str(dep.ref)
    _, b_proxy = _proxy(facts, Tier.B)
    far_idle = min(
        float(_known(kong.client_keepalive_seconds, where, "client keepalive")),
        b_proxy.read_timeout_seconds,
    )
    pool = _a_pool(facts, far_idle, closes_idle_on_quit=True)
    model, settings = _deployment_model(dep, config, Tier.C, pool)
    container = dep.main_container()
    prestop = container.prestop if container is not None else None
    quit_timeout = math.inf
    if prestop is not None and not isinstance(prestop, Unknown) and prestop.kind == "kong-quit":
        # `kong quit --timeout` (default 10 s, kong/cmd/quit.lua) forces the stop after it.
        quit_timeout = float(prestop.quit_timeout_seconds or 10)
    shutdown = kong.worker_shutdown_seconds
    worker = math.inf if shutdown is None else float(_known(shutdown, where, "worker shutdown"))
    settings += [
        Setting(
            "routers add/drop a pod after (s)",
            f"max of lags drawn in [0, {config.profile.kong_lb_propagation_seconds:g}] and "
            f"[0, {config.profile.endpoint_propagation_seconds:g}]",
            "profile.kong_lb_propagation_seconds, profile.endpoint_propagation_seconds",
        ),
        Setting(
            "in flight closed after quit (s)",
            f"min(quit --timeout {_seconds(quit_timeout)}, worker_shutdown_timeout "
            f"{_seconds(worker)})",
            where,
        ),
        Setting(
            "A's pool through B: keepalive / keepalive_timeout / keepalive_time",
            "off"
            if not pool.enabled
            else f"on / {_seconds(pool.caller_idle_seconds)} s / "
            f"{_seconds(pool.lifetime_seconds)} s",
            "A's nginx.conf upstream",
        ),
    ]
    return dataclasses.replace(
        model,
        title="C: Kong data plane Deployment",
        caller="B (nginx stream, one upstream address: Kong's internal LB)",
        shutdown_seconds=min(quit_timeout, worker),
        settings=tuple(settings),
    )


def _health_check(facts: Facts, tier: Tier, service: BackendService) -> HealthCheck:
    checks = [
        h for h in facts.health_checks if h.place.tier is tier and h.place.role == "lb-health-check"
    ]
    linked = [h for h in checks if h.ref.id in service.health_check_deps]
    return _one(linked or checks, tier, "LB health check")


def mig_model(facts: Facts, config: PackConfig, tier: Tier) -> TierModel:
    """Tier A or B: a regional MIG of nginx behind its load balancer, rolled by the updater."""
    mig: Mig = _one([m for m in facts.migs if m.place.tier is tier], tier, "MIG")
    service = _one(
        [b for b in facts.backend_services if b.place.tier is tier], tier, "backend service"
    )
    conf, proxy = _proxy(facts, tier)
    hc = _health_check(facts, tier, service)
    where, hc_where = str(mig.ref), str(hc.ref)
    size = _known(mig.target_size, where, "targetSize")
    policy = _known(mig.update_policy, where, "updatePolicy")

    def fixed(key: str, default: float) -> int:
        value = policy.get(key, default)
        if not isinstance(value, int | float):
            raise SimulationInputError(f"{where}: updatePolicy.{key} {value!r} is not a number")
        return int(value)

    # GCP's defaults for a regional MIG: maxSurgeFixed and maxUnavailableFixed are the number of
    # zones (https://cloud.google.com/compute/docs/instance-groups/rolling-out-updates-to-managed-instance-groups#max_surge).
    zones = mig.zones if isinstance(mig.zones, int) else 3
    surge, unavailable = fixed("maxSurgeFixed", zones), fixed("maxUnavailableFixed", zones)
    min_ready = float(fixed("minReadySec", 0))
    drain = float(_known(service.draining_sec, str(service.ref), "connectionDrainingTimeoutSec"))
    interval = float(_known(hc.interval_sec, hc_where, "checkIntervalSec"))
    timeout = float(_known(hc.timeout_sec, hc_where, "timeoutSec"))
    healthy = int(_known(hc.healthy_threshold, hc_where, "healthyThreshold"))
    worker = math.inf if conf.worker_shutdown_seconds is None else conf.worker_shutdown_seconds
    t, p = config.thresholds, config.profile
    if tier is Tier.A:
        # The Application LB routes each request (L7): GFE's pooled connections (open for its
        # fixed keepalive) do not pin a request to a backend, and a draining backend gets no new
        # requests (https://cloud.google.com/load-balancing/docs/enabling-connection-draining).
        pool = Pooling(
            enabled=False,
            callers=1,
            caller_idle_seconds=float(t.gfe_backend_keepalive_seconds),
            lifetime_seconds=math.inf,
            far_idle_seconds=proxy.client_keepalive_seconds or math.inf,
            closes_idle_on_quit=True,
        )
        caller, title = "the external Application LB (GFE)", "A: nginx L7 MIG"
    else:
        pool = _a_pool(facts, proxy.read_timeout_seconds, closes_idle_on_quit=False)
        caller, title = "A (nginx, one upstream address: B's internal LB)", "B: nginx stream MIG"
    settings = (
        Setting("instances", str(size), where),
        Setting("max surge / max unavailable", f"{surge} / {unavailable}", where),
        Setting(
            "new instance boots, then the LB check passes",
            f"boot drawn in [0, {t.mig_boot_seconds:g}] s; {healthy} passes every {interval:g} s",
            f"thresholds.mig_boot_seconds; {hc_where}",
        ),
        Setting("minReadySec", f"{min_ready:g}", where),
        Setting(
            "LB adds/drops an instance after (s)",
            f"drawn in [0, {p.lb_propagation_seconds:g}]",
            "profile.lb_propagation_seconds",
        ),
        Setting("connection draining, then deleted (s)", f"{drain:g}", str(service.ref)),
        Setting("worker_shutdown_timeout (s)", _seconds(worker), str(conf.ref)),
        Setting(
            f"{caller} pool: idle / lifetime (s)",
            "off"
            if not pool.enabled
            else f"{_seconds(pool.caller_idle_seconds)} / {_seconds(pool.lifetime_seconds)}",
            "thresholds.gfe_backend_keepalive_seconds" if tier is Tier.A else "A's upstream",
        ),
    )
    return TierModel(
        tier=tier,
        title=title,
        name="edge" if tier is Tier.A else "relay",
        unit="instance",
        replicas=size,
        max_surge=surge,
        max_unavailable=unavailable,
        start_max_seconds=t.mig_boot_seconds,
        readiness=budget.ProbeTiming(
            period_seconds=math.ceil(interval),
            timeout_seconds=math.ceil(timeout),
            success_threshold=healthy,
        ),
        startup=None,
        ready_at_start=False,
        min_ready_seconds=min_ready,
        lag_max_seconds=(p.lb_propagation_seconds,),
        # GCP drains the instance (existing connections only) for the draining timeout, then
        # stops it; the shutdown script's `nginx -s quit` runs after that, when the LB forwards
        # nothing more (https://cloud.google.com/load-balancing/docs/enabling-connection-draining).
        accepts_for_seconds=drain,
        killed_after_seconds=drain,
        shutdown_seconds=worker,
        caller=caller,
        retries=0,
        retries_reads=False,
        connect_timeout_seconds=proxy.connect_timeout_seconds,
        pooling=pool,
        settings=settings,
    )


def chain_model(facts: Facts, config: PackConfig, runtime: Deployment | None) -> ChainModel:
    """The chain's buffering and timeouts, read from every tier's facts.

    The traffic is the promise of the path to `runtime` (default: `widest_path`): the
    chain's profile with the runtime's own `hitless.dev/profile.<field>` annotations, as the
    rules judge that path (`ChainView.runtime_profile`).
    """
    rt = runtime or widest_path(facts, config)
    p = _path_profile(rt, config)
    _, a_proxy = _proxy(facts, Tier.A)
    _, b_proxy = _proxy(facts, Tier.B)
    kong_config = _one(facts.kong_configs, Tier.C, "Kong configuration")
    service = _kong_service(facts, runtime)
    edge = _one(
        [b for b in facts.backend_services if b.place.tier is Tier.A and not b.regional],
        Tier.A,
        "external LB backend service",
    )
    scheme = str(_known(edge.scheme, str(edge.ref), "loadBalancingScheme"))
    counts = budget.lb_timeout_counts_upload(scheme)
    if counts is None:
        raise SimulationInputError(f"{edge.ref}: scheme {scheme}: its timeout is not modelled")
    buffering = [b for b in kong_config.route_request_buffering if not isinstance(b, Unknown)]
    kong_buffers = all(buffering) if buffering else True
    rt_timeout = rt.request_timeout_seconds
    lb_timeout = float(_known(edge.timeout_sec, str(edge.ref), "timeoutSec"))
    read_ms = float(_known(service.read_timeout_ms, f"Kong service {service.name}", "read"))
    settings = (
        Setting(
            "upload: body / slowest client / internal hop",
            f"{p.max_body_mib:g} MiB / {p.min_client_mbps:g} Mbit/s / {p.internal_mbps:g} Mbit/s",
            f"profile of the path to {rt.object_name or rt.ref.name}",
        ),
        Setting(
            "runtime work per upload (s)",
            f"drawn in [0, {p.rt_max_processing_seconds:g}]",
            "profile.rt_max_processing_seconds",
        ),
        Setting(
            "buffering at A / Kong",
            f"{a_proxy.request_buffering} / {kong_buffers}",
            "A's nginx.conf / kong.yml",
        ),
        Setting(
            "timeouts: LB / A read / B idle / Kong read / RT (s)",
            f"{lb_timeout:g} / {a_proxy.read_timeout_seconds:g} / "
            f"{b_proxy.read_timeout_seconds:g} / {read_ms / 1000:g} / "
            f"{'not declared' if rt_timeout is None else rt_timeout}",
            f"{edge.ref}; nginx confs; Kong service {service.name}; {rt.ref}",
        ),
    )
    return ChainModel(
        body_mib=p.max_body_mib,
        min_client_mbps=p.min_client_mbps,
        internal_mbps=p.internal_mbps,
        rt_max_processing_seconds=p.rt_max_processing_seconds,
        a_buffers=a_proxy.request_buffering,
        kong_buffers=kong_buffers,
        lb_timeout_seconds=lb_timeout,
        lb_counts_upload=counts,
        a_read_timeout_seconds=a_proxy.read_timeout_seconds,
        b_idle_timeout_seconds=b_proxy.read_timeout_seconds,
        kong_read_timeout_seconds=read_ms / 1000,
        rt_request_timeout_seconds=math.inf
        if rt_timeout is None
        else float(_known(rt_timeout, str(rt.ref), "request timeout")),
        settings=settings,
    )


def tier_model(
    facts: Facts, config: PackConfig, tier: Tier, runtime: Deployment | None = None
) -> TierModel:
    """The model of rolling `tier` (D: `runtime`, else the first by namespace and name)."""
    if tier in (Tier.A, Tier.B):
        return mig_model(facts, config, tier)
    if tier is Tier.C:
        return kong_model(facts, config)
    if tier is Tier.D:
        rt = runtime or _one(runtimes(facts), Tier.D, "runtime Deployment")
        return runtime_model(facts, config, rt)
    raise SimulationInputError(f"tier {tier.value!r} does not roll; pick a, b, c or d")
