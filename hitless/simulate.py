"""A simulation of one rolling upgrade of one tier under steady load, driven by extracted facts.

The third explanation, after the budget and the timeline (`hitless.explain`): instead of
comparing each number with its bound, replay the rollout and watch every request. The inputs are
the facts `check`, `preview` and the lab read (`hitless.sim_inputs`), never a rule's bound. A
rollout controller replaces the tier's backends as Kubernetes (C, D) or the MIG updater (A, B)
does; each old backend goes through its termination; requests arrive as a Poisson stream, reach
the rolling tier through its caller (a pooled keepalive connection when one is idle, else a new
connection routed to a backend the routers still list), and end ok or failed:

- `refused` (design §2.1): a new connection reached a backend that stopped accepting or whose
  app does not listen yet (or none was in rotation), with no retry left or allowed;
- `cut` (§2.2): the backend was killed, deleted or ended its graceful shutdown
  (`worker_shutdown_timeout`, `kong quit --timeout`) before the request finished;
- `timeout` (§2.3): a response timeout fired before the request finished.

Mechanisms (each from its own physics): a new backend's app answers after a time drawn in [0,
thresholds' worst start]; its probe (or the LB health check) runs at its period with a random phase,
and a container without a readiness probe is Ready at its start, before its app listens (a new
connection routed to it then is refused); routers add and drop backends after lags drawn in [0, the
profile's lag]; a terminating backend keeps its listener for its preStop / `kong quit --wait` / LB
draining, then closes it (closing idle keepalive connections, except nginx stream sessions), and is
killed at its grace / quit timeout / draining end. Callers pool connections (nginx `keepalive`,
`keepalive_timeout`, `keepalive_time`; Kong's upstream pool and idle timeout; GFE's keepalive): a
pooled flow is not re-routed, so it keeps reaching a backend the routers dropped until the far side
closes it. Retries: Kong retries a failed connect for any method and an idempotent request after an
error or a read timeout, never a POST once sent; nginx with one upstream address retries only a GET
whose pooled connection failed (nginx passes a request on after an error on a cached connection
without counting a try: `ngx_http_upstream_next`, `u->peer.cached`). Uploads: client speeds drawn
log-uniformly from the profile's slowest up to `CLIENT_SPEED_SPREAD` times faster, runtime work
drawn in [0, the profile's longest]. A GKE node pool upgrade (`simulate_nodes`) drains nodes batch
by batch, evicting Kong's and the runtime's pods as their PDBs allow. Not modelled: capacity and
queueing (§2.6), body limits (§2.5), races of a request with a keepalive close (§2.4).
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from statistics import quantiles
from typing import Any

from rich.markup import escape
from rich.table import Table

from hitless.sim_inputs import (
    ROLLING_TIERS,
    ChainModel,
    Setting,
    SimInputs,
    SimulationInputError,
    TierModel,
    chain_model,
    runtimes,
    tier_model,
)
from hitless.trace import BackendLife, Generation, Phase, PhaseName, Sample, TierTrace
from hitless_policy import budget
from hitless_policy.facts import Deployment, Facts, Unknown
from hitless_policy.identity import Tier
from hitless_policy.profile import PackConfig

__all__ = [
    "NOT_MODELLED",
    "Cause",
    "RequestKind",
    "RunSummary",
    "Simulation",
    "SimulationInputError",
    "simulate_facts",
    "simulate_inputs",
    "summarize",
]

GET_SECONDS = 0.2
"""Time a short GET spends in the runtime: a small fixed processing time, far below every drain
window. GETs exist to be routed while backends come and go, so they reveal refusals."""
CLIENT_SPEED_SPREAD = 16.0
"""Upload speeds are drawn log-uniformly in [slowest, slowest x this] (a simulation parameter)."""
MAX_REQUESTS = 5_000_000
"""Most requests one run simulates. A run whose load (rate x rollout) needs more is refused
before it starts (`SimulationInputError`, exit 2): the load always covers the whole rollout."""
MAX_SIMULATED_SECONDS = 86_400.0
"""Bound on simulated time: a rollout still running after a day is a model error (exit 3)."""


class RequestKind(StrEnum):
    """What a simulated request is."""

    get = "get"
    """A short GET (`GET_SECONDS` in the runtime)."""
    upload = "upload"
    """A `profile.max_body_mib` POST from a client of drawn speed."""


class Cause(StrEnum):
    """Why a request failed: design §2's failure modes a rollout can cause."""

    refused = "refused"
    """A new connection reached a backend that stopped accepting (or none), no retry left."""
    cut = "cut"
    """In flight when its backend was killed, deleted or ended its graceful shutdown."""
    timeout = "timeout"
    """A response timeout fired before the request finished."""


NOT_MODELLED: dict[str, str] = {
    "reset": "§2.4 a request sent on a keepalive connection its far side closes meanwhile",
    "rejected": "§2.5 a body refused by a size limit (413)",
}
"""Failures rules guard against (`Rule.failure`) that the simulator does not model."""


FAILURE_MODES: dict[Cause, str] = {
    Cause.refused: "§2.1 routed to a backend that stopped accepting",
    Cause.cut: "§2.2 in-flight request cut",
    Cause.timeout: "§2.3 a timeout fired first",
}
"""The design §2 failure mode of each cause."""


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
    """Connections tried (1 + retries used)."""
    pooled: bool
    """Whether its last try used a pooled keepalive connection."""
    backend: str | None
    """The backend of the last try (None when none was in rotation)."""
    cause: Cause | None
    """Why it failed; None when it succeeded."""
    failed_at: str
    """The tier where it failed (`a`..`d`; "" when ok)."""
    detail: str
    """The failure in the chain's terms ("" when ok)."""

    @property
    def ok(self) -> bool:
        """Whether the request succeeded."""
        return self.cause is None


