"""Render the nginx.conf of tier A (L7 `http`) and tier B (L4 `stream`) with crossplane.

Owns: the whole text of `/etc/nginx/nginx.conf` on A's and B's instances, built as a crossplane
payload (a list of directives) and serialised with `crossplane.build`, so quoting and nesting
come from a real config builder, never from string templates. Every timeout comes from the
`EdgeConfig`/`RelayConfig` models; the next hop is the *reserved* internal address from the stack
config (a plain value), so the rendered text, and every number a policy reads from it, is known
during the preview of a brand-new stack.

Where each value lives (what a policy reads after parsing the text with crossplane):

- main context: `worker_shutdown_timeout` (both tiers), `pid /run/nginx.pid` (Debian's unit),
  and on B `load_module` of Debian's stream module.
- A, `http {}`: `client_max_body_size`, `client_body_timeout`, `keepalive_timeout`,
  `keepalive_requests`, `proxy_request_buffering`, `proxy_http_version`,
  `proxy_connect_timeout`, `proxy_send_timeout`, `proxy_read_timeout`, `proxy_next_upstream`,
  `proxy_next_upstream_tries`; `upstream relay {}` holds the pool settings (`keepalive`,
  `keepalive_timeout`, `keepalive_time`, `keepalive_requests`); the serving `server {}` holds the
  `proxy_set_header` lines, the HSTS `add_header` and `location / { proxy_pass http://relay; }`.
- B, `stream {}`: `upstream kong {}` and a `server {}` with `listen`, `proxy_pass kong`,
  `proxy_connect_timeout`, `proxy_timeout`.
- Both: an `http {}` health `server {}` on the health port whose `location = /healthz` answers
  503 while the drain flag file exists (the shutdown script creates it) and 200 otherwise.

Deliberately not here: parsing (the policy pack parses with crossplane itself), installing nginx
and shipping the file to the VM (`gce_scripts`, `nginx_tier`), TLS (the external LB terminates
it; A only adds the HSTS header), and any per-route configuration (A forwards everything to B;
routing is Kong's job).
"""

from __future__ import annotations

import re
from typing import Any

import crossplane

from hitless.components.config import EdgeConfig, RelayConfig

Directive = dict[str, Any]
"""One crossplane payload entry: `{"directive", "args", "block"?}` or a comment."""

DRAIN_FLAG_PATH = "/run/nginx-draining"
"""While this file exists `/healthz` answers 503, so the LB health check drains the instance.

`/run` is a tmpfs: a rebooted instance never starts out draining.
"""
PID_PATH = "/run/nginx.pid"
"""nginx's pid file; Debian's `nginx.service` (PIDFile=) and `nginx -s quit` both read it."""
STREAM_MODULE_PATH = "/usr/lib/nginx/modules/ngx_stream_module.so"
"""Debian's dynamic stream module (package `libnginx-mod-stream`)."""
HEALTH_PATH = "/healthz"
"""Path the LB and autohealing health checks request on the health port."""
ERROR_LOG = "/var/log/nginx/error.log"
"""Error log (Debian's log directory, rotated by the package's logrotate rule)."""
ACCESS_LOG = "/var/log/nginx/access.log"
"""Access log of A's requests and of B's TCP sessions."""
RUN_USER = "www-data"
"""Unprivileged user of the worker processes (Debian's nginx user)."""
WORKER_CONNECTIONS = 8192
"""Connections per worker: each proxied request holds two (client side and upstream side)."""
WORKER_RLIMIT_NOFILE = 65536
"""File descriptors per worker; above 2 x WORKER_CONNECTIONS plus temp files of buffered bodies."""
UPSTREAM_KEEPALIVE_REQUESTS = 1000
"""Requests per pooled A->B connection before A closes it (nginx's default, stated explicitly).

When A reaches it, A closes the connection after a complete response, which is race-free;
`keepalive_time` is what bounds the connection's life for B's drain.
"""
RELAY_UPSTREAM = "relay"
"""Name of A's upstream block (B's internal LB)."""
KONG_UPSTREAM = "kong"
"""Name of B's stream upstream block (Kong's internal LB)."""

