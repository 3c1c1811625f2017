"""nginx facts: parse a rendered nginx.conf (crossplane) and resolve what each proxy uses.

Tier A is an `http` reverse proxy, tier B a `stream` (L4) proxy. Directives inherit from
`http` to `server` to `location`; absent ones take nginx's documented defaults.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import Any

import crossplane

from hitless_policy.facts import NginxConf, NginxProxy, NginxUpstream, Placement, Ref
from hitless_policy.loader import clip

_TIME_UNITS = {
    "ms": 0.001,
    "": 1.0,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "M": 2592000.0,
    "y": 31536000.0,
}
_TIME = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)?")
_SIZE = re.compile(r"^(\d+)([kKmMgG]?)$")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}

HTTP_DEFAULTS: dict[str, list[str]] = {
    "proxy_read_timeout": ["60s"],
    "proxy_connect_timeout": ["60s"],
    "proxy_request_buffering": ["on"],
    "client_max_body_size": ["1m"],
    "proxy_next_upstream": ["error", "timeout"],
    "keepalive_timeout": ["75s"],
}
"""nginx's defaults for the inherited http directives the rules read."""
STREAM_DEFAULTS: dict[str, list[str]] = {
    "proxy_timeout": ["10m"],
    "proxy_connect_timeout": ["60s"],
    "proxy_next_upstream": ["on"],
}
"""nginx's defaults for the stream directives the rules read."""


def seconds(text: str) -> float:
    """An nginx time (`60`, `60s`, `1m 30s`, `500ms`) in seconds (raises ValueError)."""
    compact = text.replace(" ", "")
    if not compact or _TIME.sub("", compact):
        raise ValueError(f"not an nginx time: {clip(repr(text))}")
    total = sum(float(number) * _TIME_UNITS[unit or ""] for number, unit in _TIME.findall(compact))
    if not math.isfinite(total):  # hundreds of digits: nginx refuses the value too
        raise ValueError(f"not an nginx time: {clip(repr(text))} is too large")
    return total