@dataclass(frozen=True)
class Simulation:
    """One simulated rollout: its inputs, events, every request's outcome and its trace."""

    source: str
    """Where the facts come from (`stack dev`, or the files)."""
    defaulted: tuple[str, ...]
    """Tiers whose facts were not given and come from the stack."""
    model: TierModel
    """The rolling tier's inputs."""
    chain: ChainModel
    """The chain's buffering and timeouts."""
    rate: float
    """Requests per second reaching the chain."""
    upload_share: float
    """Share of requests that are uploads."""
    seed: int
    """Random seed of everything drawn."""
    lead_in: float
    """Seconds of traffic before the rollout starts."""
    rollout_seconds: float
    """From the rollout's start until the last old backend is gone and every new one serves."""
    min_serving: int
    """Fewest backends in rotation at any second of the run."""
    events: tuple[RolloutEvent, ...]
    """The rollout's events, in time order."""
    requests: tuple[RequestOutcome, ...]
    """Every request, in arrival order."""
    trace: TierTrace
    """Backend phases and per-second samples (the report's gantt and capacity charts)."""
    rolled: str = ""
    """What rolled: `a`..`d`, or `nodes` for a node pool upgrade ("": the model's tier)."""

    @property
    def tier(self) -> str:
        """What rolled (`a`..`d` or `nodes`)."""
        return self.rolled or self.model.tier.value

    @property
    def failed(self) -> tuple[RequestOutcome, ...]:
        """The failed requests."""
        return tuple(item for item in self.requests if not item.ok)

    def by_cause(self) -> Counter[str]:
        """Failed requests per cause."""
        return Counter(r.cause.value for r in self.requests if r.cause is not None)

    def by_tier(self) -> Counter[str]:
        """Failed requests per tier where they failed."""
        return Counter(r.failed_at for r in self.requests if r.cause is not None)

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

    def to_json(self, *, every_request: bool = True) -> dict[str, Any]:
        """The simulation as plain JSON data."""
        counts = self.counts()
        return {
            "source": self.source,
            "defaulted_tiers": list(self.defaulted),
            "tier": self.tier,
            "title": self.model.title,
            "rate": self.rate,
            "upload_share": self.upload_share,
            "seed": self.seed,
            "lead_in_seconds": self.lead_in,
            "rollout_seconds": self.rollout_seconds,
            "min_serving": self.min_serving,
            "settings": [
                {"what": s.what, "value": s.value, "source": s.source}
                for s in (*self.model.settings, *self.chain.settings)
            ],
            "summary": {
                "requests": len(self.requests),
                "failed": len(self.failed),
                "by_kind": {kind.value: dict(counts[kind]) for kind in RequestKind},
                "by_cause": {c.value: self.by_cause()[c.value] for c in Cause},
                "by_tier": dict(self.by_tier()),
            },
            "events": [{"at": e.at, "backend": e.backend, "what": e.what} for e in self.events],
            "requests": [
                {
                    "id": r.id,
                    "kind": r.kind.value,
                    "arrived": r.arrived,
                    "ended": r.ended,
                    "tries": r.tries,
                    "pooled": r.pooled,
                    "backend": r.backend,
                    "cause": None if r.cause is None else r.cause.value,
                    "failed_at": r.failed_at,
                    "detail": r.detail,
                }
                for r in (self.requests if every_request else self.failed)
            ],
        }


# --------------------------------------------------------------------------------------------
# The rollout schedule (independent of the requests: no capacity is modelled)
# --------------------------------------------------------------------------------------------


@dataclass
class _Backend:
    """A pod or instance: when routers list it, when it accepts, when it is gone."""

    name: str
    old: bool
    created: float = 0.0
    answers_from: float = 0.0
    ready: float = 0.0
    available: float = 0.0
    routed_from: float = 0.0
    terminating: float = math.inf
    routed_until: float = math.inf
    accepting_until: float = math.inf
    cut_at: float = math.inf
    killed_at: float = math.inf

    def routed(self, now: float) -> bool:
        return self.routed_from <= now < self.routed_until


def _lag(model: TierModel, rng: random.Random, *, worst: bool) -> float:
    """The routers' lag: the largest of lags drawn in [0, each] (`worst`: the largest bound)."""
    if worst:
        return max(model.lag_max_seconds)
    return max(rng.uniform(0, lag) for lag in model.lag_max_seconds)


def _first_tick(rng: random.Random, period: float, after: float, *, worst: bool) -> float:
    """The first tick at or after `after` of a check running every `period` from a random phase.

    `worst`: the phase is a full period (the kubelet's worst case).
    """
    if period <= 0:
        return after
    phase = period if worst else rng.uniform(0, period)
    return phase + math.ceil(max(0.0, after - phase) / period) * period


def _start(model: TierModel, rng: random.Random, *, worst: bool) -> tuple[float, float]:
    """(app answers, passes its readiness check): seconds from the backend's creation.

    Drawn; `worst`: the longest start and the latest probe phase. A container without a
    readiness probe (`TierModel.ready_at_start`) is Ready once it started, which is counted
    from its creation (the earliest it can be: scheduling and the image pull are part of the
    drawn start), however long its app takes to listen.
    """
    up = model.start_max_seconds if worst else rng.uniform(0, model.start_max_seconds)
    gate = up
    if model.startup is not None:
        s = model.startup
        gate = _first_tick(rng, s.period_seconds, max(up, s.initial_delay_seconds), worst=worst)
    if model.ready_at_start:
        return up, gate if model.startup is not None else 0.0
    r = model.readiness
    first = _first_tick(rng, r.period_seconds, max(gate, r.initial_delay_seconds), worst=worst)
    return up, first + (r.success_threshold - 1) * r.period_seconds


