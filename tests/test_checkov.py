"""An outside scanner agrees with the security baseline: checkov over what `hitless preview`
writes for dev and prod (Kubernetes manifests, the GCP resources as a Terraform plan, every
artifact for secrets), offline (`--skip-download`).

checkov lives in its own virtualenv (`make checkov-env`, a prerequisite of `make test`), since
its dependencies clash with Pulumi's. Every failed check must be listed in `.checkov.yaml` with
a one-line reason, and every listed check must still be needed.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hitless.cli import app
from hitless.tfplan import UNKNOWN, attribute, snake, terraform_plan, unconverted
from tests.conftest import ROOT

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
"""checkov in its own virtualenv (created by `make checkov-env`)."""
CONFIG = ROOT / ".checkov.yaml"
"""The skip list with reasons."""
FRAMEWORKS = ("kubernetes", "terraform_plan", "secrets")
"""checkov's frameworks run over build/<stack>/."""
TIMEOUT_SECONDS = 300
"""Longest a checkov run may take."""


def checkov(target: Path, config: Path, *frameworks: str) -> list[dict[str, Any]]:
    """checkov's JSON reports for `target` (one per framework with results)."""
    assert CHECKOV.exists(), f"checkov is not installed ({CHECKOV}); run `make checkov-env`"
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(target),
            "--framework",
            *frameworks,
            "--config-file",
            str(config),
            "--skip-download",
            "-o",
            "json",
        ],
        # Not the repository: checkov would also read ./.checkov.yaml from its working dir.
        cwd=target,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    parsed = json.loads(result.stdout)
    return parsed if isinstance(parsed, list) else [parsed]


def skip_list() -> dict[str, str]:
    """`.checkov.yaml`'s skip-check ids with their reasons (the comment on each line)."""
    reasons: dict[str, str] = {}
    for line in CONFIG.read_text().splitlines():
        match = re.match(r"^\s*-\s*(CKV\w+)\s*#\s*(\S.*)$", line)
        if match:
            reasons[match.group(1)] = match.group(2)
    return reasons


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`hitless preview` of dev and prod into one build directory."""
    out = tmp_path_factory.mktemp("build")
    for stack in ("dev", "prod"):
        result = CliRunner().invoke(
            app, ["preview", "--stack", stack, "--root", str(ROOT), "--build", str(out)]
        )
        assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def reports(
    build: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict[str, Any]]]:
    """checkov's reports per stack, run without the skip list (the test applies it)."""
    config = tmp_path_factory.mktemp("checkov") / "config.yaml"
    # The same config minus skip-check: every failure is reported, the test matches the list.
    data = yaml.safe_load(CONFIG.read_text())
    data.pop("skip-check")
    config.write_text(yaml.safe_dump(data))
    return {stack: checkov(build / stack, config, *FRAMEWORKS) for stack in ("dev", "prod")}


def failed_ids(report: dict[str, Any]) -> list[str]:
    return [check["check_id"] for check in report.get("results", {}).get("failed_checks", [])]


class TestSkipList:
    """Each skipped check says why, on its own line."""

    def test_every_entry_has_a_reason(self) -> None:
        listed = yaml.safe_load(CONFIG.read_text())["skip-check"]
        reasons = skip_list()
        assert listed, "the skip list is empty: remove skip-check instead"
        assert set(listed) == set(reasons), "an entry without a `# reason`"
        assert all(len(reason) > 20 for reason in reasons.values()), reasons
        assert yaml.safe_load(CONFIG.read_text())["skip-download"] is True


