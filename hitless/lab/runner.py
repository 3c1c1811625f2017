"""Run lab scenarios, each in a network (and PID) namespace of its own, and collect the outcomes.

`hitless lab` runs here, outside any namespace: it checks what the lab needs, then starts
`unshare --net --pid --fork --kill-child` for each scenario. Inside, `hitless.lab.run` is PID 1
of its namespace: when it ends - normally, on error, on Ctrl-C or killed - the kernel ends every
process left in that namespace, and the network namespace (with its iptables rules) goes with it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hitless.lab.causes import Cause, Logs, attribute
from hitless.lab.spec import Scenario

LUA_MODULE = Path("/usr/lib/nginx/modules/ngx_http_lua_module.so")
"""Debian's libnginx-mod-http-lua (the Kong stand-in's balancer)."""
STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
"""Debian's libnginx-mod-stream (tier B)."""
RESTY_CORE = Path("/usr/share/lua/5.1/resty/core.lua")
"""Debian's lua-resty-core (ngx.balancer)."""
RUN_MARGIN_SECONDS = 120.0
"""Slack over the scenario's own bounds before a run is killed from outside."""
LIVE: set[subprocess.Popen[bytes]] = set()
"""Namespace runners started and not yet ended (ended by `stop_all` on Ctrl-C)."""
STOPPING = threading.Event()
"""Set by `stop_all`: no further namespace runner starts."""
LOCK = threading.Lock()
"""Orders starting a runner against `stop_all`."""
APT_PACKAGES = "nginx-light libnginx-mod-stream libnginx-mod-http-lua lua-resty-core iptables"
"""What `apt-get install` needs for the lab (also installed by .ci/run)."""


def missing_prerequisites() -> list[str]:
    """What stops the lab from running here, each with how to fix it (empty: ready)."""
    out: list[str] = []
    if os.geteuid() != 0:
        out.append(
            "the lab creates a network namespace and iptables rules: run it as root "
            "(sudo .venv/bin/hitless lab ...), as CI does"
        )
    for tool, package in (
        ("nginx", "nginx-light"),
        ("iptables", "iptables"),
        ("iptables-restore", "iptables"),
        ("unshare", "util-linux"),
        ("ip", "iproute2"),
    ):
        if shutil.which(tool) is None:
            out.append(f"`{tool}` is missing: apt-get install {package}")
    for path, package in (
        (STREAM_MODULE, "libnginx-mod-stream"),
        (LUA_MODULE, "libnginx-mod-http-lua"),
        (RESTY_CORE, "lua-resty-core"),
    ):
        if not path.exists():
            out.append(f"{path} is missing: apt-get install {package}")
    if importlib.util.find_spec("aiohttp") is None:
        out.append("the Python package aiohttp is missing: pip install -e . (pyproject)")
    return out


@dataclass
class RunResult:
    """One scenario run's outcome."""

    scenario: Scenario
    """What ran."""
    directory: Path
    """Its artifacts (configs, logs, spec.json, result.json)."""
    wall_seconds: float
    """Wall time of the whole run (start of the chain to its end)."""
    error: str | None = None
    """Why the run could not be carried out (None: it ran)."""
    data: dict[str, Any] = field(default_factory=dict)
    """The run's JSON result (events, requests, CPU)."""
    causes: dict[int, tuple[Cause, str]] = field(default_factory=dict)
    """Failed request id -> (cause, where it shows)."""

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request's record."""
        return list(self.data.get("requests", []))

    @property
    def failed(self) -> int:
        """Failed requests."""
        return len(self.causes)

    def by_cause(self) -> Counter[str]:
        """Failed requests per cause."""
        return Counter(cause.value for cause, _ in self.causes.values())

    def verdict_ok(self) -> bool:
        """Whether the run behaved as its scenario expects (hitless: none failed; broken: some)."""
        if self.error is not None:
            return False
        return (self.failed > 0) if self.scenario.expect_failures else self.failed == 0

    def to_json(self) -> dict[str, Any]:
        """The run as plain JSON data."""
        scale = self.scenario.time_scale
        failures = [
            {**r, "cause": self.causes[r["id"]][0].value, "where": self.causes[r["id"]][1]}
            for r in self.requests
            if r["id"] in self.causes
        ]
        return {
            "scenario": self.scenario.name,
            "stack": self.scenario.stack,
            "tier": self.scenario.tier.value,
            "variant": self.scenario.variant,
            "expect_failures": self.scenario.expect_failures,
            "run": self.scenario.run,
            "time_scale": scale,
            "notes": list(self.scenario.notes),
            "artifacts": str(self.directory),
            "error": self.error,
            "wall_seconds": round(self.wall_seconds, 2),
            "cpu_seconds": self.data.get("cpu_seconds"),
            "rollout_seconds": self.data.get("rollout_seconds"),
            "rollout_real_seconds": (
                round(self.data["rollout_seconds"] * scale, 1)
                if "rollout_seconds" in self.data
                else None
            ),
            "requests": len(self.requests),
            "by_kind": {
                kind: {
                    "requests": sum(1 for r in self.requests if r["kind"] == kind),
                    "failed": sum(
                        1 for r in self.requests if r["kind"] == kind and r["id"] in self.causes
                    ),
                }
                for kind in ("get", "upload")
            },
            "by_cause": {cause.value: self.by_cause()[cause.value] for cause in Cause},
            "truncated": self.data.get("truncated", False),
            "events": self.data.get("events", []),
            "failures": failures,
            "nginx_rewrites": self.data.get("rewrites", {}),
        }


