"""A discrete-event simulation (simpy) of one rolling upgrade of one tier under steady load.

The third explanation, after the budget and the timeline (`hitless.explain`): instead of
comparing each number with its bound, replay the rollout and watch every request. A rollout
controller replaces the tier's backends as Kubernetes (C, D) or the MIG updater (A, B) does;
each old backend goes through its termination; requests arrive as a Poisson stream, are routed
to a backend the routers still list, and end ok or failed with one of design §2's modes:

- `refused` (§2.1): routed to a backend that stopped accepting, and no retry left or allowed;
- `cut` (§2.2): the backend was killed or deleted before the request finished;
- `timeout` (§2.3): an outer tier's response timeout fired before the request finished.

Every time comes from the stack's `StackConfig` and the formulas of `hitless_policy.budget`
(worst cases: a new pod takes `worst_time_to_available`, an upload holds the tier for its
longest request); the constants below are simulation parameters only. Not modelled: capacity and
queueing (§2.6), keepalive races of pooled connections (§2.4), body limits (§2.5), node pools.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import simpy
from rich.markup import escape
from rich.table import Table

from hitless.components import k8s_common as kc
from hitless.components.config import MigConfig, ProbeConfig, StackConfig
from hitless.explain import seconds
from hitless_policy import budget
from hitless_policy.identity import Tier

GET_SECONDS = 0.2
"""Time a short GET holds the rolling tier: a small fixed processing time, far below every drain
window. GETs exist to be routed while backends come and go, so they reveal refusals."""
MAX_REQUESTS = 100_000
"""Most requests one simulation starts; arrivals stop there so a run stays fast (well under a
second for a whole rollout at 20 requests/s). `Simulation.truncated` says when it was reached."""
MAX_SIMULATED_SECONDS = 86_400.0
"""Bound on simulated time: a rollout still running after a day is a model error, not a result."""
KONG_MIN_READY_SECONDS = 0
"""`hitless.components.kong` sets no `minReadySeconds` on Kong's Deployment (Kubernetes: 0)."""
MIG_MAX_UNAVAILABLE = 0
"""`hitless.components.nginx_tier` sets `max_unavailable_fixed=0` (mig-update-policy-hitless)."""


class RequestKind(StrEnum):
    """What a simulated request is."""

    get = "get"
    """A short GET (`GET_SECONDS` in the tier)."""
    upload = "upload"
    """A `profile.max_body_mib` POST: holds the tier for its longest request."""


class Cause(StrEnum):
    """Why a request failed: design §2's failure modes a rollout can cause."""

    refused = "refused"
    """Routed to a backend that stopped accepting (or was gone), with no retry left."""
    cut = "cut"
    """In flight when its backend was killed or deleted; never retried (the body was sent)."""
    timeout = "timeout"
    """An outer tier's response timeout fired before the request finished."""


FAILURE_MODES: dict[Cause, str] = {
    Cause.refused: "§2.1 routed to a backend that stopped accepting",
    Cause.cut: "§2.2 in-flight request cut",
    Cause.timeout: "§2.3 an outer tier gave up first",
}
"""The design §2 failure mode of each cause."""


@dataclass(frozen=True)
class DeploymentOverrides:
    """Settings that replace the stack's for a simulated Deployment (tier c or d).

    `None` keeps the stack's value. They replay configurations the config model refuses, such as
    the user's original RT (`ORIGINAL_RT`).
    """

    replicas: int | None = None
    """Deployment replicas."""
    max_surge: int | str | None = None
    """RollingUpdate maxSurge (int or percent)."""
    max_unavailable: int | str | None = None
    """RollingUpdate maxUnavailable (int or percent)."""
    readiness_period_seconds: int | None = None
    """Readiness probe periodSeconds."""
    prestop_seconds: int | None = None
    """Seconds the app keeps accepting after Terminating (RT preStop sleep, `kong quit --wait`);
    0 is no preStop."""
    termination_grace_seconds: int | None = None
    """Pod terminationGracePeriodSeconds."""
    retries: int | None = None
    """Kong's retries (tier d's caller)."""


ORIGINAL_RT = DeploymentOverrides(
    replicas=2,
    max_surge=2,
    max_unavailable=1,
    readiness_period_seconds=20,
    prestop_seconds=0,
    termination_grace_seconds=30,
    retries=5,
)
"""The user's RT before hitless (design §1): maxUnavailable 1, maxSurge 2, readiness every 20 s,
no preStop, the default 30 s grace, Kong `retries: 5`."""


@dataclass(frozen=True)
class Setting:
    """One input of the model, with where it comes from."""

    what: str
    """What the value is."""
    value: str
    """The value as printed."""
    source: str
    """The stack key, budget formula or override it comes from."""


