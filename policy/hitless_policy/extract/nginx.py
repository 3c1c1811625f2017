"""nginx facts: parse an nginx.conf (crossplane) and resolve what each proxy uses.

Tier A is an `http` reverse proxy, tier B a `stream` (L4) proxy. Directives inherit from
`http` to `server` to `location` (and `if`/`limit_except` inside a location); absent ones take
nginx's documented defaults. A file on disk is read with its `include`s (relative to its own
directory or to a given prefix, globs allowed); a site file (`server`/`upstream` at top level,
as in `conf.d/`) is read as the `http` (tier A) or `stream` (tier B) block that includes it.
`proxy_pass` (and `grpc_pass`, `fastcgi_pass`, `uwsgi_pass`) targets given through a variable
are resolved through `set`, `map` and `split_clients`; each possible target is one proxy.
"""

from __future__ import annotations

import functools
import glob
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import crossplane

from hitless_policy.facts import (
    NginxConf,
    NginxProxy,
    NginxSource,
    NginxUpstream,
    Placement,
    Ref,
)
from hitless_policy.identity import Tier
from hitless_policy.loader import InputError, clip, read_text

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
PASS_MODULES: dict[str, str] = {
    "proxy_pass": "proxy",
    "grpc_pass": "grpc",
    "fastcgi_pass": "fastcgi",
    "uwsgi_pass": "uwsgi",
}
"""http directives that hand a request to an upstream, and the prefix of their module's
directives (`grpc_read_timeout`, ...). Each module's timeouts default to 60 s."""
MODULE_DEFAULTS: dict[str, list[str]] = {
    f"{module}_{name}": value
    for module in ("grpc", "fastcgi", "uwsgi")
    for name, value in (
        ("read_timeout", ["60s"]),
        ("connect_timeout", ["60s"]),
        ("next_upstream", ["error", "timeout"]),
    )
} | {"fastcgi_request_buffering": ["on"], "uwsgi_request_buffering": ["on"]}
"""nginx's defaults for the grpc/fastcgi/uwsgi counterparts of the proxy directives. The grpc
module has no `grpc_request_buffering`: it passes the body as it arrives."""
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


MAX_INCLUDE_DEPTH = 16
"""Deepest chain of nested `include`s followed (a loop is an input error)."""
_GLOB_CHARS = re.compile(r"[*?\[]")
_LOCATION_SUFFIX = re.compile(r" in \S+:\d+$")
_SITE_DIRECTIVES = frozenset({"server", "upstream", "map", "split_clients", "geo"})


@dataclass
class ParsedConf:
    """What the rules need from one nginx.conf, before it is tied to a resource."""

    worker_shutdown_seconds: float | None = None
    """`worker_shutdown_timeout` (None: unset)."""
    proxies: list[NginxProxy] = field(default_factory=list)
    """Proxying locations (http) and servers (stream)."""
    upstreams: dict[str, NginxUpstream] = field(default_factory=dict)
    """`upstream` blocks by name."""
    errors: list[tuple[int, str]] = field(default_factory=list)
    """(line, message) of every parse or value error (message names the file when included)."""
    stream: bool = False
    """Whether the config has a `stream` block (an L4 proxy)."""
    http: bool = False
    """Whether the config has an `http` block (or is an http site file)."""
    http_proxies: list[NginxProxy] = field(default_factory=list)
    """Proxying locations of the `http` block."""
    stream_proxies: list[NginxProxy] = field(default_factory=list)
    """Proxying TCP servers of the `stream` block (UDP servers are not part of the chain)."""
    located_errors: list[tuple[str, int, str]] = field(default_factory=list)
    """(file, line, message) of every error, naming the file it is in."""

    def bind(self, ref: Ref, place: Placement) -> NginxConf:
        """The fact for the resource (or file) carrying this config.

        Tier A reads the http proxies, tier B the stream proxies (an http status server on B is no B
        proxy).
        """
        if place.tier is Tier.A:
            proxies = self.http_proxies
        elif place.tier is Tier.B:
            proxies = self.stream_proxies
        else:
            proxies = self.proxies
        return NginxConf(
            ref=ref,
            place=place,
            worker_shutdown_seconds=self.worker_shutdown_seconds,
            proxies=list(proxies),
            upstreams=dict(self.upstreams),
            stream=self.stream,
            problems=[f"line {line}: {message}" for line, message in self.errors],
        )

    def value_error(self, directive: Directive, message: str) -> None:
        """Record a value nginx would refuse, in the file its directive came from."""
        line = int(directive.get("line") or 0)
        file = str(directive.get("file") or "")
        self.errors.append((line, message))
        self.located_errors.append((file, line, message))

    def error(self, file: str, line: int, message: str, *, main: str) -> None:
        """Record an error in `file` (the main file's errors keep their bare line)."""
        self.located_errors.append((file, line, message))
        self.errors.append((line, message if file == main else f"{file}:{line}: {message}"))


