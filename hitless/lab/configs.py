"""The lab's nginx configs: the rendered a.conf/b.conf moved onto loopback, and the Kong stand-in.

A and B run the very nginx.conf `hitless preview` rendered, parsed and rebuilt with crossplane;
what changes is listed in `Rewritten.changes`: listen addresses (each instance has its own
loopback address, same ports), upstream addresses (the next tier's virtual address), file paths
(pid, logs, the drain flag) and, for the time scale, every duration divided by the scale and
every body-size limit divided by it too (bodies shrink with time).

C is a stand-in for Kong, honestly named: plain nginx generated from the rendered `kong.yml` and
Kong Deployment, with Kong's proxy semantics - the Service's connect/write/read timeouts and
`retries` through a `balancer_by_lua` block that calls `ngx.balancer.set_more_tries(retries)` and
`set_timeouts` per try, as Kong's balancer does (kong/runloop/balancer/init.lua); Kong's proxy
location sets no `proxy_next_upstream`, so nginx's default `error timeout` decides what is
retried (a failed connect for any method, never a request whose body was already sent); request
and response buffering per route; upstream keep-alive pool with Kong's idle timeout;
`/status/ready` on the status listener. Not modelled: Kong's in-memory config updates, the
multi-target balancer and its health checks, DNS resolution of the target, plugins, TLS to the
upstream (the lab speaks HTTP to D).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import crossplane

from hitless.lab.spec import KongSettings

TIME_DIRECTIVES = frozenset(
    {
        "worker_shutdown_timeout",
        "keepalive_timeout",
        "keepalive_time",
        "client_body_timeout",
        "client_header_timeout",
        "send_timeout",
        "proxy_connect_timeout",
        "proxy_send_timeout",
        "proxy_read_timeout",
        "proxy_timeout",
        "proxy_next_upstream_timeout",
        "resolver_timeout",
        "lingering_time",
        "lingering_timeout",
    }
)
"""nginx directives whose arguments are durations: divided by the time scale."""
SIZE_DIRECTIVES = frozenset({"client_max_body_size"})
"""nginx directives whose argument is a body size: divided by the time scale (bodies shrink)."""
PATH_DIRECTIVES = frozenset({"pid", "error_log", "access_log"})
"""nginx directives whose first argument is a file path, moved into the instance's directory."""

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "": 1.0}
_SIZES = {"": 1, "k": 1024, "m": 1_048_576, "g": 1_073_741_824}


def nginx_seconds(value: str) -> float:
    """An nginx duration (`150s`, `500ms`, `1m30s`, `60`) in seconds."""
    parts = re.findall(r"(\d+)(ms|s|m|h|d|)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not an nginx duration: {value!r}")
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


def nginx_bytes(value: str) -> int:
    """An nginx size (`64m`, `10k`, `0`) in bytes."""
    match = re.fullmatch(r"(\d+)([kmg]?)", value.lower())
    if match is None:
        raise ValueError(f"not an nginx size: {value!r}")
    return int(match.group(1)) * _SIZES[match.group(2)]


def scaled_duration(value: str, scale: float) -> str:
    """`value` divided by `scale`, in milliseconds (nginx's finest unit)."""
    return f"{max(1, round(nginx_seconds(value) / scale * 1000))}ms"


@dataclass
class Rewritten:
    """A rendered nginx.conf moved onto the lab's loopback addresses."""

    text: str
    """The config nginx runs."""
    changes: list[str] = field(default_factory=list)
    """Every rewrite, as `directive: old -> new`."""


def rewrite_tier_conf(
    text: str,
    *,
    address: str,
    upstream: str,
    directory: Path,
    scale: float,
) -> Rewritten:
    """Move a rendered a.conf/b.conf onto loopback: listens on `address`, upstream `upstream`.

    `upstream` is `host:port` of the next tier's virtual address. Paths go under `directory`.
    """
    source = directory / "rendered.conf"
    source.write_text(text)
    parsed = crossplane.parse(str(source), comments=True, single=True, check_ctx=False)
    if parsed["errors"]:
        raise ValueError(f"crossplane cannot parse the rendered config: {parsed['errors']}")
    out = Rewritten(text="")
    payload: list[dict[str, Any]] = parsed["config"][0]["parsed"]

    def change(d: dict[str, Any], new: list[str]) -> None:
        out.changes.append(f"{d['directive']}: {' '.join(d['args'])} -> {' '.join(new)}")
        d["args"] = new

    def walk(block: list[dict[str, Any]], parent: str) -> None:
        for d in block:
            name, args = d["directive"], d.get("args", [])
            if name == "#":
                continue
            if name == "listen":
                port = args[0].rsplit(":", 1)[-1]
                change(d, [f"{address}:{port}", *args[1:]])
            elif name == "server" and parent == "upstream":
                change(d, [upstream, *args[1:]])
            elif name in PATH_DIRECTIVES and args and args[0] not in ("off",):
                target = {"pid": "nginx.pid", "error_log": "error.log"}.get(name, "access.log")
                change(d, [str(directory / target), *args[1:]])
            elif name == "if" and len(args) == 2 and args[0] == "-f":
                change(d, ["-f", str(directory / "draining")])
            elif name in TIME_DIRECTIVES:
                change(d, [scaled_duration(arg, scale) for arg in args])
            elif name in SIZE_DIRECTIVES:
                limit = nginx_bytes(args[0])
                change(d, [str(round(limit / scale)) if limit else "0"])
            if "block" in d:
                walk(d["block"], name)

    walk(payload, "main")
    out.text = str(crossplane.build(payload)) + "\n"
    return out