@dataclass(frozen=True)
class OuterTimeout:
    """A response timeout of an outer tier that the rolling tier's requests must finish within."""

    name: str
    """Which timeout (e.g. `A proxy_read_timeout`)."""
    limit: float
    """Its value in seconds."""
    per_try: bool
    """True when it runs per try (Kong's read_timeout), so connect stalls do not count."""
    overhead: dict[RequestKind, float]
    """Seconds it measures besides the stalls and the time in the rolling tier, per kind."""


@dataclass(frozen=True)
class TierPlan:
    """Everything the simulation needs about the rolling tier, resolved from the stack config."""

    tier: Tier
    """The rolling tier."""
    title: str
    """What rolls, in the chain's terms."""
    unit: str
    """`pod` or `instance`."""
    prefix: str
    """Prefix of backend names."""
    replicas: int
    """Backends before and after the rollout."""
    max_surge: int
    """Resolved surge: backends above `replicas` during the rollout."""
    max_unavailable: int
    """Resolved unavailability: backends below `replicas` that may be missing."""
    time_to_ready: float
    """From creation until the backend passes its health/readiness check (routers may add it)."""
    time_to_available: float
    """From creation until the controller counts it available."""
    routing_lag: float
    """Lag before the routers add or drop a backend (new connections)."""
    stops_accepting: float
    """After the termination starts: when the backend closes its listener."""
    killed: float
    """After the termination starts: when the backend is killed or deleted."""
    router: str
    """Who picks the backend for a new connection."""
    caller: str
    """Who connects to the backend and may retry a failed connect."""
    retries: int
    """Connect-phase retries of the caller (each on a freshly picked backend)."""
    connect_stall: float
    """Seconds a try to a vanished backend costs before the caller retries (connect timeout)."""
    held: dict[RequestKind, float]
    """Seconds each kind of request holds the rolling tier."""
    timeouts: tuple[OuterTimeout, ...]
    """The outer response timeouts its requests must finish within."""
    settings: tuple[Setting, ...]
    """The inputs, for the report."""


def _timing(probe: ProbeConfig, period: int | None = None) -> budget.ProbeTiming:
    """A stack probe as the budget's `ProbeTiming` (optionally with another period)."""
    return budget.ProbeTiming(
        initial_delay_seconds=probe.initial_delay_seconds,
        period_seconds=probe.period_seconds if period is None else period,
        timeout_seconds=probe.timeout_seconds,
        success_threshold=probe.success_threshold,
        failure_threshold=probe.failure_threshold,
    )


def _held(cfg: StackConfig, tier: Tier) -> dict[RequestKind, float]:
    return {
        RequestKind.get: GET_SECONDS,
        RequestKind.upload: cfg.longest_requests().for_tier(tier.value),
    }


def _outer_timeouts(cfg: StackConfig, tier: Tier) -> tuple[OuterTimeout, ...]:
    """The outer response timeouts, each with the part of its measure outside the rolling tier.

    An upload's chain time is A's longest request (first body byte at A to response); the LB's
    timeoutSec measures all of it, A's proxy_read_timeout all but the client upload, Kong's
    read_timeout the runtime's part per try.
    """
    longest = cfg.longest_requests()
    held = _held(cfg, tier)
    chain = {RequestKind.get: GET_SECONDS, RequestKind.upload: longest.a}
    after_upload = {
        RequestKind.get: GET_SECONDS,
        RequestKind.upload: longest.a - longest.client_upload,
    }
    out = [
        OuterTimeout(
            "external LB timeoutSec",
            cfg.edge.backend_timeout_sec,
            per_try=False,
            overhead={kind: chain[kind] - held[kind] for kind in RequestKind},
        )
    ]
    if tier is not Tier.A:
        out.append(
            OuterTimeout(
                "A proxy_read_timeout",
                cfg.edge.proxy_read_timeout_seconds,
                per_try=False,
                overhead={kind: max(0.0, after_upload[kind] - held[kind]) for kind in RequestKind},
            )
        )
    if tier is Tier.D:
        out.append(
            OuterTimeout(
                "Kong read_timeout",
                cfg.runtimes[0].kong.read_timeout_ms / 1000,
                per_try=True,
                overhead=dict.fromkeys(RequestKind, 0.0),
            )
        )
    return tuple(out)