@dataclass
class _Schedule:
    """The rollout controller's run: every backend's life, and when the rollout completed."""

    model: TierModel
    rng: random.Random
    start: float
    old: list[_Backend] = field(default_factory=list)
    new: list[_Backend] = field(default_factory=list)
    events: list[tuple[float, str, str]] = field(default_factory=list)
    done_at: float = math.inf
    full_lags: bool = False
    """Whether nothing is drawn: the longest starts, the latest probe phases, the full lags."""

    def run(self) -> None:
        m = self.model
        self.old = [_Backend(f"{m.name}-old-{i + 1}", old=True) for i in range(m.replicas)]
        live_old = list(self.old)
        pending: list[tuple[float, int]] = []  # (available at, index in new)
        now = self.start
        self.events.append(
            (
                now,
                "",
                f"rollout starts: {m.replicas} {m.unit}s, surge {m.max_surge}, "
                f"unavailable {m.max_unavailable}",
            )
        )
        if m.max_surge == 0 and m.max_unavailable == 0:
            raise SimulationInputError(
                f"{m.title}: maxSurge and maxUnavailable both resolve to 0: the rollout cannot "
                "progress (the API refuses it). Fix: set maxSurge >= 1."
            )
        while True:
            changed = True
            while changed:  # one controller sync: surge, then remove what availability allows
                changed = False
                while (
                    len(live_old) + len(self.new) < m.replicas + m.max_surge
                    and len(self.new) < m.replicas
                ):
                    self._create(now, pending)
                    changed = True
                available_new = sum(1 for b in self.new if b.available <= now)
                removable = len(live_old) + available_new - (m.replicas - m.max_unavailable)
                for _ in range(max(0, min(removable, len(live_old)))):
                    self.terminate(live_old.pop(0), now)
                    changed = True
            if not live_old and available_new == m.replicas:
                break
            if not pending:
                raise RuntimeError(f"{m.title}: the rollout stalled")
            now, _ = heapq.heappop(pending)
            if now - self.start > MAX_SIMULATED_SECONDS:
                raise RuntimeError(
                    f"{m.title}: the rollout did not complete within {MAX_SIMULATED_SECONDS:g} s"
                )
        last = max(
            [b.killed_at for b in self.old] + [max(b.available, b.routed_from) for b in self.new]
        )
        self.done_at = last
        self.events.append((last, "", "rollout complete: every old backend gone, new serving"))

    def live_replacement(self, now: float) -> None:
        """A replacement pod created at `now` (a node drain's eviction)."""
        self._create(now, [])

    def _create(self, now: float, pending: list[tuple[float, int]]) -> None:
        m = self.model
        backend = _Backend(f"{m.name}-new-{len(self.new) + 1}", old=False, created=now)
        answers, ready = _start(m, self.rng, worst=self.full_lags)
        backend.answers_from, backend.ready = now + answers, now + ready
        backend.available = backend.ready + m.min_ready_seconds
        backend.routed_from = backend.ready + _lag(m, self.rng, worst=self.full_lags)
        self.new.append(backend)
        heapq.heappush(pending, (backend.available, len(self.new) - 1))
        self.events += [
            (now, backend.name, f"{m.unit} created"),
            (
                backend.ready,
                backend.name,
                "ready (no readiness probe: once started)"
                if m.ready_at_start
                else "ready (passes its check)",
            ),
            (backend.routed_from, backend.name, "in rotation: routers send it new connections"),
            (backend.available, backend.name, "available: counts for the rollout"),
        ]
        if m.ready_at_start:
            self.events.append(
                (backend.answers_from, backend.name, "its app listens (Ready without a probe)")
            )

    def terminate(self, backend: _Backend, now: float) -> None:
        """Start `backend`'s termination at `now` (Terminating, or removed from the group)."""
        m = self.model
        backend.terminating = now
        backend.routed_until = now + _lag(m, self.rng, worst=self.full_lags)
        backend.accepting_until = now + m.accepts_for_seconds
        backend.killed_at = now + m.killed_after_seconds
        backend.cut_at = min(backend.killed_at, backend.accepting_until + m.shutdown_seconds)
        self.events += [
            (now, backend.name, "termination starts (Terminating / removed from the group)"),
            (backend.routed_until, backend.name, "out of rotation: no new connections routed"),
            (backend.accepting_until, backend.name, "stops accepting: listener closed"),
            (backend.cut_at, backend.name, "killed: requests still in flight are cut"),
        ]


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


@dataclass
class _Conn:
    backend: _Backend
    created: float
    free_at: float
    reusable: bool = True


@dataclass
class _Pool:
    """One caller's keepalive pool: connections in use (by when they free up) and idle ones."""

    busy: list[tuple[float, int, _Conn]] = field(default_factory=list)
    idle: list[_Conn] = field(default_factory=list)
    pushed: int = 0


@dataclass(frozen=True)
class _Timing:
    """One request's offsets from its arrival at A (seconds)."""

    kind: RequestKind
    start: float
    """When it reaches the rolling tier."""
    send_done: float
    """When A finished sending the request on (A's read timeout runs from here)."""
    upload_done: float
    """When the client finished its upload (the classic LB's timeout counts it)."""
    kong_has_body: float
    """When Kong holds the whole body (B's stream is idle from here)."""
    d_start: float
    """When the runtime receives the first byte."""
    processing: float
    """The runtime's work once it holds the body."""
    end: float
    """When the response is complete (no stalls)."""


def _timing(
    chain: ChainModel, tier: Tier, kind: RequestKind, speed_draw: float, work_draw: float
) -> _Timing:
    """A request's offsets; an upload's speed and work from draws in [0, 1].

    A speed draw of 0 is the slowest client, a work draw of 1 the longest work.
    """
    if kind is RequestKind.get:
        upload = transfer = 0.0
        work = GET_SECONDS
    else:
        speed = chain.min_client_mbps * CLIENT_SPEED_SPREAD**speed_draw
        upload = budget.transfer_seconds(chain.body_mib, speed)
        transfer = budget.transfer_seconds(chain.body_mib, chain.internal_mbps)
        work = chain.rt_max_processing_seconds * work_draw
    b_start = upload if chain.a_buffers else 0.0
    kong_has = max(b_start + transfer, upload)
    d_start = kong_has if chain.kong_buffers else b_start
    d_has = max(d_start + transfer, kong_has)
    end = d_has + work
    start = {Tier.A: 0.0, Tier.B: b_start, Tier.C: b_start, Tier.D: d_start}[tier]
    return _Timing(
        kind=kind,
        start=start,
        send_done=max(upload, b_start + transfer) if chain.a_buffers else upload,
        upload_done=upload,
        kong_has_body=kong_has,
        d_start=d_start,
        processing=work,
        end=end,
    )


def _first_timeout(chain: ChainModel, t: _Timing, stall: float) -> tuple[float, str, str] | None:
    """(when, tier, which) of the first response timeout that fires before the end, or None."""
    end = t.end + stall
    fires = [
        (
            (0.0 if chain.lb_counts_upload else t.upload_done) + chain.lb_timeout_seconds,
            "a",
            f"external LB timeoutSec {chain.lb_timeout_seconds:g} s",
        ),
        (t.send_done + chain.a_read_timeout_seconds, "a", "A proxy_read_timeout"),
        (t.kong_has_body + stall + chain.b_idle_timeout_seconds, "b", "B proxy_timeout"),
        (
            end - t.processing + chain.kong_read_timeout_seconds,
            "c",
            f"Kong read_timeout {chain.kong_read_timeout_seconds:g} s",
        ),
        (t.d_start + stall + chain.rt_request_timeout_seconds, "d", "the runtime's timeout"),
    ]
    first = min(fires, key=lambda item: item[0])
    return first if first[0] < end else None


@dataclass
class _Attempt:
    """A request in progress: what its outcome will report."""

    rid: int
    kind: RequestKind
    arrived: float
    tries: int = 0
    pooled: bool = False


