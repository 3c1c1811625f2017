"""The `hitless` command: offline preview, checks, the budget, a simulated rollout, the docs.

Exit codes are a contract (`EXIT_CODES`), the same for every command: `ContractGroup` turns any
exception a command lets out into 2 (a wrong input) or 3 (an internal error), never 1.
Heavy modules (Pulumi, pydantic models, the policy pack) are imported inside the commands, so
`hitless --help` starts fast.
"""

# Commands import their modules lazily: start-up stays light and `--help` needs no Pulumi.
# ruff: noqa: PLC0415

from __future__ import annotations

import dataclasses
import json
import sys
import traceback
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console
    from typer._click import Context as ClickContext

    from hitless.components.config import StackConfig
    from hitless.harness import Capture
    from hitless.report_md import ReportInput

RULE_FAILS = 1
"""Exit code when a mandatory rule fails (or, for `simulate`, a simulated request fails)."""
BAD_INPUT = 2
"""Exit code for a bad stack file, config or input file."""
INTERNAL_ERROR = 3
"""Exit code for a bug in hitless: a crash is never reported as a failed rule."""
REPORT_TO = "the hitless maintainers (an issue in the hitless repository)"
"""Where an internal error should be reported."""

EXIT_CODES = (
    "Exit codes (every command): 0 clean; 1 a mandatory rule fails; 2 an input is wrong "
    "(`file:line: reason` or `hitless:<key> = <value>: consequence. Fix: ...`); 3 an internal "
    "error (one line and where to report it; the traceback with --debug)."
)
"""The exit-code contract, as `--help` and the README state it."""


class ContractGroup(TyperGroup):
    """The command group: every command's exceptions become exit code 2 or 3.

    A wrong input that escapes a command (`InputError`, `StackFileError`, `StackConfigError`) is
    printed as its message and exits 2; any other exception is an internal error: one line naming
    it and where to report it, the traceback only with `--debug`, exit 3. Commands added later
    inherit this through `app`.
    """

    def invoke(self, ctx: ClickContext) -> Any:
        """Run the command, mapping escaped exceptions to the exit-code contract."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as error:  # the contract: no exception escapes as exit 1
            debug = bool(ctx.params.get("debug"))
            if _is_input_error(error):
                typer.echo(str(error), err=True)
                raise typer.Exit(BAD_INPUT) from None
            if debug:
                traceback.print_exception(error, file=sys.stderr)
            typer.echo(internal_error_line(error), err=True)
            raise typer.Exit(INTERNAL_ERROR) from None


def _is_input_error(error: BaseException) -> bool:
    """Whether `error` is one of the wrong-input errors (modules already loaded by then)."""
    input_errors: list[type[BaseException]] = []
    for module, name in (
        ("hitless_policy.loader", "InputError"),
        ("hitless.program", "StackFileError"),
        ("hitless.components.config", "StackConfigError"),
    ):
        loaded = sys.modules.get(module)
        found = getattr(loaded, name, None) if loaded is not None else None
        if isinstance(found, type) and issubclass(found, BaseException):
            input_errors.append(found)
    return isinstance(error, tuple(input_errors))


def internal_error_line(error: BaseException) -> str:
    """The one line an internal error prints: what failed, where, and where to report it."""
    from hitless_policy.loader import clip

    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return (
        f"hitless: internal error: {type(error).__name__}: {clip(str(error), 200)}{where}. "
        f"This is a bug in hitless, not in your input: please report it to {REPORT_TO} with "
        "the command line; rerun with --debug for the traceback."
    )


app = typer.Typer(
    cls=ContractGroup,
    help="Hitless rolling upgrades for A (nginx L7) -> B (nginx L4) -> C (Kong) -> D (runtime).\n\n"
    + EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:  # noqa: FBT001 (typer passes the flag positionally)
    """`--version`: print the installed distribution's version and exit 0, before any command."""
    if value:
        from hitless import package_version

        typer.echo(f"hitless {package_version()}")
        raise typer.Exit(0)


@app.callback()
def _options(
    *,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="HITLESS_DEBUG",
            help="On an internal error (exit 3), print the traceback too.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the installed hitless version (pyproject's `version`) and exit.",
        ),
    ] = False,
) -> None:
    """Options for every command (read by `ContractGroup`)."""