def run_one(scenario: Scenario, directory: Path) -> RunResult:
    """Run `scenario` in its own namespaces; artifacts under `directory`."""
    directory = directory.resolve()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    directory.chmod(0o755)
    closed = [p for p in directory.parents if p.stat().st_mode & 0o001 == 0]
    if closed:
        return RunResult(
            scenario,
            directory,
            0.0,
            f"nginx's workers (www-data, nobody) cannot reach {directory}: {closed[0]} is not "
            "searchable by others; put the artifacts elsewhere or chmod o+x it",
        )
    spec, out = directory / "spec.json", directory / "result.json"
    spec.write_text(scenario.model_dump_json(indent=2))
    argv = [
        "unshare",
        "--net",
        "--pid",
        "--fork",
        "--kill-child",
        "--",
        sys.executable,
        "-m",
        "hitless.lab.run",
        str(spec),
        str(out),
    ]
    env = {**os.environ, "HITLESS_LAB_NETNS": "1"}
    limit = (scenario.max_rollout_seconds * 2) / scenario.time_scale + RUN_MARGIN_SECONDS
    began = time.monotonic()
    with (directory / "lab.log").open("wb") as log, LOCK:
        if STOPPING.is_set():
            return RunResult(scenario, directory, 0.0, "interrupted before it started")
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        LIVE.add(proc)
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return RunResult(scenario, directory, time.monotonic() - began, f"killed after {limit:g} s")
    except BaseException:
        _stop(proc)
        raise
    finally:
        LIVE.discard(proc)
    wall = time.monotonic() - began
    if not out.exists():
        tail = (directory / "lab.log").read_text(errors="replace")[-1500:]
        return RunResult(scenario, directory, wall, f"no result (exit {proc.returncode}): {tail}")
    data = json.loads(out.read_text())
    if "error" in data:
        return RunResult(scenario, directory, wall, str(data["error"]))
    logs = Logs.read(data.get("logs", {}))
    causes = {}
    for record in data["requests"]:
        found = attribute(record, logs)
        if found is not None:
            causes[record["id"]] = found
    return RunResult(scenario, directory, wall, data=data, causes=causes)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the namespace's runner (it ends its processes), SIGKILL it after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def stop_all() -> None:
    """End every namespace runner still running (Ctrl-C), by PID; start no further one."""
    with LOCK:
        STOPPING.set()
    for proc in list(LIVE):
        _stop(proc)
        LIVE.discard(proc)


def run_all(
    scenarios: list[tuple[Scenario, Path]], jobs: int, progress: Any = None
) -> list[RunResult]:
    """Run every scenario, `jobs` at a time (each in its own namespaces); results in order."""

    def one(item: tuple[Scenario, Path]) -> RunResult:
        result = run_one(*item)
        if progress is not None:
            progress(result)
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = [pool.submit(one, item) for item in scenarios]
        results = [future.result() for future in futures]
    except BaseException:
        # Ctrl-C: end the namespaces' runners now (they end their processes), drop the rest.
        pool.shutdown(wait=False, cancel_futures=True)
        stop_all()
        pool.shutdown(wait=True)
        raise
    pool.shutdown()
    return results