def _deployment_plan(cfg: StackConfig, tier: Tier, over: DeploymentOverrides) -> TierPlan:
    """Tier C (Kong) or D (RT): a Deployment rolled by the Deployment controller."""
    rolling = kc.surge_only_strategy()["rollingUpdate"]
    t, p = cfg.thresholds, cfg.profile
    if tier is Tier.D:
        rt = cfg.runtimes[0]
        title, prefix = "D: runtime RT Deployment", rt.name
        replicas, readiness = rt.replicas, rt.readiness
        startup: budget.ProbeTiming | None = _timing(kc.single_success(rt.startup))
        min_ready, lag = rt.min_ready_seconds, budget.runtime_prestop_bound_seconds(p)
        lag_key = "profile.endpoint_propagation_seconds"
        accept, accept_key = rt.prestop_seconds, f"runtimes[{rt.name}].prestop_seconds"
        grace, grace_key = (
            rt.termination_grace_seconds,
            f"runtimes[{rt.name}].termination_grace_seconds",
        )
        drain_limit: float | None = None
        router = "kube-proxy on Kong's nodes (Kong's target is the RT Service)"
        replicas_key = f"runtimes[{rt.name}].replicas"
        caller, retries = "Kong", rt.kong.retries
        connect_stall = rt.kong.connect_timeout_ms / 1000
    else:
        kong = cfg.kong
        title, prefix = "C: Kong data plane Deployment", "kong"
        replicas, readiness, startup = kong.replicas, kong.readiness, None
        # New connections stop reaching a terminating Kong pod once both the internal LB and
        # kube-proxy have caught up: the same lag `kong quit --wait` must cover.
        min_ready, lag = KONG_MIN_READY_SECONDS, budget.kong_quit_wait_bound_seconds(p)
        lag_key = "max(profile.kong_lb_propagation_seconds, profile.endpoint_propagation_seconds)"
        accept, accept_key = kong.quit_wait_seconds, "kong.quit_wait_seconds"
        grace, grace_key = kong.termination_grace_seconds, "kong.termination_grace_seconds"
        drain_limit = kong.quit_wait_seconds + kong.quit_timeout_seconds
        router = "the GKE internal LB (Kong's LoadBalancer Service)"
        replicas_key = "kong.replicas"
        # B's stream upstream holds one server, Kong's ILB address: nginx has no next server to
        # pass a refused connection to (proxy_next_upstream, reference §4.4).
        caller, retries = "B (nginx stream, one upstream address)", 0
        connect_stall = 0.0  # no retry, so no connect timeout is waited out before one
    replicas = over.replicas if over.replicas is not None else replicas
    surge, unavailable = budget.resolve_rolling_update(
        replicas,
        over.max_surge if over.max_surge is not None else rolling["maxSurge"],
        over.max_unavailable if over.max_unavailable is not None else rolling["maxUnavailable"],
    )
    probe = _timing(readiness, over.readiness_period_seconds)
    ready = budget.worst_time_to_available(probe, startup, 0, t.pod_start_seconds)
    available = budget.worst_time_to_available(probe, startup, min_ready, t.pod_start_seconds)
    if over.prestop_seconds is not None:
        accept, accept_key = over.prestop_seconds, "override"
        if tier is Tier.C:
            drain_limit = over.prestop_seconds + cfg.kong.quit_timeout_seconds
    if over.termination_grace_seconds is not None:
        grace, grace_key = over.termination_grace_seconds, "override"
    retries = over.retries if over.retries is not None and tier is Tier.D else retries
    killed = float(grace if drain_limit is None else min(grace, drain_limit))
    stops = float(min(accept, grace))
    rolled = (
        "override"
        if over.max_surge is not None or over.max_unavailable is not None
        else "hitless.components.k8s_common.surge_only_strategy"
    )
    settings = (
        Setting(
            "replicas", str(replicas), "override" if over.replicas is not None else replicas_key
        ),
        Setting("routers", router, "components"),
        Setting("maxSurge / maxUnavailable (resolved)", f"{surge} / {unavailable}", rolled),
        Setting(
            "new pod ready / available after (s)",
            f"{seconds(ready)} / {seconds(available)}",
            f"budget.worst_time_to_available (scheduling thresholds.pod_start_seconds "
            f"{seconds(t.pod_start_seconds)}, readiness period {probe.period_seconds}, "
            f"minReadySeconds {min_ready})",
        ),
        Setting("routers add/drop a pod after (s)", seconds(lag), lag_key),
        Setting("stops accepting after Terminating (s)", seconds(stops), accept_key),
        Setting(
            "killed after Terminating (s)",
            seconds(killed),
            grace_key
            if drain_limit is None
            else f"min({grace_key}, quit wait + kong.quit_timeout_seconds)",
        ),
        Setting(
            f"{caller} retries",
            str(retries),
            "override" if over.retries is not None else "runtimes[].kong.retries",
        )
        if tier is Tier.D
        else Setting("retries of a refused connection", "0", caller),
    )
    return TierPlan(
        tier=tier,
        title=title,
        unit="pod",
        prefix=prefix,
        replicas=replicas,
        max_surge=surge,
        max_unavailable=unavailable,
        time_to_ready=ready,
        time_to_available=available,
        routing_lag=lag,
        stops_accepting=stops,
        killed=killed,
        router=router,
        caller=caller,
        retries=retries,
        connect_stall=connect_stall,
        held=_held(cfg, tier),
        timeouts=_outer_timeouts(cfg, tier),
        settings=settings,
    )


