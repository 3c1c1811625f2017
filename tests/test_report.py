"""`hitless report`: the chain's timing drawn from the user's settings, judged by its content.

Reports are generated for dev, prod, the seed RT manifest (the user's original RT) and a wrong
stack (the LB's timeoutSec below a slow upload); every mermaid block of them, of the README and
of docs/ is parsed and rendered to SVG by the real mermaid (mermaid-cli from `tools/mermaid`,
installed by `make mermaid`) in Debian's headless Chromium (installed by `.ci/setup`). A missing
tool fails the test: it is never skipped.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from matplotlib import image as mpimg
from typer.testing import CliRunner

from hitless.cli import app
from hitless.components.chain import compose_chain
from hitless.components.config import StackConfig, load_stack_config
from hitless.diagrams import s
from hitless.harness import run_program
from hitless.program import resource_inputs, run_stack
from hitless.report_md import (
    README_BEGIN,
    README_END,
    ReportInput,
    for_files,
    for_stack,
    readme_block,
    refresh_readme,
    render,
)
from hitless.trace import Generation, PhaseName, TierTrace
from tests.conftest import ROOT, hitless_values, stack_values
from tests.test_wrong_stacks import unchecked

SEED_RT = ROOT / "tests" / "policy" / "fixtures" / "seed_rt.yaml"
"""The user's original RT Deployment (shared/seeds): no preStop, maxUnavailable 1, grace 30 s."""
MMDC = ROOT / "tools" / "mermaid" / "node_modules" / ".bin" / "mmdc"
"""mermaid-cli, installed by `make mermaid` (a prerequisite of `make test`)."""
CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (`.ci/setup` installs the package)."""
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Offline, headless launch flags (puppeteer adds --headless)."""
MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)


@dataclass
class Generated:
    """One generated report: its inputs, its folder and its text."""

    data: ReportInput
    out: Path
    text: str

    def block(self, starts: str, index: int = 0) -> str:
        """The `index`th mermaid block whose first line starts with `starts`."""
        found: list[str] = [b for b in MERMAID_BLOCK.findall(self.text) if b.startswith(starts)]
        return found[index]

    def trace(self, tier: str) -> TierTrace:
        """The simulated rollout of `tier`."""
        return next(r.trace for r in self.data.rolled if r.tier == tier)


def _stack_report(stack: str, out: Path) -> tuple[StackConfig, Generated]:
    cfg = load_stack_config(hitless_values(stack), stack)
    data = for_stack(cfg, stack, resource_inputs(run_stack(stack, ROOT)))
    render(data, out)
    return cfg, Generated(data, out, (out / "report.md").read_text())


def _files_report(paths: list[Path], out: Path) -> Generated:
    from hitless.check import read_inputs
    from hitless.sim_inputs import stack_facts

    read = read_inputs(paths)
    data = for_files(read.resources, read.config, stack_facts("dev", ROOT), "the seed RT")
    render(data, out)
    return Generated(data, out, (out / "report.md").read_text())


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[StackConfig, Generated]]:
    """dev, prod, the seed RT manifest and the wrong stack, each rendered once."""
    base = tmp_path_factory.mktemp("reports")
    out = {name: _stack_report(name, base / name) for name in ("dev", "prod")}
    dev = out["dev"][0]
    out["seed"] = (dev, _files_report([SEED_RT], base / "seed"))
    wrong = unchecked("dev", "edge.backend_timeout_sec", 60)

    def program() -> None:
        compose_chain(wrong)

    capture = run_program(
        program,
        project="hitless",
        stack="dev",
        config=stack_values("dev"),
        preview=True,
    )
    data = for_stack(wrong, "dev-wrong", resource_inputs(capture))
    render(data, base / "wrong")
    out["wrong"] = (wrong, Generated(data, base / "wrong", (base / "wrong/report.md").read_text()))
    return out


def _edges(flowchart: str) -> list[str]:
    return [line.strip() for line in flowchart.splitlines() if " -->|" in line]


class TestProfileAndLongestRequests:
    """The report starts from the promise: the profile and each tier's longest request."""

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_profile_and_longest(
        self, reports: dict[str, tuple[StackConfig, Generated]], stack: str
    ) -> None:
        cfg, report = reports[stack]
        assert f"| `max_body_mib` | {cfg.profile.max_body_mib:g} |" in report.text
        assert f"| `min_client_mbps` | {cfg.profile.min_client_mbps:g} |" in report.text
        longest = cfg.longest_requests()
        for tier in "abcd":
            assert f"| {tier.upper()} | {s(longest.for_tier(tier))} |" in report.text, tier


