"""`hitless report`: the chain's timing as diagrams, from the user's own settings.

Writes `report.md` (and its images under `report/`) into an artifact folder:

- the traffic profile and each tier's longest request;
- per chain, a mermaid flowchart of every hop's timeouts, keepalives and drains, the pairs that
  break a catalog relation in red, and the list of those relations;
- per rolled tier, a mermaid gantt of the simulated rollout, a mermaid sequence diagram of the
  profile's largest POST crossing the chain while that tier rolls, and a PNG chart (matplotlib)
  of serving capacity, in-flight requests and failures.

The inputs are those of `check` and `preview`: resources (captured from the program under mocks,
or read from files), judged by the pack's rules with their catalog outcomes recorded
(`hitless_policy.rules.base.recording`). The rollouts come from the simulator through one
adapter, `_traces`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from hitless import diagrams
from hitless.components.config import StackConfig
from hitless.harness import Capture
from hitless.simulate import DeploymentOverrides, Simulation, simulate
from hitless.trace import BackendLife, Generation, Phase, PhaseName, Sample, TierTrace
from hitless_policy import budget
from hitless_policy.extract import ResourceInput, collect_facts
from hitless_policy.facts import Deployment, Facts, PreStop, Unknown
from hitless_policy.profile import PackConfig, TrafficProfile
from hitless_policy.rules import RULES, evaluate
from hitless_policy.rules.base import Judged, recording
from hitless_policy.rules.view import ChainView, chain_views
from hitless_policy.runner import Verdict, verdicts_of

REPORT_FILE = "report.md"
"""The report's file name inside the artifact folder."""
IMAGES = "report"
"""Folder of the report's images, beside `report.md`."""
SIMULATED_RATE = 20.0
"""Requests per second the report's simulated rollouts carry (the simulator's default)."""
UPLOAD_SHARE = 0.05
"""Share of uploads in the report's simulated rollouts (the simulator's default)."""
TIER_TITLES = {
    "a": "A: nginx L7 MIG",
    "b": "B: nginx L4 MIG",
    "c": "C: Kong Deployment",
    "d": "D: runtime Deployment",
}
"""What rolls, per tier."""


@dataclass(frozen=True)
class Rolled:
    """One simulated rollout the report draws."""

    key: str
    """File-name key (`d`, or `d-<runtime>` when several runtimes roll)."""
    tier: str
    """The tier rolled: `a`, `b`, `c` or `d`."""
    title: str
    """What rolled."""
    trace: TierTrace
    """The rollout, as the simulator left it."""
    source: str
    """Where its settings came from."""


@dataclass
class ReportInput:
    """Everything one report draws."""

    name: str
    """Stack name, or what the files were."""
    config: PackConfig
    """Traffic profile and thresholds."""
    facts: Facts
    """The facts the rules read."""
    judged: list[Judged]
    """Every catalog relation the rules judged, with its resource and outcome."""
    verdicts: list[Verdict]
    """Every rule's verdict (the exit code follows its mandatory failures)."""
    rolled: list[Rolled] = field(default_factory=list)
    """The simulated rollouts."""
    notes: list[str] = field(default_factory=list)
    """What the reader should know about the inputs (tiers not given, not simulated)."""


def resources_of(capture: Capture) -> list[ResourceInput]:
    """A capture's resources as the rules receive them (props, parent, options)."""
    return [
        ResourceInput(
            urn=res.urn,
            type=res.type,
            name=res.name,
            props=res.props,
            parent=res.parent or None,
            custom_timeouts=res.custom_timeouts,
            property_dependencies=res.property_dependencies,
        )
        for res in capture.resources
    ]


def judged_facts(
    resources: Sequence[ResourceInput], config: PackConfig
) -> tuple[Facts, list[Judged], list[Verdict]]:
    """The resources' facts, every catalog relation the rules judged, and the verdicts."""
    facts = collect_facts(resources)
    with recording() as judged:
        findings = evaluate(facts, config, RULES)
    return facts, list(judged), verdicts_of(findings)