def _mig_plan(cfg: StackConfig, tier: Tier) -> TierPlan:
    """Tier A or B: a regional MIG rolled by the MIG updater (SUBSTITUTE, surge, draining)."""
    t, p = cfg.thresholds, cfg.profile
    mig: MigConfig
    if tier is Tier.A:
        mig, drain, key = cfg.edge.mig, cfg.edge.connection_draining_timeout_sec, "edge"
        title, prefix = "A: nginx L7 MIG", "edge"
        router = "the external Application LB"
        # GCP's retry behaviour in front of A is not in the references: count every refusal.
        caller = "the external Application LB (no retry modelled)"
    else:
        mig, drain, key = cfg.relay.mig, cfg.relay.connection_draining_timeout_sec, "relay"
        title, prefix = "B: nginx stream MIG", "relay"
        router = "the internal passthrough NLB"
        # A's upstream is one address (B's NLB): no next server for a refused connect.
        caller = "A (nginx, one upstream address)"
    hc = mig.lb_health_check
    # `healthy_threshold` consecutive passes of the LB check, after boot: a probe's worst pass.
    healthy = budget.ProbeTiming(
        period_seconds=hc.check_interval_sec,
        timeout_seconds=hc.timeout_sec,
        success_threshold=hc.healthy_threshold,
    ).worst_time_to_pass(t.mig_boot_seconds)
    available = healthy + mig.min_ready_sec
    settings = (
        Setting("instances", str(mig.target_size), f"{key}.mig.target_size"),
        Setting("routers", router, "components"),
        Setting(
            "max surge / max unavailable",
            f"{mig.max_surge_fixed} / {MIG_MAX_UNAVAILABLE}",
            f"{key}.mig.max_surge_fixed / hitless.components.nginx_tier",
        ),
        Setting(
            "new instance healthy / available after (s)",
            f"{seconds(healthy)} / {seconds(available)}",
            f"thresholds.mig_boot_seconds {seconds(t.mig_boot_seconds)} + LB check "
            f"{hc.healthy_threshold} x {hc.check_interval_sec} s + {hc.timeout_sec} s; "
            f"+ {key}.mig.min_ready_sec",
        ),
        Setting(
            "LB adds/drops an instance after (s)",
            seconds(p.lb_propagation_seconds),
            "profile.lb_propagation_seconds",
        ),
        Setting(
            "deleted after draining starts (s)",
            seconds(drain),
            f"{key}.connection_draining_timeout_sec",
        ),
        Setting("retries of a refused connection", "0", caller),
    )
    return TierPlan(
        tier=tier,
        title=title,
        unit="instance",
        prefix=prefix,
        replicas=mig.target_size,
        max_surge=mig.max_surge_fixed,
        max_unavailable=MIG_MAX_UNAVAILABLE,
        time_to_ready=healthy,
        time_to_available=available,
        routing_lag=p.lb_propagation_seconds,
        stops_accepting=float(drain),
        killed=float(drain),
        router=router,
        caller=caller,
        retries=0,
        connect_stall=0.0,  # no retry, so no connect timeout is waited out before one
        held=_held(cfg, tier),
        timeouts=_outer_timeouts(cfg, tier),
        settings=settings,
    )


def plan_for(
    cfg: StackConfig, tier: Tier, overrides: DeploymentOverrides | None = None
) -> TierPlan:
    """The simulation's inputs for rolling `tier` of `cfg` (overrides apply to tiers c and d)."""
    if tier in (Tier.A, Tier.B):
        if overrides is not None:
            raise ValueError(f"overrides apply to Deployments (tiers c, d), not tier {tier.value}")
        return _mig_plan(cfg, tier)
    if tier in (Tier.C, Tier.D):
        return _deployment_plan(cfg, tier, overrides or DeploymentOverrides())
    raise ValueError(f"tier {tier.value!r} does not roll; pick a, b, c or d")


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutEvent:
    """One moment of the rollout; times are seconds after the rollout started."""

    at: float
    """Seconds after the rollout started."""
    backend: str
    """The pod or instance (empty for the rollout itself)."""
    what: str
    """What happened."""


