"""`hitless verify` with a cluster: pods and endpoints per second, and the rollout it starts.

The official `kubernetes` client talks to a loopback HTTP server that answers recorded API
responses (`tests/fixtures/kube/`: the Deployment, then three states of its pods and
EndpointSlices during a rollout), through a kubeconfig that points at 127.0.0.1. The load of the
same run goes to that server's `/health`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hitless.cli import app
from hitless.verify_kube import (
    RESTARTED_AT,
    KubeError,
    connect,
    label_selector,
    parse_duration,
    parse_restart,
    read_sample,
    restart,
)
from tests.conftest import ROOT

RECORDED = ROOT / "tests" / "fixtures" / "kube"
STATES = 3


@dataclass
class Recorded:
    """What the fake API server was asked."""

    gets: list[str] = field(default_factory=list)
    patches: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    pod_lists: int = 0


class _Handler(BaseHTTPRequestHandler):
    record: Recorded

    def log_message(self, *_: object) -> None:
        return

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        record = self.record
        record.gets.append(self.path)
        path = self.path.split("?")[0]
        if path == "/health":
            self._answer(200, b"ok", "text/plain")
        elif path == "/apis/apps/v1/namespaces/rt/deployments/rt":
            self._answer(200, (RECORDED / "deployment.json").read_bytes())
        elif path == "/api/v1/namespaces/rt/pods":
            state = min(record.pod_lists, STATES - 1)
            record.pod_lists += 1
            self._answer(200, (RECORDED / f"pods-{state}.json").read_bytes())
        elif path == "/apis/discovery.k8s.io/v1/namespaces/rt/endpointslices":
            state = min(record.pod_lists - 1, STATES - 1)
            self._answer(200, (RECORDED / f"endpointslices-{state}.json").read_bytes())
        else:
            body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
            self._answer(404, json.dumps(body).encode())

    def do_PATCH(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        self.record.patches.append((self.path, self.headers["Content-Type"], body))
        self._answer(200, (RECORDED / "deployment.json").read_bytes())


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[tuple[Path, Recorded, int]]:
    """A kubeconfig pointing at the recorded-response server on 127.0.0.1, and its record."""
    record = Recorded()
    handler = type("Handler", (_Handler,), {"record": record})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "lab", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "op", "user": {"token": "recorded"}}],
                "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "op"}}],
                "current-context": "lab",
            }
        )
    )
    yield kubeconfig, record, port
    server.shutdown()
    server.server_close()


class TestInputs:
    """--duration, --restart and their refusals."""

    @pytest.mark.parametrize(
        ("text", "seconds"), [("600", 600), ("90s", 90), ("10m", 600), ("0.5h", 1800)]
    )
    def test_durations(self, text: str, seconds: float) -> None:
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["ten", "10d", "-5", "0", "31m", "1h"])
    def test_bad_durations(self, text: str) -> None:
        with pytest.raises(ValueError, match="--duration"):
            parse_duration(text)

    def test_duration_cap_on_the_cli(self) -> None:
        result = CliRunner().invoke(
            app, ["verify", "--url", "http://edge.test/", "--duration", "1h"]
        )
        assert result.exit_code == 2
        assert "outside (0, 1800]" in result.output

    def test_restart_names_a_deployment(self) -> None:
        assert parse_restart("deployment/rt") == "rt"
        assert parse_restart("deploy/rt") == "rt"
        for bad in ("statefulset/rt", "deployment/", "rt", "deployment/RT"):
            with pytest.raises(ValueError, match="--restart"):
                parse_restart(bad)

    def test_restart_refused_without_kubeconfig(self) -> None:
        result = CliRunner().invoke(
            app,
            ["verify", "--url", "http://edge.test/", "--restart", "deployment/rt", "-n", "rt"],
        )
        assert result.exit_code == 2
        assert "need --kubeconfig" in result.output

    def test_selector_expressions(self) -> None:
        selector = {
            "matchLabels": {"app": "rt"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["d", "e"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }
        assert label_selector(selector) == "app=rt,tier in (d,e),!canary"


class TestRecordedApi:
    """The real client path against recorded responses."""

    def test_samples_follow_the_rollout(self, api_server: tuple[Path, Recorded, int]) -> None:
        kubeconfig, record, _ = api_server
        cluster = connect(kubeconfig, "rt", "rt", restart=False)
        assert cluster.selector == "app=rt"
        before, during, after = (read_sample(cluster, s) for s in range(3))
        assert before.summary() == (
            "pods 2/2 ready, 0 deleting; endpoints ready 2, serving 2, terminating 0"
        )
        # rt-5f8b-a terminating (deletionTimestamp, endpoint terminating, still serving),
        # rt-6c2d-c started and not ready; the kong-proxy slice's endpoint is not the RT's.
        assert [(p.name, p.ready, p.deleting) for p in during.pods] == [
            ("rt-5f8b-a", False, True),
            ("rt-5f8b-b", True, False),
            ("rt-6c2d-c", False, False),
        ]
        assert during.summary() == (
            "pods 1/3 ready, 1 deleting; endpoints ready 1, serving 2, terminating 1"
        )
        assert after.summary() == (
            "pods 2/2 ready, 0 deleting; endpoints ready 2, serving 2, terminating 0"
        )
        assert "labelSelector=app%3Drt" in next(g for g in record.gets if "/pods" in g)

    def test_restart_patches_restarted_at(self, api_server: tuple[Path, Recorded, int]) -> None:
        kubeconfig, record, _ = api_server
        cluster = connect(kubeconfig, "rt", "rt", restart=True)
        stamp = restart(cluster, datetime(2026, 12, 1, 2, 10, 30, tzinfo=UTC))
        assert stamp == "2026-12-01T02:10:30Z"
        assert record.patches == [
            (
                "/apis/apps/v1/namespaces/rt/deployments/rt",
                "application/strategic-merge-patch+json",
                {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}},
            )
        ]

    def test_unknown_deployment(self, api_server: tuple[Path, Recorded, int]) -> None:
        kubeconfig, _, _ = api_server
        with pytest.raises(
            KubeError, match="deployment/nope in namespace rt: the API answered 404"
        ):
            connect(kubeconfig, "rt", "nope", restart=False)


class TestVerifyCommand:
    """`hitless verify --kubeconfig … --restart deployment/rt -n rt` end to end."""

    @pytest.fixture(autouse=True)
    def _fresh_event_loop_policy(self) -> Iterator[None]:
        # The command's asyncio.run() leaves the main thread without an event loop; later tests
        # (Pulumi's mocks) expect the default policy's implicit one, as in a fresh process.
        yield
        asyncio.set_event_loop_policy(None)

    def _args(self, kubeconfig: Path, port: int) -> list[str]:
        return [
            "verify",
            "--url",
            f"http://127.0.0.1:{port}/health",
            "--duration",
            "4s",
            "--rate",
            "10",
            "--upload-share",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            "--restart",
            "deployment/rt",
            "-n",
            "rt",
        ]

    def test_not_confirmed_sends_nothing(self, api_server: tuple[Path, Recorded, int]) -> None:
        kubeconfig, record, port = api_server
        result = CliRunner().invoke(app, self._args(kubeconfig, port), input="n\n")
        assert result.exit_code == 2, result.output
        assert "not confirmed; nothing was sent" in result.output
        assert record.patches == []
        assert "/health" not in record.gets

    def test_restart_and_timeline(self, api_server: tuple[Path, Recorded, int]) -> None:
        kubeconfig, record, port = api_server
        started = datetime.now(UTC).replace(microsecond=0)
        result = CliRunner().invoke(app, self._args(kubeconfig, port), input="y\n")
        assert result.exit_code == 0, result.output
        assert len(record.patches) == 1
        _, content_type, body = record.patches[0]
        assert content_type == "application/strategic-merge-patch+json"
        stamp = body["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]  # type: ignore[index]
        assert datetime.fromisoformat(str(stamp)) >= started
        lines = result.output.splitlines()
        assert "second  sent  failures  | kubernetes" in lines
        rows = [line for line in lines if "| " in line and line.strip()[0].isdigit()]
        assert any("restarted deployment/rt" in row for row in rows), result.output
        assert any("1 deleting" in row and "terminating 1" in row for row in rows), result.output
        assert "measured:" in result.output
