"""What `hitless lab` runs: one stack's tiers, a team's manifests, or the `make lab` matrix.

Each stack is rendered first (as `hitless preview` does, into `build/<stack>/`); each run's
artifacts go under `build/<stack>/lab/<scenario>/run-<n>/`. Next to every scenario stands the
simulator's prediction for the same settings (`hitless.simulate`, seeds 1..3), so the table shows
where the model and the real processes agree.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from rich.markup import escape
from rich.table import Table

from hitless.components.config import StackConfig
from hitless.lab.causes import Cause as LabCause
from hitless.lab.runner import RunResult
from hitless.lab.scenarios import Variant, broken_variants, build_scenario
from hitless.lab.spec import RollingTier, Scenario
from hitless.program import find_root
from hitless.sim_inputs import SimInputs, file_facts, stack_facts
from hitless.simulate import Cause, simulate_facts
from hitless_policy.facts import Facts, PreStop, Unknown
from hitless_policy.identity import Tier

SEED_RT_MANIFEST = Path("tests/policy/fixtures/seed_rt.yaml")
"""The users' original RT Deployment (from the seed conversation), relative to the project."""
MATRIX_STACKS = ("dev", "prod")
"""Stacks whose every tier the matrix rolls."""
PREDICTION_SEEDS = (1, 2, 3)
"""Simulator seeds averaged for a prediction."""
FAILED_ROWS = 20
"""Failed requests the terminal lists per run (JSON has them all)."""


@dataclass(frozen=True)
class Prediction:
    """The simulator's mean counts for a scenario's settings."""

    failed: float
    """Mean failed requests."""
    by_cause: dict[str, float]
    """Mean failures per cause (refused, cut, timeout)."""


NOTHING = Prediction(failed=0, by_cause={})
"""An empty prediction (for printing a scenario the simulator does not model)."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def artifacts_dir(build: Path, scenario: Scenario) -> Path:
    """Where one run's artifacts go: build/<stack>/lab/<scenario>/run-<n>."""
    name = _slug(f"{scenario.tier.value} {scenario.variant}") + (
        "-given" if "given" in scenario.name else ""
    )
    return build / scenario.stack / "lab" / name / f"run-{scenario.run}"


def simulated(
    inputs: SimInputs,
    tier: str,
    *,
    rate: float,
    share: float,
    worst_case: bool = False,
    runtime: str | None = None,
) -> Prediction:
    """The simulator's mean counts over `PREDICTION_SEEDS` for rolling `tier` of `inputs`.

    `runtime` names the runtime Deployment tier d rolls (default: the first by namespace and name).
    """
    runs = [
        simulate_facts(
            inputs.facts,
            tier,
            config=inputs.config,
            runtime=runtime,
            rate=rate,
            upload_share=share,
            seed=seed,
            worst_case=worst_case,
        )
        for seed in PREDICTION_SEEDS
    ]
    return Prediction(
        failed=mean(len(sim.failed) for sim in runs),
        by_cause={
            cause.value: mean(sim.by_cause()[cause.value] for sim in runs) for cause in Cause
        },
    )


def _replace_deployment(facts: Facts, tier: Tier, prestop_seconds: float) -> Facts:
    """`facts` with the preStop delay of tier `tier`'s Deployment replaced."""
    out = dataclasses.replace(facts, deployments=list(facts.deployments), _index={})
    for n, dep in enumerate(out.deployments):
        container = dep.main_container()
        if dep.place.tier is not tier or container is None or isinstance(dep.containers, Unknown):
            continue
        prestop = container.prestop
        changed = (
            PreStop(kind="kong-quit", delay_seconds=prestop_seconds, quit_timeout_seconds=10)
            if prestop is None or isinstance(prestop, Unknown)
            else dataclasses.replace(prestop, delay_seconds=prestop_seconds)
        )
        containers = [
            dataclasses.replace(c, prestop=changed) if c is container else c for c in dep.containers
        ]
        out.deployments[n] = dataclasses.replace(dep, containers=containers)
    return out


def _replace_drain(facts: Facts, tier: Tier, drain_seconds: float) -> Facts:
    """`facts` with the LB draining timeout of tier `tier`'s backend service replaced."""
    return dataclasses.replace(
        facts,
        backend_services=[
            dataclasses.replace(b, draining_sec=drain_seconds) if b.place.tier is tier else b
            for b in facts.backend_services
        ],
        _index={},
    )


