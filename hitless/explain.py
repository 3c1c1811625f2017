"""Why a stack's numbers are (or are not) hitless: the per-tier budget and the RT pod's timeline.

Every number comes from the stack's `StackConfig` and the formulas of `hitless_policy.budget`;
nothing here restates a formula or a default. `explain()` builds the data once; `to_markdown()`
renders it for `build/<stack>/budget.md` and `docs/timing.md`, `hitless.report` for the terminal.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from components.config import PROJECT, StackConfig
from hitless_policy import budget

_RELATIONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Bound:
    """One stack value compared with the bound the chain needs from it."""

    key: str
    """Stack key of the value, without the `hitless:` prefix (e.g. `runtime.prestop_seconds`)."""
    what: str
    """What the value is, in the chain's terms."""
    value: float
    """The stack's value, in seconds."""
    relation: str
    """How the value must compare with the bound: `>=`, `>`, `<=` or `<`."""
    bound: float
    """The bound, in seconds."""
    basis: str
    """Where the bound comes from, with its inputs."""

    @property
    def holds(self) -> bool:
        """Whether the value satisfies the bound."""
        return _RELATIONS[self.relation](self.value, self.bound)


@dataclass(frozen=True)
class TierHold:
    """How long one tier holds the largest request, and when."""

    tier: str
    """Tier letter, upper case."""
    start: float
    """Seconds after the client's first body byte at which this tier sees its first byte."""
    end: float
    """Seconds after the client's first body byte at which the response leaves (all tiers)."""

    @property
    def seconds(self) -> float:
        """The tier's longest request."""
        return self.end - self.start


@dataclass(frozen=True)
class Event:
    """One moment of the runtime pod's termination."""

    at: float
    """Seconds after the pod turned Terminating."""
    what: str
    """What happens."""


@dataclass(frozen=True)
class Explanation:
    """The budget of one stack: longest requests, drains, timeouts, keepalives, RT timeline."""

    stack: str
    """Stack name."""
    client_upload: float
    """Seconds the slowest client takes to upload the largest body to A."""
    internal_transfer: float
    """Seconds one internal hop takes to carry the largest body."""
    holds: tuple[TierHold, ...]
    """Each tier's longest request, A to D."""
    drains: tuple[Bound, ...]
    """Each drain window against the longest request it must cover."""
    timeouts: tuple[Bound, ...]
    """The response timeouts, outer to inner, and B's idle timeout."""
    keepalives: tuple[Bound, ...]
    """Keepalive ordering per hop: the side that reuses idle connections drops them first."""
    timeline: tuple[Event, ...]
    """The runtime pod's termination, from Terminating to SIGKILL."""
    awaits: tuple[Bound, ...] = ()
    """Each rollout's `pulumi up` await against its worst-case duration plus margin."""

    @property
    def bounds(self) -> tuple[Bound, ...]:
        """Every bound, in the order the sections list them."""
        return self.drains + self.timeouts + self.keepalives + self.awaits

    @property
    def violated(self) -> tuple[Bound, ...]:
        """The bounds the stack does not satisfy."""
        return tuple(item for item in self.bounds if not item.holds)


def _holds(cfg: StackConfig) -> tuple[TierHold, ...]:
    longest = cfg.longest_requests()
    # A sees the first byte at t=0, so the response leaves at t = longest.a; every tier's longest
    # request ends then and starts `longest.<tier>` seconds earlier.
    end = longest.a
    return tuple(
        TierHold(tier=tier.upper(), start=end - longest.for_tier(tier), end=end) for tier in "abcd"
    )