@dataclass(frozen=True)
class RequestOutcome:
    """One request's fate; times are seconds after the rollout started (negative: before)."""

    id: int
    """Arrival order."""
    kind: RequestKind
    """GET or upload."""
    arrived: float
    """When it reached the rolling tier."""
    ended: float
    """When it finished or failed."""
    tries: int
    """Connection attempts (1 + retries used)."""
    backend: str | None
    """The backend of the last try (None when none was in rotation)."""
    cause: Cause | None
    """Why it failed; None when it succeeded."""
    detail: str
    """The failure in the chain's terms ("" when ok)."""

    @property
    def ok(self) -> bool:
        """Whether the request succeeded."""
        return self.cause is None


@dataclass(frozen=True)
class Simulation:
    """One simulated rollout: its inputs, the rollout's events and every request's outcome."""

    stack: str
    """Stack name."""
    plan: TierPlan
    """The rolling tier's inputs."""
    rate: float
    """Requests per second reaching the rolling tier."""
    upload_share: float
    """Share of requests that are uploads."""
    seed: int
    """Random seed of arrivals, kinds and routing."""
    lead_in: float
    """Seconds of traffic before the rollout starts (the tier's longest request)."""
    rollout_seconds: float
    """From the rollout's start until the last old backend is gone and every new one available."""
    events: tuple[RolloutEvent, ...]
    """The rollout's events, in time order."""
    requests: tuple[RequestOutcome, ...]
    """Every request, in arrival order."""
    truncated: bool
    """Whether arrivals stopped at `MAX_REQUESTS` before the rollout completed."""

    @property
    def failed(self) -> tuple[RequestOutcome, ...]:
        """The failed requests."""
        return tuple(item for item in self.requests if not item.ok)

    def counts(self) -> dict[RequestKind, Counter[str]]:
        """Per kind: requests, ok, failed and failures per cause."""
        out: dict[RequestKind, Counter[str]] = {kind: Counter() for kind in RequestKind}
        for item in self.requests:
            row = out[item.kind]
            row["requests"] += 1
            row["ok" if item.ok else "failed"] += 1
            if item.cause is not None:
                row[item.cause.value] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        """The simulation as plain JSON data."""
        counts = self.counts()
        return {
            "stack": self.stack,
            "tier": self.plan.tier.value,
            "title": self.plan.title,
            "rate": self.rate,
            "upload_share": self.upload_share,
            "seed": self.seed,
            "lead_in_seconds": self.lead_in,
            "rollout_seconds": self.rollout_seconds,
            "truncated": self.truncated,
            "settings": [
                {"what": s.what, "value": s.value, "source": s.source} for s in self.plan.settings
            ],
            "summary": {
                "requests": len(self.requests),
                "failed": len(self.failed),
                "by_kind": {kind.value: dict(counts[kind]) for kind in RequestKind},
                "by_cause": {
                    cause.value: {
                        "mode": FAILURE_MODES[cause],
                        "count": sum(1 for item in self.failed if item.cause is cause),
                    }
                    for cause in Cause
                },
            },
            "events": [{"at": e.at, "backend": e.backend, "what": e.what} for e in self.events],
            "requests": [
                {
                    "id": r.id,
                    "kind": r.kind.value,
                    "arrived": r.arrived,
                    "ended": r.ended,
                    "tries": r.tries,
                    "backend": r.backend,
                    "outcome": "ok" if r.cause is None else "failed",
                    "cause": None if r.cause is None else r.cause.value,
                    "detail": r.detail,
                }
                for r in self.requests
            ],
        }


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass
class _Backend:
    """A pod or instance: when routers list it, when it accepts, when it is gone."""

    name: str
    killed_event: simpy.Event
    routed_from: float = 0.0
    routed_until: float = float("inf")
    accepting_until: float = float("inf")
    killed_at: float = float("inf")
    available: bool = False

    def routed(self, now: float) -> bool:
        return self.routed_from <= now < self.routed_until


_OUT_OF_ROTATION = "out of rotation: routers stop sending it new connections"


@dataclass
class _Attempt:
    """A request in progress: what the outcome will report."""

    rid: int
    kind: RequestKind
    arrived: float
    tries: int = 0
    backend: str | None = None