def predict(
    inputs: SimInputs, scenario: Scenario, variant: Variant, rate: float, share: float
) -> Prediction:
    """The simulator's prediction for the scenario (same tier, variant, facts and traffic).

    The lab sends `rate` requests per lab second, so `rate / time_scale` per real second: the
    simulator, which runs in real seconds, gets that rate, so both see as many requests per
    window. The lab's uploads all come from the slowest client and take the longest work, its
    processes start at once with their first probe a period later, and its routers apply the
    profile's whole lag, so the prediction draws none of them (`worst_case`).
    """
    rate = rate / scenario.time_scale
    facts = inputs.facts
    if variant.drain_a is not None:
        facts = _replace_drain(facts, Tier.A, variant.drain_a)
    if variant.drain_b is not None:
        facts = _replace_drain(facts, Tier.B, variant.drain_b)
    if variant.kong_quit_wait is not None:
        facts = _replace_deployment(facts, Tier.C, variant.kong_quit_wait)
    # The lab starts processes, not pods or VMs: they answer at once, and the lab measures that
    # start instead of scaling it; its probes run a full period after start.
    thresholds = inputs.config.thresholds.model_copy(
        update={"pod_start_seconds": 0.0, "mig_boot_seconds": 0.0}
    )
    config = inputs.config.model_copy(update={"thresholds": thresholds})
    changed = dataclasses.replace(inputs, facts=facts, config=config)
    runtime = None
    if scenario.tier is RollingTier.d and "given" in scenario.name:
        changed = file_facts([Path(scenario.d.source)], None, None, None, changed)
    elif scenario.tier is RollingTier.d:
        runtime = scenario.d.name  # the runtime the lab rolls (`--runtime`)
    return simulated(
        changed, scenario.tier.value, rate=rate, share=share, worst_case=True, runtime=runtime
    )


@dataclass
class Planned:
    """A scenario to run, where its artifacts go and the simulator's prediction."""

    scenario: Scenario
    """The scenario."""
    directory: Path
    """Its artifacts."""
    prediction: Prediction | None
    """The simulator's counts for the same settings (None: the simulator does not model it)."""


def plan(
    configs: dict[str, StackConfig],
    build: Path,
    *,
    stacks: list[str],
    tiers: list[RollingTier],
    runs: int,
    time_scale: float,
    rate: float,
    upload_share: float,
    matrix: bool,
    root: Path | None = None,
    manifests: list[Path] | None = None,
    nginx_a: Path | None = None,
    nginx_b: Path | None = None,
    seed_manifest: Path | None = None,
) -> list[Planned]:
    """Every run: the stacks' tiers (hitless); for the matrix also the seed RT and broken ones.

    The predictions read each stack's facts, rendered from the project at `root` (default: the
    project above the working directory).
    """
    out: list[Planned] = []
    project = root or find_root(Path.cwd())
    facts: dict[str, SimInputs] = {}

    def add(stack: str, tier: RollingTier, variant: Variant, given: list[Path] | None) -> None:
        cfg = configs[stack]
        predicted: Prediction | None = None
        modelled = not variant.in_place_upgrade
        for run in range(1, runs + 1):
            scenario = build_scenario(
                cfg,
                stack,
                build / stack,
                tier,
                time_scale=time_scale,
                rate=rate,
                upload_share=upload_share,
                run=run,
                variant=variant,
                manifests=given,
                nginx_a=nginx_a,
                nginx_b=nginx_b,
            )
            if predicted is None and modelled:
                if stack not in facts:
                    facts[stack] = stack_facts(stack, project)
                predicted = predict(facts[stack], scenario, variant, rate, upload_share)
            out.append(Planned(scenario, artifacts_dir(build, scenario), predicted))

    for stack in stacks:
        for tier in tiers:
            add(stack, tier, Variant(), manifests if tier is RollingTier.d else None)
    if matrix:
        first = stacks[0]
        if seed_manifest is not None:
            add(
                first,
                RollingTier.d,
                Variant("users' original RT", expect_failures=True),
                [seed_manifest],
            )
        for tier, variant in broken_variants(configs[first]).items():
            add(first, tier, variant, None)
        add(first, RollingTier.a, Variant("in-place binary upgrade", in_place_upgrade=True), None)
    return out


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def _first_last(result: RunResult) -> str:
    times = sorted(r["start"] for r in result.requests if r["id"] in result.causes)
    return f"{times[0]:.1f} .. {times[-1]:.1f}" if times else ""