StackOption = Annotated[
    str, typer.Option("--stack", "-s", help="Stack name: reads stacks/Pulumi.<stack>.yaml.")
]
RootOption = Annotated[
    Path | None,
    typer.Option(help="Project directory (default: the nearest one above . with Pulumi.yaml)."),
]
NginxAOption = Annotated[
    Path | None, typer.Option(help="Tier A's nginx.conf (L7), includes followed.")
]
"""`--nginx-a`: tier A's nginx.conf, for every command that reads files."""
NginxBOption = Annotated[
    Path | None, typer.Option(help="Tier B's nginx.conf (stream), includes followed.")
]
"""`--nginx-b`: tier B's nginx.conf, for every command that reads files."""
RuntimeOption = Annotated[
    str | None,
    typer.Option(
        "--runtime",
        help="Runtime service (tier D) whose path A -> B -> C -> D is replayed (default: the "
        "first of hitless:runtimes).",
    ),
]


class OutputFormat(StrEnum):
    """How `hitless check` prints its verdicts."""

    table = "table"
    json = "json"
    sarif = "sarif"


def _bad_input(message: str) -> NoReturn:
    """Print `message` to stderr and exit 2."""
    typer.echo(message, err=True)
    raise typer.Exit(BAD_INPUT)


PIPE_WIDTH = 160
"""Width of tables written to a pipe or a CI log (rich would assume 80 columns)."""


def _console() -> Console:
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)


def _root(root: Path | None) -> Path:
    from hitless.program import StackFileError, find_root

    try:
        return find_root(root.resolve() if root else Path.cwd())
    except StackFileError as error:
        _bad_input(str(error))


def _config(stack: str, root: Path) -> StackConfig:
    """The validated stack config, or exit 2 with the config's message."""
    from hitless.components.config import StackConfigError
    from hitless.program import StackFileError, load_config

    try:
        return load_config(stack, root)
    except (StackFileError, StackConfigError) as error:
        _bad_input(str(error))


def _path_config(stack: str, root: Path, runtime: str | None) -> StackConfig:
    """The stack config narrowed to the path to `runtime` (`--runtime`), or exit 2."""
    cfg = _config(stack, root)
    try:
        return cfg.one_path(runtime)
    except KeyError as error:
        _bad_input(f"--runtime {runtime}: {error.args[0]}. Fix: name one of them")


@app.command()
def preview(
    stack: StackOption = "dev",
    root: RootOption = None,
    build: Annotated[
        Path | None, typer.Option(help="Artifact directory (default: <root>/build).")
    ] = None,
) -> None:
    """Run the program offline for a stack, write build/<stack>/ and judge it with the policy."""
    from hitless.components.config import StackConfigError
    from hitless.explain import explain, to_markdown
    from hitless.program import StackFileError, judge_capture, run_stack
    from hitless.render import write_artifacts, write_json
    from hitless.report import exit_code, resource_table, verdict_table
    from hitless_policy.profile import PackConfig

    project = _root(root)
    try:
        capture = run_stack(stack, project, preview=True)
    except (StackFileError, StackConfigError) as error:
        _bad_input(str(error))
    cfg = _config(stack, project)
    out = (build or project / "build") / stack
    written = write_artifacts(capture, out)
    budget_md = out / "budget.md"
    budget_md.write_text(f"# Budget of stack `{stack}`\n\n" + to_markdown(explain(cfg, stack)))
    from hitless.report_md import render

    written += render(_report_input(cfg, stack, capture), out)

    console = _console()
    console.print(resource_table(capture, stack))

    # The pack runs after the artifacts are written: they help most when a rule fails.
    from hitless_policy.pack import pack_config_document

    pack_config = PackConfig(profile=cfg.profile, thresholds=cfg.thresholds)
    # The stack sets the level of rule observability-configured (mandatory in prod, advisory
    # in dev): the engine reads it as the policy's enforcementLevel, the preview applies it.
    levels = {"observability-configured": cfg.observability.enforcement}
    document = pack_config_document(pack_config)
    for rule_id, level in levels.items():
        document[rule_id]["enforcementLevel"] = level
    write_json(out / "policy-pack-config.json", document)
    verdicts = [
        dataclasses.replace(v, level=levels.get(v.rule, v.level))
        for v in judge_capture(capture, pack_config)
    ]
    policy_json = out / "policy.json"
    write_json(policy_json, [verdict.to_json() for verdict in verdicts])
    console.print(verdict_table(verdicts, f"policy, stack {stack}"))
    console.print(f"wrote {len(written) + 3} files under {out}")
    raise typer.Exit(exit_code(verdicts))


