"""The rendered nginx.conf of tiers A and B: accepted by the real nginx, gixy-clean, and saying
what the stack config says (read back with crossplane, not by substring).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import crossplane
import pytest

from hitless.components.config import StackConfig
from hitless.components.nginx_conf import (
    DRAIN_FLAG_PATH,
    HEALTH_PATH,
    KONG_UPSTREAM,
    PID_PATH,
    RELAY_UPSTREAM,
    STREAM_MODULE_PATH,
    render_edge_conf,
    render_relay_conf,
    worker_shutdown_timeout_seconds,
)

Directive = dict[str, Any]

GIXY = Path(sys.executable).with_name("gixy")
"""gixy-ng in the project's virtualenv."""
GIXY_BLOCKING = {"MEDIUM", "HIGH"}
"""gixy severities a rendered conf must not have."""
GIXY_ACCEPTED: dict[str, str] = {}
"""gixy plugin -> why its finding is accepted. Empty: both confs are clean at every level."""


def edge_conf(cfg: StackConfig) -> str:
    """A's conf as __main__.py renders it."""
    net = cfg.platform.network
    return render_edge_conf(
        cfg.edge, str(net.b_ilb_address), cfg.relay.listen_port, cfg.edge.mig.health_port
    )


def relay_conf(cfg: StackConfig) -> str:
    """B's conf as __main__.py renders it."""
    net = cfg.platform.network
    return render_relay_conf(
        cfg.relay, str(net.kong_ilb_address), cfg.kong.service_port, cfg.relay.mig.health_port
    )


@pytest.fixture(params=["a", "b"])
def tier(request: pytest.FixtureRequest) -> str:
    """Each nginx tier."""
    return str(request.param)


@pytest.fixture
def conf_file(tmp_path: Path, stack_config: StackConfig, tier: str) -> Path:
    """The tier's rendered conf of each stack, written to a file as the VM gets it."""
    path = tmp_path / f"nginx-{tier}.conf"
    path.write_text(edge_conf(stack_config) if tier == "a" else relay_conf(stack_config))
    return path


def parsed(path: Path) -> list[Directive]:
    """The conf parsed back with crossplane (the policy pack's parser)."""
    payload = crossplane.parse(str(path), single=True, comments=False)
    assert payload["status"] == "ok", payload["errors"]
    return list(payload["config"][0]["parsed"])


def walk(block: list[Directive]) -> Iterator[Directive]:
    for directive in block:
        yield directive
        yield from walk(directive.get("block", []))


def find(block: list[Directive], name: str, *args: str) -> Directive:
    """The one directive `name` (whose args start with `args`) directly in `block`."""
    found = [d for d in block if d["directive"] == name and d["args"][: len(args)] == list(args)]
    assert len(found) == 1, f"expected one `{name} {' '.join(args)}`, found {len(found)}"
    return found[0]


def server_listening(http: list[Directive], port: int) -> list[Directive]:
    """The block of the http `server` that listens on `port`."""
    servers = [
        d["block"]
        for d in http
        if d["directive"] == "server" and find(d["block"], "listen")["args"][0] == str(port)
    ]
    assert len(servers) == 1, f"expected one server listening on {port}, found {len(servers)}"
    return list(servers[0])


def args_of(block: list[Directive], name: str) -> list[str]:
    return list(find(block, name)["args"])


