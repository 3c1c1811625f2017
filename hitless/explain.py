"""Why a stack's numbers are (or are not) hitless: the per-tier budget and the RT pod's timeline.

Every number comes from the stack's `StackConfig` and the formulas of `hitless_policy.budget`;
nothing here restates a formula or a default. `explain()` builds the data once; `to_markdown()`
renders it for `build/<stack>/budget.md` and `docs/timing.md`, `hitless.report` for the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

from hitless.components.config import (
    POOL_KEY,
    PROJECT,
    RUNTIME_KEY,
    RuntimeConfig,
    StackConfig,
    catalog_outcomes,
    outcome_pack,
    pool_values,
    stack_key,
)
from hitless_policy import budget, catalog


@dataclass(frozen=True)
class Bound:
    """One stack value compared with the bound the chain needs from it."""

    key: str
    """Stack key of the value, without the `hitless:` prefix (e.g. `runtimes.0.prestop_seconds`)."""
    what: str
    """What the value is, in the chain's terms."""
    value: float
    """The stack's value, in the setting's unit (seconds unless the key says otherwise)."""
    relation: str
    """How the value must compare with the bound: `>=`, `>`, `<=` or `<`."""
    bound: float
    """The bound, in the setting's unit."""
    basis: str
    """Where the bound comes from, with its inputs."""
    holds: bool
    """Whether the value satisfies the bound (the catalog entry's verdict)."""
    entry: str = ""
    """The catalog entry this bound is."""


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
class PathBudget:
    """The longest requests of one path A -> B -> C -> runtime, and its RT pod's timeline."""

    runtime: str
    """The runtime service's name."""
    client_upload: float
    """Seconds the path's slowest client takes to upload its largest body to A."""
    internal_transfer: float
    """Seconds one internal hop takes to carry the path's largest body."""
    holds: tuple[TierHold, ...]
    """Each tier's longest request on this path, A to D."""
    timeline: tuple[Event, ...]
    """The runtime pod's termination, from Terminating to SIGKILL."""


@dataclass(frozen=True)
class Explanation:
    """The budget of one stack: longest requests, drains, timeouts, keepalives, RT timeline."""

    stack: str
    """Stack name."""
    client_upload: float
    """Seconds the slowest client takes to upload the largest body to A (over every path)."""
    internal_transfer: float
    """Seconds one internal hop takes to carry the largest body (over every path)."""
    holds: tuple[TierHold, ...]
    """Each tier's longest request over every path, A to D (what A, B and Kong carry)."""
    drains: tuple[Bound, ...]
    """Each drain window against the longest request it must cover."""
    timeouts: tuple[Bound, ...]
    """The response timeouts, outer to inner, and B's idle timeout."""
    keepalives: tuple[Bound, ...]
    """Keepalive ordering per hop: the side that reuses idle connections drops them first."""
    others: tuple[Bound, ...]
    """The other catalog bounds: body limits, rollout pacing, probes, maintenance."""
    timeline: tuple[Event, ...]
    """The first runtime's pod termination, from Terminating to SIGKILL (each path's in
    `paths`)."""
    awaits: tuple[Bound, ...] = ()
    """Each rollout's `pulumi up` await against its worst-case duration plus margin (the
    worst case itself in `what`)."""
    paths: tuple[PathBudget, ...] = ()
    """Each path A -> B -> C -> runtime: its longest requests and its RT pod's timeline."""

    @property
    def bounds(self) -> tuple[Bound, ...]:
        """Every bound, in the order the sections list them."""
        return self.drains + self.timeouts + self.keepalives + self.others + self.awaits

    @property
    def violated(self) -> tuple[Bound, ...]:
        """The bounds the stack does not satisfy."""
        return tuple(item for item in self.bounds if not item.holds)


def _holds(longest: budget.LongestRequests) -> tuple[TierHold, ...]:
    # A sees the first byte at t=0, so the response leaves at t = longest.a; every tier's longest
    # request ends then and starts `longest.<tier>` seconds earlier.
    end = longest.a
    return tuple(
        TierHold(tier=tier.upper(), start=end - longest.for_tier(tier), end=end) for tier in "abcd"
    )


def _ctx(cfg: StackConfig, outcome: catalog.Outcome) -> catalog.Ctx:
    """The catalog's inputs an outcome was judged with (a node pool's or a runtime's own)."""
    pack, values = outcome_pack(cfg, outcome)
    for item in cfg.cluster.node_pools:
        if outcome.entry.key.startswith(POOL_KEY) and item.name == outcome.where:
            values = {**values, **pool_values(cfg, item)}
    return catalog.Ctx(pack, values)