@app.command()
def check(
    *,
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            "-f",
            help="Kubernetes manifests, kong.yml, or a folder of them (searched recursively); "
            "repeat.",
        ),
    ] = None,
    nginx_a: NginxAOption = None,
    nginx_b: NginxBOption = None,
    nginx_prefix: Annotated[
        Path | None,
        typer.Option(help="Folder relative nginx includes start from (default: each file's)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Policy config (profile and thresholds, YAML or JSON)."),
    ] = None,
    runtime_selector: Annotated[
        str | None,
        typer.Option(
            help="Label selector (app=rt,tier!=batch) picking the runtimes behind Kong when "
            "Kong's config names none of the Deployments."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Count not-judged verdicts as failures (CI gates).")
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Verdicts as a table, JSON or SARIF 2.1.0.")
    ] = OutputFormat.table,
) -> None:
    """Judge existing manifests, Kong and nginx configs with the policy pack's rules.

    Exit 0 clean, 1 a mandatory rule fails, 2 bad or empty input or nothing judged, 3 internal.
    """
    from hitless.check import EXIT_NOTHING_JUDGED, CheckInputError
    from hitless.check import check as run
    from hitless.report import verdict_table

    try:
        result = run(
            files or [],
            nginx_a,
            nginx_b,
            config,
            runtime_selector=runtime_selector,
            nginx_prefix=nginx_prefix,
            strict=strict,
        )
    except CheckInputError as error:
        _bad_input(f"{error.file}:{error.line}: {error.reason}")
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    elif output_format is OutputFormat.sarif:
        typer.echo(json.dumps(result.to_sarif(), indent=2))
    else:
        console = _console()
        console.print(verdict_table(result.verdicts, "hitless check"))
        for item in result.ignored:
            console.print(
                f"ignored {item.verdict.rule} on {item.verdict.resource} "
                f"({item.verdict.status}): {item.reason}",
                markup=False,
            )
        for notice in result.notices:
            console.print(f"notice: {notice}", markup=False)
        console.print(result.summary(), markup=False)
    code = result.exit_code()
    if code == EXIT_NOTHING_JUDGED and not result.failing():
        given = [*(files or []), *(p for p in (nginx_a, nginx_b) if p is not None)]
        typer.echo(
            f"{given[0] if given else 'hitless check'}:0: nothing judged: no Deployment, Kong "
            "config or nginx config a rule could judge (the summary lists what was read and "
            "skipped). Fix: give the runtime's and Kong's manifests or the nginx configs.",
            err=True,
        )
    raise typer.Exit(code)


def _report_input(
    cfg: StackConfig, stack: str, capture: Capture, *, rollouts: bool = True
) -> ReportInput:
    """The report's inputs for a stack's captured resources (`rollouts`: simulate each tier)."""
    from hitless.program import resource_inputs
    from hitless.report_md import for_stack

    resources = resource_inputs(capture)
    return for_stack(cfg, stack, resources, rollouts=rollouts)