@dataclass
class _Model:
    """The simpy processes of one run: rollout controller, terminations, arrivals, requests."""

    plan: TierPlan
    rate: float
    upload_share: float
    seed: int
    lead_in: float
    env: simpy.Environment = field(default_factory=simpy.Environment)
    old: list[_Backend] = field(default_factory=list)
    new: list[_Backend] = field(default_factory=list)
    live_old: list[_Backend] = field(default_factory=list)
    events: list[RolloutEvent] = field(default_factory=list)
    outcomes: list[RequestOutcome] = field(default_factory=list)
    done_at: float | None = None
    truncated: bool = False

    def __post_init__(self) -> None:
        self.done = self.env.event()
        for index in range(self.plan.replicas):
            backend = self._backend(f"{self.plan.prefix}-old-{index + 1}")
            backend.available = True
            self.old.append(backend)
        self.live_old = list(self.old)

    # -- helpers ------------------------------------------------------------------------------

    def _backend(self, name: str) -> _Backend:
        return _Backend(name=name, killed_event=self.env.event())

    def _rel(self, at: float) -> float:
        """Seconds after the rollout's start (rounded: sums of floats print as 179.0, not 179)."""
        return round(at - self.lead_in, 6)

    def _log(self, at: float, backend: str, what: str) -> None:
        self.events.append(RolloutEvent(self._rel(at), backend, what))

    def _all(self) -> list[_Backend]:
        return self.old + self.new

    # -- rollout controller -------------------------------------------------------------------

    def controller(self) -> Generator[simpy.Event, Any, None]:
        """Start the rollout after the lead-in; later steps run as new backends turn available."""
        yield self.env.timeout(self.lead_in)
        p = self.plan
        self._log(
            self.env.now,
            "",
            f"rollout starts: {p.replicas} {p.unit}s, surge {p.max_surge}, "
            f"unavailable {p.max_unavailable}",
        )
        self._reconcile()

    def _reconcile(self) -> None:
        """One controller step: surge new backends, then remove old ones availability allows.

        Terminating backends no longer count (Kubernetes filters them out of a ReplicaSet's
        count); removable old ones = old + available new - (replicas - maxUnavailable). Repeats
        until nothing changes, as the controller's next sync would after a removal.
        """
        p = self.plan
        changed = True
        while changed:
            changed = False
            while len(self.live_old) + len(self.new) < p.replicas + p.max_surge and (
                len(self.new) < p.replicas
            ):
                self._create()
                changed = True
            available_new = sum(1 for b in self.new if b.available)
            removable = len(self.live_old) + available_new - (p.replicas - p.max_unavailable)
            for _ in range(max(0, min(removable, len(self.live_old)))):
                self._terminate(self.live_old.pop(0))
                changed = True
        self._maybe_done()

    def _create(self) -> None:
        p, now = self.plan, self.env.now
        backend = self._backend(f"{p.prefix}-new-{len(self.new) + 1}")
        backend.routed_from = now + p.time_to_ready + p.routing_lag
        self.new.append(backend)
        self._log(now, backend.name, f"{p.unit} created")
        self._log(
            now + p.time_to_ready,
            backend.name,
            "healthy" if p.unit == "instance" else "ready (passes readiness)",
        )
        self._log(backend.routed_from, backend.name, "in rotation: routers send it new connections")
        self.env.process(self._becomes_available(backend))

    def _becomes_available(self, backend: _Backend) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self.plan.time_to_available)
        backend.available = True
        self._log(self.env.now, backend.name, "available: counts for the rollout")
        self._reconcile()

    def _terminate(self, backend: _Backend) -> None:
        p, now = self.plan, self.env.now
        backend.routed_until = now + p.routing_lag
        backend.accepting_until = now + p.stops_accepting
        backend.killed_at = now + p.killed
        if p.unit == "instance":
            self._log(now, backend.name, "removed from the group: LB connection draining starts")
            self._log(backend.routed_until, backend.name, _OUT_OF_ROTATION)
            self._log(
                backend.killed_at,
                backend.name,
                "deleted: draining timeout ends, remaining connections closed",
            )
        else:
            self._log(now, backend.name, "Terminating: endpoint removal and preStop start")
            self._log(backend.routed_until, backend.name, _OUT_OF_ROTATION)
            self._log(
                backend.accepting_until,
                backend.name,
                "stops accepting: kong quit --wait over, SIGQUIT closes the listeners; in-flight "
                "requests drain"
                if p.tier is Tier.C
                else "stops accepting: preStop over, SIGTERM closes the listener; in-flight "
                "requests drain",
            )
            self._log(
                backend.killed_at,
                backend.name,
                "killed (quit --timeout or grace over): requests still in flight are cut"
                if p.tier is Tier.C
                else "killed (SIGKILL, grace over): requests still in flight are cut",
            )
        self.env.process(self._kill(backend))

    def _kill(self, backend: _Backend) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(backend.killed_at - self.env.now)
        backend.killed_event.succeed()
        self._maybe_done()

    def _maybe_done(self) -> None:
        now = self.env.now
        finished = (
            not self.live_old
            and all(b.killed_at <= now for b in self.old)
            and sum(1 for b in self.new if b.available) == self.plan.replicas
        )
        if finished and not self.done.triggered:
            self.done_at = now
            self._log(now, "", "rollout complete: every old backend gone, every new available")
            self.done.succeed()

    # -- traffic ------------------------------------------------------------------------------

    def arrivals(self) -> Generator[simpy.Event, Any, None]:
        """Poisson arrivals until the rollout completes (or `MAX_REQUESTS`)."""
        rng = random.Random(self.seed)  # noqa: S311 - a reproducible simulation, not security
        for rid in range(MAX_REQUESTS):
            yield self.env.timeout(rng.expovariate(self.rate))
            if self.done.triggered:
                return
            kind = RequestKind.upload if rng.random() < self.upload_share else RequestKind.get
            # Routing draws come from the request's own stream, so one request's retries do not
            # shift every later request's picks (runs that differ in one setting stay comparable).
            picks = random.Random(f"{self.seed}:{rid}")  # noqa: S311 - as above
            self.env.process(self._request(rid, kind, picks))
        self.truncated = not self.done.triggered

    def _record(self, req: _Attempt, cause: Cause | None = None, detail: str = "") -> None:
        self.outcomes.append(
            RequestOutcome(
                id=req.rid,
                kind=req.kind,
                arrived=self._rel(req.arrived),
                ended=self._rel(self.env.now),
                tries=req.tries,
                backend=req.backend,
                cause=cause,
                detail=detail,
            )
        )

    def _request(
        self, rid: int, kind: RequestKind, rng: random.Random
    ) -> Generator[simpy.Event, Any, None]:
        """Connect (retrying refused connects as the caller does), then hold the backend."""
        p, env = self.plan, self.env
        req = _Attempt(rid, kind, env.now)
        while True:
            req.tries += 1
            routed = [b for b in self._all() if b.routed(env.now)]
            if not routed:
                self._record(req, Cause.refused, "no backend in rotation")
                return
            backend = rng.choice(routed)
            req.backend = backend.name
            if env.now < backend.accepting_until:
                break
            gone = env.now >= backend.killed_at
            why = (
                f"{backend.name} was {self._gone_verb()} at "
                f"{seconds(self._rel(backend.killed_at))} s"
                if gone
                else f"{backend.name} stopped accepting at "
                f"{seconds(self._rel(backend.accepting_until))} s"
            )
            if req.tries > p.retries:
                self._record(
                    req,
                    Cause.refused,
                    f"{why}; {p.router} listed it until "
                    f"{seconds(self._rel(backend.routed_until))} s; {p.caller} made {req.tries} "
                    f"of {1 + p.retries} tries",
                )
                return
            if gone:  # a vanished address: the try waits out the caller's connect timeout
                yield env.timeout(p.connect_stall)
        held = p.held[kind]
        stall = env.now - req.arrived
        overshoot, giving_up = 0.0, ""
        for outer in p.timeouts:
            measured = held + outer.overhead[kind] + (0.0 if outer.per_try else stall)
            if measured - outer.limit > overshoot:
                overshoot = measured - outer.limit
                giving_up = f"{outer.name} {seconds(outer.limit)} s"
        end = env.timeout(max(0.0, held - overshoot))
        yield end | backend.killed_event
        if not end.processed and backend.killed_event.processed:
            left = held - (env.now - req.arrived - stall)
            self._record(
                req,
                Cause.cut,
                f"{backend.name} {self._gone_verb()} at {seconds(self._rel(env.now))} s with "
                f"{seconds(left)} s of the {kind.value} ({seconds(held)} s in tier "
                f"{p.tier.value.upper()}) left",
            )
        elif overshoot:
            self._record(
                req,
                Cause.timeout,
                f"{giving_up} fired {seconds(overshoot)} s before the {kind.value} finished "
                f"(connect timeouts {seconds(stall)} s, {req.tries} tries)",
            )
        else:
            self._record(req)

    def _gone_verb(self) -> str:
        return "deleted" if self.plan.unit == "instance" else "killed"


