"""The CLI end to end: preview, check, explain and docs, with their exit codes and artifacts.

Exit codes are the CLI's contract with CI and with `make preview`: 0 clean, 1 a mandatory rule
fails, 2 bad input (stack file, config, unreadable file), with the key or file named.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from hitless.cli import app
from hitless.harness import Capture
from hitless.program import StackFileError, load_stack_file, run_stack
from hitless.render import COMPUTED, manifest_path, nginx_confs, readable, write_artifacts
from hitless.report import (
    exit_code,
    nginx_settings,
    resource_table,
    rollout_settings,
    short_type,
    tiers,
)
from hitless.report_md import README_BEGIN, README_END
from hitless_policy.identity import Tier
from tests.conftest import ROOT

runner = CliRunner()


def copy_project(tmp_path: Path) -> Path:
    """A copy of the project's program and stack files (components come from the install)."""
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, root / name)
    for stack in ROOT.glob("stacks/Pulumi.*.yaml"):
        shutil.copy(stack, root / "stacks" / stack.name)
    return root


def break_stack(root: Path, stack: str, key: str, field: str, value: object) -> None:
    """Set `hitless:<key>.<field>` of a copied stack file to `value` (of a list's first item)."""
    path = root / "stacks" / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    node = doc["config"][f"hitless:{key}"]
    (node[0] if isinstance(node, list) else node)[field] = value
    path.write_text(yaml.safe_dump(doc))


# --------------------------------------------------------------------------------------------
# Start-up and explain/docs: need only the config model
# --------------------------------------------------------------------------------------------


class TestHelp:
    """`hitless --help` lists the commands without importing Pulumi."""

    def test_commands_listed(self) -> None:
        result = runner.invoke(app, ["--help"])
        assert result.exit_code == 0
        for command in ("preview", "check", "explain", "docs"):
            assert command in result.output