class TestCheckovAgrees:
    """0 failed checks on dev and prod except the listed ones; no stale entry in the list."""

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_frameworks_ran(self, reports: dict[str, list[dict[str, Any]]], stack: str) -> None:
        kinds = {report.get("check_type"): report for report in reports[stack]}
        for framework in ("kubernetes", "terraform_plan"):
            summary = kinds[framework]["summary"]
            assert summary["resource_count"] > 10, (framework, summary)
            assert summary["passed"] > 100, (framework, summary)
            assert summary["parsing_errors"] == 0, (framework, summary)

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_only_listed_failures(
        self, reports: dict[str, list[dict[str, Any]]], stack: str
    ) -> None:
        allowed = skip_list()
        unlisted = [
            f"{report.get('check_type')}: {check['check_id']} {check['resource']} "
            f"({check['check_name']})"
            for report in reports[stack]
            for check in report.get("results", {}).get("failed_checks", [])
            if check["check_id"] not in allowed
        ]
        assert not unlisted, "\n".join(unlisted)

    def test_no_stale_skip(self, reports: dict[str, list[dict[str, Any]]]) -> None:
        seen = {check for stack in reports.values() for r in stack for check in failed_ids(r)}
        assert set(skip_list()) <= seen, set(skip_list()) - seen


class TestSecretsScannerRuns:
    """The secrets framework is not silently inert: a planted private key is found."""

    def test_planted_key_found(self, tmp_path: Path) -> None:
        body = base64.b64encode(secrets.token_bytes(600)).decode()
        lines = "".join(f"  {body[i : i + 64]}\n" for i in range(0, len(body), 64))
        (tmp_path / "leak.yaml").write_text(
            "key: |\n  -----BEGIN RSA PRIVATE KEY-----\n"
            + lines
            + "  -----END RSA PRIVATE KEY-----\n"
        )
        found = [i for r in checkov(tmp_path, CONFIG, "secrets") for i in failed_ids(r)]
        assert "CKV_SECRET_13" in found, found


class TestTerraformPlan:
    """resources.json as a Terraform plan: Terraform's names, unknowns as after_unknown."""

    def test_names(self) -> None:
        assert snake("enableIntegrityMonitoring") == "enable_integrity_monitoring"
        assert snake("masterIpv4CidrBlock") == "master_ipv4_cidr_block"
        assert attribute("allows") == "allow"
        assert attribute("networkInterfaces") == "network_interface"

    def test_convert(self) -> None:
        resources: list[dict[str, Any]] = [
            {
                "type": "gcp:compute/firewall:Firewall",
                "name": "main-a-fw-serve",
                "custom": True,
                "props": {
                    "network": UNKNOWN,
                    "allows": [{"protocol": "tcp", "ports": ["80"]}],
                    "sourceRanges": ["35.191.0.0/16"],
                    "labels": {"hitless-chain": "main"},
                    "priority": 1000.0,
                },
            },
            {"type": "pulumi:providers:kubernetes", "name": "k8s", "custom": True, "props": {}},
            {"type": "gcp:compute/sharedVPCHostProject:SharedVPCHostProject", "name": "x"},
        ]
        plan = terraform_plan(resources)
        (res,) = plan["planned_values"]["root_module"]["resources"]
        assert res["address"] == "google_compute_firewall.main-a-fw-serve"
        assert res["values"] == {
            "allow": [{"protocol": "tcp", "ports": ["80"]}],
            "source_ranges": ["35.191.0.0/16"],
            "labels": {"hitless-chain": "main"},
            "priority": 1000,
        }
        (change,) = plan["resource_changes"]
        assert change["change"]["after_unknown"] == {"network": True}
        assert plan["terraform_version"]
        assert unconverted(resources) == ["gcp:compute/sharedVPCHostProject:SharedVPCHostProject"]

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_stacks_fully_converted(self, build: Path, stack: str) -> None:
        resources = json.loads((build / stack / "resources.json").read_text())
        assert unconverted(resources) == [], stack
        plan = json.loads((build / stack / "tfplan.json").read_text())
        converted = plan["planned_values"]["root_module"]["resources"]
        gcp = [r for r in resources if r["type"].startswith("gcp:") and r["custom"]]
        assert len(converted) == len(gcp), stack