@app.command()
def report(
    *,
    stack: StackOption = "dev",
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            "-f",
            help="Kubernetes manifests, kong.yml, or a folder of them, as `check` reads them; "
            "repeat. Without files and nginx configs, the stack is rendered.",
        ),
    ] = None,
    nginx_a: NginxAOption = None,
    nginx_b: NginxBOption = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Policy config for files (profile and thresholds, YAML or JSON)."),
    ] = None,
    runtime_selector: Annotated[
        str | None,
        typer.Option(help="Label selector picking the runtimes behind Kong (as for check)."),
    ] = None,
    root: RootOption = None,
    build: Annotated[
        Path | None, typer.Option(help="Artifact directory (default: <root>/build).")
    ] = None,
) -> None:
    """Write build/<stack>/report.md: the chain's timing as mermaid diagrams and PNG charts.

    With -f/--nginx-a/--nginx-b it draws those files (into build/files/); the tiers they carry
    are simulated from them, the others from the stack's rendering. Exit 0 written and clean, 1 a
    mandatory rule fails (the report shows it in red), 2 bad input, 3 internal.
    """
    from hitless.check import CheckInputError, read_inputs
    from hitless.components.config import StackConfigError
    from hitless.program import StackFileError, run_stack
    from hitless.report_md import for_files, render
    from hitless_policy.runner import mandatory_failures

    project = _root(root)
    cfg = _config(stack, project)
    folder = build or project / "build"
    if files or nginx_a is not None or nginx_b is not None:
        try:
            read = read_inputs(
                files or [], nginx_a, nginx_b, config, runtime_selector=runtime_selector
            )
        except CheckInputError as error:
            _bad_input(f"{error.file}:{error.line}: {error.reason}")
        from hitless.sim_inputs import stack_facts

        given_names = ", ".join(str(p) for p in (*(files or []), nginx_a, nginx_b) if p is not None)
        data = for_files(read.resources, read.config, stack_facts(stack, project), given_names)
        if not data.facts.chains():
            given = [*(files or []), *(p for p in (nginx_a, nginx_b) if p is not None)]
            _bad_input(
                f"{given[0]}:0: nothing to draw: no nginx config, Kong config, Deployment or "
                "backend service of the chain in the input. Fix: give the runtime's and Kong's "
                "manifests or the nginx configs."
            )
        written = render(data, folder / "files")
        verdicts = data.verdicts
    else:
        try:
            capture = run_stack(stack, project, preview=True)
        except (StackFileError, StackConfigError) as error:
            _bad_input(str(error))
        data = _report_input(cfg, stack, capture)
        written = render(data, folder / stack)
        # The stack sets the level of observability-configured, as `preview` applies it.
        verdicts = [
            dataclasses.replace(v, level=cfg.observability.enforcement)
            if v.rule == "observability-configured"
            else v
            for v in data.verdicts
        ]
    typer.echo(f"wrote {written[0]} and {len(written) - 1} charts")
    raise typer.Exit(RULE_FAILS if mandatory_failures(verdicts) else 0)


@app.command(name="explain")
def explain_command(stack: StackOption = "dev", root: RootOption = None) -> None:
    """Print a stack's budget per tier and the rollout timeline of one RT pod."""
    from hitless.explain import explain
    from hitless.report import budget_tables

    expl = explain(_config(stack, _root(root)), stack)
    console = _console()
    for table in budget_tables(expl):
        console.print(table)


MAX_SIMULATED_RATE = 200.0
"""Highest `simulate --rate`: each request is an event, and 100/s already takes seconds."""


class RollingTier(StrEnum):
    """The tier `hitless verify` watches roll."""

    a = "a"
    b = "b"
    c = "c"
    d = "d"


class SimulatedTier(StrEnum):
    """What `hitless simulate` rolls: one tier, or each in turn."""

    a = "a"
    b = "b"
    c = "c"
    d = "d"
    nodes = "nodes"
    all = "all"


MAX_SIMULATED_RUNS = 100
"""Most `simulate --runs`: seeds simulated per tier."""