def simulate(
    cfg: StackConfig,
    tier: Tier | str,
    *,
    stack: str = "",
    rate: float = 20.0,
    upload_share: float = 0.05,
    seed: int = 1,
    overrides: DeploymentOverrides | None = None,
    runtime: str | None = None,
) -> Simulation:
    """Replay one rolling upgrade of `tier` under `rate` requests/s; deterministic per `seed`.

    The traffic takes the path A -> B -> C -> `runtime` (None: the first runtime service).
    """
    cfg = cfg.one_path(runtime)
    if rate <= 0:
        raise ValueError(f"rate {rate} must be > 0 requests per second")
    if not 0 <= upload_share <= 1:
        raise ValueError(f"upload_share {upload_share} must be within 0..1")
    plan = plan_for(cfg, Tier(tier), overrides)
    # Traffic starts one longest request before the rollout, so uploads are in flight at t=0.
    lead_in = plan.held[RequestKind.upload]
    model = _Model(plan, rate, upload_share, seed, lead_in)
    model.env.process(model.controller())
    model.env.process(model.arrivals())
    model.env.run(until=lead_in + MAX_SIMULATED_SECONDS)
    if model.done_at is None:
        raise RuntimeError(
            f"the rollout of tier {plan.tier.value} did not complete within "
            f"{MAX_SIMULATED_SECONDS:g} simulated seconds"
        )
    return Simulation(
        stack=stack,
        plan=plan,
        rate=rate,
        upload_share=upload_share,
        seed=seed,
        lead_in=lead_in,
        rollout_seconds=model.done_at - lead_in,
        events=tuple(sorted(model.events, key=lambda event: event.at)),
        requests=tuple(sorted(model.outcomes, key=lambda item: item.id)),
        truncated=model.truncated,
    )