@dataclass
class _Run:
    model: TierModel
    chain: ChainModel
    schedule: _Schedule
    rng: random.Random
    pools: list[_Pool]
    outcomes: list[RequestOutcome] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    changes: list[float] = field(default_factory=list)
    by_slot: dict[int, list[_Backend]] = field(default_factory=dict)

    def backends(self) -> list[_Backend]:
        return self.schedule.old + self.schedule.new

    def routed(self, now: float) -> list[_Backend]:
        """The backends in rotation at `now` (cached per interval between routing changes)."""
        if not self.changes:
            marks = {b.routed_from for b in self.backends()} | {
                b.routed_until for b in self.backends()
            }
            self.changes = sorted(m for m in marks if math.isfinite(m))
        slot = bisect.bisect_right(self.changes, now)
        found = self.by_slot.get(slot)
        if found is None:
            found = [b for b in self.backends() if b.routed(now)]
            self.by_slot[slot] = found
        return found

    def _pooled(self, pool: _Pool, now: float) -> _Conn | None:
        """The most recently freed idle connection still open (LIFO, as nginx's cache)."""
        p = self.model.pooling
        while pool.busy and pool.busy[0][0] <= now:
            pool.idle.append(heapq.heappop(pool.busy)[2])  # in free_at order
        while pool.idle:
            conn = pool.idle[-1]
            idle = now - conn.free_at
            if idle >= p.caller_idle_seconds or idle >= p.far_idle_seconds:
                pool.idle.clear()  # the older ones have been idle longer still
                return None
            b = conn.backend
            pool.idle.pop()
            if now >= b.cut_at or (p.closes_idle_on_quit and now >= b.accepting_until):
                continue  # closed by the far side when it quit or was killed
            return conn
        return None

    def request(self, item: _Arrival) -> None:
        m, chain = self.model, self.chain
        rid, arrival, kind = item.rid, item.at, item.kind
        timing = _timing(chain, m.tier, kind, item.speed_draw, item.work_draw)
        pool = self.pools[self.rng.randrange(len(self.pools))] if m.pooling.enabled else None
        now = arrival + timing.start
        req = _Attempt(rid, kind, now)
        stall = 0.0
        cached_retry_left = True
        detail = ""
        while True:
            conn = self._pooled(pool, now) if pool is not None else None
            req.pooled = conn is not None
            if conn is None:
                req.tries += 1
                routed = self.routed(now)
                if not routed:
                    self._fail(req, now, backend=None, cause=Cause.refused, detail="none")
                    return
                backend = self.rng.choice(routed)
                t0 = self.schedule.start
                if now < backend.answers_from:  # Ready before its app listens: refused at once
                    detail = (
                        f"{backend.name} was Ready at {backend.ready - t0:.1f} s (no readiness "
                        f"probe) but its app listens only from {backend.answers_from - t0:.1f} s"
                    )
                    if req.tries > m.retries:
                        self._fail(req, now, backend=backend, cause=Cause.refused, detail=detail)
                        return
                    continue
                if now >= backend.accepting_until:
                    gone = now >= backend.killed_at
                    detail = (
                        f"{backend.name} {'is gone' if gone else 'closed its listener'} at "
                        f"{backend.accepting_until - t0:.1f} s; routers listed it "
                        f"until {backend.routed_until - t0:.1f} s"
                    )
                    if gone:  # a vanished address: the try waits out the connect timeout
                        now += m.connect_timeout_seconds
                        stall += m.connect_timeout_seconds
                    if req.tries > m.retries:
                        self._fail(req, now, backend=backend, cause=Cause.refused, detail=detail)
                        return
                    continue
                conn = _Conn(backend, created=now, free_at=now)
            backend = conn.backend
            held = timing.end - timing.start
            finish = now + held
            out = _first_timeout(chain, timing, stall)
            if out is not None and arrival + out[0] < finish and arrival + out[0] < backend.cut_at:
                when, tier, which = out
                conn.free_at, conn.reusable = arrival + when, False
                self._fail(
                    req,
                    arrival + when,
                    backend=backend,
                    cause=Cause.timeout,
                    detail=f"{which} fired before the {kind.value} finished",
                    tier=tier,
                )
                return
            if finish > backend.cut_at:
                conn.free_at, conn.reusable = backend.cut_at, False
                idempotent = kind is RequestKind.get
                if idempotent and req.pooled and cached_retry_left:
                    cached_retry_left = False  # nginx: an error on a cached connection
                    now = backend.cut_at
                    continue
                if idempotent and m.retries_reads and req.tries <= m.retries:
                    now = backend.cut_at
                    continue
                self._fail(
                    req,
                    backend.cut_at,
                    backend=backend,
                    cause=Cause.cut,
                    detail=f"{backend.name} killed at {backend.cut_at - self.schedule.start:.1f} s "
                    f"with {finish - backend.cut_at:.1f} s of the {kind.value} left",
                )
                return
            conn.free_at = finish
            conn.reusable = finish - conn.created < m.pooling.lifetime_seconds and not (
                m.pooling.closes_idle_on_quit and finish >= backend.accepting_until
            )
            if pool is not None and conn.reusable:
                pool.pushed += 1
                heapq.heappush(pool.busy, (finish, pool.pushed, conn))
            self.spans.append((req.arrived, finish))
            self.outcomes.append(
                RequestOutcome(
                    rid,
                    kind,
                    req.arrived - self.schedule.start,
                    finish - self.schedule.start,
                    max(req.tries, 1),
                    req.pooled,
                    backend.name,
                    None,
                    "",
                    "",
                )
            )
            return

    def _fail(
        self,
        req: _Attempt,
        ended: float,
        *,
        backend: _Backend | None,
        cause: Cause,
        detail: str,
        tier: str | None = None,
    ) -> None:
        rid, kind, arrived, tries, pooled = req.rid, req.kind, req.arrived, req.tries, req.pooled
        if detail == "none":
            detail = "no backend in rotation"
        self.spans.append((arrived, ended))
        self.outcomes.append(
            RequestOutcome(
                rid,
                kind,
                arrived - self.schedule.start,
                ended - self.schedule.start,
                max(tries, 1),
                pooled,
                None if backend is None else backend.name,
                cause,
                tier or self.model.tier.value,
                detail,
            )
        )


# --------------------------------------------------------------------------------------------
# Trace
# --------------------------------------------------------------------------------------------