@app.command()
def simulate(
    *,
    stack: StackOption = "dev",
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            "-f",
            help="Kubernetes manifests or kong.yml (as `check` reads them); tiers not given "
            "take the stack's rendering.",
        ),
    ] = None,
    nginx_a: NginxAOption = None,
    nginx_b: NginxBOption = None,
    kong: Annotated[Path | None, typer.Option(help="Kong's declarative kong.yml.")] = None,
    tier: Annotated[
        SimulatedTier,
        typer.Option(
            "--tier",
            "-t",
            help="Tier to roll: a (A's MIG), b (B's MIG), c (Kong), d (each runtime), nodes (a "
            "GKE node pool upgrade), all.",
        ),
    ] = SimulatedTier.d,
    runtime: Annotated[
        str | None, typer.Option(help="Tier d: the runtime Deployment to roll (default: each).")
    ] = None,
    rate: Annotated[
        float,
        typer.Option(
            min=0.001,
            max=MAX_SIMULATED_RATE,
            help="Requests per second reaching the chain (every request is simulated).",
        ),
    ] = 20.0,
    upload_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests that are uploads.")
    ] = 0.05,
    seed: Annotated[int, typer.Option(help="First random seed: the same seed, the same run.")] = 1,
    runs: Annotated[
        int,
        typer.Option(min=1, max=MAX_SIMULATED_RUNS, help="Seeds per tier (percentiles over them)."),
    ] = 1,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Tables or JSON (every failed request).")
    ] = OutputFormat.table,
    root: RootOption = None,
) -> None:
    """Replay rolling upgrades under load from the extracted facts; exit 1 when a request fails."""
    from hitless.check import CheckInputError
    from hitless.sim_inputs import SimulationInputError, file_facts, stack_facts
    from hitless.simulate import simulate_inputs, summarize, tables

    project = _root(root)
    try:
        inputs = stack_facts(stack, project)
        if files or nginx_a or nginx_b or kong:
            inputs = file_facts(files or [], nginx_a, nginx_b, kong, inputs)
        results = simulate_inputs(
            inputs,
            tier.value,
            runtime=runtime,
            rate=rate,
            upload_share=upload_share,
            seeds=tuple(range(seed, seed + runs)),
        )
    except CheckInputError as error:
        _bad_input(f"{error.file}:{error.line}: {error.reason}")
    except SimulationInputError as error:
        _bad_input(f"hitless simulate: {error}")
    failed = any(sim.failed for sims in results for sim in sims)
    if output_format is OutputFormat.json:
        data = {
            "source": inputs.source,
            "defaulted_tiers": list(inputs.defaulted),
            "tiers": [
                {
                    "summary": summarize(sims).to_json(),
                    "runs": [sim.to_json(every_request=False) for sim in sims],
                }
                for sims in results
            ],
        }
        typer.echo(json.dumps(data, indent=2))
    else:
        console = _console()
        if inputs.defaulted:
            console.print(
                f"tiers {', '.join(t.upper() for t in inputs.defaulted)} not given: their facts "
                f"come from stack {stack}'s rendering",
                markup=False,
            )
        for sims in results:
            for table in tables(sims):
                console.print(table)
    raise typer.Exit(RULE_FAILS if failed else 0)