@pytest.mark.nginx
class TestNginxAcceptsConf:
    """The conf the VM runs must pass `nginx -t`, or the startup script fails and no instance of
    the tier ever turns healthy: a rollout would stall with the old template still serving.
    """

    def test_nginx_t(self, conf_file: Path) -> None:
        nginx = shutil.which("nginx")
        assert nginx, "nginx is not installed: the nginx -t tests need Debian's nginx (make setup)"
        assert Path(STREAM_MODULE_PATH).exists(), (
            f"{STREAM_MODULE_PATH} missing: install libnginx-mod-stream (make setup)"
        )
        # -e stderr: nginx's own start-up log goes to the test output; the conf is unchanged.
        result = subprocess.run(
            [nginx, "-t", "-e", "stderr", "-c", str(conf_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"nginx -t rejected {conf_file}:\n{result.stderr}"
        assert "test is successful" in result.stderr


class TestGixyClean:
    """A gixy finding of medium or high severity is a known nginx security pitfall (header
    spoofing, SSRF, version disclosure); the edge tier faces the internet through the LB.
    """

    def test_no_medium_or_high_issue(self, conf_file: Path) -> None:
        assert GIXY.exists(), f"gixy-ng is not installed in the virtualenv ({GIXY})"
        result = subprocess.run(
            [str(GIXY), "-f", "json", str(conf_file)], capture_output=True, text=True, check=False
        )
        issues = json.loads(result.stdout or "[]")
        blocking = [
            f"{issue['plugin']} ({issue['severity']}): {issue['summary']} at line {issue['line']}"
            for issue in issues
            if issue["severity"] in GIXY_BLOCKING and issue["plugin"] not in GIXY_ACCEPTED
        ]
        assert not blocking, f"gixy on {conf_file}:\n" + "\n".join(blocking)


class TestEdgeConfSaysTheConfig:
    """Every number of A's conf is a number a chain rule bounds; the conf must carry exactly the
    validated config, or the policy would judge one chain and the VM would run another.
    """

    @pytest.fixture
    def conf(self, tmp_path: Path, stack_config: StackConfig) -> list[Directive]:
        path = tmp_path / "a.conf"
        path.write_text(edge_conf(stack_config))
        return parsed(path)

    def test_main_context(self, conf: list[Directive], stack_config: StackConfig) -> None:
        edge = stack_config.edge
        assert args_of(conf, "worker_shutdown_timeout") == [
            f"{edge.worker_shutdown_timeout_seconds}s"
        ]
        assert args_of(conf, "pid") == [PID_PATH]
        assert not [d for d in conf if d["directive"] == "load_module"]

    def test_http_settings(self, conf: list[Directive], stack_config: StackConfig) -> None:
        edge = stack_config.edge
        http = find(conf, "http")["block"]
        expected = {
            "client_max_body_size": [f"{edge.client_max_body_mib}m"],
            "client_body_timeout": [f"{edge.client_body_timeout_seconds}s"],
            "keepalive_timeout": [f"{edge.keepalive_timeout_seconds}s"],
            "keepalive_requests": [str(edge.keepalive_requests)],
            "proxy_request_buffering": ["on"],
            "proxy_http_version": ["1.1"],
            "proxy_connect_timeout": [f"{edge.proxy_connect_timeout_seconds}s"],
            "proxy_send_timeout": [f"{edge.proxy_send_timeout_seconds}s"],
            "proxy_read_timeout": [f"{edge.proxy_read_timeout_seconds}s"],
            "proxy_next_upstream": ["error", "timeout"],
            "proxy_next_upstream_tries": [str(edge.proxy_next_upstream_tries)],
        }
        for name, value in expected.items():
            assert args_of(http, name) == value, name
        assert edge.keepalive_timeout_seconds > 600

    def test_never_retries_non_idempotent(self, conf: list[Directive]) -> None:
        for directive in walk(conf):
            if directive["directive"] == "proxy_next_upstream":
                assert "non_idempotent" not in directive["args"]

    def test_upstream_pool(self, conf: list[Directive], stack_config: StackConfig) -> None:
        edge, net = stack_config.edge, stack_config.platform.network
        upstream = find(find(conf, "http")["block"], "upstream", RELAY_UPSTREAM)["block"]
        # Exactly one server (B's ILB): A makes one try, retries stay at Kong (chain-retries-safe).
        assert args_of(upstream, "server") == [
            f"{net.b_ilb_address}:{stack_config.relay.listen_port}"
        ]
        assert args_of(upstream, "keepalive") == [str(edge.upstream_keepalive_connections)]
        assert args_of(upstream, "keepalive_timeout") == [
            f"{edge.upstream_keepalive_timeout_seconds}s"
        ]
        assert args_of(upstream, "keepalive_time") == [f"{edge.upstream_keepalive_time_seconds}s"]
        assert len(args_of(upstream, "keepalive_requests")) == 1

    def test_serving_server_proxies_with_keepalive_headers(
        self, conf: list[Directive], stack_config: StackConfig
    ) -> None:
        http = find(conf, "http")["block"]
        serving = server_listening(http, stack_config.edge.listen_port)
        headers = {
            d["args"][0]: d["args"][1:] for d in serving if d["directive"] == "proxy_set_header"
        }
        assert headers["Connection"] == [""]
        assert headers["Host"] == ["$host"]
        assert headers["X-Forwarded-For"] == ["$proxy_add_x_forwarded_for"]
        location = find(serving, "location", "/")["block"]
        assert args_of(location, "proxy_pass") == [f"http://{RELAY_UPSTREAM}"]
        assert not [d for d in walk(location) if d["directive"] == "proxy_set_header"], (
            "a proxy_set_header in the location would drop the server's headers"
        )


class TestRelayConfSaysTheConfig:
    """B's stream timeouts bound the silence inside a request and the drain; they must be the
    validated config, and the stream module must be Debian's, or nginx -t fails on the VM.
    """

    @pytest.fixture
    def conf(self, tmp_path: Path, stack_config: StackConfig) -> list[Directive]:
        path = tmp_path / "b.conf"
        path.write_text(relay_conf(stack_config))
        return parsed(path)

    def test_main_context(self, conf: list[Directive], stack_config: StackConfig) -> None:
        assert conf[0]["directive"] == "load_module"
        assert conf[0]["args"] == [STREAM_MODULE_PATH]
        assert args_of(conf, "worker_shutdown_timeout") == [
            f"{stack_config.relay.worker_shutdown_timeout_seconds}s"
        ]

    def test_stream_proxy(self, conf: list[Directive], stack_config: StackConfig) -> None:
        relay, net = stack_config.relay, stack_config.platform.network
        stream = find(conf, "stream")["block"]
        upstream = find(stream, "upstream", KONG_UPSTREAM)["block"]
        assert args_of(upstream, "server") == [
            f"{net.kong_ilb_address}:{stack_config.kong.service_port}"
        ]
        server = find(stream, "server")["block"]
        assert args_of(server, "listen") == [str(relay.listen_port)]
        assert args_of(server, "proxy_pass") == [KONG_UPSTREAM]
        assert args_of(server, "proxy_connect_timeout") == [
            f"{relay.proxy_connect_timeout_seconds}s"
        ]
        assert args_of(server, "proxy_timeout") == [f"{relay.proxy_timeout_seconds}s"]


class TestHealthEndpointDrains:
    """The shutdown script's drain flag must turn /healthz into 503 on the health port, or the
    LB keeps sending new requests to an instance that is about to quit.
    """

    def test_health_server(self, conf_file: Path, stack_config: StackConfig, tier: str) -> None:
        mig = stack_config.edge.mig if tier == "a" else stack_config.relay.mig
        http = find(parsed(conf_file), "http")["block"]
        health = server_listening(http, mig.health_port)
        location = find(health, "location", "=", HEALTH_PATH)["block"]
        condition = find(location, "if")
        assert condition["args"] == ["-f", DRAIN_FLAG_PATH]
        assert args_of(condition["block"], "return")[0] == "503"
        assert args_of(location, "return")[0] == "200"


class TestWorkerShutdownTimeoutReadBack:
    """The shutdown script bounds its wait by the conf's own worker_shutdown_timeout."""

    def test_reads_rendered_value(self, stack_config: StackConfig) -> None:
        assert (
            worker_shutdown_timeout_seconds(edge_conf(stack_config))
            == stack_config.edge.worker_shutdown_timeout_seconds
        )
        assert (
            worker_shutdown_timeout_seconds(relay_conf(stack_config))
            == stack_config.relay.worker_shutdown_timeout_seconds
        )

    def test_missing_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="worker_shutdown_timeout"):
            worker_shutdown_timeout_seconds("events {}\n")


class TestBadInputsFailEarly:
    """An empty next-hop address or a non-port renders a conf nginx rejects only on the VM."""

    def test_empty_relay_address(self, dev_config: StackConfig) -> None:
        with pytest.raises(ValueError, match="relay_address"):
            render_edge_conf(dev_config.edge, "", 80, 8081)

    def test_bad_kong_port(self, dev_config: StackConfig) -> None:
        with pytest.raises(ValueError, match="kong_port"):
            render_relay_conf(dev_config.relay, "10.20.0.10", 0, 8081)