def _phases(b: _Backend, t0: float, end: float) -> tuple[Phase, ...]:
    def clip(x: float) -> float:
        return round(min(max(x, 0.0), end) - 0.0, 6)

    def rel(x: float) -> float:
        return clip(x - t0) if math.isfinite(x) else end

    if b.old:
        marks = [
            (PhaseName.SERVING, 0.0, rel(b.terminating)),
            (PhaseName.OUT_OF_ROTATION, rel(b.terminating), rel(b.routed_until)),
            (PhaseName.DRAINING, rel(b.routed_until), rel(b.cut_at)),
            (PhaseName.KILLED, rel(b.cut_at), end),
        ]
    else:
        marks = [
            (PhaseName.STARTING, rel(b.created), rel(b.ready)),
            (PhaseName.READY, rel(b.ready), rel(b.routed_from)),
            (PhaseName.IN_ROTATION, rel(b.routed_from), end),
        ]
    return tuple(Phase(name, s, e) for name, s, e in marks if e > s)


def _trace(runs: list[_Run], lead_in: float, run_end: float, tier: str) -> tuple[TierTrace, int]:
    """The trace (times from the start of the simulated run) and the least serving count.

    Several runs (a node pool upgrade: Kong's and the runtime's pods) share one clock; their
    backends, in-flight requests and failures add up.
    """
    start = runs[0].schedule.start
    done = max(r.schedule.done_at for r in runs)
    t0 = start - lead_in  # the run starts with the traffic
    end = run_end - t0
    lives = tuple(
        BackendLife(b.name, Generation.OLD if b.old else Generation.NEW, _phases(b, t0, end))
        for r in runs
        for b in (*r.schedule.old, *r.schedule.new)
    )
    seconds = math.ceil(end)
    delta = [0] * (seconds + 2)
    failed: Counter[int] = Counter()
    causes: Counter[str] = Counter()
    for run in runs:
        for a, e in run.spans:
            first = max(0, math.ceil(a - t0))
            last = min(seconds + 1, math.ceil(e - t0))
            if first < last:
                delta[first] += 1
                delta[last] -= 1
        for o in run.outcomes:
            if o.cause is not None:
                failed[min(seconds, math.ceil(o.ended + lead_in))] += 1
                causes[o.cause.value] += 1
    samples: list[Sample] = []
    flight = 0
    backends = [b for r in runs for b in r.backends()]
    least = len(backends)
    for second in range(seconds + 1):
        flight += delta[second]
        now = t0 + second
        serving = sum(1 for b in backends if b.routed(now))
        if start <= now <= done:
            least = min(least, serving)
        samples.append(Sample(float(second), serving, flight, failed.get(second, 0)))
    trace = TierTrace(
        tier=tier,
        rollout_start=lead_in,
        rollout_end=round(done - t0, 6),
        backends=lives,
        samples=tuple(samples),
        failures_by_cause=dict(causes),
    )
    return trace, least


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Arrival:
    """One request as the client sends it: when, what, and its draws."""

    rid: int
    at: float
    kind: RequestKind
    speed_draw: float
    work_draw: float


def _arrivals(
    seed: int, rate: float, upload_share: float, horizon: float, *, worst: bool
) -> Iterator[_Arrival]:
    """Poisson arrivals from 0 until `horizon` (the same for every run with this seed)."""
    rng = random.Random(f"{seed}:arrivals")  # noqa: S311 - a reproducible simulation
    at, rid = 0.0, 0
    while True:
        at += rng.expovariate(rate)
        if at >= horizon:
            return
        kind = RequestKind.upload if rng.random() < upload_share else RequestKind.get
        speed, work = rng.random(), rng.random()
        yield _Arrival(rid, at, kind, 0.0 if worst else speed, 1.0 if worst else work)
        rid += 1


def _check_load(title: str, rate: float, lead_in: float, horizon: float) -> None:
    """Refuse a run whose load over the whole rollout exceeds `MAX_REQUESTS` (exit 2)."""
    expected = rate * horizon
    if expected > MAX_REQUESTS:
        raise SimulationInputError(
            f"{title}: {rate:g} requests/s over the {horizon - lead_in:.0f} s rollout are "
            f"{expected:.0f} requests, more than the {MAX_REQUESTS} one run simulates; the load "
            "must cover the whole rollout. Fix: lower --rate."
        )


def simulate_model(
    model: TierModel,
    chain: ChainModel,
    *,
    rate: float = 20.0,
    upload_share: float = 0.05,
    seed: int = 1,
    source: str = "",
    defaulted: tuple[str, ...] = (),
    worst_case: bool = False,
) -> Simulation:
    """Replay one rolling upgrade of `model` under `rate` requests/s; deterministic per `seed`.

    `worst_case`: nothing drawn: every upload from the slowest client with the longest work,
    every new backend's start at its longest and its first probe a full period later, every
    routing lag at the profile's full value (the lab's load, probes and routers).
    """
    if not rate > 0 or math.isinf(rate):
        raise SimulationInputError(f"rate {rate}: must be a finite number > 0 requests/s")
    if not 0 <= upload_share <= 1:
        raise SimulationInputError(f"upload_share {upload_share}: must be within 0..1")
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not security
    slowest = _timing(chain, model.tier, RequestKind.upload, 0.0, 1.0)
    lead_in = slowest.end - slowest.start
    schedule = _Schedule(
        model,
        random.Random(f"{seed}:rollout"),  # noqa: S311 - as above
        start=lead_in,
        full_lags=worst_case,
    )
    schedule.run()
    horizon = schedule.done_at
    _check_load(model.title, rate, lead_in, horizon)
    run = _Run(model, chain, schedule, rng, [_Pool() for _ in range(max(1, model.pooling.callers))])
    for item in _arrivals(seed, rate, upload_share, horizon, worst=worst_case):
        run.request(item)
    run_end = max([horizon, *(e for _, e in run.spans)])
    trace, least = _trace([run], lead_in, run_end, model.tier.value)
    events = sorted(
        (RolloutEvent(round(at - lead_in, 6), name, what) for at, name, what in schedule.events),
        key=lambda e: e.at,
    )
    return Simulation(
        source=source,
        defaulted=defaulted,
        model=model,
        chain=chain,
        rate=rate,
        upload_share=upload_share,
        seed=seed,
        lead_in=lead_in,
        rollout_seconds=round(horizon - lead_in, 6),
        min_serving=least,
        events=tuple(events),
        requests=tuple(run.outcomes),
        trace=trace,
    )


# --------------------------------------------------------------------------------------------
# GKE node pool upgrade: Kong's and the runtime's pods evicted under their PDBs
# --------------------------------------------------------------------------------------------