Directive = dict[str, Any]


def _upstream(block: Directive, out: ParsedConf) -> None:
    name = block["args"][0] if block.get("args") else ""
    servers, keepalive = 0, None
    timeout, lifetime = 60.0, 3600.0
    addresses: list[str] = []
    for item in block.get("block", []):
        args = item.get("args", [])
        try:
            if item["directive"] == "server":
                servers += 1
                if args:
                    addresses.append(args[0])
            elif item["directive"] == "keepalive":
                keepalive = int(args[0])
            elif item["directive"] == "keepalive_timeout":
                timeout = seconds(args[0])
            elif item["directive"] == "keepalive_time":
                lifetime = seconds(args[0])
        except (ValueError, IndexError) as error:
            out.value_error(item, f"{item['directive']}: {error}")
    out.upstreams[name] = NginxUpstream(
        name, servers, keepalive, timeout, lifetime, addresses=tuple(addresses)
    )


def _target(proxy_pass: str) -> str:
    """Upstream name or address in a `proxy_pass` argument."""
    return re.sub(r"^[a-z]+://", "", proxy_pass).split("/", 1)[0]


_VARIABLE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")


def _resolve(target: str, variables: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(target, how) for each value a `proxy_pass` host may take.

    A host that is one variable set by `set`, `map` or `split_clients` resolves to each of its
    values, another stays as
    written (its upstream is then unknown: `$host`, an envsubst `${UPSTREAM}`).
    """
    match = _VARIABLE.match(target)
    if match is None or match.group(1) not in variables:
        return [(target, "")]
    name = match.group(1)
    return [(_target(value), f" (via ${name}={value})") for value in dict.fromkeys(variables[name])]


def _variables(block: list[Directive], inherited: dict[str, list[str]]) -> dict[str, list[str]]:
    """Variables `set`, `map`ped or `split_clients`-ed in `block`, over `inherited`."""
    out = dict(inherited)
    for item in block:
        args = item.get("args", [])
        if item["directive"] == "set" and len(args) >= 2 and args[0].startswith("$"):
            out[args[0][1:]] = [args[1]]
        elif item["directive"] in ("map", "split_clients") and len(args) >= 2:
            values = [
                entry["args"][-1]
                for entry in item.get("block", [])
                if entry.get("args")
                and entry["directive"] not in ("hostnames", "volatile")
                and entry["directive"] != "include"
            ]
            if values:
                out[args[1].lstrip("$")] = values
    return out


def _proxy(
    where: str,
    values: dict[str, list[str]],
    directive: Directive,
    *,
    stream: bool,
    module: str,
    variables: dict[str, list[str]],
    out: ParsedConf,
) -> None:
    pass_directive = "proxy_pass" if stream else f"{module}_pass"
    try:
        targets = _resolve(_target(values[pass_directive][0]), variables)
        found: list[NginxProxy] = []
        for target, how in targets:
            if stream:
                found.append(
                    NginxProxy(
                        where=f"{where}{how}",
                        upstream=target,
                        read_timeout_seconds=seconds(values["proxy_timeout"][0]),
                        connect_timeout_seconds=seconds(values["proxy_connect_timeout"][0]),
                        request_buffering=False,
                        client_max_body_bytes=0.0,
                        next_upstream=tuple(values["proxy_next_upstream"]),
                        client_keepalive_seconds=0.0,
                    )
                )
            else:
                buffering = values.get(f"{module}_request_buffering", ["off"])
                found.append(
                    NginxProxy(
                        where=f"{where}{how}",
                        upstream=target,
                        read_timeout_seconds=seconds(values[f"{module}_read_timeout"][0]),
                        connect_timeout_seconds=seconds(values[f"{module}_connect_timeout"][0]),
                        request_buffering=buffering[0] == "on",
                        client_max_body_bytes=size_bytes(values["client_max_body_size"][0]),
                        next_upstream=tuple(values[f"{module}_next_upstream"]),
                        client_keepalive_seconds=seconds(values["keepalive_timeout"][0]),
                        module=module,
                    )
                )
    except (ValueError, IndexError) as error:
        out.value_error(directive, f"{where}: {error}")
        return
    out.proxies.extend(found)
    (out.stream_proxies if stream else out.http_proxies).extend(found)


_HTTP_INHERITED = frozenset(HTTP_DEFAULTS) | frozenset(MODULE_DEFAULTS) | frozenset(PASS_MODULES)
_NESTED = frozenset({"location", "if", "limit_except"})


def _walk_http(
    block: list[Directive],
    inherited: dict[str, list[str]],
    where: str,
    out: ParsedConf,
    variables: dict[str, list[str]],
    *,
    in_location: bool = False,
) -> None:
    values = {k: v for k, v in inherited.items() if k not in PASS_MODULES}
    for item in block:
        if item["directive"] in _HTTP_INHERITED:
            values[item["directive"]] = item.get("args", [])
    scope = _variables(block, variables)
    for item in block:
        name = item["directive"]
        if name == "upstream":
            _upstream(item, out)
        elif name == "server":
            listen = next(
                (d["args"][0] for d in item.get("block", []) if d["directive"] == "listen"), "?"
            )
            _walk_http(item.get("block", []), values, f"server :{listen}", out, scope)
        elif name in _NESTED:
            if name == "if" and not in_location:
                continue  # `if` in server: rewrite only, proxy_pass is not allowed there
            args = " ".join(item.get("args", []))
            label = f"location {args}" if name == "location" else f"{name} ({args})"
            _walk_http(
                item.get("block", []), values, f"{where} {label}", out, scope, in_location=True
            )
    if not in_location:
        return
    for directive, module in PASS_MODULES.items():
        own = next((item for item in block if item["directive"] == directive), None)
        if own is not None:
            _proxy(
                where,
                values,
                own,
                stream=False,
                module=module,
                variables=scope,
                out=out,
            )


def _listen(args: list[str]) -> tuple[int | None, bool]:
    """(port, udp) of a stream `listen` (`8000`, `10.0.0.1:8000`, `[::]:8000 udp`)."""
    if not args:
        return None, False
    port_text = args[0].rsplit(":", 1)[-1]
    return (int(port_text) if port_text.isdigit() else None), "udp" in args[1:]


def _walk_stream(block: list[Directive], out: ParsedConf) -> None:
    values = dict(STREAM_DEFAULTS)
    for item in block:
        if item["directive"] in STREAM_DEFAULTS:
            values[item["directive"]] = item.get("args", [])
    scope = _variables(block, {})
    for item in block:
        if item["directive"] == "upstream":
            _upstream(item, out)
    for item in block:
        if item["directive"] != "server":
            continue
        mine = dict(values)
        listen_args: list[str] = []
        for directive in item.get("block", []):
            if directive["directive"] in STREAM_DEFAULTS or directive["directive"] == "proxy_pass":
                mine[directive["directive"]] = directive.get("args", [])
            if directive["directive"] == "listen":
                listen_args = directive.get("args", [])
        port, udp = _listen(listen_args)
        if "proxy_pass" in mine and not udp:
            before = len(out.stream_proxies)
            _proxy(
                f"server :{listen_args[0] if listen_args else '?'}",
                mine,
                item,
                stream=True,
                module="proxy",
                variables=_variables(item.get("block", []), scope),
                out=out,
            )
            for index in range(before, len(out.stream_proxies)):
                proxy = out.stream_proxies[index]
                replaced = NginxProxy(**{**proxy.__dict__, "listen_port": port})
                out.stream_proxies[index] = replaced
                out.proxies[out.proxies.index(proxy)] = replaced


def _interpret(parsed: list[Directive], out: ParsedConf) -> None:
    for item in parsed:
        name = item["directive"]
        if name == "worker_shutdown_timeout":
            try:
                out.worker_shutdown_seconds = seconds(item["args"][0])
            except (ValueError, IndexError) as error:
                out.value_error(item, f"worker_shutdown_timeout: {error}")
        elif name == "http":
            out.http = True
            _walk_http(
                item.get("block", []), dict(HTTP_DEFAULTS | MODULE_DEFAULTS), "http", out, {}
            )
        elif name == "stream":
            out.stream = True
            _walk_stream(item.get("block", []), out)


def _clean(message: str) -> str:
    """Crossplane's message without its ` in <file>:<line>` suffix (the caller names the file)."""
    return _LOCATION_SUFFIX.sub("", message)


@functools.lru_cache(maxsize=64)
def parse_text(text: str) -> ParsedConf:
    """Parse nginx.conf text (cached: stack policies see the same template many times).

    The text is one file: `include`s are not followed (a rendered template has none).
    """
    handle, path = tempfile.mkstemp(suffix=".conf", prefix="hitless-nginx-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        payload = crossplane.parse(path, single=True, catch_errors=True, combine=True)
    finally:
        os.unlink(path)
    out = ParsedConf()
    for error in payload.get("errors", []):
        out.error(
            "nginx.conf",
            int(error.get("line") or 0),
            _clean(str(error.get("error"))),
            main="nginx.conf",
        )
    configs = payload.get("config", [])
    parsed: list[Directive] = configs[0].get("parsed", []) if configs else []
    _interpret(parsed, out)
    return out


class _Includes:
    """Reads a file and splices its `include`s in, as nginx does when it loads a config."""

    def __init__(self, main: Path, prefix: Path | None, out: ParsedConf) -> None:
        self.main = str(main)
        self.base = prefix if prefix is not None else main.parent
        self.out = out
        self.stack: list[str] = []

    def load(self, path: Path) -> list[Directive]:
        key = str(path.resolve())
        if key in self.stack or len(self.stack) >= MAX_INCLUDE_DEPTH:
            parent = self.stack[-1] if self.stack else self.main
            raise InputError(
                path,
                0,
                f"include loop or more than {MAX_INCLUDE_DEPTH} nested includes "
                f"(included from {parent})",
            )
        read_text(path)  # regular file, size limit and UTF-8, with the loader's messages
        payload = crossplane.parse(
            str(path), single=True, catch_errors=True, check_ctx=False, comments=False
        )
        name = self.main if key == str(Path(self.main).resolve()) else str(path)
        for error in payload.get("errors", []):
            self.out.error(
                name, int(error.get("line") or 0), _clean(str(error.get("error"))), main=self.main
            )
        configs = payload.get("config", [])
        parsed: list[Directive] = configs[0].get("parsed", []) if configs else []
        self.stack.append(key)
        try:
            return self.expand(parsed, name)
        finally:
            self.stack.pop()

    def expand(self, block: list[Directive], file: str) -> list[Directive]:
        result: list[Directive] = []
        for item in block:
            item["file"] = file
            if item["directive"] != "include":
                if "block" in item:
                    item["block"] = self.expand(item["block"], file)
                result.append(item)
                continue
            line = int(item.get("line", 0))
            args = item.get("args", [])
            if len(args) != 1:
                self.out.error(file, line, "include takes one file or mask", main=self.main)
                continue
            pattern = args[0]
            full = pattern if os.path.isabs(pattern) else str(self.base / pattern)
            if _GLOB_CHARS.search(pattern):
                matches = sorted(glob.glob(full))  # nginx: a mask matching nothing is fine
            elif os.path.isfile(full):
                matches = [full]
            else:
                self.out.error(
                    file,
                    line,
                    f"include {pattern}: no such file ({full}); give the included files too, "
                    "or --nginx-prefix <dir> when relative includes start elsewhere",
                    main=self.main,
                )
                continue
            for match in matches:
                result.extend(self.load(Path(match)))
        return result


_HTTP_ONLY = frozenset({"location", "server_name", "root", "try_files", "proxy_set_header"})


def _has_http_directives(block: list[Directive]) -> bool:
    return any(
        item["directive"] in _HTTP_ONLY or _has_http_directives(item.get("block", []))
        for item in block
    )


def _wrap_site(parsed: list[Directive], context: str) -> list[Directive]:
    """A site file as the block that includes it.

    A site file has `server`/`upstream` at top level, as `conf.d/*.conf`; a main config (with
    `http`, `stream` or `events`) as it is.
    """
    top = {item["directive"] for item in parsed}
    if top & {"http", "stream", "events"} or not top & _SITE_DIRECTIVES:
        return parsed
    if context == "stream" and _has_http_directives(parsed):
        context = "http"  # server blocks with locations or names are http, whatever the tier
    inner = [item for item in parsed if item["directive"] not in ("worker_shutdown_timeout",)]
    outer = [item for item in parsed if item["directive"] == "worker_shutdown_timeout"]
    return [*outer, {"directive": context, "line": 1, "args": [], "block": inner}]


@functools.lru_cache(maxsize=64)
def parse_file(path: str, prefix: str | None, context: str = "http") -> ParsedConf:
    """Parse the nginx config at `path` with its includes.

    Includes are relative to `prefix`, else to the file's directory; a site file is read inside
    `context` (`http` or `stream`). Errors name
    the user's files; InputError when a file cannot be read.
    """
    out = ParsedConf()
    reader = _Includes(Path(path), Path(prefix) if prefix else None, out)
    parsed = reader.load(Path(path))
    _interpret(_wrap_site(parsed, context), out)
    return out


def reach_ports(conf: ParsedConf) -> frozenset[int]:
    """TCP ports tier A's http proxies connect to (upstream servers or literal targets)."""
    ports: set[int] = set()
    for proxy in conf.http_proxies:
        upstream = conf.upstreams.get(proxy.upstream)
        addresses = upstream.addresses if upstream is not None else (proxy.upstream,)
        for address in addresses:
            tail = address.rsplit(":", 1)
            if len(tail) == 2 and tail[1].isdigit():
                ports.add(int(tail[1]))
            elif not address.startswith(("unix:", "$")):
                ports.add(80)  # nginx's default port for an http upstream address
    return frozenset(ports)


def file_source(ref: Ref, place: Placement, props: dict[str, Any]) -> NginxSource:
    """The nginx config a `hitless check` file input names.

    Props `path`, `prefix`; for tier B `reach_ports`: only the stream servers listening on a port
    tier A connects to bound B (all of them when none does).
    """
    context = "stream" if place.tier is Tier.B else "http"
    parsed = parse_file(str(props["path"]), props.get("prefix"), context)
    conf = parsed.bind(ref, place)
    reach = props.get("reach_ports")
    if place.tier is Tier.B and isinstance(reach, list) and reach:
        reached = [p for p in conf.proxies if p.listen_port in reach]
        if reached:
            conf = NginxConf(
                ref=conf.ref,
                place=conf.place,
                worker_shutdown_seconds=conf.worker_shutdown_seconds,
                proxies=reached,
                upstreams=conf.upstreams,
                stream=conf.stream,
                problems=conf.problems,
            )
    return NginxSource(ref, place, conf)