def size_bytes(text: str) -> float:
    """An nginx size (`64m`, `0`, `512k`) in bytes (raises ValueError)."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise ValueError(f"not an nginx size: {clip(repr(text))}")
    try:
        return float(int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    except OverflowError:  # hundreds of digits: nginx refuses the value too
        raise ValueError(f"not an nginx size: {clip(repr(text))} is too large") from None


@dataclass
class ParsedConf:
    """What the rules need from one nginx.conf, before it is tied to a resource."""

    worker_shutdown_seconds: float | None = None
    """`worker_shutdown_timeout` (None: unset)."""
    proxies: list[NginxProxy] = field(default_factory=list)
    """Proxying locations (http) or servers (stream)."""
    upstreams: dict[str, NginxUpstream] = field(default_factory=dict)
    """`upstream` blocks by name."""
    errors: list[tuple[int, str]] = field(default_factory=list)
    """(line, message) of every parse or value error."""
    stream: bool = False
    """Whether the config has a `stream` block (an L4 proxy)."""

    def bind(self, ref: Ref, place: Placement) -> NginxConf:
        """The fact for the resource (or file) carrying this config."""
        return NginxConf(
            ref=ref,
            place=place,
            worker_shutdown_seconds=self.worker_shutdown_seconds,
            proxies=list(self.proxies),
            upstreams=dict(self.upstreams),
            stream=self.stream,
            problems=[f"line {line}: {message}" for line, message in self.errors],
        )


Directive = dict[str, Any]


def _upstream(block: Directive, out: ParsedConf) -> None:
    name = block["args"][0] if block.get("args") else ""
    servers, keepalive = 0, None
    timeout, lifetime = 60.0, 3600.0
    for item in block.get("block", []):
        args = item.get("args", [])
        try:
            if item["directive"] == "server":
                servers += 1
            elif item["directive"] == "keepalive":
                keepalive = int(args[0])
            elif item["directive"] == "keepalive_timeout":
                timeout = seconds(args[0])
            elif item["directive"] == "keepalive_time":
                lifetime = seconds(args[0])
        except (ValueError, IndexError) as error:
            out.errors.append((item.get("line", 0), f"{item['directive']}: {error}"))
    out.upstreams[name] = NginxUpstream(name, servers, keepalive, timeout, lifetime)


def _target(proxy_pass: str) -> str:
    """Upstream name or address in a `proxy_pass` argument."""
    return re.sub(r"^[a-z]+://", "", proxy_pass).split("/", 1)[0]


def _proxy(
    where: str, values: dict[str, list[str]], line: int, *, stream: bool, out: ParsedConf
) -> None:
    try:
        if stream:
            proxy = NginxProxy(
                where=where,
                upstream=_target(values["proxy_pass"][0]),
                read_timeout_seconds=seconds(values["proxy_timeout"][0]),
                connect_timeout_seconds=seconds(values["proxy_connect_timeout"][0]),
                request_buffering=False,
                client_max_body_bytes=0.0,
                next_upstream=tuple(values["proxy_next_upstream"]),
                client_keepalive_seconds=0.0,
            )
        else:
            proxy = NginxProxy(
                where=where,
                upstream=_target(values["proxy_pass"][0]),
                read_timeout_seconds=seconds(values["proxy_read_timeout"][0]),
                connect_timeout_seconds=seconds(values["proxy_connect_timeout"][0]),
                request_buffering=values["proxy_request_buffering"][0] == "on",
                client_max_body_bytes=size_bytes(values["client_max_body_size"][0]),
                next_upstream=tuple(values["proxy_next_upstream"]),
                client_keepalive_seconds=seconds(values["keepalive_timeout"][0]),
            )
    except (ValueError, IndexError) as error:
        out.errors.append((line, f"{where}: {error}"))
        return
    out.proxies.append(proxy)


def _walk_http(
    block: list[Directive], inherited: dict[str, list[str]], where: str, out: ParsedConf
) -> None:
    values = dict(inherited)
    for item in block:
        if item["directive"] in HTTP_DEFAULTS or item["directive"] == "proxy_pass":
            values[item["directive"]] = item.get("args", [])
    for item in block:
        name = item["directive"]
        if name == "upstream":
            _upstream(item, out)
        elif name == "server":
            listen = next(
                (d["args"][0] for d in item.get("block", []) if d["directive"] == "listen"), "?"
            )
            _walk_http(item.get("block", []), values, f"server :{listen}", out)
        elif name == "location":
            path = " ".join(item.get("args", []))
            _walk_http(item.get("block", []), values, f"{where} location {path}", out)
    own = next((item for item in block if item["directive"] == "proxy_pass"), None)
    if own is not None and "location" in where:
        _proxy(where, values, int(own.get("line", 0)), stream=False, out=out)


def _walk_stream(block: list[Directive], out: ParsedConf) -> None:
    values = dict(STREAM_DEFAULTS)
    for item in block:
        if item["directive"] in STREAM_DEFAULTS:
            values[item["directive"]] = item.get("args", [])
    for item in block:
        if item["directive"] == "upstream":
            _upstream(item, out)
    for item in block:
        if item["directive"] != "server":
            continue
        mine = dict(values)
        listen = "?"
        for directive in item.get("block", []):
            if directive["directive"] in STREAM_DEFAULTS or directive["directive"] == "proxy_pass":
                mine[directive["directive"]] = directive.get("args", [])
            if directive["directive"] == "listen":
                listen = directive["args"][0]
        if "proxy_pass" in mine:
            _proxy(f"server :{listen}", mine, item.get("line", 0), stream=True, out=out)


@functools.lru_cache(maxsize=64)
def parse_text(text: str) -> ParsedConf:
    """Parse nginx.conf text (cached: stack policies see the same template many times)."""
    handle, path = tempfile.mkstemp(suffix=".conf", prefix="hitless-nginx-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        payload = crossplane.parse(path, single=True, catch_errors=True, combine=True)
    finally:
        os.unlink(path)
    out = ParsedConf()
    for error in payload.get("errors", []):
        out.errors.append((int(error.get("line") or 0), str(error.get("error"))))
    configs = payload.get("config", [])
    parsed: list[Directive] = configs[0].get("parsed", []) if configs else []
    for item in parsed:
        name = item["directive"]
        if name == "worker_shutdown_timeout":
            try:
                out.worker_shutdown_seconds = seconds(item["args"][0])
            except (ValueError, IndexError) as error:
                out.errors.append((item.get("line", 0), f"worker_shutdown_timeout: {error}"))
        elif name == "http":
            _walk_http(item.get("block", []), dict(HTTP_DEFAULTS), "http", out)
        elif name == "stream":
            out.stream = True
            _walk_stream(item.get("block", []), out)
    return out