EVICTION_RETRY_SECONDS = 5.0
"""A drain retries an eviction the PodDisruptionBudget refused this often (`kubectl drain`'s
5 s; GKE does not state its own interval)."""


@dataclass(frozen=True)
class NodeUpgrade:
    """A node pool upgrade, read from the pool's facts."""

    pool: str
    """The node pool."""
    strategy: str
    """SURGE or BLUE_GREEN."""
    nodes: int
    """Nodes in the pool (zones x nodes per zone)."""
    max_surge: int
    """SURGE: nodes created ahead of each batch."""
    max_unavailable: int
    """SURGE: nodes drained without a replacement."""
    soak_seconds: float
    """BLUE_GREEN: the blue pool soaks this long after its drain before deletion."""
    node_boot_seconds: float
    """A new node is Ready after a time drawn in [0, this] (thresholds.node_boot_seconds)."""


def _duration_seconds(value: object) -> float:
    text = str(value)
    return float(text[:-1]) if text.endswith("s") else float(text)


def node_upgrade(facts: Facts, config: PackConfig) -> NodeUpgrade:
    """The first node pool's upgrade (SimulationInputError when it cannot be read)."""
    if not facts.node_pools:
        raise SimulationInputError("tier nodes: no GKE node pool among the facts")
    pool = facts.node_pools[0]
    where = str(pool.ref)
    upgrade = pool.upgrade
    if isinstance(upgrade, Unknown):
        raise SimulationInputError(f"{where}: upgradeSettings {upgrade}")
    # GKE's default upgrade is SURGE with maxSurge 1, maxUnavailable 0 (UpgradeSettings).
    settings: dict[str, object] = upgrade or {"strategy": "SURGE", "maxSurge": 1}
    zones, per_zone = (
        pool.zones,
        (pool.min_nodes_per_zone if pool.autoscaled else pool.max_nodes_per_zone),
    )
    if not isinstance(zones, int) or not isinstance(per_zone, int):
        raise SimulationInputError(f"{where}: the node count (zones x nodes per zone) is unknown")
    strategy = str(settings.get("strategy", "SURGE"))
    blue_green = settings.get("blueGreenSettings")
    soak = (
        _duration_seconds(blue_green.get("nodePoolSoakDuration", "0s"))
        if isinstance(blue_green, dict)
        else 0.0
    )

    def count(key: str, default: int) -> int:
        value = settings.get(key, default)
        return int(value) if isinstance(value, int | float) else default

    return NodeUpgrade(
        pool=pool.ref.name,
        strategy=strategy,
        nodes=max(1, zones * per_zone),
        max_surge=count("maxSurge", 1),
        max_unavailable=count("maxUnavailable", 0),
        soak_seconds=soak if strategy == "BLUE_GREEN" else 0.0,
        node_boot_seconds=config.thresholds.node_boot_seconds,
    )


def _disruptions(facts: Facts, name: str, replicas: int) -> int:
    """Evictions the PodDisruptionBudget of Deployment `name` allows (no PDB: all)."""
    for dep in facts.deployments:
        if name not in (dep.object_name, dep.ref.name) or isinstance(dep.pod_labels, Unknown):
            continue
        for pdb in facts.pdb_candidates(dep):
            if isinstance(pdb.selector, Unknown) or not pdb.selector.matches(dep.pod_labels):
                continue
            low, high = pdb.min_available, pdb.max_unavailable
            if isinstance(low, Unknown) or isinstance(high, Unknown):
                raise SimulationInputError(f"{pdb.ref}: minAvailable/maxUnavailable is unknown")
            return budget.pdb_allowed_disruptions(replicas, low, high)
    return replicas


@dataclass
class _NodeDrain:
    """The node pool upgrade's clock: cordon, evict under the PDBs, delete, batch by batch."""

    upgrade: NodeUpgrade
    schedules: list[_Schedule]
    allowed: list[int]
    rng: random.Random

    def run(self) -> float:
        u = self.upgrade
        node_of: dict[str, int] = {}
        for s_index, sched in enumerate(self.schedules):
            m = sched.model
            sched.old = [_Backend(f"{m.name}-old-{i + 1}", old=True) for i in range(m.replicas)]
            for i, b in enumerate(sched.old):
                node_of[b.name] = (i + s_index) % u.nodes  # spread across nodes
        now = self.schedules[0].start
        log = self.schedules[0].events
        blue_green = u.strategy == "BLUE_GREEN"
        batch = 1 if blue_green else max(1, u.max_surge + u.max_unavailable)
        created = u.nodes if blue_green else u.max_surge
        log.append((now, "", f"{u.strategy} upgrade of node pool {u.pool}: {u.nodes} nodes"))
        if blue_green:
            now += self.rng.uniform(0, u.node_boot_seconds)
            log.append((now, "", f"green pool ready: {created} nodes"))
        for first in range(0, u.nodes, batch):
            nodes = set(range(first, min(u.nodes, first + batch)))
            if not blue_green and created:
                now += self.rng.uniform(0, u.node_boot_seconds)
                log.append((now, "", f"{created} surge node(s) ready"))
            log.append((now, "", f"nodes {sorted(nodes)} cordoned and drained"))
            now = self._drain(nodes, node_of, now)
            log.append((now, "", f"nodes {sorted(nodes)} deleted"))
        done = max(
            [b.killed_at for s in self.schedules for b in s.old]
            + [max(b.available, b.routed_from) for s in self.schedules for b in s.new]
            + [now]
        )
        return done + u.soak_seconds

    def _drain(self, nodes: set[int], node_of: dict[str, int], now: float) -> float:
        pending = [
            (sched, allowed, b)
            for sched, allowed in zip(self.schedules, self.allowed, strict=True)
            for b in sched.old
            if node_of[b.name] in nodes
        ]
        while pending:
            left = []
            for sched, allowed, b in pending:
                m = sched.model
                healthy = sum(1 for o in sched.old if o.terminating == math.inf) + sum(
                    1 for n in sched.new if n.ready <= now
                )
                if healthy - (m.replicas - allowed) > 0:
                    sched.terminate(b, now)  # the eviction: the pod's termination
                    sched.live_replacement(now)  # its ReplicaSet creates a replacement
                else:
                    left.append((sched, allowed, b))
            pending = left
            if pending:
                now += EVICTION_RETRY_SECONDS
                if now - self.schedules[0].start > MAX_SIMULATED_SECONDS:
                    raise RuntimeError("the node pool upgrade did not complete in a day")
        return max(b.killed_at for s in self.schedules for b in s.old if node_of[b.name] in nodes)