# ---------------------------------------------------------------------------------------------
# The simulator adapter: today's Simulation -> TierTrace
# ---------------------------------------------------------------------------------------------


def trace_of(sim: Simulation) -> TierTrace:
    """A simulated rollout as a `TierTrace` (times in seconds from the start of the run)."""
    shift = sim.lead_in
    end = shift + max(sim.rollout_seconds, max((r.ended for r in sim.requests), default=0.0))
    by_backend: dict[str, list[tuple[float, str]]] = {}
    for event in sim.events:
        if event.backend:
            by_backend.setdefault(event.backend, []).append((event.at + shift, event.what))
    lives: list[BackendLife] = []
    phases: tuple[Phase, ...]
    rotation: list[tuple[float, float]] = []
    for name, events in by_backend.items():

        def when(prefix: str, events: list[tuple[float, str]] = events) -> float:
            """When this backend's event starting with `prefix` happened (the simulator's text)."""
            return next(at for at, what in events if what.startswith(prefix))

        if "-old-" in name:
            start, killed = events[0][0], events[-1][0]
            unrouted = min(when("out of rotation"), killed)
            phases = (
                Phase(PhaseName.SERVING, 0.0, start),
                Phase(PhaseName.OUT_OF_ROTATION, start, unrouted),
                Phase(PhaseName.DRAINING, unrouted, killed),
                Phase(PhaseName.KILLED, killed, end),
            )
            rotation.append((0.0, unrouted))
            generation = Generation.OLD
        else:
            created = events[0][0]
            ready = when("healthy" if sim.plan.unit == "instance" else "ready")
            routed = when("in rotation")
            phases = (
                Phase(PhaseName.STARTING, created, ready),
                Phase(PhaseName.READY, ready, routed),
                Phase(PhaseName.IN_ROTATION, routed, end),
            )
            rotation.append((routed, end))
            generation = Generation.NEW
        lives.append(BackendLife(name, generation, phases))
    lives.sort(key=lambda life: life.generation is Generation.NEW)
    samples = []
    arrivals = sorted(r.arrived + shift for r in sim.requests)
    ends = sorted(r.ended + shift for r in sim.requests)
    failed_at = Counter(int(-(-(r.ended + shift) // 1)) for r in sim.failed)
    second = 0
    while second <= end:
        now = float(second)
        samples.append(
            Sample(
                at=now,
                serving=sum(1 for lo, hi in rotation if lo <= now < hi),
                # In flight: arrived by now and not ended by now (an ended one had arrived).
                in_flight=bisect_right(arrivals, now) - bisect_right(ends, now),
                failed=failed_at.get(second, 0),
            )
        )
        second += 1
    causes = Counter(r.cause.value for r in sim.failed if r.cause is not None)
    return TierTrace(
        tier=sim.plan.tier.value,
        rollout_start=shift,
        rollout_end=shift + sim.rollout_seconds,
        backends=tuple(lives),
        samples=tuple(samples),
        failures_by_cause=dict(causes),
    )


def _overrides(rt: Deployment, facts: Facts) -> DeploymentOverrides | str:
    """A runtime Deployment's own rollout settings for the simulator (str: why it cannot)."""
    container = rt.main_container()
    probe = container.readiness if container else None
    hook = container.prestop if container else None
    values = (rt.replicas, rt.max_surge, rt.max_unavailable, rt.grace_seconds, hook)
    if any(isinstance(v, Unknown) for v in (*values, rt.strategy)):
        return f"runtime '{rt.ref.name}': a rollout setting is unknown"
    if rt.strategy != "RollingUpdate":
        return f"runtime '{rt.ref.name}': strategy {rt.strategy} (the simulator rolls updates)"
    if isinstance(probe, Unknown) or (probe is not None and isinstance(probe.timing, Unknown)):
        return f"runtime '{rt.ref.name}': its readiness probe is unknown"
    retries = [
        svc.retries
        for config in facts.kong_configs
        if not isinstance(config.services, Unknown)
        for svc in config.services
        if not isinstance(svc.retries, Unknown)
    ]
    delay = hook.delay_seconds if isinstance(hook, PreStop) else 0.0
    if isinstance(delay, Unknown):
        return f"runtime '{rt.ref.name}': its preStop delay is unknown"
    period = (
        probe.timing.period_seconds
        if probe is not None and not isinstance(probe.timing, Unknown)
        else None
    )
    return DeploymentOverrides(
        replicas=int(rt.replicas) if not isinstance(rt.replicas, Unknown) else None,
        # Absent: Kubernetes' default, as the budget resolves it.
        max_surge=rt.max_surge if isinstance(rt.max_surge, int | str) else budget.DEFAULT_ROLLING,
        max_unavailable=rt.max_unavailable
        if isinstance(rt.max_unavailable, int | str)
        else budget.DEFAULT_ROLLING,
        readiness_period_seconds=int(period) if period is not None else None,
        prestop_seconds=int(delay),
        termination_grace_seconds=int(rt.grace_seconds)
        if not isinstance(rt.grace_seconds, Unknown)
        else None,
        retries=max(retries) if retries else None,
    )


def _traces(
    base: StackConfig,
    stack: str,
    facts: Facts | None,
) -> tuple[list[Rolled], list[str]]:
    """The rollouts to draw, from today's simulator (which reads a stack config).

    A stack rolls each of its four tiers. Files (`facts` given) roll each runtime Deployment they
    hold, with the Deployment's own rollout settings and stack `stack`'s for the rest, as the lab
    replays a given RT; tiers A, B and C of files are not simulated.
    """
    rolled: list[Rolled] = []
    notes: list[str] = []
    if facts is None:
        for tier in "abcd":
            trace = trace_of(
                simulate(base, tier, stack=stack, rate=SIMULATED_RATE, upload_share=UPLOAD_SHARE)
            )
            rolled.append(Rolled(tier, tier, TIER_TITLES[tier], trace, f"stack {stack}"))
        return rolled, notes
    runtimes = [d for d in facts.deployments if not d.is_kong]
    for rt in runtimes:
        over = _overrides(rt, facts)
        if isinstance(over, str):
            notes.append(f"not simulated: {over}")
            continue
        sim = simulate(
            base,
            "d",
            stack=stack,
            rate=SIMULATED_RATE,
            upload_share=UPLOAD_SHARE,
            overrides=over,
        )
        key = "d" if len(runtimes) == 1 else f"d-{diagrams.text(rt.ref.name).replace(' ', '-')}"
        rolled.append(
            Rolled(
                key,
                "d",
                f"D: runtime Deployment '{rt.ref.name}'",
                trace_of(sim),
                f"the file's replicas, rolling update, readiness period, preStop and grace; "
                f"the rest (timing of the other tiers, pod start) from stack {stack}",
            )
        )
    if facts.nginx or facts.kong_configs or any(d.is_kong for d in facts.deployments):
        notes.append(
            "tiers A, B and C given as files are drawn from their settings but not simulated: "
            "the simulator replays a runtime Deployment from files, other tiers from a stack"
        )
    return rolled, notes


def for_stack(
    cfg: StackConfig, stack: str, resources: Sequence[ResourceInput], *, rollouts: bool = True
) -> ReportInput:
    """The report's inputs for a stack (its captured resources and its own profile).

    `rollouts=False` leaves out the simulated rollouts (the README's chain diagram needs none).
    """
    config = PackConfig(profile=cfg.profile, thresholds=cfg.thresholds)
    facts, judged, verdicts = judged_facts(resources, config)
    rolled, notes = _traces(cfg, stack, None) if rollouts else ([], [])
    return ReportInput(f"stack `{stack}`", config, facts, judged, verdicts, rolled, notes)


def for_files(
    resources: Sequence[ResourceInput], config: PackConfig, base: StackConfig, base_name: str
) -> ReportInput:
    """The report's inputs for files judged as `check` judges them."""
    facts, judged, verdicts = judged_facts(resources, config)
    base = base.model_copy(update={"profile": config.profile, "thresholds": config.thresholds})
    rolled, notes = _traces(base, base_name, facts)
    return ReportInput("the given files", config, facts, judged, verdicts, rolled, notes)


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def chart(trace: TierTrace, title: str, path: Path) -> Path:
    """A PNG of serving capacity, in-flight requests and failures per second over the run."""
    at = [sample.at for sample in trace.samples]
    # A bare Figure renders with the Agg canvas: no pyplot state, no display.
    fig = Figure(figsize=(9, 6.5))
    serving, flight, failed = fig.subplots(3, 1, sharex=True)
    serving.step(at, [x.serving for x in trace.samples], where="post", color="#1f6f3f")
    serving.set_ylabel("serving backends")
    serving.set_ylim(bottom=0)
    flight.plot(at, [x.in_flight for x in trace.samples], color="#1f4f8f")
    flight.set_ylabel("in-flight requests")
    flight.set_ylim(bottom=0)
    # One filled step per second (a bar per second would draw hundreds of patches).
    failed.fill_between(
        at, [x.failed for x in trace.samples], step="post", color="#c00000", linewidth=0
    )
    failed.set_ylim(bottom=0, top=max(1, *(x.failed for x in trace.samples)))
    failed.set_ylabel("failed per second")
    failed.set_xlabel("seconds from the start of the simulated run")
    for axes in (serving, flight, failed):
        axes.axvline(trace.rollout_start, color="#888888", linestyle="--", linewidth=1)
        axes.axvline(trace.rollout_end, color="#888888", linestyle=":", linewidth=1)
        axes.grid(alpha=0.3)
    total = sum(trace.failures_by_cause.values())
    fig.suptitle(
        f"{title}: rollout {diagrams.s(trace.rollout_start)}-"
        f"{diagrams.s(trace.rollout_end)} s, {total} failed"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=80, metadata={"Software": None})
    return path


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def _mermaid(body: str) -> list[str]:
    return ["```mermaid", body, "```", ""]


def _profile_rows(profile: TrafficProfile) -> list[str]:
    rows = ["| profile field | value | meaning |", "|---|---|---|"]
    for name, info in TrafficProfile.model_fields.items():
        value = getattr(profile, name)
        meaning = (info.description or "").split(". ")[0].replace("|", "/").replace("\n", " ")
        rows.append(f"| `{name}` | {value:g} | {meaning} |")
    return rows


def _failing_rows(view: ChainView, judged: Sequence[Judged]) -> list[str]:
    failing = [j for j in judged if j.outcome.status == "fail"]
    if not failing:
        return ["Every relation judged on this chain holds: no pair is drawn red.", ""]
    rows = [
        "Pairs drawn red (a catalog relation fails):",
        "",
        "| relation | resource | setting | value | must be | bound | consequence |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in failing:
        outcome = item.outcome
        pair = " - ".join(diagrams.nodes_of(item, view)) or "-"
        rows.append(
            f"| `{outcome.entry.id}` ({pair}) | `{item.ref.name}` | {outcome.entry.setting} | "
            f"{diagrams.s(outcome.value or 0)} | {outcome.entry.op} | "
            f"{diagrams.s(outcome.bound or 0)} | {outcome.entry.consequence} |"
        )
    rows.append("")
    return rows


def chain_flowchart(report: ReportInput, chain: str | None = None) -> str:
    """The mermaid flowchart of one chain (the first when `chain` is None)."""
    views = chain_views(report.facts)
    view = views[chain] if chain is not None else next(iter(views.values()))
    return diagrams.flowchart(view, report.config, _in_chain(report.judged, view))


def _in_chain(judged: Sequence[Judged], view: ChainView) -> list[Judged]:
    """The judged relations on resources of this chain."""
    refs = {c.ref.id for c in view.a_confs + view.b_confs}
    refs |= {lb.ref.id for lb in view.lb_a + view.lb_b}
    refs |= {k.ref.id for k in view.kong_configs}
    refs |= {ref.id for k in view.kong_configs for ref in k.refs.values()}
    refs |= {k.deployment.ref.id for k in view.kong}
    refs |= {rt.ref.id for rt in view.runtimes}
    return [j for j in judged if j.ref.id in refs]


def _rollout_section(report: ReportInput, view: ChainView, rolled: Rolled) -> list[str]:
    """One rolled tier: what was simulated, its gantt, the POST's sequence, its chart."""
    trace = rolled.trace
    causes = ", ".join(f"{cause} {n}" for cause, n in sorted(trace.failures_by_cause.items()))
    return [
        f"### Tier {rolled.tier.upper()} rolls: {rolled.title}",
        "",
        f"Simulated at {SIMULATED_RATE:g} requests/s, {UPLOAD_SHARE:.0%} uploads; settings from "
        f"{rolled.source}. The rollout runs from {diagrams.s(trace.rollout_start)} s to "
        f"{diagrams.s(trace.rollout_end)} s of the run; failed requests: {causes or 'none'}.",
        "",
        *_mermaid(diagrams.gantt(trace, f"{rolled.title} - seconds from the start of the run")),
        *_mermaid(diagrams.sequence(view, report.config.profile, trace, rolled.tier, report.name)),
        f"![{rolled.title}: serving, in flight, failed]({IMAGES}/{rolled.key}.png)",
        "",
    ]


def render(report: ReportInput, out: Path) -> list[Path]:
    """Write `report.md` and its PNG charts into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    profile = report.config.profile
    views = chain_views(report.facts)
    lines = [
        f"# Rollout report: {report.name}",
        "",
        "Generated by `hitless report` from the settings the pack's rules read; every value "
        "below is a setting of the given resources or a default the extractor applies.",
        "",
        "## Traffic profile",
        "",
        *_profile_rows(profile),
        "",
    ]
    lines.extend(f"Note: {note}" for note in report.notes)
    if report.notes:
        lines.append("")
    if not views:
        lines.extend(["No chain tier was found in the inputs: nothing to draw.", ""])
    for name, view in views.items():
        longest = view.longest(profile)
        lines.extend(
            [
                f"## Chain `{name}`",
                "",
                "### Longest request per tier",
                "",
                "| tier | longest request (s) |",
                "|---|---|",
                *(f"| {tier} | {value} |" for tier, value in diagrams.longest_rows(longest)),
                "",
                "### The chain",
                "",
                *_mermaid(diagrams.flowchart(view, report.config, _in_chain(report.judged, view))),
                *_failing_rows(view, _in_chain(report.judged, view)),
            ]
        )
    first = next(iter(views.values()), None)
    if first is not None and report.rolled:
        lines.extend(["## Rollouts, tier by tier", ""])
        for rolled in report.rolled:
            written.append(chart(rolled.trace, rolled.title, out / IMAGES / f"{rolled.key}.png"))
            lines.extend(_rollout_section(report, first, rolled))
    path = out / REPORT_FILE
    path.write_text("\n".join(lines).rstrip("\n") + "\n")
    written.insert(0, path)
    return written


def readme_block(report: ReportInput) -> str:
    """The flowchart the README shows (the first chain), as a fenced mermaid block."""
    return "\n".join(_mermaid(chain_flowchart(report))).rstrip("\n")


README_BEGIN = (
    "<!-- generated by `hitless docs` from stacks/Pulumi.dev.yaml (hitless report): do not edit -->"
)
"""Opening marker of the README's generated chain diagram."""
README_END = "<!-- end of generated diagram -->"
"""Closing marker of the README's generated chain diagram."""


def refresh_readme(text: str, block: str) -> str:
    """`text` with the README's generated diagram replaced (ValueError: markers missing)."""
    head, found, rest = text.partition(README_BEGIN)
    _, found_end, tail = rest.partition(README_END)
    if not found or not found_end:
        raise ValueError(f"missing the markers {README_BEGIN!r} ... {README_END!r}")
    return f"{head}{README_BEGIN}\n\n{block}\n\n{README_END}{tail}"