class TestExplain:
    """`hitless explain` shows the numbers the docs and the rules use."""

    def test_dev(self) -> None:
        result = runner.invoke(app, ["explain", "--stack", "dev", "--root", str(ROOT)])
        assert result.exit_code == 0, result.output
        assert "longest request per tier" in result.output
        assert "SIGKILL" in result.output
        assert "NO" not in result.output.split()

    def test_unknown_stack(self) -> None:
        result = runner.invoke(app, ["explain", "--stack", "nope", "--root", str(ROOT)])
        assert result.exit_code == 2
        assert "Pulumi.nope.yaml does not exist" in result.output
        assert "dev, prod" in result.output

    def test_broken_stack(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        break_stack(root, "dev", "runtimes", "termination_grace_seconds", 20)
        result = runner.invoke(app, ["explain", "--stack", "dev", "--root", str(root)])
        assert result.exit_code == 2
        assert "hitless:runtimes.0.termination_grace_seconds = 20" in result.output
        assert "Traceback" not in result.output

    def test_no_project(self, tmp_path: Path) -> None:
        result = runner.invoke(app, ["explain", "--root", str(tmp_path)])
        assert result.exit_code == 2
        assert "no Pulumi.yaml" in result.output


class TestDocsCommand:
    """`hitless docs` regenerates both docs; the checked-in ones are current (test_docs)."""

    def test_writes_docs(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        (root / "docs").mkdir()
        shutil.copy(ROOT / "docs" / "timing.md", root / "docs" / "timing.md")
        readme = (ROOT / "README.md").read_text()
        # The README's generated chain diagram, emptied: `docs` must draw it again.
        begin, end = readme.index(README_BEGIN), readme.index(README_END)
        (root / "README.md").write_text(readme[:begin] + README_BEGIN + readme[end:])
        result = runner.invoke(app, ["docs", "--root", str(root)])
        assert result.exit_code == 0, result.output
        assert (root / "docs" / "config.md").read_text() == (ROOT / "docs/config.md").read_text()
        assert (root / "docs" / "timing.md").read_text() == (ROOT / "docs/timing.md").read_text()
        assert (root / "README.md").read_text() == readme

    def test_timing_without_markers(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        (root / "docs").mkdir()
        (root / "docs" / "timing.md").write_text("# timing\n")
        result = runner.invoke(app, ["docs", "--root", str(root)])
        assert result.exit_code == 2
        assert "missing the markers" in result.output

    def test_readme_without_markers(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        (root / "docs").mkdir()
        shutil.copy(ROOT / "docs" / "timing.md", root / "docs" / "timing.md")
        (root / "README.md").write_text("# hitless\n")
        result = runner.invoke(app, ["docs", "--root", str(root)])
        assert result.exit_code == 2
        assert "README.md: missing the markers" in result.output


# --------------------------------------------------------------------------------------------
# Program runner and artifacts, on a small program of our own
# --------------------------------------------------------------------------------------------

KONG_YML = """\
_format_version: "3.0"
services:
  - name: rt
    url: https://rt.rt.svc.cluster.local:8080
    connect_timeout: 2000
    read_timeout: 60000
    retries: 2
    routes:
      - name: rt
        paths: [/]
        request_buffering: true
"""

NGINX_A = """\
events {}
http {
    client_max_body_size 64m;
    keepalive_timeout 650s;
    worker_shutdown_timeout 150s;
    proxy_read_timeout 90s;
    upstream b { server 10.10.1.10:80; keepalive 64; keepalive_timeout 50s; }
}
"""

SMALL_PROGRAM = f"""
import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from hitless.components.config import PROJECT, load_stack_config
from hitless_policy.identity import Tier, gcp_labels, k8s_labels

values = {{
    key: pulumi.Config(PROJECT).get_object(key)
    for key in ("platform", "edge", "runtimes")
}}
load_stack_config({{k: v for k, v in values.items() if v is not None}}, pulumi.get_stack())


class Rt(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("hitless:rt:Runtime", name, None, None)
        labels = k8s_labels("main", Tier.D, "app")
        k8s.apps.v1.Deployment(
            f"{{name}}-deployment",
            metadata={{"name": "rt", "namespace": "rt", "labels": labels}},
            spec={{
                "replicas": 2,
                "selector": {{"matchLabels": {{"app": "rt"}}}},
                "strategy": {{"rollingUpdate": {{"maxSurge": 1, "maxUnavailable": 0}}}},
                "template": {{
                    "metadata": {{"labels": {{"app": "rt"}}}},
                    "spec": {{
                        "terminationGracePeriodSeconds": 75,
                        "containers": [{{
                            "name": "rt",
                            "image": "rt:1",
                            "lifecycle": {{"preStop": {{"sleep": {{"seconds": 15}}}}}},
                            "readinessProbe": {{"periodSeconds": 5, "httpGet": {{"port": 8080}}}},
                        }}],
                    }},
                }},
            }},
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s.core.v1.ConfigMap(
            f"{{name}}-unlabelled", data={{"x": "y"}}, opts=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({{}})


Rt("main-rt")
k8s.core.v1.ConfigMap(
    "kong-config",
    metadata={{
        "name": "kong", "namespace": "kong", "labels": k8s_labels("main", Tier.C, "config")
    }},
    data={{"kong.yml": {KONG_YML!r}}},
)
gcp.compute.InstanceTemplate(
    "main-a-template",
    machine_type="e2-small",
    disks=[{{"source_image": "debian-12", "boot": True}}],
    network_interfaces=[{{"network": "default"}}],
    labels=gcp_labels("main", Tier.A, "template"),
    metadata={{"nginx-conf": {NGINX_A!r}}},
)
net = gcp.compute.Network("main-net", auto_create_subnetworks=False)
gcp.compute.RegionBackendService(
    "main-b-backend",
    region="europe-west1",
    load_balancing_scheme="INTERNAL",
    timeout_sec=30,
    connection_draining_timeout_sec=150,
    network=net.self_link,
    description="[hitless chain=main tier=b role=backend] B",
)
"""


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """A project whose program registers a few resources of each kind the artifacts read."""
    root = copy_project(tmp_path)
    (root / "__main__.py").write_text(SMALL_PROGRAM)
    return root


@pytest.fixture
def small_capture(small_project: Path) -> Capture:
    return run_stack("dev", small_project, preview=True)


class TestLoadStackFile:
    """The stack file is read as the engine reads it: the `config:` mapping, full keys."""

    def test_dev(self) -> None:
        values = load_stack_file("dev", ROOT)
        assert values["gcp:project"] == "hitless-dev"
        assert values["hitless:runtimes"][0]["replicas"] == 2

    def test_missing(self, tmp_path: Path) -> None:
        with pytest.raises(StackFileError, match=r"Pulumi\.qa\.yaml does not exist"):
            load_stack_file("qa", tmp_path)

    def test_no_config_mapping(self, tmp_path: Path) -> None:
        (tmp_path / "stacks").mkdir()
        (tmp_path / "stacks" / "Pulumi.x.yaml").write_text("encryptionsalt: abc\n")
        with pytest.raises(StackFileError, match="no `config:` mapping"):
            load_stack_file("x", tmp_path)


class TestRunStack:
    """run_stack runs the program file with the stack's config under the mock runtime."""

    def test_captures_resources(self, small_capture: Capture) -> None:
        types = {res.type for res in small_capture.resources}
        assert "kubernetes:apps/v1:Deployment" in types
        assert "hitless:rt:Runtime" in types
        deployment = small_capture.named("main-rt-deployment")
        assert deployment.parent == small_capture.named("main-rt").urn

    def test_preview_leaves_outputs_unknown(self, small_capture: Capture) -> None:
        backend = small_capture.named("main-b-backend")
        assert "selfLink" not in small_capture.named("main-net").props
        assert backend.props["network"] != "default"

    def test_config_error_surfaces(self, small_project: Path) -> None:
        from hitless.components.config import StackConfigError

        break_stack(small_project, "dev", "runtimes", "replicas", 1)
        with pytest.raises(StackConfigError, match=r"hitless:runtimes\.0\.replicas = 1"):
            run_stack("dev", small_project)

    def test_restores_cwd(self, small_project: Path) -> None:
        before = Path.cwd()
        run_stack("dev", small_project)
        assert Path.cwd() == before


class TestArtifacts:
    """build/<stack>/ holds what reviewers and the nginx/kubeconform tests read."""

    def test_written(self, small_capture: Capture, tmp_path: Path) -> None:
        out = tmp_path / "build" / "dev"
        (out / "stale").mkdir(parents=True)
        write_artifacts(small_capture, out)
        assert not (out / "stale").exists()
        resources = json.loads((out / "resources.json").read_text())
        assert {res["name"] for res in resources} >= {"main-rt", "main-rt-deployment"}
        manifest = yaml.safe_load((out / "k8s" / "rt" / "deployment-rt.yaml").read_text())
        assert list(manifest)[:4] == ["apiVersion", "kind", "metadata", "spec"]
        assert manifest["kind"] == "Deployment"
        assert manifest["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 75
        assert yaml.safe_load((out / "kong" / "kong.yml").read_text())["services"][0]["retries"]
        assert (out / "nginx" / "a.conf").read_text() == NGINX_A
        assert not (out / "nginx" / "b.conf").exists()

    def test_unnamed_object_uses_logical_name(self, small_capture: Capture) -> None:
        res = small_capture.named("main-rt-unlabelled")
        assert manifest_path(res) == Path("k8s", "_cluster", "configmap-main-rt-unlabelled.yaml")

    def test_manifest_values_readable(self, small_capture: Capture) -> None:
        assert readable(small_capture.named("main-b-backend").props)["network"] == COMPUTED
        grace = readable(small_capture.named("main-rt-deployment").props)["spec"]["template"]
        assert type(grace["spec"]["terminationGracePeriodSeconds"]) is int

    def test_nginx_by_tier(self, small_capture: Capture) -> None:
        assert set(nginx_confs(small_capture)) == {Tier.A}


class TestResourceTable:
    """The preview table shows each resource's tier and the settings that decide its rollout."""

    def test_tiers(self, small_capture: Capture) -> None:
        tier_of = tiers(small_capture)
        by_name = {res.name: tier_of[res.urn] for res in small_capture.resources}
        assert by_name["main-rt-deployment"] == "d"
        assert by_name["main-rt"] == "d"
        assert by_name["main-rt-unlabelled"] == "d"
        assert by_name["main-b-backend"] == "b"
        assert by_name["main-net"] == "-"

    def test_deployment_settings(self, small_capture: Capture) -> None:
        text = rollout_settings(small_capture.named("main-rt-deployment"))
        for part in ("replicas=2", "maxSurge=1", "maxUnavailable=0", "grace=75"):
            assert part in text
        assert "preStop=sleep 15" in text
        assert "readiness=5s" in text

    def test_backend_settings(self, small_capture: Capture) -> None:
        text = rollout_settings(small_capture.named("main-b-backend"))
        assert "timeoutSec=30" in text
        assert "draining=150" in text

    def test_kong_and_nginx_settings(self, small_capture: Capture) -> None:
        kong = rollout_settings(small_capture.named("kong-config"))
        assert "retries=2" in kong
        assert "request_buffering=True" in kong
        assert nginx_settings(NGINX_A) == (
            "client_max_body_size=64m keepalive_timeout=650s/50s "
            "proxy_read_timeout=90s worker_shutdown_timeout=150s"
        )

    @pytest.mark.parametrize(
        ("token", "short"),
        [
            ("kubernetes:apps/v1:Deployment", "k8s Deployment"),
            ("gcp:compute/regionBackendService:RegionBackendService", "gcp RegionBackendService"),
            ("pulumi:providers:kubernetes", "provider kubernetes"),
        ],
    )
    def test_short_type(self, token: str, short: str) -> None:
        assert short_type(token) == short

    def test_table_lists_custom_resources(self, small_capture: Capture) -> None:
        table = resource_table(small_capture, "dev")
        assert table.row_count == sum(res.custom for res in small_capture.resources)

    def test_settings_printed_literally(self, small_capture: Capture) -> None:
        """Props text such as `[rt]` is shown as is, not read as rich markup."""
        from rich.console import Console

        console = Console(record=True, width=400)
        console.print(resource_table(small_capture, "dev"))
        assert "[rt] preStop=sleep 15" in console.export_text()


class TestExitCode:
    """Only a mandatory fail turns the exit code to 1; advisories and not-judged do not."""

    @pytest.mark.parametrize(
        ("verdicts", "code"),
        [
            ([], 0),
            ([("advisory", "fail"), ("mandatory", "not-judged"), ("mandatory", "pass")], 0),
            ([("mandatory", "fail")], 1),
        ],
    )
    def test_exit_code(self, verdicts: list[tuple[str, str]], code: int) -> None:
        from types import SimpleNamespace

        items = [
            SimpleNamespace(rule="r", resource="x", level=level, status=status, message="")
            for level, status in verdicts
        ]
        assert exit_code(items) == code


# --------------------------------------------------------------------------------------------
# The real program and the policy pack (integration: needs __main__.py's components, the
# policy runner and hitless.check)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def previews(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, Path]]:
    """`hitless preview` of each checked-in stack: exit code, output, build directory."""
    build = tmp_path_factory.mktemp("build")
    out: dict[str, tuple[int, str, Path]] = {}
    for stack in ("dev", "prod"):
        result = runner.invoke(
            app, ["preview", "--stack", stack, "--root", str(ROOT), "--build", str(build)]
        )
        out[stack] = (result.exit_code, result.output, build / stack)
    return out


class TestPreview:
    """`make preview` on a fresh clone: clean exit, every artifact written, policy judged."""

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_clean(self, previews: dict[str, tuple[int, str, Path]], stack: str) -> None:
        code, output, _ = previews[stack]
        assert code == 0, output

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_artifacts(self, previews: dict[str, tuple[int, str, Path]], stack: str) -> None:
        _, _, out = previews[stack]
        resources = json.loads((out / "resources.json").read_text())
        types = {res["type"] for res in resources}
        assert "kubernetes:apps/v1:Deployment" in types
        deployments = list((out / "k8s").glob("*/deployment-*.yaml"))
        assert len(deployments) >= 2, "Kong and the runtime"
        assert (out / "k8s" / "rt").is_dir()
        assert (out / "kong" / "kong.yml").is_file()
        assert "worker_shutdown_timeout" in (out / "nginx" / "a.conf").read_text()
        assert "stream" in (out / "nginx" / "b.conf").read_text()
        assert "SIGKILL" in (out / "budget.md").read_text()
        pack_config = json.loads((out / "policy-pack-config.json").read_text())
        profile = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
        wanted = profile["config"]["hitless:profile"]
        for rule_config in pack_config.values():
            assert wanted.items() <= rule_config["profile"].items()
        verdicts = json.loads((out / "policy.json").read_text())
        assert {v["rule"] for v in verdicts} <= set(pack_config)
        assert not [v for v in verdicts if v["level"] == "mandatory" and v["status"] == "fail"]

    def test_broken_stack_exits_2(self, tmp_path: Path) -> None:
        root = copy_project(tmp_path)
        break_stack(root, "prod", "runtimes", "termination_grace_seconds", 20)
        result = runner.invoke(
            app, ["preview", "--stack", "prod", "--root", str(root), "--build", str(tmp_path)]
        )
        assert result.exit_code == 2, result.output
        assert "hitless:runtimes.0.termination_grace_seconds = 20" in result.output
        assert "Traceback" not in result.output
        assert not (tmp_path / "prod").exists()


@pytest.fixture(scope="module")
def dev_build(previews: dict[str, tuple[int, str, Path]]) -> Path:
    """The dev stack's build directory, written by the preview."""
    return previews["dev"][2]


class TestCheck:
    """`hitless check` judges existing files with the same rules and exit codes."""

    def args(self, build: Path, manifests: list[Path]) -> list[str]:
        out = ["check"]
        for path in manifests:
            out += ["-f", str(path)]
        nginx = build / "nginx"
        return [*out, "--nginx-a", str(nginx / "a.conf"), "--nginx-b", str(nginx / "b.conf")]

    def test_rendered_chain_is_clean(self, dev_build: Path) -> None:
        manifests = sorted((dev_build / "k8s").rglob("*.yaml"))
        result = runner.invoke(app, self.args(dev_build, manifests))
        assert result.exit_code == 0, result.output

    def test_json_format(self, dev_build: Path) -> None:
        manifests = sorted((dev_build / "k8s").rglob("*.yaml"))
        result = runner.invoke(app, [*self.args(dev_build, manifests), "--format", "json"])
        assert result.exit_code == 0, result.output
        document = json.loads(result.output)
        assert {v["status"] for v in document["verdicts"]} <= {"pass", "fail", "not-judged"}
        assert document["summary"]["exit_code"] == 0
        assert document["summary"]["judged"] > 0

    def test_users_rollout_fails(self, dev_build: Path, tmp_path: Path) -> None:
        """The user's RT: maxUnavailable 1, maxSurge 2, readiness every 20 s, no preStop."""
        manifests = sorted((dev_build / "k8s").rglob("*.yaml"))
        rt_path = next(p for p in manifests if p.parent.name == "rt" and "deployment-" in p.name)
        rt = yaml.safe_load(rt_path.read_text())
        rt["spec"]["strategy"] = {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 2},
        }
        pod = rt["spec"]["template"]["spec"]
        for container in pod["containers"]:
            container.pop("lifecycle", None)
            container.setdefault("readinessProbe", {})["periodSeconds"] = 20
        broken = tmp_path / "rt-deployment.yaml"
        broken.write_text(yaml.safe_dump(rt))
        result = runner.invoke(
            app, self.args(dev_build, [broken if p == rt_path else p for p in manifests])
        )
        assert result.exit_code == 1, result.output
        assert "deployment-rolling-update-hitless" in result.output

    def test_unreadable_manifest(self, dev_build: Path, tmp_path: Path) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text(
            textwrap.dedent("""\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: [unclosed
            """)
        )
        result = runner.invoke(app, ["check", "-f", str(bad)])
        assert result.exit_code == 2, result.output
        assert f"{bad}:" in result.output


class TestRuntimeOption:
    """`--runtime NAME` picks the path a tier D command replays; an unknown name exits 2."""

    def test_simulate_the_short_api(self) -> None:
        result = runner.invoke(
            app,
            [
                "simulate",
                "--stack",
                "prod",
                "--tier",
                "d",
                "--runtime",
                "quote",
                "--format",
                "json",
            ],
        )
        assert result.exit_code == 0, result.output
        document = json.loads(result.output)
        [tier] = document["tiers"]
        assert tier["summary"]["title"] == "D: runtime Deployment quote"
        [run] = tier["runs"]
        settings = {item["what"]: item for item in run["settings"]}
        # The short API's own grace and promise (1 MiB, 5 s), not the upload API's.
        assert settings["terminationGracePeriodSeconds"]["value"] == "45"
        assert settings["replicas"]["source"].endswith("::main-quote-deployment")
        upload = settings["upload: body / slowest client / internal hop"]
        assert upload["value"].startswith("1 MiB / ")
        assert upload["source"] == "profile of the path to quote"
        assert settings["runtime work per upload (s)"]["value"] == "drawn in [0, 5]"
        assert tier["summary"]["failed"]["max"] == 0

    def test_unknown_runtime(self) -> None:
        result = runner.invoke(app, ["simulate", "--stack", "prod", "--runtime", "nope"])
        assert result.exit_code == 2, result.output
        assert "--runtime nope: no such runtime Deployment (found: quote, rt)" in result.output