class TestChainFlowchart:
    """Every hop's timeouts, keepalives and drains are written on the chain, from its settings."""

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_hop_values(
        self, reports: dict[str, tuple[StackConfig, Generated]], stack: str
    ) -> None:
        cfg, report = reports[stack]
        chart = report.block("flowchart")
        for expected in (
            f"timeoutSec {cfg.edge.backend_timeout_sec} s",
            f"draining {cfg.edge.connection_draining_timeout_sec} s",
            f"proxy_read_timeout {s(cfg.edge.proxy_read_timeout_seconds)} s",
            f"keepalive_timeout {s(cfg.edge.keepalive_timeout_seconds)} s",
            f"proxy_timeout {s(cfg.relay.proxy_timeout_seconds)} s",
            f"read {cfg.runtimes[0].kong.read_timeout_ms} ms",
            f"retries {cfg.runtimes[0].kong.retries}",
            f"quit timeout {cfg.kong.quit_timeout_seconds} s",
            f"preStop sleep {cfg.runtimes[0].prestop_seconds} s",
            f"grace {cfg.runtimes[0].termination_grace_seconds} s",
        ):
            assert expected in chart, f"stack {stack}: {expected!r} not on the chain"

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_clean_stack_has_no_red(
        self, reports: dict[str, tuple[StackConfig, Generated]], stack: str
    ) -> None:
        _, report = reports[stack]
        chart = report.block("flowchart")
        assert not re.search(r"^\s*class .* broken$", chart, re.MULTILINE)
        assert "linkStyle" not in chart
        assert "no pair is drawn red" in report.text

    def test_wrong_pair_in_red(self, reports: dict[str, tuple[StackConfig, Generated]]) -> None:
        """timeoutSec 60 s < upload + A's read timeout: the LB -> A pair and its link are red."""
        cfg, report = reports["wrong"]
        chart = report.block("flowchart")
        assert re.search(r"^\s*class (.*,)?A,LBA(,.*)? broken$", chart, re.MULTILINE), chart
        link = next(i for i, e in enumerate(_edges(chart)) if e.startswith("LBA -->"))
        styled = re.search(r"linkStyle ([\d,]+) stroke:#d00000", chart)
        assert styled is not None
        assert str(link) in styled.group(1).split(",")
        row = next(line for line in report.text.splitlines() if "`lb-timeout-covers-a`" in line)
        assert "BackendService(A).timeoutSec" in row
        assert f"| {cfg.edge.backend_timeout_sec} | > |" in row

    def test_every_runtime_path(self, tmp_path: Path) -> None:
        """Several runtimes behind Kong: each gets its node and its path from Kong."""
        second = SEED_RT.read_text().replace("name: rt\n", "name: rt-batch\n", 1)
        (tmp_path / "rt2.yaml").write_text(second)
        report = _files_report([SEED_RT, tmp_path / "rt2.yaml"], tmp_path / "out")
        chart = report.block("flowchart")
        assert "D1[" in chart
        assert "D2[" in chart
        targets = {e.rsplit("| ", 1)[1] for e in _edges(chart) if e.startswith("C -->")}
        assert targets == {"D1", "D2"}
        assert "D - rt-batch" in chart


class TestRolloutGantt:
    """Each tier's gantt carries the simulated rollout's real seconds."""

    def test_runtime_phases_follow_the_settings(
        self, reports: dict[str, tuple[StackConfig, Generated]]
    ) -> None:
        cfg, report = reports["dev"]
        trace = report.trace("d")
        gantt = report.block("gantt", 3)
        olds = [b for b in trace.backends if b.generation is Generation.OLD]
        assert len(olds) == cfg.runtimes[0].replicas
        for life in olds:
            at = {phase.name: phase for phase in life.phases}
            out, killed = at[PhaseName.OUT_OF_ROTATION], at[PhaseName.KILLED]
            # Routers drop the pod after a lag drawn in [0, the profile's propagation].
            assert 0 <= out.end - out.start <= cfg.profile.endpoint_propagation_seconds
            assert killed.start - out.start == pytest.approx(
                cfg.runtimes[0].termination_grace_seconds
            )
            assert f"section {life.backend} (old)" in gantt
            assert f"killed at {s(killed.start)} s" in gantt
            assert f"out of rotation {s(out.start)}-{s(out.end)} s" in gantt

    def test_mig_drain(self, reports: dict[str, tuple[StackConfig, Generated]]) -> None:
        cfg, report = reports["dev"]
        trace = report.trace("a")
        for life in trace.backends:
            if life.generation is Generation.OLD:
                at = {phase.name: phase for phase in life.phases}
                window = at[PhaseName.KILLED].start - at[PhaseName.OUT_OF_ROTATION].start
                assert window == pytest.approx(cfg.edge.connection_draining_timeout_sec)
        assert f"rollout starts at {s(trace.rollout_start)} s" in report.block("gantt", 0)