def _drains(cfg: StackConfig) -> tuple[Bound, ...]:
    longest = cfg.longest_requests()
    p, t = cfg.profile, cfg.thresholds
    rt, kong = cfg.runtime, cfg.kong
    margin = t.margin_seconds
    out: list[Bound] = []
    for key, what, value, tier in (
        (
            "edge.connection_draining_timeout_sec",
            "A: external LB connection draining",
            cfg.edge.connection_draining_timeout_sec,
            "a",
        ),
        (
            "edge.worker_shutdown_timeout_seconds",
            "A: nginx worker_shutdown_timeout",
            cfg.edge.worker_shutdown_timeout_seconds,
            "a",
        ),
        (
            "relay.connection_draining_timeout_sec",
            "B: internal NLB connection draining",
            cfg.relay.connection_draining_timeout_sec,
            "b",
        ),
        (
            "relay.worker_shutdown_timeout_seconds",
            "B: nginx worker_shutdown_timeout",
            cfg.relay.worker_shutdown_timeout_seconds,
            "b",
        ),
        ("kong.quit_timeout_seconds", "C: kong quit --timeout", kong.quit_timeout_seconds, "c"),
    ):
        out.append(
            Bound(
                key, what, value, ">=", longest.for_tier(tier), f"longest request of {tier.upper()}"
            )
        )
    out.append(
        Bound(
            "kong.quit_wait_seconds",
            "C: kong quit --wait (keeps serving)",
            kong.quit_wait_seconds,
            ">=",
            budget.kong_quit_wait_bound_seconds(p),
            "max(profile.lb_propagation_seconds, profile.endpoint_propagation_seconds)",
        )
    )
    out.append(
        Bound(
            "kong.termination_grace_seconds",
            "C: Kong terminationGracePeriodSeconds",
            kong.termination_grace_seconds,
            ">=",
            budget.required_grace_seconds(
                kong.quit_wait_seconds, kong.quit_timeout_seconds, margin
            ),
            f"quit wait {kong.quit_wait_seconds} + quit timeout {kong.quit_timeout_seconds} "
            f"+ margin {margin:g}",
        )
    )
    out.append(
        Bound(
            "runtime.prestop_seconds",
            "D: RT preStop sleep",
            rt.prestop_seconds,
            ">=",
            budget.runtime_prestop_bound_seconds(p),
            "profile.endpoint_propagation_seconds",
        )
    )
    out.append(
        Bound(
            "runtime.termination_grace_seconds",
            "D: RT terminationGracePeriodSeconds",
            rt.termination_grace_seconds,
            ">=",
            budget.required_grace_seconds(rt.prestop_seconds, longest.d, margin),
            f"preStop {rt.prestop_seconds} + longest request of D {longest.d:.1f} "
            f"+ margin {margin:g}",
        )
    )
    out.append(
        Bound(
            "runtime.termination_grace_seconds",
            "D: RT grace within GKE's upgrade limit",
            rt.termination_grace_seconds,
            "<=",
            t.max_drain_seconds,
            "thresholds.max_drain_seconds",
        )
    )
    return tuple(out)


def _timeouts(cfg: StackConfig) -> tuple[Bound, ...]:
    longest = cfg.longest_requests()
    edge, kong, rt = cfg.edge, cfg.kong, cfg.runtime
    kong_worst = budget.kong_worst_case_seconds(
        kong.connect_timeout_ms, kong.read_timeout_ms, kong.retries
    )
    return (
        Bound(
            "edge.backend_timeout_sec",
            "external LB timeoutSec",
            edge.backend_timeout_sec,
            ">",
            budget.min_lb_timeout_seconds(longest.client_upload, edge.proxy_read_timeout_seconds),
            f"client upload {longest.client_upload:.1f} + A proxy_read_timeout "
            f"{edge.proxy_read_timeout_seconds}",
        ),
        Bound(
            "edge.proxy_read_timeout_seconds",
            "A: nginx proxy_read_timeout",
            edge.proxy_read_timeout_seconds,
            ">",
            budget.min_a_proxy_read_timeout_seconds(kong_worst),
            f"Kong worst case: connect {kong.connect_timeout_ms} ms x (1 + {kong.retries} "
            f"retries) + read {kong.read_timeout_ms} ms",
        ),
        Bound(
            "relay.proxy_timeout_seconds",
            "B: nginx stream proxy_timeout (idle)",
            cfg.relay.proxy_timeout_seconds,
            ">=",
            edge.proxy_read_timeout_seconds,
            "A proxy_read_timeout: the longest silence on the flow",
        ),
        Bound(
            "kong.read_timeout_ms",
            "C: Kong read_timeout",
            kong.read_timeout_ms / 1000,
            ">",
            rt.request_timeout_seconds,
            "runtime.request_timeout_seconds",
        ),
        Bound(
            "runtime.request_timeout_seconds",
            "D: RT request timeout",
            rt.request_timeout_seconds,
            ">=",
            cfg.profile.rt_max_processing_seconds,
            "profile.rt_max_processing_seconds",
        ),
    )