def _bounds(cfg: StackConfig) -> dict[str, tuple[Bound, ...]]:
    """Every catalog entry on this config, as bounds grouped by the entry's section."""
    groups: dict[str, list[Bound]] = {}
    for outcome in catalog_outcomes(cfg):
        item = outcome.entry
        if outcome.value is None or outcome.bound is None:
            continue
        section = (
            item.section if item.section in ("drain", "timeout", "keepalive", "await") else "other"
        )
        what, key = item.what, stack_key(cfg, outcome)
        if outcome.where and item.key.startswith(RUNTIME_KEY):
            what = f"{what} ({outcome.where})"
        elif outcome.where:
            # A setting each node pool has: the pool's own config sizes it.
            what = what.replace("node pool", f"node pool '{outcome.where}'", 1)
            key = f"{POOL_KEY}{outcome.where}"
        if outcome.duration is not None:
            what = f"{what} (worst case {seconds(outcome.duration)} s)"
        groups.setdefault(section, []).append(
            Bound(
                key=key,
                what=what,
                value=outcome.value,
                relation=item.op,
                bound=outcome.bound,
                basis=item.basis(_ctx(cfg, outcome)),
                holds=outcome.status == "pass",
                entry=item.id,
            )
        )
    return {name: tuple(bounds) for name, bounds in groups.items()}


def _timeline(cfg: StackConfig, rt: RuntimeConfig) -> tuple[Event, ...]:
    p = cfg.profile
    longest_d = cfg.longest_requests(rt).d
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


def explain(cfg: StackConfig, stack: str) -> Explanation:
    """The budget and the RT timeline of a validated stack config."""
    longest = cfg.longest_requests()
    bounds = _bounds(cfg)
    paths = tuple(
        PathBudget(
            runtime=rt.name,
            client_upload=own.client_upload,
            internal_transfer=own.internal_transfer,
            holds=_holds(own),
            timeline=_timeline(cfg, rt),
        )
        for rt in cfg.runtimes
        for own in (cfg.longest_requests(rt),)
    )
    return Explanation(
        stack=stack,
        client_upload=longest.client_upload,
        internal_transfer=longest.internal_transfer,
        holds=_holds(longest),
        drains=bounds.get("drain", ()),
        timeouts=bounds.get("timeout", ()),
        keepalives=bounds.get("keepalive", ()),
        others=bounds.get("other", ()),
        timeline=paths[0].timeline,
        awaits=bounds.get("await", ()),
        paths=paths,
    )


def seconds(value: float) -> str:
    """Seconds as the explanation prints them: whole numbers plain, others to 0.1 s."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def _bound_rows(bounds: tuple[Bound, ...]) -> list[str]:
    rows = [
        "| setting | stack key | value | must be | bound | from | ok |",
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
        "the client's first body byte reaches A. A, B and Kong's global settings carry the "
        "longest over every path; each runtime and its Kong Service carry their own path's.",
        "",
        "| path | tier | first byte at | response at | longest request (s) |",
        "|---|---|---|---|---|",
    ]
    lines.extend(
        f"| every path | {hold.tier} | {seconds(hold.start)} | {seconds(hold.end)} | "
        f"{seconds(hold.seconds)} |"
        for hold in expl.holds
    )
    lines.extend(
        f"| A -> B -> C -> {path.runtime} | {hold.tier} | {seconds(hold.start)} | "
        f"{seconds(hold.end)} | {seconds(hold.seconds)} |"
        for path in expl.paths
        for hold in path.holds
    )
    for title, bounds in (
        ("Drain windows", expl.drains),
        ("Timeout chain, outer to inner", expl.timeouts),
        ("Keepalive ordering per hop", expl.keepalives),
        ("Body limits, rollout pacing, probes, maintenance", expl.others),
        ("Rollout durations and the awaits that cover them", expl.awaits),
    ):
        lines.extend(["", f"{h} {title}", "", *_bound_rows(bounds)])
    for path in expl.paths or (
        PathBudget("RT", expl.client_upload, expl.internal_transfer, expl.holds, expl.timeline),
    ):
        lines.extend(
            [
                "",
                f"{h} Rollout timeline of one {path.runtime} pod",
                "",
                "| t (s) | event |",
                "|---|---|",
                *(f"| {seconds(event.at)} | {event.what} |" for event in path.timeline),
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