class TestPostSequence:
    """The profile's 50 MiB POST crosses the chain while each tier rolls."""

    @pytest.mark.parametrize(
        ("index", "tier", "who"), [(0, "a", "A"), (2, "c", "K"), (3, "d", "RT")]
    )
    def test_post_while_rolling(
        self, reports: dict[str, tuple[StackConfig, Generated]], index: int, tier: str, who: str
    ) -> None:
        cfg, report = reports["dev"]
        seq = report.block("sequenceDiagram", index)
        longest = cfg.longest_requests()
        assert (
            f"CL->>LB: POST {cfg.profile.max_body_mib:g} MiB at {cfg.profile.min_client_mbps:g} "
            f"Mbps in {s(longest.client_upload)} s"
        ) in seq
        assert f"while tier {tier.upper()} rolls" in seq
        note = next(line for line in seq.splitlines() if f"Note over {who}: tier" in line)
        assert f"the longest request of {tier.upper()} ({s(longest.for_tier(tier))} s)" in note
        assert "covers" in note
        assert "does NOT cover" not in note
        assert f"read {cfg.runtimes[0].kong.read_timeout_ms} ms" in seq
        assert f"Note over {who}: simulated failures - none" in seq

    def test_sequence_counts_the_simulated_failures(
        self, reports: dict[str, tuple[StackConfig, Generated]]
    ) -> None:
        """The rolling tier's note carries the trace's own failure counts (the seed RT refuses)."""
        _, report = reports["seed"]
        trace = report.trace("d")
        refused = trace.failures_by_cause.get("refused", 0)
        assert refused > 0
        seq = report.block("sequenceDiagram", 3)
        assert f"simulated failures - refused {refused}" in seq


class TestSeedManifest:
    """The user's original RT, from its manifest: refused connections, drawn and counted."""

    def test_runtime_drawn(self, reports: dict[str, tuple[StackConfig, Generated]]) -> None:
        _, report = reports["seed"]
        chart = report.block("flowchart")
        node = next(line for line in chart.splitlines() if line.strip().startswith("D1["))
        assert "D - rt" in node
        assert "no preStop" in node
        assert "grace 30 s" in node
        assert re.search(r"^\s*class LBA,A,LBB,B,C absent$", chart, re.MULTILINE)
        broken = re.search(r"^\s*class (.*) broken$", chart, re.MULTILINE)
        assert broken is not None
        assert "D1" in broken.group(1).split(",")
        assert "`rt-prestop`" in report.text

    def test_rollout_refuses(self, reports: dict[str, tuple[StackConfig, Generated]]) -> None:
        _, report = reports["seed"]
        trace = report.trace("d")
        assert trace.failures_by_cause.get("refused", 0) > 0
        # maxUnavailable 1 of 2 replicas: capacity halves during the rollout.
        during = [
            x.serving for x in trace.samples if trace.rollout_start < x.at < trace.rollout_end
        ]
        assert min(during) == 1
        # Tiers A, B and C roll first (from stack dev's facts), the seed's RT fourth.
        assert "refused" in report.block("sequenceDiagram", 3)
        assert "no preStop" in report.block("sequenceDiagram", 3)


class TestCharts:
    """A PNG per rolled tier: serving capacity, in-flight requests and failures."""

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_pngs(self, reports: dict[str, tuple[StackConfig, Generated]], stack: str) -> None:
        _, report = reports[stack]
        for rolled in report.data.rolled:
            path = report.out / "report" / f"{rolled.key}.png"
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
            height, width = mpimg.imread(path).shape[:2]
            assert width > 400
            assert height > 300
            assert f"](report/{rolled.key}.png)" in report.text

    def test_capacity_never_drops_in_a_hitless_rollout(
        self, reports: dict[str, tuple[StackConfig, Generated]]
    ) -> None:
        cfg, report = reports["dev"]
        trace = report.trace("d")
        assert trace.samples[0].serving == cfg.runtimes[0].replicas
        assert min(x.serving for x in trace.samples) >= cfg.runtimes[0].replicas
        assert max(x.in_flight for x in trace.samples) > 0
        assert sum(x.failed for x in trace.samples) == 0