def _keepalives(cfg: StackConfig) -> tuple[Bound, ...]:
    edge, relay, kong, rt, t = cfg.edge, cfg.relay, cfg.kong, cfg.runtime, cfg.thresholds
    downstream_idle = min(relay.proxy_timeout_seconds, kong.client_keepalive_timeout_seconds)
    longest = cfg.longest_requests()
    return (
        Bound(
            "edge.keepalive_timeout_seconds",
            "LB -> A: A keepalive_timeout",
            edge.keepalive_timeout_seconds,
            ">",
            t.gfe_backend_keepalive_seconds,
            "thresholds.gfe_backend_keepalive_seconds (GFE reuses backend connections this long)",
        ),
        Bound(
            "edge.upstream_keepalive_timeout_seconds",
            "A -> B -> C: A upstream keepalive_timeout",
            edge.upstream_keepalive_timeout_seconds,
            "<",
            downstream_idle,
            f"min(B proxy_timeout {relay.proxy_timeout_seconds}, Kong keepalive_timeout "
            f"{kong.client_keepalive_timeout_seconds})",
        ),
        Bound(
            "edge.upstream_keepalive_time_seconds",
            "A -> B: pooled connection span after B starts draining",
            budget.pooled_connection_span_seconds(
                edge.upstream_keepalive_time_seconds,
                edge.upstream_keepalive_timeout_seconds,
                longest.b,
            ),
            "<=",
            relay.connection_draining_timeout_sec,
            f"B drain (keepalive_time {edge.upstream_keepalive_time_seconds} + keepalive_timeout "
            f"{edge.upstream_keepalive_timeout_seconds} + B's longest request {longest.b:.1f})",
        ),
        Bound(
            "kong.upstream_keepalive_idle_timeout_seconds",
            "C -> D: Kong upstream_keepalive_idle_timeout",
            kong.upstream_keepalive_idle_timeout_seconds,
            "<",
            rt.keepalive_idle_timeout_seconds,
            "runtime.keepalive_idle_timeout_seconds",
        ),
    )


def _timeline(cfg: StackConfig) -> tuple[Event, ...]:
    rt, p = cfg.runtime, cfg.profile
    longest_d = cfg.longest_requests().d
    drained = rt.prestop_seconds + longest_d
    required = budget.required_grace_seconds(
        rt.prestop_seconds, longest_d, cfg.thresholds.margin_seconds
    )
    events = [
        Event(0, "pod Terminating: endpoint removal and the preStop sleep start together"),
        Event(
            p.endpoint_propagation_seconds,
            "endpoints propagated: no kube-proxy or Kong node opens new connections to the pod",
        ),
        Event(
            rt.prestop_seconds,
            "preStop ends; the kubelet sends SIGTERM; the RT stops accepting and drains",
        ),
        Event(drained, "drained: the longest request accepted before SIGTERM has finished"),
        Event(required, f"required grace (drained + margin {cfg.thresholds.margin_seconds:g})"),
        Event(rt.termination_grace_seconds, "SIGKILL: terminationGracePeriodSeconds ends"),
    ]
    return tuple(sorted(events, key=lambda event: event.at))