@app.command()
def verify(
    *,
    url: Annotated[
        str | None,
        typer.Option(help="GET target through the real edge (required; no default, no guess)."),
    ] = None,
    upload_url: Annotated[
        str | None, typer.Option(help="POST target for uploads (default: --url).")
    ] = None,
    tier: Annotated[
        RollingTier, typer.Option("--tier", "-t", help="The tier being rolled meanwhile.")
    ] = RollingTier.d,
    duration: Annotated[
        str, typer.Option(help="How long load is sent: 600, 90s, 10m, 1h (at most 30m).")
    ] = "600",
    rate: Annotated[float, typer.Option(min=0.1, max=50, help="Requests per second.")] = 20.0,
    upload_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests that are uploads.")
    ] = 0.05,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(help="Read the Deployment's pods and endpoints from this cluster."),
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="The Deployment's namespace.")
    ] = "default",
    deployment: Annotated[
        str | None, typer.Option(help="The Deployment to watch (with --kubeconfig).")
    ] = None,
    restart: Annotated[
        str | None,
        typer.Option(help="deployment/NAME: start its rollout as `kubectl rollout restart` does."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm --restart without the prompt.")
    ] = False,
    stack: StackOption = "dev",
    root: RootOption = None,
    runtime: RuntimeOption = None,
) -> None:
    """Load a real edge while you roll a tier; per-second outcomes beside the simulator's.

    Exit 1 when any request failed.
    """
    import asyncio

    from pydantic import ValidationError

    from hitless.verify import VerifyOptions, predict, report_lines, run_verify
    from hitless.verify_kube import (
        Cluster,
        KubeError,
        by_second,
        connect,
        parse_duration,
        parse_restart,
        run_with_cluster,
    )

    if url is None:
        _bad_input(
            "verify: --url is required: verify sends load only where it is told to. Fix: "
            "--url https://<your edge>/<a cheap path>"
        )
    try:
        options = VerifyOptions(
            url=url,
            upload_url=upload_url,
            tier=tier.value,
            duration_seconds=parse_duration(duration),
            rate=rate,
            upload_share=upload_share,
        )
        restarted = parse_restart(restart) if restart is not None else None
    except ValidationError as error:
        _bad_input(f"verify: {error.errors()[0]['msg']}")
    except ValueError as error:
        _bad_input(f"verify: {error}")
    if restarted is not None and deployment is not None and restarted != deployment:
        _bad_input(
            f"verify: --restart deployment/{restarted} and --deployment {deployment} name two "
            "Deployments: verify watches the one it restarts. Fix: give one of them"
        )
    watched = restarted or deployment
    if kubeconfig is None and watched is not None:
        _bad_input(
            "verify: --restart/--deployment need --kubeconfig: verify patches or reads a cluster "
            "only when told which. Fix: --kubeconfig ~/.kube/config (or roll the tier yourself)"
        )
    if kubeconfig is not None and watched is None:
        _bad_input(
            "verify: --kubeconfig needs the Deployment to watch. Fix: --deployment <name> -n <ns>"
        )
    # A wrong stack config or runtime name is exit 2 before any request.
    path = _path_config(stack, _root(root), runtime)
    from hitless.sim_inputs import stack_facts

    # Rendered before the load's event loop runs: the mock runtime needs its own loop.
    prediction = predict(stack_facts(stack, _root(root)), options, path.runtimes[0].name)
    cluster: Cluster | None = None
    if kubeconfig is not None and watched is not None:
        try:
            cluster = connect(kubeconfig, namespace, watched, restart=restarted is not None)
        except KubeError as error:
            _bad_input(f"verify: {error}")
        if restarted is not None and not yes:
            question = (
                f"Restart deployment/{restarted} in namespace {namespace} "
                f"(cluster of {kubeconfig}) {cluster.restart_after:g} s into the load?"
            )
            try:
                confirmed = typer.confirm(question, default=False)
            except typer.Abort:  # no terminal answered (end of input)
                confirmed = False
            if not confirmed:
                _bad_input("verify: --restart not confirmed; nothing was sent. Fix: --yes")
    kube: dict[int, str] | None = None
    if cluster is not None:
        measurement, samples = asyncio.run(run_with_cluster(options, cluster))
        kube = by_second(samples)
    else:
        measurement = asyncio.run(run_verify(options))
    for line in report_lines(measurement, options, prediction, kube):
        typer.echo(line)
    raise typer.Exit(RULE_FAILS if measurement.failures() else 0)


DOCS_STACK = "dev"
"""The stack whose numbers docs/timing.md shows."""


@app.command()
def docs(root: RootOption = None) -> None:
    """Regenerate docs/config.md, the generated part of docs/timing.md and the README's diagram."""
    from hitless.explain import explain, refresh_generated
    from hitless.program import run_stack
    from hitless.render import config_reference
    from hitless.report_md import readme_block, refresh_readme

    project = _root(root)
    config_md = project / "docs" / "config.md"
    config_md.parent.mkdir(parents=True, exist_ok=True)
    config_md.write_text(config_reference())
    timing_md = project / "docs" / "timing.md"
    expl = explain(_config(DOCS_STACK, project), DOCS_STACK)
    try:
        timing_md.write_text(refresh_generated(timing_md.read_text(), expl))
    except (OSError, ValueError) as error:
        _bad_input(f"{timing_md}: {error}")
    readme = project / "README.md"
    cfg = _config(DOCS_STACK, project)
    block = readme_block(
        _report_input(cfg, DOCS_STACK, run_stack(DOCS_STACK, project), rollouts=False)
    )
    try:
        readme.write_text(refresh_readme(readme.read_text(), block))
    except (OSError, ValueError) as error:
        _bad_input(f"{readme}: {error}")
    typer.echo(f"wrote {config_md}, {timing_md} and the chain diagram of {readme}")


class LabTier(StrEnum):
    """The tier(s) `hitless lab` rolls."""

    a = "a"
    b = "b"
    c = "c"
    d = "d"
    nodes = "nodes"
    all = "all"