EDGE_LOG_FORMAT = (
    '$remote_addr - [$time_local] "$request" $status $body_bytes_sent $request_length '
    '"$http_user_agent" xff="$http_x_forwarded_for" rt=$request_time '
    "uct=$upstream_connect_time urt=$upstream_response_time ua=$upstream_addr "
    "us=$upstream_status rid=$request_id"
)
"""A's access log line: enough to tell a slow client from a slow upstream and a retried try."""
RELAY_LOG_FORMAT = (
    "$remote_addr [$time_local] $protocol $status $bytes_received $bytes_sent "
    "$session_time uct=$upstream_connect_time ua=$upstream_addr"
)
"""B's access log line, one per TCP session."""


_WORKER_SHUTDOWN_TIMEOUT = re.compile(r"^worker_shutdown_timeout\s+(\d+)s;$", re.MULTILINE)


def _d(directive: str, *args: object, block: list[Directive] | None = None) -> Directive:
    """One directive; arguments are stringified, a block makes it a block directive."""
    out: Directive = {"directive": directive, "args": [str(arg) for arg in args]}
    if block is not None:
        out["block"] = block
    return out


def _header(tier: str) -> str:
    """A comment line naming the renderer (crossplane would indent a leading comment)."""
    return (
        f"# tier {tier}: rendered by hitless components/nginx_conf.py; edits on the VM are lost\n"
    )


def _seconds(value: int) -> str:
    return f"{value}s"


def _check_port(field: str, value: int) -> None:
    if not 1 <= value <= 65535:
        raise ValueError(f"{field} {value} is not a TCP port (1-65535). Fix: pass a valid port.")


def _main_context(worker_shutdown_timeout_seconds: int) -> list[Directive]:
    return [
        _d("user", RUN_USER),
        _d("worker_processes", "auto"),
        _d("worker_rlimit_nofile", WORKER_RLIMIT_NOFILE),
        _d("pid", PID_PATH),
        _d("error_log", ERROR_LOG, "warn"),
        # Graceful quit (SIGQUIT) lets in-flight requests finish, but no longer than this: it must
        # cover the tier's longest request (rule chain-drain-covers-longest-request).
        _d("worker_shutdown_timeout", _seconds(worker_shutdown_timeout_seconds)),
        _d("events", block=[_d("worker_connections", WORKER_CONNECTIONS)]),
    ]


def health_server(health_port: int) -> Directive:
    """The http `server {}` answering `/healthz` on `health_port`: 503 while draining, else 200.

    `if (-f ...) { return ...; }` is one of the two constructs that are safe inside `if` (only
    `return`), so gixy's if_is_evil check stays clean.
    """
    _check_port("health_port", health_port)
    return _d(
        "server",
        block=[
            _d("listen", health_port, "default_server"),
            _d("server_name", "_"),
            _d("access_log", "off"),
            _d(
                "location",
                "=",
                HEALTH_PATH,
                block=[
                    _d("default_type", "text/plain"),
                    _d("if", "-f", DRAIN_FLAG_PATH, block=[_d("return", 503, "draining\n")]),
                    _d("return", 200, "ok\n"),
                ],
            ),
            _d("location", "/", block=[_d("return", 404)]),
        ],
    )


def hsts_value(edge: EdgeConfig) -> str:
    """The Strict-Transport-Security header value A adds (RFC 6797 `max-age`, subdomains)."""
    subdomains = "; includeSubDomains" if edge.hsts_include_subdomains else ""
    return f"max-age={edge.hsts_max_age_seconds}{subdomains}"