def _awaits(cfg: StackConfig) -> tuple[Bound, ...]:
    """Each rollout's worst-case duration beside the await timeout that covers it."""
    return tuple(
        Bound(
            item.timeout_key,
            f"{item.what}: `pulumi up` await (worst case {seconds(item.rollout_seconds)} s)",
            item.timeout_seconds,
            ">=",
            item.bound_seconds,
            item.basis,
        )
        for item in cfg.rollout_awaits()
    )


def explain(cfg: StackConfig, stack: str) -> Explanation:
    """The budget and the RT timeline of a validated stack config."""
    longest = cfg.longest_requests()
    return Explanation(
        stack=stack,
        client_upload=longest.client_upload,
        internal_transfer=longest.internal_transfer,
        holds=_holds(cfg),
        drains=_drains(cfg),
        timeouts=_timeouts(cfg),
        keepalives=_keepalives(cfg),
        timeline=_timeline(cfg),
        awaits=_awaits(cfg),
    )


def seconds(value: float) -> str:
    """Seconds as the explanation prints them: whole numbers plain, others to 0.1 s."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def _bound_rows(bounds: tuple[Bound, ...]) -> list[str]:
    rows = [
        "| setting | stack key | value (s) | must be | bound (s) | from | ok |",
        "|---|---|---|---|---|---|---|",
    ]
    rows.extend(
        f"| {item.what} | `{PROJECT}:{item.key}` | {seconds(item.value)} | {item.relation} | "
        f"{seconds(item.bound)} | {item.basis} | {'yes' if item.holds else '**NO**'} |"
        for item in bounds
    )
    return rows


def to_markdown(expl: Explanation, heading_level: int = 2) -> str:
    """The explanation as Markdown sections (headings start at `heading_level`)."""
    h = "#" * heading_level
    lines = [
        f"{h} Longest request per tier (stack `{expl.stack}`)",
        "",
        f"The largest body takes {seconds(expl.client_upload)} s from the slowest client to A "
        f"and {seconds(expl.internal_transfer)} s over one internal hop. Times are seconds after "
        "the client's first body byte reaches A.",
        "",
        "| tier | first byte at | response at | longest request (s) |",
        "|---|---|---|---|",
    ]
    lines.extend(
        f"| {hold.tier} | {seconds(hold.start)} | {seconds(hold.end)} | {seconds(hold.seconds)} |"
        for hold in expl.holds
    )
    for title, bounds in (
        ("Drain windows", expl.drains),
        ("Timeout chain, outer to inner", expl.timeouts),
        ("Keepalive ordering per hop", expl.keepalives),
        ("Rollout durations and the awaits that cover them", expl.awaits),
    ):
        lines.extend(["", f"{h} {title}", "", *_bound_rows(bounds)])
    lines.extend(
        [
            "",
            f"{h} Rollout timeline of one RT pod",
            "",
            "| t (s) | event |",
            "|---|---|",
            *(f"| {seconds(event.at)} | {event.what} |" for event in expl.timeline),
        ]
    )
    return "\n".join(lines) + "\n"


GENERATED_BEGIN = (
    "<!-- generated by `hitless docs` from stacks/Pulumi.{stack}.yaml: do not edit -->"
)
"""Opening marker of the generated part of `docs/timing.md` (formatted with the stack)."""
GENERATED_END = "<!-- end of generated part -->"
"""Closing marker of the generated part of `docs/timing.md`."""


def refresh_generated(text: str, expl: Explanation) -> str:
    """`text` with the part between the generated markers replaced by `expl` as Markdown.

    Raises ValueError when the markers are missing, so a hand edit cannot silently drop them.
    """
    begin = GENERATED_BEGIN.format(stack=expl.stack)
    head, found, rest = text.partition(begin)
    _, found_end, tail = rest.partition(GENERATED_END)
    if not found or not found_end:
        raise ValueError(f"missing the markers {begin!r} ... {GENERATED_END!r}")
    return f"{head}{begin}\n\n{to_markdown(expl, heading_level=3)}\n{GENERATED_END}{tail}"