# --------------------------------------------------------------------------------------------
# Terminal tables
# --------------------------------------------------------------------------------------------

FAILED_ROWS = 20
"""Failed requests the terminal lists (JSON has them all)."""


def tables(sim: Simulation) -> list[Table]:
    """The simulation as terminal tables: inputs, summary, failures by cause, timeline."""
    p = sim.plan
    inputs = Table(title=f"stack {sim.stack}: simulated rollout of {p.title}")
    for column in ("input", "value", "from"):
        inputs.add_column(column)
    for s in p.settings:
        inputs.add_row(escape(s.what), escape(s.value), escape(s.source))
    upload = seconds(p.held[RequestKind.upload])
    inputs.add_row(
        "upload / GET time in the tier (s)",
        f"{upload} / {seconds(GET_SECONDS)}",
        (f"longest request of {p.tier.value.upper()} / simulate.GET_SECONDS"),
    )
    inputs.add_row(
        "traffic",
        f"{sim.rate:g}/s, {sim.upload_share:.0%} uploads, seed {sim.seed}",
        f"Poisson arrivals from {seconds(-sim.lead_in)} s until the rollout completes",
    )

    counts = sim.counts()
    verdict = "[green]hitless[/]" if not sim.failed else f"[bold red]{len(sim.failed)} failed[/]"
    summary = Table(
        title=f"requests during the rollout ({seconds(sim.rollout_seconds)} s): {verdict}"
        + (" (truncated at MAX_REQUESTS)" if sim.truncated else "")
    )
    for column in ("kind", "requests", "ok", "failed", *(cause.value for cause in Cause)):
        summary.add_column(column, justify="right" if column != "kind" else "left")
    for kind in RequestKind:
        row = counts[kind]
        summary.add_row(
            kind.value,
            *(str(row[key]) for key in ("requests", "ok", "failed", *Cause)),
        )

    causes = Table(title="failures by cause")
    for column in ("cause", "failure mode (design §2)", "requests", "first"):
        causes.add_column(column, justify="right" if column == "requests" else "left")
    for cause in Cause:
        hits = [item for item in sim.failed if item.cause is cause]
        first = f"#{hits[0].id} at {seconds(hits[0].arrived)} s: {hits[0].detail}" if hits else ""
        causes.add_row(cause.value, FAILURE_MODES[cause], str(len(hits)), escape(first))

    timeline = Table(title="rollout timeline (t = 0: rollout starts)")
    timeline.add_column("t (s)", justify="right")
    timeline.add_column(p.unit)
    timeline.add_column("event")
    for event in sim.events:
        timeline.add_row(seconds(event.at), escape(event.backend), escape(event.what))
    out = [inputs, summary, causes, timeline]

    if sim.failed:
        failed = Table(
            title=f"failed requests (first {min(FAILED_ROWS, len(sim.failed))} of "
            f"{len(sim.failed)}; --format json lists all)"
        )
        for column in ("#", "kind", "arrived (s)", "ended (s)", "cause", "detail"):
            failed.add_column(column)
        for item in sim.failed[:FAILED_ROWS]:
            failed.add_row(
                str(item.id),
                item.kind.value,
                seconds(item.arrived),
                seconds(item.ended),
                item.cause.value if item.cause else "",
                escape(item.detail),
            )
        out.append(failed)
    return out