NGINX_MODULES = "/usr/lib/nginx/modules"
"""Where Debian installs nginx's dynamic modules (libnginx-mod-http-lua, -stream)."""
KONG_UPSTREAM_KEEPALIVE_POOL_SIZE = 512
"""Kong's default `upstream_keepalive_pool_size` (kong.conf.default)."""

BALANCER_LUA = """
local balancer = require "ngx.balancer"
local ctx = ngx.ctx
if not ctx.lab_tries then
  ctx.lab_tries = 0
  if {retries} > 0 then
    local ok, err = balancer.set_more_tries({retries})
    if not ok then ngx.log(ngx.ERR, "set_more_tries: ", err) end
  end
end
ctx.lab_tries = ctx.lab_tries + 1
local ok, err = balancer.set_current_peer("{host}", {port})
if not ok then
  ngx.log(ngx.ERR, "set_current_peer: ", err)
  return ngx.exit(500)
end
ok, err = balancer.set_timeouts({connect}, {write}, {read})
if not ok then ngx.log(ngx.ERR, "set_timeouts: ", err) end
"""
"""Kong's balancer step, reduced to one target: on the first try `set_more_tries(retries)`,
then on every try the peer (the RT Service's virtual address: kube-proxy picks a pod per new
connection) and the Service's timeouts (seconds)."""


def kong_stand_in_conf(
    settings: KongSettings,
    *,
    address: str,
    proxy_port: int,
    status_port: int,
    upstream_host: str,
    upstream_port: int,
    directory: Path,
    scale: float,
) -> str:
    """The Kong stand-in's nginx.conf (built with crossplane), times divided by `scale`."""
    s = settings

    def d(name: str, *args: object, block: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {"directive": name, "args": [str(a) for a in args]}
        if block is not None:
            item["block"] = block
        return item

    def ms(seconds: float) -> str:
        return f"{max(1, round(seconds / scale * 1000))}ms"

    lua = BALANCER_LUA.format(
        retries=s.retries,
        host=upstream_host,
        port=upstream_port,
        connect=round(s.connect_timeout_ms / 1000 / scale, 3),
        write=round(s.write_timeout_ms / 1000 / scale, 3),
        read=round(s.read_timeout_ms / 1000 / scale, 3),
    )
    body_limit = round(s.client_max_body_bytes / scale) if s.client_max_body_bytes else 0
    payload = [
        d("load_module", f"{NGINX_MODULES}/ndk_http_module.so"),
        d("load_module", f"{NGINX_MODULES}/ngx_http_lua_module.so"),
        d("worker_processes", 1),
        d("pid", directory / "nginx.pid"),
        d("error_log", directory / "error.log", "info"),
        d("worker_shutdown_timeout", ms(s.worker_shutdown_timeout_seconds)),
        d("events", block=[d("worker_connections", 4096)]),
        d(
            "http",
            block=[
                d(
                    "log_format",
                    "kong",
                    '$msec "$request" $status $request_time '
                    "us=$upstream_status ua=$upstream_addr uct=$upstream_connect_time",
                ),
                d("access_log", directory / "access.log", "kong"),
                d("client_max_body_size", body_limit),
                d("client_body_buffer_size", "8k"),
                d("client_body_temp_path", directory / "client_body_temp"),
                d("proxy_temp_path", directory / "proxy_temp"),
                d("keepalive_timeout", ms(s.client_keepalive_seconds)),
                d("proxy_request_buffering", "on" if s.request_buffering else "off"),
                d("proxy_buffering", "on" if s.response_buffering else "off"),
                d("proxy_http_version", "1.1"),
                d(
                    "upstream",
                    "kong_upstream",
                    block=[
                        d("server", "0.0.0.1"),
                        {"directive": "balancer_by_lua_block", "args": [lua]},
                        d("keepalive", KONG_UPSTREAM_KEEPALIVE_POOL_SIZE),
                        d("keepalive_requests", s.upstream_keepalive_max_requests),
                        d("keepalive_timeout", ms(s.upstream_keepalive_idle_seconds)),
                    ],
                ),
                d(
                    "server",
                    block=[
                        d("listen", f"{address}:{proxy_port}"),
                        d(
                            "location",
                            "/",
                            block=[
                                d("proxy_set_header", "Host", "$host"),
                                d("proxy_set_header", "Connection", "keep-alive"),
                                d("proxy_pass", "http://kong_upstream"),
                            ],
                        ),
                    ],
                ),
                d(
                    "server",
                    block=[
                        d("listen", f"{address}:{status_port}"),
                        d("access_log", "off"),
                        d(
                            "location",
                            "=",
                            "/status/ready",
                            block=[d("return", 200, '{"message":"ready"}')],
                        ),
                        d("location", "/", block=[d("return", 404)]),
                    ],
                ),
            ],
        ),
    ]
    # crossplane.ext.lua builds `*_by_lua_block` from the Lua source in its one argument.
    return str(crossplane.build(payload)) + "\n"
