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

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from hitless import diagrams
from hitless.components.config import StackConfig
from hitless.sim_inputs import SimInputs, SimulationInputError, merge_facts, runtimes
from hitless.simulate import rolls, simulate_facts
from hitless.trace import TierTrace
from hitless_policy.extract import ResourceInput, collect_facts
from hitless_policy.facts import Facts
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


def judged_facts(
    resources: Sequence[ResourceInput], config: PackConfig
) -> tuple[Facts, list[Judged], list[Verdict]]:
    """The resources' facts, every catalog relation the rules judged, and the verdicts."""
    facts = collect_facts(resources)
    with recording() as judged:
        findings = evaluate(facts, config, RULES)
    return facts, list(judged), verdicts_of(findings)


# ---------------------------------------------------------------------------------------------
# The rollouts: the simulator, driven by the same facts
# ---------------------------------------------------------------------------------------------


def _traces(inputs: SimInputs) -> tuple[list[Rolled], list[str]]:
    """The rollouts to draw: tiers A, B and C once, tier D once per runtime, from the facts.

    A tier the simulator cannot run on (a value it needs is unknown, a tier is missing) is
    named in the notes instead of being drawn.
    """
    rolled: list[Rolled] = []
    notes: list[str] = []
    if inputs.defaulted:
        notes.append(
            f"tiers {', '.join(t.upper() for t in inputs.defaulted)} not given: their rollouts "
            f"are simulated with the facts of {inputs.source.split(' + ')[-1]}"
        )
    several = len(runtimes(inputs.facts)) > 1
    for tier in "abcd":
        try:
            plan = rolls(inputs.facts, tier, None)
        except SimulationInputError as error:
            notes.append(f"tier {tier.upper()} not simulated: {error}")
            continue
        for _, dep in plan:
            try:
                sim = simulate_facts(
                    inputs.facts,
                    tier,
                    config=inputs.config,
                    runtime=dep,
                    rate=SIMULATED_RATE,
                    upload_share=UPLOAD_SHARE,
                    source=inputs.source,
                    defaulted=inputs.defaulted,
                )
            except SimulationInputError as error:
                notes.append(f"tier {tier.upper()} not simulated: {error}")
                continue
            name = (dep.object_name or dep.ref.name) if dep is not None else ""
            key = f"d-{diagrams.text(str(name)).replace(' ', '-')}" if several and dep else tier
            rolled.append(Rolled(key, tier, sim.model.title, sim.trace, inputs.source))
    return rolled, notes


def for_stack(
    cfg: StackConfig, stack: str, resources: Sequence[ResourceInput], *, rollouts: bool = True
) -> ReportInput:
    """The report's inputs for a stack (its captured resources and its own profile).

    `rollouts=False` leaves out the simulated rollouts (the README's chain diagram needs none).
    """
    config = PackConfig(profile=cfg.profile, thresholds=cfg.thresholds)
    facts, judged, verdicts = judged_facts(resources, config)
    inputs = SimInputs(facts=facts, config=config, source=f"stack {stack}")
    rolled, notes = _traces(inputs) if rollouts else ([], [])
    return ReportInput(f"stack `{stack}`", config, facts, judged, verdicts, rolled, notes)


def for_files(
    resources: Sequence[ResourceInput], config: PackConfig, defaults: SimInputs, source: str
) -> ReportInput:
    """The report's inputs for files judged as `check` judges them.

    The rollouts take the files' facts for the tiers they carry and `defaults`' (a stack's
    rendering) for the others, as `hitless simulate -f` does.
    """
    facts, judged, verdicts = judged_facts(resources, config)
    merged = merge_facts(facts, defaults, f"{source} + {defaults.source}")
    rolled, notes = _traces(dataclasses.replace(merged, config=config))
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
    return diagrams.flowchart(
        view, report.config, _in_chain(report.judged, view), report.facts.services
    )


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
                *_mermaid(
                    diagrams.flowchart(
                        view, report.config, _in_chain(report.judged, view), report.facts.services
                    )
                ),
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
