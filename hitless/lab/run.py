"""One lab run, inside the network namespace the lab created: `python -m hitless.lab.run SPEC OUT`.

Starts the chain on loopback (A and B: real nginx on the rendered confs; C: the Kong stand-in;
D: aiohttp RT pods), each tier behind a virtual address routed by iptables DNAT with `statistic`
rules (as kube-proxy does; conntrack pins established flows), then rolls one tier the way its
controller does while `hitless.lab.load` sends traffic through A's virtual address. Every time in
the `Scenario` is divided by its time scale here. Writes the result as JSON to OUT.

Process hygiene: this process is a child subreaper; every process it starts gets its own process
group and is ended by PID (process group) on exit, on error and on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from hitless.lab import configs
from hitless.lab.load import LoadResult, run_load
from hitless.lab.spec import DeploymentSpec, MigSpec, Probe, RollingTier, Scenario

PR_SET_CHILD_SUBREAPER = 36
"""prctl option: orphaned descendants (daemonized nginx masters, workers) are reparented here."""
TIER_NET = {"a": 11, "b": 12, "c": 13, "d": 14}
"""Second octet of each tier's loopback addresses: backends 127.N.0.i, virtual 127.N.255.254."""
VIP_PORT = {"a": 80, "b": 80, "c": 80, "d": 8080}
"""Port of each tier's virtual address (LB frontends; the RT Service port)."""
BACKEND_PORT = {"a": 80, "b": 80, "c": 8000, "d": 8080}
"""Port each backend listens on (nginx listen, Kong proxy_listen, the RT containerPort)."""
HEALTH = {
    "a": ":8081/healthz",
    "b": ":8081/healthz",
    "c": ":8100/status/ready",
    "d": ":8080/health",
}
"""Health or readiness endpoint per tier (port and path)."""
START_TIMEOUT = 20.0
"""Seconds a backend may take to answer its first health check before the run fails."""
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
"""nginx by absolute path: the binary upgrade (USR2) re-executes argv[0]."""
TAIL_SECONDS = 1.0
"""Traffic keeps arriving this long (scaled seconds) after the rollout completed."""


def vip(tier: str) -> str:
    """The virtual address of `tier` (LB frontend or Service ClusterIP)."""
    return f"127.{TIER_NET[tier]}.255.254"


class LabError(RuntimeError):
    """The run could not be carried out (not: a request failed)."""


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