def runs_table(results: list[RunResult]) -> Table:
    """One row per run: requests, failures by cause, timing, CPU, verdict."""
    table = Table(title="lab runs (times in lab seconds; real seconds = lab x time scale)")
    columns = ["scenario", "run", "GET", "upload", "failed", *(c.value for c in LabCause)]
    columns += ["failures from .. to (s)", "rollout s (real)", "wall s", "CPU s", "verdict"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("scenario", "verdict") else "right")
    for result in results:
        s = result.scenario
        if result.error is not None:
            table.add_row(escape(s.name), str(s.run), *[""] * 13, "[red]could not run[/]")
            continue
        kinds = {k: sum(1 for r in result.requests if r["kind"] == k) for k in ("get", "upload")}
        counts = result.by_cause()
        rollout = float(result.data["rollout_seconds"])
        verdict = "[green]hitless[/]" if not result.failed else f"[red]{result.failed} failed[/]"
        if s.expect_failures:
            verdict += (
                " (broken: expected)" if result.verdict_ok() else " [bold red](broken: NOT)[/]"
            )
        table.add_row(
            escape(s.name),
            str(s.run),
            str(kinds["get"]),
            str(kinds["upload"]),
            str(result.failed),
            *(str(counts[c.value]) for c in LabCause),
            _first_last(result),
            f"{rollout:.1f} ({rollout * s.time_scale:.0f})",
            f"{result.wall_seconds:.0f}",
            f"{result.data.get('cpu_seconds', 0):.1f}",
            verdict,
        )
    return table


def comparison_table(planned: list[Planned], results: list[RunResult]) -> Table:
    """Per scenario: the lab's failures per run and causes next to the simulator's prediction."""
    table = Table(
        title="lab vs simulator (hitless simulate, seeds 1-3, same settings, rate / time scale)"
    )
    for column in (
        "scenario",
        "expect",
        "lab failed per run",
        "lab causes (all runs)",
        "simulator failed (mean)",
        "simulator causes (mean)",
    ):
        table.add_column(column)
    groups: dict[str, list[tuple[Planned, RunResult]]] = {}
    for item, result in zip(planned, results, strict=True):
        groups.setdefault(item.scenario.name, []).append((item, result))
    for name, items in groups.items():
        first = items[0][0]
        causes: dict[str, int] = {}
        for _, result in items:
            for cause, count in result.by_cause().items():
                causes[cause] = causes.get(cause, 0) + count
        table.add_row(
            escape(name),
            "failures" if first.scenario.expect_failures else "0 failed",
            " / ".join("err" if r.error else str(r.failed) for _, r in items),
            ", ".join(f"{k} {v}" for k, v in sorted(causes.items())) or "-",
            f"{first.prediction.failed:.1f}" if first.prediction else "not modelled",
            ", ".join(
                f"{k} {v:.1f}" for k, v in (first.prediction or NOTHING).by_cause.items() if v
            )
            or "-",
        )
    return table


def detail_tables(result: RunResult) -> list[Table]:
    """One run in detail: its notes, timeline and first failures."""
    s = result.scenario
    out: list[Table] = []
    if s.notes:
        notes = Table(title=f"{escape(s.name)}: inputs")
        notes.add_column("note")
        for note in s.notes:
            notes.add_row(escape(note))
        out.append(notes)
    timeline = Table(
        title=f"{escape(s.name)} run {s.run}: rollout timeline (t = 0: rollout starts; lab s)"
    )
    for column in ("t (s)", "real t (s)", "backend", "event"):
        timeline.add_column(column, justify="right" if "t (s)" in column else "left")
    for event in result.data.get("events", []):
        timeline.add_row(
            f"{event['at']:.2f}",
            f"{event['at'] * s.time_scale:.1f}",
            escape(event["backend"]),
            escape(event["what"]),
        )
    out.append(timeline)
    failed = [r for r in result.requests if r["id"] in result.causes]
    if failed:
        table = Table(
            title=f"failed requests (first {min(FAILED_ROWS, len(failed))} of {len(failed)}; "
            "--format json lists all)"
        )
        for column in ("#", "kind", "start (s)", "end (s)", "status", "cause", "where"):
            table.add_column(column)
        for record in failed[:FAILED_ROWS]:
            cause, where = result.causes[record["id"]]
            table.add_row(
                str(record["id"]),
                record["kind"],
                f"{record['start']:.2f}",
                f"{record['end']:.2f}",
                str(record["status"] or ""),
                cause.value,
                escape(where),
            )
        out.append(table)
    return out


def to_json(planned: list[Planned], results: list[RunResult], wall: float) -> dict[str, Any]:
    """Every run and prediction as plain JSON data."""
    return {
        "wall_seconds": round(wall, 1),
        "runs": [
            {
                **result.to_json(),
                "simulator": (
                    {"failed": p.prediction.failed, **p.prediction.by_cause}
                    if p.prediction
                    else None
                ),
            }
            for p, result in zip(planned, results, strict=True)
        ],
    }