def _render(blocks: list[tuple[str, str]], tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run mermaid-cli over `blocks` (one markdown file, one Chromium) into `tmp/out-N.svg`."""
    assert MMDC.exists(), f"{MMDC} is missing: run `make mermaid` (npm ci in tools/mermaid)"
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run .ci/setup as root (package chromium)"
    config = {
        "executablePath": str(CHROMIUM),
        "headless": True,
        "args": [*CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'chromium-profile'}"],
    }
    (tmp / "puppeteer.json").write_text(json.dumps(config))
    document = "\n".join(f"## {name}\n\n```mermaid\n{body}```\n" for name, body in blocks)
    (tmp / "all.md").write_text(document)
    return subprocess.run(
        [str(MMDC), "-p", str(tmp / "puppeteer.json"), "-i", "all.md", "-o", "out.md", "-q"],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


class TestMermaidRenders:
    """Every mermaid block the project writes parses and renders with the real mermaid."""

    def test_every_block_renders(
        self, reports: dict[str, tuple[StackConfig, Generated]], tmp_path: Path
    ) -> None:
        blocks = [
            (f"{name} report", body)
            for name, (_, report) in reports.items()
            for body in MERMAID_BLOCK.findall(report.text)
        ]
        for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
            blocks.extend((doc.name, body) for body in MERMAID_BLOCK.findall(doc.read_text()))
        assert sum(1 for name, _ in blocks if name == "README.md") == 2
        result = _render(blocks, tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        for number, (name, body) in enumerate(blocks, start=1):
            svg = (tmp_path / f"out-{number}.svg").read_text()
            assert svg.startswith("<svg"), name
            if body.startswith("flowchart TB"):
                assert "proxy_read_timeout" in svg or "not given" in svg, name
            if body.startswith("gantt"):
                assert "killed at" in svg, name

    def test_a_broken_block_is_refused(self, tmp_path: Path) -> None:
        """The parser is real: a block with an unclosed label fails with mermaid's parse error."""
        result = _render([("broken", 'flowchart TB\n  A["open label --> B\n')], tmp_path)
        assert result.returncode != 0
        assert "Parse error" in result.stderr or "Error" in result.stderr


class TestReadmeDiagramIsCurrent:
    """The README's chain diagram is generated from the dev stack (`hitless docs`)."""

    def test_golden(self, dev_config: StackConfig) -> None:
        text = (ROOT / "README.md").read_text()
        data = for_stack(dev_config, "dev", resource_inputs(run_stack("dev", ROOT)), rollouts=False)
        assert text == refresh_readme(text, readme_block(data)), (
            "README.md's chain diagram is stale: run `.venv/bin/hitless docs` and review the diff"
        )

    def test_missing_markers_refused(self) -> None:
        with pytest.raises(ValueError, match="missing the markers"):
            refresh_readme("# hitless\n", "```mermaid\nflowchart TB\n```")
        assert README_BEGIN.startswith("<!--")
        assert README_END.startswith("<!--")


class TestReportCommand:
    """`hitless report`: exit 1 when a mandatory rule fails, 2 on bad input, files written."""

    def test_seed_manifest(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(
            app, ["report", "-f", str(SEED_RT), "--root", str(ROOT), "--build", str(tmp_path)]
        )
        assert result.exit_code == 1, result.output
        assert (tmp_path / "files" / "report.md").is_file()
        assert (tmp_path / "files" / "report" / "d.png").is_file()

    def test_bad_file(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text("kind: [unclosed\n")
        result = CliRunner().invoke(
            app, ["report", "-f", str(bad), "--root", str(ROOT), "--build", str(tmp_path)]
        )
        assert result.exit_code == 2, result.output
        assert "bad.yaml:" in result.output

    def test_nothing_to_draw(self, tmp_path: Path) -> None:
        service = tmp_path / "svc.yaml"
        service.write_text(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: rt\nspec:\n  selector:\n"
            "    app: rt\n  ports:\n    - port: 80\n"
        )
        result = CliRunner().invoke(
            app, ["report", "-f", str(service), "--root", str(ROOT), "--build", str(tmp_path)]
        )
        assert result.exit_code == 2, result.output
        assert "nothing to draw" in result.output
        assert not (tmp_path / "files" / "report.md").exists()