def simulate_nodes(
    facts: Facts,
    *,
    config: PackConfig | None = None,
    rate: float = 20.0,
    upload_share: float = 0.05,
    seed: int = 1,
    source: str = "",
    defaulted: tuple[str, ...] = (),
) -> Simulation:
    """Simulate a node pool upgrade draining Kong's and the runtime's pods under their PDBs.

    An eviction is the pod's termination (preStop, grace); its ReplicaSet creates the
    replacement at once, scheduled on a surge (or green) node. Requests reach Kong through A's
    pool and the runtime through Kong, as for tiers c and d; a request counts as failed at the
    outer tier where it first fails.
    """
    config = config or PackConfig()
    dep = pick_runtime(facts, None)
    models = [tier_model(facts, config, Tier.C), tier_model(facts, config, Tier.D, dep)]
    chain = chain_model(facts, config, dep)
    upgrade = node_upgrade(facts, config)
    slowest = _timing(chain, Tier.A, RequestKind.upload, 0.0, 1.0)
    lead_in = slowest.end - slowest.start
    rng = random.Random(f"{seed}:nodes")  # noqa: S311 - a reproducible simulation
    schedules = [_Schedule(m, rng, start=lead_in) for m in models]
    allowed = [_disruptions(facts, m.name, m.replicas) for m in models]
    horizon = _NodeDrain(upgrade, schedules, allowed, rng).run()
    for sched in schedules:
        sched.done_at = horizon
    title = f"nodes: GKE {upgrade.strategy} upgrade of node pool {upgrade.pool}"
    _check_load(title, rate, lead_in, horizon)
    runs = []
    for m, sched in zip(models, schedules, strict=True):
        picks = random.Random(f"{seed}:{m.tier.value}")  # noqa: S311 - as above
        pools = [_Pool() for _ in range(max(1, m.pooling.callers))]
        runs.append(_Run(m, chain, sched, picks, pools))
    for item in _arrivals(seed, rate, upload_share, horizon, worst=False):
        for run in runs:
            run.request(item)
    outcomes: dict[int, RequestOutcome] = {}
    for run in runs:  # outer tier first: a request failed at Kong never reached the runtime
        for o in run.outcomes:
            if o.id not in outcomes or (outcomes[o.id].ok and not o.ok):
                outcomes[o.id] = o
    run_end = max([horizon, *(e for r in runs for _, e in r.spans)])
    trace, least = _trace(runs, lead_in, run_end, "nodes")
    events = sorted(
        (
            RolloutEvent(round(at - lead_in, 6), name, what)
            for sched in schedules
            for at, name, what in sched.events
        ),
        key=lambda e: e.at,
    )
    settings = (
        Setting("node pool", upgrade.pool, str(facts.node_pools[0].ref)),
        Setting(
            "strategy, nodes, surge / unavailable",
            f"{upgrade.strategy}, {upgrade.nodes}, {upgrade.max_surge} / {upgrade.max_unavailable}",
            str(facts.node_pools[0].ref),
        ),
        Setting(
            "evictions the PDBs allow (Kong / runtime)",
            f"{allowed[0]} / {allowed[1]}",
            "PodDisruptionBudgets",
        ),
        Setting(
            "a new node is Ready after (s)",
            f"drawn in [0, {upgrade.node_boot_seconds:g}]",
            "thresholds.node_boot_seconds",
        ),
        *models[0].settings,
        *models[1].settings,
    )
    model = dataclasses.replace(models[1], title=title, settings=settings)
    return Simulation(
        source=source,
        defaulted=defaulted,
        model=model,
        chain=chain,
        rate=rate,
        upload_share=upload_share,
        seed=seed,
        lead_in=lead_in,
        rollout_seconds=round(horizon - lead_in, 6),
        min_serving=least,
        events=tuple(events),
        requests=tuple(outcomes[k] for k in sorted(outcomes)),
        trace=trace,
        rolled="nodes",
    )


def simulate_facts(
    facts: Facts,
    tier: Tier | str,
    *,
    config: PackConfig | None = None,
    runtime: Deployment | str | None = None,
    rate: float = 20.0,
    upload_share: float = 0.05,
    seed: int = 1,
    source: str = "",
    defaulted: tuple[str, ...] = (),
    worst_case: bool = False,
) -> Simulation:
    """Simulate rolling `tier` of the chain the `facts` describe; `.trace` is its `TierTrace`.

    `config` gives the traffic profile and thresholds (default: the pack's defaults); for tier
    d, `runtime` picks the runtime Deployment (object or name; default: the first by namespace
    and name). Raises `SimulationInputError` (bad input, exit 2) for facts it cannot run on.
    """
    config = config or PackConfig()
    rolled = Tier(tier)
    dep = pick_runtime(facts, runtime) if rolled is Tier.D or runtime is not None else None
    model = tier_model(facts, config, rolled, dep)
    chain = chain_model(facts, config, dep)
    return simulate_model(
        model,
        chain,
        rate=rate,
        upload_share=upload_share,
        seed=seed,
        source=source,
        defaulted=defaulted,
        worst_case=worst_case,
    )


def pick_runtime(facts: Facts, runtime: Deployment | str | None) -> Deployment | None:
    """The runtime Deployment named `runtime` (None: the first; SimulationInputError if none)."""
    found = runtimes(facts)
    if isinstance(runtime, Deployment):
        return runtime
    if runtime is None:
        return found[0] if found else None
    for dep in found:
        if runtime in (dep.object_name, dep.ref.name):
            return dep
    names = ", ".join(str(d.object_name or d.ref.name) for d in found) or "none"
    raise SimulationInputError(f"--runtime {runtime}: no such runtime Deployment (found: {names})")


def rolls(facts: Facts, tier: str, runtime: str | None) -> list[tuple[str, Deployment | None]]:
    """What `--tier` rolls, in turn: one tier, or a..d and nodes, tier d once per runtime."""
    tiers = [*(t.value for t in ROLLING_TIERS), "nodes"] if tier == "all" else [tier]
    out: list[tuple[str, Deployment | None]] = []
    for t in tiers:
        if t == Tier.D.value:
            chosen = [pick_runtime(facts, runtime)] if runtime else runtimes(facts)
            if not chosen:
                raise SimulationInputError("tier D: no runtime Deployment among the facts")
            out.extend((t, dep) for dep in chosen)
        else:
            out.append((t, None))
    return out