def edge_conf_payload(
    edge: EdgeConfig, relay_address: str, relay_port: int, health_port: int
) -> list[Directive]:
    """The crossplane payload of tier A's nginx.conf (see `render_edge_conf`)."""
    _check_port("relay_port", relay_port)
    _check_port("listen_port", edge.listen_port)
    if not relay_address:
        raise ValueError("relay_address is empty. Fix: pass B's reserved internal LB address.")
    upstream = _d(
        "upstream",
        RELAY_UPSTREAM,
        block=[
            # One server, B's ILB: nginx then makes a single try per request (retries belong to
            # Kong alone, rule chain-retries-safe), except that a request that failed on a stale
            # *pooled* connection is re-sent on a fresh one when it is idempotent (a failed cached
            # connection does not use up a try). With one server, max_fails never marks B down.
            _d("server", f"{relay_address}:{relay_port}"),
            _d("keepalive", edge.upstream_keepalive_connections),
            # Below B's proxy_timeout and Kong's client keepalive: A drops an idle pooled
            # connection before the far side can (chain-keepalive-timeouts-ordered).
            _d("keepalive_timeout", _seconds(edge.upstream_keepalive_timeout_seconds)),
            # Recycles pooled connections well within B's drain (chain-pooled-connections-recycled).
            _d("keepalive_time", _seconds(edge.upstream_keepalive_time_seconds)),
            _d("keepalive_requests", UPSTREAM_KEEPALIVE_REQUESTS),
        ],
    )
    serving = _d(
        "server",
        block=[
            _d("listen", edge.listen_port, "default_server"),
            _d("server_name", "_"),
            # Defined here and nowhere below: a proxy_set_header in a nested block would drop
            # every inherited one.
            _d("proxy_set_header", "Host", "$host"),
            _d("proxy_set_header", "X-Real-IP", "$remote_addr"),
            _d("proxy_set_header", "X-Forwarded-For", "$proxy_add_x_forwarded_for"),
            # The LB sets it (https); A admits only the LB's ranges, so it is passed through.
            _d("proxy_set_header", "X-Forwarded-Proto", "$http_x_forwarded_proto"),
            _d("proxy_set_header", "X-Request-ID", "$request_id"),
            # Empty Connection header + HTTP/1.1: required for the upstream keepalive pool.
            _d("proxy_set_header", "Connection", ""),
            # HSTS on every response (`always`: errors too). The LB terminates TLS and serves
            # only HTTPS (port 80 redirects), so browsers see it over HTTPS and refuse plain HTTP
            # afterwards. The only add_header of the file: no nested block redefines it.
            _d("add_header", "Strict-Transport-Security", hsts_value(edge), "always"),
            _d("location", "/", block=[_d("proxy_pass", f"http://{RELAY_UPSTREAM}")]),
        ],
    )
    http = _d(
        "http",
        block=[
            _d("server_tokens", "off"),
            _d("default_type", "application/octet-stream"),
            _d("log_format", "hitless", EDGE_LOG_FORMAT),
            _d("access_log", ACCESS_LOG, "hitless"),
            _d("sendfile", "on"),
            _d("tcp_nodelay", "on"),
            # Above the LB's fixed 600 s backend keepalive: the LB, which reuses the connection,
            # gives up on it first (chain-keepalive-timeouts-ordered).
            _d("keepalive_timeout", _seconds(edge.keepalive_timeout_seconds)),
            _d("keepalive_requests", edge.keepalive_requests),
            # nginx's default 1m answers 413 to the large uploads (chain-body-size-accepted).
            _d("client_max_body_size", f"{edge.client_max_body_mib}m"),
            _d("client_body_timeout", _seconds(edge.client_body_timeout_seconds)),
            # The whole body is read before B sees it: a slow upload ends at A, and a request can
            # be passed to the next try because nothing was sent yet.
            _d("proxy_request_buffering", "on" if edge.proxy_request_buffering else "off"),
            _d("proxy_http_version", "1.1"),
            _d("proxy_connect_timeout", _seconds(edge.proxy_connect_timeout_seconds)),
            _d("proxy_send_timeout", _seconds(edge.proxy_send_timeout_seconds)),
            _d("proxy_read_timeout", _seconds(edge.proxy_read_timeout_seconds)),
            # Never `non_idempotent`: a POST that reached B must not be sent twice
            # (chain-retries-safe). With the single upstream server below, the tries cap only the
            # re-send after a stale pooled connection.
            _d("proxy_next_upstream", "error", "timeout"),
            _d("proxy_next_upstream_tries", edge.proxy_next_upstream_tries),
            upstream,
            serving,
            health_server(health_port),
        ],
    )
    return [
        *_main_context(edge.worker_shutdown_timeout_seconds),
        http,
    ]


