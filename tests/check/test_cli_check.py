"""`hitless check` on the command line: any one input is enough, formats, exit codes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from hitless.cli import app

runner = CliRunner()

A_CONF = textwrap.dedent("""\
    events {}
    worker_shutdown_timeout 120s;
    http {
        keepalive_timeout 650s;
        client_max_body_size 64m;
        upstream b { server 10.0.1.10:8000; server 10.0.1.11:8000; }
        server { listen 8080; location / { proxy_read_timeout 120s; proxy_pass http://b; } }
    }
    """)


def test_nginx_a_alone(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text(A_CONF)
    result = runner.invoke(app, ["check", "--nginx-a", str(conf)])
    assert result.exit_code == 0, result.output
    assert "1 objects judged" in result.output


def test_sarif_and_json(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text(A_CONF.replace("64m", "1m"))
    sarif = runner.invoke(app, ["check", "--nginx-a", str(conf), "--format", "sarif"])
    assert sarif.exit_code == 1, sarif.output
    log = json.loads(sarif.output)
    assert log["version"] == "2.1.0"
    assert any(r["ruleId"] == "chain-body-size-accepted" for r in log["runs"][0]["results"])
    document = json.loads(
        runner.invoke(app, ["check", "--nginx-a", str(conf), "--format", "json"]).output
    )
    assert document["summary"]["exit_code"] == 1


def test_folder_and_nothing_judged(tmp_path: Path) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "sts.yaml").write_text(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\n"
    )
    result = runner.invoke(app, ["check", "-f", str(tmp_path / "k8s")])
    assert result.exit_code == 2, result.output
    assert "0 objects judged; 1 not judged" in result.output  # no pod template to judge


def test_no_input_and_wrong_tier(tmp_path: Path) -> None:
    assert runner.invoke(app, ["check"]).exit_code == 2
    conf = tmp_path / "b.conf"
    conf.write_text("events {}\nstream { server { listen 1; proxy_pass 10.0.0.1:1; } }\n")
    result = runner.invoke(app, ["check", "--nginx-a", str(conf)])
    assert result.exit_code == 2
    assert f"{conf}:0: tier A expects an http reverse proxy" in result.output