@app.command()
def lab(
    *,
    stack: StackOption = "dev",
    tier: Annotated[
        LabTier, typer.Option("--tier", "-t", help="Tier to roll: a, b, c, d or all.")
    ] = LabTier.d,
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="A team's RT Deployment manifest (tier d)."),
    ] = None,
    nginx_a: NginxAOption = None,
    nginx_b: NginxBOption = None,
    rate: Annotated[float, typer.Option(min=0.1, max=500, help="Requests per second.")] = 20.0,
    upload_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests that are uploads.")
    ] = 0.05,
    time_scale: Annotated[
        float, typer.Option(min=1.0, max=20.0, help="Divide every time (and body) by this.")
    ] = 5.0,
    runs: Annotated[int, typer.Option(min=1, max=10, help="Runs per scenario.")] = 1,
    jobs: Annotated[
        int, typer.Option(min=1, max=8, help="Runs at a time (each in its own namespace).")
    ] = 1,
    matrix: Annotated[
        bool,
        typer.Option(
            "--matrix",
            help="Roll every tier of dev and prod, the users' original RT and each tier's "
            "broken variant; exit 1 unless hitless runs fail none and broken ones fail some.",
        ),
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Tables or JSON.")
    ] = OutputFormat.table,
    root: RootOption = None,
    runtime: RuntimeOption = None,
) -> None:
    """Roll a tier with real processes on loopback under load; exit 1 when a request fails."""
    import time

    from hitless.lab.matrix import (
        MATRIX_STACKS,
        SEED_RT_MANIFEST,
        comparison_table,
        detail_tables,
        plan,
        runs_table,
        to_json,
    )
    from hitless.lab.runner import missing_prerequisites, run_all, stop_all
    from hitless.lab.scenarios import ScenarioInputError
    from hitless.lab.spec import RollingTier
    from hitless.program import run_stack
    from hitless.render import write_artifacts

    missing = missing_prerequisites()
    if missing:
        _bad_input("hitless lab cannot run here:\n- " + "\n- ".join(missing))
    project = _root(root)
    build = project / "build"
    stacks = list(MATRIX_STACKS) if matrix else [stack]
    tiers = (
        [RollingTier(t) for t in "abcd"]
        if matrix or tier is LabTier.all
        else [RollingTier(tier.value)]
    )
    if files and tiers != [RollingTier.d]:
        _bad_input("-f gives the RT Deployment: use it with --tier d")
    configs = {}
    for name in stacks:
        configs[name] = _path_config(name, project, runtime)
        write_artifacts(run_stack(name, project, preview=True), build / name)
    try:
        planned = plan(
            configs,
            build,
            stacks=stacks,
            tiers=tiers,
            runs=runs,
            time_scale=time_scale,
            rate=rate,
            upload_share=upload_share,
            matrix=matrix,
            root=project,
            manifests=files,
            nginx_a=nginx_a,
            nginx_b=nginx_b,
            seed_manifest=project / SEED_RT_MANIFEST if matrix else None,
        )
    except (ScenarioInputError, OSError) as error:
        _bad_input(str(error))
    console = _console()

    def progress(result: object) -> None:
        from hitless.lab.runner import RunResult

        if output_format is OutputFormat.table and isinstance(result, RunResult):
            s = result.scenario
            state = result.error or f"{result.failed} failed of {len(result.requests)}"
            console.print(f"  {s.name} run {s.run}: {state} ({result.wall_seconds:.0f} s)")

    began = time.monotonic()
    try:
        results = run_all([(p.scenario, p.directory) for p in planned], jobs, progress)
    except KeyboardInterrupt:
        stop_all()
        typer.echo("interrupted: every lab process ended", err=True)
        raise typer.Exit(BAD_INPUT) from None
    wall = time.monotonic() - began
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(to_json(planned, results, wall), indent=2))
    else:
        if len(results) == 1:
            for table in detail_tables(results[0]):
                console.print(table)
        console.print(runs_table(results))
        console.print(comparison_table(planned, results))
        for note in sorted({n for p in planned for n in p.scenario.notes}):
            console.print(f"note: {note}")
        console.print(f"wall time {wall:.0f} s; artifacts under {build}/<stack>/lab/")
    errors = [r for r in results if r.error is not None]
    for result in errors:
        typer.echo(f"{result.scenario.name} run {result.scenario.run}: {result.error}", err=True)
    if errors:
        raise typer.Exit(BAD_INPUT)
    if matrix:
        raise typer.Exit(0 if all(r.verdict_ok() for r in results) else 1)
    raise typer.Exit(1 if any(r.failed for r in results) else 0)