def relay_conf_payload(
    relay: RelayConfig, kong_address: str, kong_port: int, health_port: int
) -> list[Directive]:
    """The crossplane payload of tier B's nginx.conf (see `render_relay_conf`)."""
    _check_port("kong_port", kong_port)
    _check_port("listen_port", relay.listen_port)
    if not kong_address:
        raise ValueError("kong_address is empty. Fix: pass Kong's reserved internal LB address.")
    stream = _d(
        "stream",
        block=[
            _d("log_format", "hitless", RELAY_LOG_FORMAT),
            _d("access_log", ACCESS_LOG, "hitless"),
            _d("upstream", KONG_UPSTREAM, block=[_d("server", f"{kong_address}:{kong_port}")]),
            _d(
                "server",
                block=[
                    _d("listen", relay.listen_port),
                    _d("proxy_pass", KONG_UPSTREAM),
                    _d("proxy_connect_timeout", _seconds(relay.proxy_connect_timeout_seconds)),
                    # Idle timeout of the flow on both legs; must cover A's proxy_read_timeout
                    # (a request waiting on Kong is silent) (chain-idle-timeouts-cover-silence).
                    _d("proxy_timeout", _seconds(relay.proxy_timeout_seconds)),
                ],
            ),
        ],
    )
    http = _d(
        "http",
        block=[
            _d("server_tokens", "off"),
            _d("access_log", "off"),
            health_server(health_port),
        ],
    )
    return [
        _d("load_module", STREAM_MODULE_PATH),
        *_main_context(relay.worker_shutdown_timeout_seconds),
        stream,
        http,
    ]


def render_edge_conf(
    edge: EdgeConfig, relay_address: str, relay_port: int, health_port: int
) -> str:
    """Tier A's nginx.conf: an L7 proxy from the external LB to B's internal LB.

    Args:
        edge: tier A's config (timeouts, body size, keepalive, retries).
        relay_address: B's reserved internal LB address (`platform.network.b_ilb_address`).
        relay_port: the port B listens on (`relay.listen_port`).
        health_port: port of the `/healthz` server (`edge.mig.health_port`).
    """
    payload = edge_conf_payload(edge, relay_address, relay_port, health_port)
    return _header("A (nginx L7)") + str(crossplane.build(payload)) + "\n"


def render_relay_conf(
    relay: RelayConfig, kong_address: str, kong_port: int, health_port: int
) -> str:
    """Tier B's nginx.conf: an L4 (stream) proxy from B's internal LB to Kong's internal LB.

    Args:
        relay: tier B's config (listen port, connect and idle timeouts, drain).
        kong_address: Kong's reserved internal LB address (`platform.network.kong_ilb_address`).
        kong_port: the port of Kong's LoadBalancer Service (`kong.service_port`).
        health_port: port of the `/healthz` server (`relay.mig.health_port`).
    """
    payload = relay_conf_payload(relay, kong_address, kong_port, health_port)
    return _header("B (nginx L4)") + str(crossplane.build(payload)) + "\n"


def worker_shutdown_timeout_seconds(conf: str) -> int:
    """The main-context `worker_shutdown_timeout` of a conf rendered by this module (seconds).

    The instance's shutdown script bounds its wait by it, so the number comes from the very text
    the VM runs. Raises ValueError for a conf without it (not rendered here): nginx would then
    wait for in-flight requests without limit and the chain's drain budget would not hold.
    """
    match = _WORKER_SHUTDOWN_TIMEOUT.search(conf)
    if match is None:
        raise ValueError(
            "nginx_conf has no main-context `worker_shutdown_timeout <n>s;`: the shutdown script "
            "cannot bound its wait and a draining worker could live forever. Fix: render the conf "
            "with render_edge_conf / render_relay_conf."
        )
    return int(match.group(1))