def simulate_inputs(
    inputs: SimInputs,
    tier: str,
    *,
    runtime: str | None = None,
    rate: float = 20.0,
    upload_share: float = 0.05,
    seeds: tuple[int, ...] = (1,),
) -> list[list[Simulation]]:
    """Per rolled tier (and runtime), one simulation per seed."""
    out: list[list[Simulation]] = []
    common: dict[str, Any] = {
        "config": inputs.config,
        "rate": rate,
        "upload_share": upload_share,
        "source": inputs.source,
        "defaulted": inputs.defaulted,
    }
    for rolled, dep in rolls(inputs.facts, tier, runtime):
        if rolled == "nodes":
            out.append([simulate_nodes(inputs.facts, seed=seed, **common) for seed in seeds])
            continue
        out.append(
            [
                simulate_facts(inputs.facts, rolled, runtime=dep, seed=seed, **common)
                for seed in seeds
            ]
        )
    return out


# --------------------------------------------------------------------------------------------
# Summaries over seeds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """A figure over the runs: median, 90th percentile and the worst."""

    p50: float
    """Median."""
    p90: float
    """90th percentile."""
    max: float
    """Largest."""

    @staticmethod
    def of(values: list[float]) -> Spread:
        """The spread of `values` (one value: all three equal it)."""
        if len(values) == 1:
            return Spread(values[0], values[0], values[0])
        cuts = quantiles(values, n=10, method="inclusive")
        return Spread(quantiles(values, n=2, method="inclusive")[0], cuts[8], max(values))

    def text(self, digits: int = 0) -> str:
        """`p50 / p90 / max` as printed."""
        return " / ".join(f"{v:.{digits}f}" for v in (self.p50, self.p90, self.max))


@dataclass(frozen=True)
class RunSummary:
    """One rolled tier over `--runs` seeds."""

    tier: str
    """The tier rolled."""
    title: str
    """What rolled."""
    runs: int
    """Seeds simulated."""
    rollout_seconds: Spread
    """Rollout duration."""
    min_serving: Spread
    """Fewest backends in rotation."""
    requests: Spread
    """Requests simulated."""
    failed: Spread
    """Failed requests."""
    by_cause: dict[str, Spread]
    """Failed requests per cause."""
    by_tier: dict[str, Spread]
    """Failed requests per tier where they failed."""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data."""

        def spread(s: Spread) -> dict[str, float]:
            return {"p50": s.p50, "p90": s.p90, "max": s.max}

        return {
            "tier": self.tier,
            "title": self.title,
            "runs": self.runs,
            "rollout_seconds": spread(self.rollout_seconds),
            "min_serving": spread(self.min_serving),
            "requests": spread(self.requests),
            "failed": spread(self.failed),
            "by_cause": {k: spread(v) for k, v in self.by_cause.items()},
            "by_tier": {k: spread(v) for k, v in self.by_tier.items()},
        }


def summarize(sims: list[Simulation]) -> RunSummary:
    """Percentiles of one tier's runs."""
    first = sims[0]
    return RunSummary(
        tier=first.tier,
        title=first.model.title,
        runs=len(sims),
        rollout_seconds=Spread.of([s.rollout_seconds for s in sims]),
        min_serving=Spread.of([float(s.min_serving) for s in sims]),
        requests=Spread.of([float(len(s.requests)) for s in sims]),
        failed=Spread.of([float(len(s.failed)) for s in sims]),
        by_cause={c.value: Spread.of([float(s.by_cause()[c.value]) for s in sims]) for c in Cause},
        by_tier={
            t.value: Spread.of([float(s.by_tier()[t.value]) for s in sims]) for t in ROLLING_TIERS
        },
    )


# --------------------------------------------------------------------------------------------
# Terminal tables
# --------------------------------------------------------------------------------------------

FAILED_ROWS = 20
"""Failed requests the terminal lists (JSON has them all)."""


def tables(sims: list[Simulation]) -> list[Table]:
    """One tier's runs as terminal tables: inputs, summary over seeds, first run's failures."""
    sim = sims[0]
    m = sim.model
    inputs = Table(title=f"{sim.source}: simulated rollout of {m.title}")
    for column in ("input", "value", "from"):
        inputs.add_column(column)
    for s in (*m.settings, *sim.chain.settings):
        inputs.add_row(escape(s.what), escape(s.value), escape(s.source))
    inputs.add_row(
        "traffic",
        f"{sim.rate:g}/s, {sim.upload_share:.0%} uploads",
        f"Poisson arrivals from {-sim.lead_in:.1f} s until the rollout completes",
    )
    if sim.defaulted:
        inputs.add_row(
            "tiers not given",
            ", ".join(t.upper() for t in sim.defaulted),
            "the stack's rendering (its facts) stands in for them",
        )
    summary = summarize(sims)
    verdict = "[green]hitless[/]" if summary.failed.max == 0 else "[bold red]requests failed[/]"
    over = Table(title=f"{m.title}: {summary.runs} run(s), p50 / p90 / max: {verdict}")
    over.add_column("figure")
    over.add_column("p50 / p90 / max", justify="right")
    over.add_row("rollout (s)", summary.rollout_seconds.text(1))
    over.add_row(f"fewest {m.unit}s in rotation", summary.min_serving.text())
    over.add_row("requests", summary.requests.text())
    over.add_row("failed", summary.failed.text())
    for cause, spread in summary.by_cause.items():
        over.add_row(f"  {cause} ({FAILURE_MODES[Cause(cause)]})", spread.text())
    for tier, spread in summary.by_tier.items():
        if spread.max:
            over.add_row(f"  failed at tier {tier.upper()}", spread.text())
    timeline = Table(title=f"rollout timeline, seed {sim.seed} (t = 0: rollout starts)")
    timeline.add_column("t (s)", justify="right")
    timeline.add_column(m.unit)
    timeline.add_column("event")
    for event in sim.events:
        timeline.add_row(f"{event.at:.1f}", escape(event.backend), escape(event.what))
    out = [inputs, over, timeline]
    if sim.failed:
        failed = Table(
            title=f"failed requests of seed {sim.seed} (first {min(FAILED_ROWS, len(sim.failed))}"
            f" of {len(sim.failed)}; --format json lists all)"
        )
        for column in ("#", "kind", "arrived (s)", "cause", "tier", "pooled", "detail"):
            failed.add_column(column)
        for item in sim.failed[:FAILED_ROWS]:
            failed.add_row(
                str(item.id),
                item.kind.value,
                f"{item.arrived:.1f}",
                item.cause.value if item.cause else "",
                item.failed_at.upper(),
                "yes" if item.pooled else "no",
                escape(item.detail),
            )
        out.append(failed)
    return out