class Procs:
    """Every process the run started, by PID; each leads its own process group."""

    def __init__(self) -> None:
        self.live: dict[int, str] = {}

    def spawn(self, name: str, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        """Start `argv` in a new session (its own process group), output to `log`."""
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.live[proc.pid] = name
        return proc

    def signal(self, proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        """Send `sig` to the process (SIGKILL: to its whole process group)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if sig is signal.SIGKILL:
                os.killpg(proc.pid, sig)
            else:
                os.kill(proc.pid, sig)

    def end_all(self) -> None:
        """SIGKILL every process group the run started, then reap every child."""
        for pid in list(self.live):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self.live.clear()
        reap()


def reap() -> None:
    """Collect every exited child (subreaper: also orphaned grandchildren)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# --------------------------------------------------------------------------------------------
# Routing: iptables DNAT with statistic rules, changed after a lag
# --------------------------------------------------------------------------------------------


def _run(argv: list[str], stdin: str | None = None) -> None:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode:
        raise LabError(f"{' '.join(argv)} failed: {done.stderr.strip()}")


class Router:
    """One tier's virtual address: new connections DNAT-ed to a random backend in rotation."""

    def __init__(self, tier: str, log: Callable[[str, str], None]) -> None:
        self.tier, self.chain, self.log = tier, f"LAB-{tier.upper()}", log
        self.members: list[str] = []
        _run(["iptables", "-w", "-t", "nat", "-N", self.chain])
        _run(
            [
                *("iptables", "-w", "-t", "nat", "-A", "OUTPUT", "-d", vip(tier), "-p", "tcp"),
                *("--dport", str(VIP_PORT[tier]), "-j", self.chain),
            ]
        )

    def _apply(self) -> None:
        lines = ["*nat", f"-F {self.chain}"]
        n = len(self.members)
        for index, address in enumerate(self.members):
            dest = f"-j DNAT --to-destination {address}:{BACKEND_PORT[self.tier]}"
            left = n - index
            pick = "" if left == 1 else f"-m statistic --mode random --probability {1 / left:.6f} "
            lines.append(f"-A {self.chain} -p tcp {pick}{dest}")
        lines.append("COMMIT\n")
        _run(["iptables-restore", "-w", "--noflush"], "\n".join(lines))

    def add(self, name: str, address: str) -> None:
        """Put a backend into rotation now."""
        if address not in self.members:
            self.members.append(address)
            self._apply()
            self.log(name, "in rotation: routers send it new connections")

    def drop(self, name: str, address: str) -> None:
        """Take a backend out of rotation now (established flows stay, as conntrack keeps them)."""
        if address in self.members:
            self.members.remove(address)
            self._apply()
            self.log(name, "out of rotation: no new connections")


# --------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------


@dataclass
class Backend:
    """One pod or instance."""

    name: str
    """Pod or instance name."""
    tier: str
    """Its tier."""
    address: str
    """Its loopback address."""
    directory: Path
    """Its configs and logs."""
    proc: subprocess.Popen[bytes] | None = None
    """The process (nginx master or RT server)."""
    available: bool = False
    """Counts for the rollout (ready/healthy for minReadySeconds / min_ready_sec)."""
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the process exited or was killed."""


class Lab:
    """The chain on loopback and the controllers that roll it."""

    def __init__(self, spec: Scenario, workdir: Path) -> None:
        self.spec, self.workdir = spec, workdir
        self.scale = spec.time_scale
        self.procs = Procs()
        self.events: list[dict[str, Any]] = []
        self.t0 = time.monotonic()  # reset when the rollout starts
        self.routers: dict[str, Router] = {}
        self.backends: dict[str, list[Backend]] = {t: [] for t in TIER_NET}
        self.counter: dict[str, int] = dict.fromkeys(TIER_NET, 0)
        self.tasks: set[asyncio.Task[None]] = set()
        self.session: aiohttp.ClientSession | None = None
        self.rewrites: dict[str, list[str]] = {}
        self.startup_seconds: list[float] = []

    # -- helpers ------------------------------------------------------------------------------

    def s(self, seconds: float) -> float:
        """A scenario time in lab seconds."""
        return seconds / self.scale

    def now(self) -> float:
        """Seconds since the rollout started (negative before)."""
        return time.monotonic() - self.t0

    def log(self, backend: str, what: str) -> None:
        """Record a rollout event."""
        self.events.append({"mono": time.monotonic(), "backend": backend, "what": what})

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """Run `action` after `delay` lab seconds (a routing lag)."""

        async def wait() -> None:
            await asyncio.sleep(delay)
            action()

        self.spawn_task(wait())

    def spawn_task(self, coro: Any) -> None:
        """Keep a reference to a background task until it ends."""
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def healthy(self, backend: Backend, timeout: float) -> bool:
        """One HTTP health check of `backend` (2xx within `timeout` lab seconds)."""
        assert self.session is not None  # noqa: S101 - set in run()
        url = f"http://{backend.address}{HEALTH[backend.tier]}"
        try:
            async with self.session.get(
                url, timeout=aiohttp.ClientTimeout(total=max(0.05, timeout))
            ) as response:
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def watch_exit(self, backend: Backend) -> None:
        """Set `backend.gone` when its process exits (a daemonized nginx: when it detached)."""
        assert backend.proc is not None  # noqa: S101 - started before watched
        while backend.proc.poll() is None:
            await asyncio.sleep(0.05)
        self.procs.live.pop(backend.proc.pid, None)
        if not self.daemonized(backend):
            backend.gone.set()

    def daemonized(self, backend: Backend) -> bool:
        """Whether the backend is an nginx running as a daemon (in-place upgrade scenario)."""
        return self.spec.in_place_upgrade and backend.tier == self.spec.tier.value

    async def master_pid(self, backend: Backend, name: str = "nginx.pid") -> int:
        """The daemon master's PID from its pid file, registered for the final cleanup."""
        path = backend.directory / name
        for _ in range(200):
            text = path.read_text().strip() if path.exists() else ""
            if text.isdigit():
                pid = int(text)
                self.procs.live[pid] = f"{backend.name} master"
                return pid
            await asyncio.sleep(0.025)
        raise LabError(f"{backend.name}: no pid in {path}")

    async def upgrade_in_place(self, tier: str) -> None:
        """Upgrade nginx's binary on every instance in turn: USR2, new master up, QUIT the old.

        USR2 makes the master rename its pid file to `.oldbin` and start the binary again with
        the inherited listening sockets; QUIT then drains the old master's workers. The
        listener never closes, so no connection is refused and in-flight requests finish.
        """
        self.log("", f"in-place binary upgrade of every {tier.upper()} instance starts")
        for backend in list(self.backends[tier]):
            old = await self.master_pid(backend)
            os.kill(old, signal.SIGUSR2)
            self.log(backend.name, f"USR2 to master {old}: new master starts")
            new = old
            for _ in range(400):
                if (backend.directory / "nginx.pid.oldbin").exists():
                    new = await self.master_pid(backend)
                    if new != old:
                        break
                await asyncio.sleep(0.025)
            if new == old:
                raise LabError(f"{backend.name}: USR2 started no new master (is nginx a daemon?)")
            if not await self.healthy(backend, 1.0):
                raise LabError(f"{backend.name}: new master {new} does not answer")
            os.kill(old, signal.SIGQUIT)
            self.log(backend.name, f"new master {new} serving; QUIT to old master {old}")
            while _alive(old):
                await asyncio.sleep(0.05)
            self.log(backend.name, f"old master {old} exited after its requests finished")
        self.log("", "in-place upgrade complete")

    # -- starting backends --------------------------------------------------------------------

    def new_backend(self, tier: str, prefix: str) -> Backend:
        """Allocate an address and directory for a new pod or instance of `tier`."""
        self.counter[tier] += 1
        index = self.counter[tier]
        name = f"{prefix}-{index}"
        directory = self.workdir / tier / name
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(
            0o777
        )  # nginx workers (www-data, nobody) write temp files and read the flag
        address = f"127.{TIER_NET[tier]}.{index // 250}.{index % 250 + 1}"
        backend = Backend(name=name, tier=tier, address=address, directory=directory)
        self.backends[tier].append(backend)
        return backend

    def start_process(self, backend: Backend) -> None:
        """Write the backend's config and start its process."""
        spec, tier, directory = self.spec, backend.tier, backend.directory
        log = directory / "process.log"
        if tier in ("a", "b"):
            mig: MigSpec = spec.a if tier == "a" else spec.b
            upstream = f"{vip('b' if tier == 'a' else 'c')}:{VIP_PORT['b' if tier == 'a' else 'c']}"
            moved = configs.rewrite_tier_conf(
                mig.conf,
                address=backend.address,
                upstream=upstream,
                directory=directory,
                scale=self.scale,
            )
            self.rewrites.setdefault(tier, moved.changes)
            conf = directory / "nginx.conf"
            conf.write_text(moved.text)
            daemon = "on" if spec.in_place_upgrade and tier == spec.tier.value else "off"
            argv = [NGINX, "-p", str(directory), "-c", str(conf), "-g", f"daemon {daemon};"]
        elif tier == "c":
            conf = directory / "nginx.conf"
            conf.write_text(
                configs.kong_stand_in_conf(
                    spec.kong,
                    address=backend.address,
                    proxy_port=BACKEND_PORT["c"],
                    status_port=8100,
                    upstream_host=vip("d"),
                    upstream_port=VIP_PORT["d"],
                    directory=directory,
                    scale=self.scale,
                )
            )
            argv = [NGINX, "-p", str(directory), "-c", str(conf), "-g", "daemon off;"]
        else:
            rt = spec.rt
            argv = [
                sys.executable,
                "-m",
                "hitless.lab.rt_server",
                "--name",
                backend.name,
                "--host",
                backend.address,
                "--port",
                str(BACKEND_PORT["d"]),
                "--work-seconds",
                str(self.s(rt.work_seconds)),
                "--request-timeout",
                str(self.s(rt.request_timeout_seconds)),
                "--keepalive-timeout",
                str(self.s(rt.keepalive_idle_seconds)),
                "--max-body",
                str(round(rt.max_body_mib * 1_048_576 / self.scale)),
                "--drain-seconds",
                str(self.s(spec.d.grace_seconds) + 5),
            ]
        backend.proc = self.procs.spawn(backend.name, argv, log)
        self.spawn_task(self.watch_exit(backend))

    async def wait_started(self, backend: Backend) -> float:
        """Poll until the backend answers its health check; the measured start time."""
        began = time.monotonic()
        while time.monotonic() - began < START_TIMEOUT:
            if backend.gone.is_set():
                break
            if await self.healthy(backend, 0.5):
                took = time.monotonic() - began
                self.startup_seconds.append(took)
                return took
            await asyncio.sleep(0.02)
        log = (backend.directory / "process.log").read_text(errors="replace")[-2000:]
        errors = backend.directory / "error.log"
        tail = errors.read_text(errors="replace")[-2000:] if errors.exists() else ""
        raise LabError(f"{backend.name} did not start within {START_TIMEOUT} s:\n{log}\n{tail}")

    async def start_steady(self, tier: str) -> None:
        """Start a tier's initial backends and put them in rotation."""
        spec = self.spec
        count = {"a": spec.a.size, "b": spec.b.size, "c": spec.c.replicas, "d": spec.d.replicas}
        prefix = {"a": "edge-old", "b": "relay-old", "c": "kong-old", "d": f"{spec.d.name}-old"}
        made = [self.new_backend(tier, prefix[tier]) for _ in range(count[tier])]
        for backend in made:
            self.start_process(backend)
        await asyncio.gather(*(self.wait_started(b) for b in made))
        for backend in made:
            backend.available = True
            self.routers[tier].add(backend.name, backend.address)

    # -- Deployment controller (C, D) ---------------------------------------------------------

    async def probe_until(self, backend: Backend, probe: Probe, started: float) -> float | None:
        """Run a probe as the kubelet does; the lab time it passed (None: the pod is gone).

        The kubelet's first probe comes after a random jitter of up to one period; the lab
        takes one full period (the budget's worst case), then probes every period.
        """
        passes = 0
        at = started + self.s(probe.initial_delay_seconds)
        while not backend.gone.is_set():
            at += self.s(probe.period_seconds)
            await asyncio.sleep(max(0.0, at - self.now()))
            if await self.healthy(backend, self.s(probe.timeout_seconds)):
                passes += 1
                if passes >= probe.success_threshold:
                    return self.now()
            else:
                passes = 0
        return None

    async def pod_lifecycle(self, tier: str, dep: DeploymentSpec, backend: Backend) -> None:
        """A new pod: start, startup then readiness probe, endpoint after the lag, Available."""
        created = self.now()
        self.log(backend.name, "pod created")
        self.start_process(backend)
        started = created
        if dep.startup is not None:
            passed = await self.probe_until(backend, dep.startup, created)
            if passed is None:
                return
            started = passed
            self.log(backend.name, "startup probe passed")
        ready = await self.probe_until(backend, dep.readiness, started)
        if ready is None:
            return
        self.log(backend.name, "ready (passes readiness)")
        router = self.routers[tier]
        self.later(self.s(dep.lag_seconds), lambda: router.add(backend.name, backend.address))
        await asyncio.sleep(self.s(dep.min_ready_seconds))
        backend.available = True
        self.log(backend.name, "available: counts for the rollout")

    async def terminate_pod(self, tier: str, dep: DeploymentSpec, backend: Backend) -> None:
        """Terminating: endpoint removal after the lag; preStop; SIGTERM/SIGQUIT; kill at grace."""
        assert backend.proc is not None  # noqa: S101 - a live pod
        start = self.now()
        kong = tier == "c"
        self.log(
            backend.name,
            "Terminating: endpoint removal and "
            + (f"kong quit --wait={dep.prestop_seconds:g} start" if kong else "preStop start"),
        )
        router = self.routers[tier]
        self.later(self.s(dep.lag_seconds), lambda: router.drop(backend.name, backend.address))
        kill_at = self.s(dep.grace_seconds)
        if kong and dep.quit_timeout_seconds is not None:
            kill_at = min(kill_at, self.s(dep.prestop_seconds + dep.quit_timeout_seconds))
        stop_at = min(self.s(dep.prestop_seconds), kill_at)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(backend.gone.wait(), timeout=stop_at)
        if not backend.gone.is_set():
            # Kong's quit sends QUIT to nginx (graceful); the kubelet sends the RT SIGTERM.
            self.procs.signal(backend.proc, signal.SIGQUIT if kong else signal.SIGTERM)
            self.log(
                backend.name,
                "SIGQUIT (kong quit): listeners closed, in-flight requests drain"
                if kong
                else "SIGTERM: listener closed, in-flight requests drain",
            )
        left = kill_at - (self.now() - start)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(backend.gone.wait(), timeout=max(0.0, left))
        if backend.gone.is_set():
            self.log(backend.name, "exited")
        else:
            self.procs.signal(backend.proc, signal.SIGKILL)
            await backend.gone.wait()
            self.log(backend.name, "killed (SIGKILL): requests still in flight are cut")

    async def roll_deployment(self, tier: str, dep: DeploymentSpec) -> None:
        """The Deployment controller's rolling update, step by step as availability changes."""
        old = list(self.backends[tier])
        live_old = list(old)
        new: list[Backend] = []
        self.log(
            "",
            f"rollout starts: {dep.replicas} pods, maxSurge {dep.max_surge}, "
            f"maxUnavailable {dep.max_unavailable}",
        )
        terminations: list[asyncio.Task[None]] = []
        lifecycles: list[asyncio.Task[None]] = []
        deadline = time.monotonic() + self.s(self.spec.max_rollout_seconds)
        while True:
            # Terminating pods no longer count (filtered out of the ReplicaSets' counts).
            while (
                len(live_old) + len(new) < dep.replicas + dep.max_surge and len(new) < dep.replicas
            ):
                backend = self.new_backend(tier, f"{dep.name}-new")
                new.append(backend)
                lifecycles.append(asyncio.ensure_future(self.pod_lifecycle(tier, dep, backend)))
            available_new = sum(1 for b in new if b.available)
            removable = len(live_old) + available_new - (dep.replicas - dep.max_unavailable)
            for _ in range(max(0, min(removable, len(live_old)))):
                victim = live_old.pop(0)
                terminations.append(asyncio.ensure_future(self.terminate_pod(tier, dep, victim)))
            if not live_old and all(b.gone.is_set() for b in old) and available_new == dep.replicas:
                break
            if time.monotonic() > deadline:
                raise LabError(f"the rollout of tier {tier} did not complete in time")
            for task in lifecycles + terminations:
                if task.done() and task.exception() is not None:
                    raise LabError(f"tier {tier}: {task.exception()!r}")
            await asyncio.sleep(0.02)
        self.log("", "rollout complete: every old pod gone, every new one available")

    # -- MIG updater (A, B) -------------------------------------------------------------------

    async def instance_lifecycle(self, tier: str, mig: MigSpec, backend: Backend) -> None:
        """A new instance: boot, LB health check passes, LB adds it after the lag, available."""
        self.log(backend.name, "instance created")
        created = self.now()
        self.start_process(backend)
        passes, at = 0, created
        while not backend.gone.is_set():
            at += self.s(mig.check_interval_seconds)
            await asyncio.sleep(max(0.0, at - self.now()))
            if await self.healthy(backend, self.s(mig.check_timeout_seconds)):
                passes += 1
                if passes >= mig.healthy_threshold:
                    break
            else:
                passes = 0
        self.log(backend.name, "healthy (LB health check)")
        router = self.routers[tier]
        self.later(self.s(mig.lag_seconds), lambda: router.add(backend.name, backend.address))
        await asyncio.sleep(self.s(mig.min_ready_seconds))
        backend.available = True
        self.log(backend.name, "available: counts for the rollout")

    async def remove_instance(self, tier: str, mig: MigSpec, backend: Backend) -> None:
        """Removed from the group: LB draining; shutdown script; deleted at the drain limit."""
        assert backend.proc is not None  # noqa: S101 - a live instance
        start = self.now()
        self.log(backend.name, "removed from the group: LB connection draining starts")
        router = self.routers[tier]
        lag = self.s(mig.lag_seconds)
        self.later(lag, lambda: router.drop(backend.name, backend.address))
        drain = self.s(mig.drain_seconds)

        async def shutdown_script() -> None:
            # Runs once the LB no longer sends new connections: flag, wait, nginx -s quit.
            await asyncio.sleep(min(lag, drain))
            (backend.directory / "draining").write_text("")
            self.log(backend.name, "shutdown script: drain flag set, /healthz answers 503")
            await asyncio.sleep(self.s(mig.drain_wait_seconds))
            if not backend.gone.is_set() and backend.proc is not None:
                self.procs.signal(backend.proc, signal.SIGQUIT)
                self.log(backend.name, "nginx -s quit: graceful, in-flight requests finish")

        script = asyncio.ensure_future(shutdown_script())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                backend.gone.wait(), timeout=max(0.0, drain - (self.now() - start))
            )
        script.cancel()
        if backend.gone.is_set():
            self.log(backend.name, "nginx exited")
        else:
            self.procs.signal(backend.proc, signal.SIGKILL)
            await backend.gone.wait()
            self.log(backend.name, "deleted: draining timeout ends, remaining connections cut")

    async def roll_mig(self, tier: str, mig: MigSpec) -> None:
        """The MIG updater: surge `surge` instances, remove an old one per available new one."""
        old = list(self.backends[tier])
        live_old = list(old)
        new: list[Backend] = []
        prefix = "edge-new" if tier == "a" else "relay-new"
        self.log("", f"rollout starts: {mig.size} instances, surge {mig.surge}, unavailable 0")
        tasks: list[asyncio.Task[None]] = []
        removals: list[asyncio.Task[None]] = []
        deadline = time.monotonic() + self.s(self.spec.max_rollout_seconds)
        while True:
            while len(live_old) + len(new) < mig.size + mig.surge and len(new) < mig.size:
                backend = self.new_backend(tier, prefix)
                new.append(backend)
                tasks.append(asyncio.ensure_future(self.instance_lifecycle(tier, mig, backend)))
            available_new = sum(1 for b in new if b.available)
            removable = len(live_old) + available_new - mig.size
            for _ in range(max(0, min(removable, len(live_old)))):
                victim = live_old.pop(0)
                removals.append(asyncio.ensure_future(self.remove_instance(tier, mig, victim)))
            if not live_old and all(b.gone.is_set() for b in old) and available_new == mig.size:
                break
            if time.monotonic() > deadline:
                raise LabError(f"the rollout of tier {tier} did not complete in time")
            for task in tasks + removals:
                if task.done() and task.exception() is not None:
                    raise LabError(f"tier {tier}: {task.exception()!r}")
            await asyncio.sleep(0.02)
        self.log("", "rollout complete: every old instance gone, every new one available")

    # -- the run ------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Start the chain, load it, roll the tier, stop everything; the result as JSON data."""
        spec = self.spec
        connector = aiohttp.TCPConnector(force_close=True, limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            self.session = session
            for tier in ("d", "c", "b", "a"):
                self.routers[tier] = Router(tier, self.log)
                await self.start_steady(tier)
            upload_seconds = spec.load.body_mib / spec.load.client_mib_per_second
            lead_in = self.s(upload_seconds)
            stop = asyncio.Event()
            began = time.monotonic()
            self.t0 = began + lead_in
            load = asyncio.ensure_future(
                run_load(
                    spec.load,
                    scale=self.scale,
                    target=f"http://{vip('a')}:{VIP_PORT['a']}",
                    t0=self.t0,
                    stop=stop,
                )
            )
            await asyncio.sleep(lead_in)
            rolled_at = time.monotonic()
            if spec.in_place_upgrade:
                await self.upgrade_in_place(spec.tier.value)
            elif spec.tier is RollingTier.a:
                await self.roll_mig("a", spec.a)
            elif spec.tier is RollingTier.b:
                await self.roll_mig("b", spec.b)
            elif spec.tier is RollingTier.c:
                await self.roll_deployment("c", spec.c)
            else:
                await self.roll_deployment("d", spec.d)
            rollout_seconds = time.monotonic() - rolled_at
            await asyncio.sleep(TAIL_SECONDS)
            stop.set()
            result: LoadResult = await load
            wall = time.monotonic() - began
        return {
            "rollout_seconds": rollout_seconds,
            "lead_in_seconds": lead_in,
            "load_wall_seconds": wall,
            "events": [
                {"at": round(e["mono"] - self.t0, 3), "backend": e["backend"], "what": e["what"]}
                for e in sorted(self.events, key=lambda e: e["mono"])
            ],
            "requests": result.requests,
            "truncated": result.truncated,
            "rewrites": self.rewrites,
            "backend_start_seconds": self.startup_seconds,
            "logs": {
                tier: [str(b.directory) for b in backends]
                for tier, backends in self.backends.items()
            },
        }


def _alive(pid: int) -> bool:
    """Whether `pid` still runs (reaping it first if it is an exited child)."""
    reap()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def become_subreaper() -> None:
    """prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented to this process."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise LabError(f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")


def setup_namespace() -> None:
    """Bring up `lo` in the fresh namespace and refuse to run outside one."""
    if os.environ.get("HITLESS_LAB_NETNS") != "1":
        raise LabError("hitless.lab.run runs only inside the namespace `hitless lab` creates")
    _run(["ip", "link", "set", "lo", "up"])


def main(argv: list[str] | None = None) -> int:
    """Run one scenario; write its result. Exit 0 (ran), 2 (could not run)."""
    args = sys.argv[1:] if argv is None else argv
    spec = Scenario.model_validate_json(Path(args[0]).read_text())
    out = Path(args[1])
    workdir = out.parent
    become_subreaper()
    lab: Lab | None = None

    def stop(signum: int, _: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    cpu_before = _cpu()
    try:
        setup_namespace()
        lab = Lab(spec, workdir)
        data = asyncio.run(lab.run())
    except (LabError, OSError) as error:
        out.write_text(json.dumps({"error": str(error)}))
        return 2
    except KeyboardInterrupt:
        out.write_text(json.dumps({"error": "interrupted"}))
        return 2
    finally:
        if lab is not None:
            lab.procs.end_all()
        reap()
    data["cpu_seconds"] = round(_cpu() - cpu_before, 3)
    out.write_text(json.dumps(data))
    return 0


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    sys.exit(main())
