"""Mermaid diagrams of one chain, drawn from extracted facts, judged relations and rollout traces.

Pure text: nothing here reads files or runs the simulator. `hitless.report_md` gathers the inputs
(facts, the catalog outcomes the rules judged, `TierTrace`s) and writes them into `report.md`.

- `flowchart(...)`: the chain with every hop's timeouts, keepalives and drains written on it; a
  pair of settings that breaks a catalog relation is drawn red (`classDef broken`, `linkStyle`).
- `gantt(...)`: one tier's simulated rollout, each backend's phases with their real seconds.
- `sequence(...)`: the profile's largest POST crossing the chain while one tier rolls.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hitless.trace import Generation, PhaseName, TierTrace
from hitless_policy import budget
from hitless_policy.facts import BackendService, Deployment, NginxConf, Service, Unknown
from hitless_policy.profile import PackConfig, TrafficProfile
from hitless_policy.rules.base import Judged
from hitless_policy.rules.view import ChainView

MIB = 1024 * 1024
RED = "stroke:#d00000,stroke-width:3px,color:#d00000"
"""How a link of a broken pair is drawn."""

# Nodes of the chain, outer to inner (the runtimes follow Kong, one node each).
CLIENT, LB_A, A, LB_B, B, LB_C, C = "client", "LBA", "A", "LBB", "B", "LBC", "C"
OUTER_NODES = (CLIENT, LB_A, A, LB_B, B, LB_C, C)
"""The chain's nodes before the runtimes, in request order."""
RUNTIMES = "D"
"""Stands for every runtime node in `PAIRS` (the judged resource picks one when it is one)."""

PAIRS: dict[str, tuple[str, ...]] = {
    "lb-timeout-covers-a": (LB_A, A),
    "a-read-covers-kong": (A, C),
    "kong-read-covers-rt": (C, RUNTIMES),
    "b-idle-covers-a-read": (A, B),
    "a-keepalive-outlasts-gfe": (LB_A, A),
    "a-pool-idles-out-first": (A, C),
    "kong-pool-idles-out-first": (C, RUNTIMES),
    "a-pool-recycled-within-b-drain": (A, LB_B),
    "a-lb-drain": (LB_A,),
    "a-lb-drain-cap": (LB_A,),
    "b-lb-drain": (LB_B,),
    "b-lb-drain-cap": (LB_B,),
    "kong-quit-wait": (LB_C, C),
    "rt-prestop": (C, RUNTIMES),
    "kong-retries-min": (C, RUNTIMES),
    "kong-retries-max": (C, RUNTIMES),
    "kong-connect-timeout": (C, RUNTIMES),
    "a-lb-time-to-unhealthy": (LB_A, A),
    "b-lb-time-to-unhealthy": (LB_B, B),
}
"""The nodes each catalog relation relates (outer first); other relations sit on the node their
id starts with (`a-` A, `b-` B, `kong-` C, `rt-` the runtime)."""

_PREFIX_NODE = {"lb-": LB_A, "a-": A, "b-": B, "kong-": C, "rt-": RUNTIMES}


def s(value: float) -> str:
    """Seconds (or any number) as the diagrams print them: 45, 52.4."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def text(value: str) -> str:
    """A label mermaid reads literally: no quotes, semicolons, hashes or colons left."""
    return re.sub(r"[\"`]", "'", value).replace(";", ",").replace("#", "no. ").replace(":", " -")


def _known(value: float | int | str | Unknown | None, unit: str = "") -> str:
    if value is None:
        return "unset"
    if isinstance(value, Unknown):
        return "unknown"
    return f"{s(value)}{unit}" if isinstance(value, float | int) else f"{value}{unit}"


def nodes_of(judged: Judged, view: ChainView) -> tuple[str, ...]:
    """The flowchart nodes a judged relation relates (runtimes resolved to their node ids)."""
    entry_id = judged.outcome.entry.id
    pair = PAIRS.get(entry_id)
    if pair is None:
        pair = next(
            ((node,) for prefix, node in _PREFIX_NODE.items() if entry_id.startswith(prefix)), ()
        )
    out: list[str] = []
    runtime_ids = [runtime_node(i) for i in range(len(view.runtimes))]
    for node in pair:
        if node != RUNTIMES:
            out.append(node)
            continue
        own = [runtime_node(i) for i, rt in enumerate(view.runtimes) if rt.ref.id == judged.ref.id]
        out.extend(own or runtime_ids)
    return tuple(out)


def runtime_node(index: int) -> str:
    """Node id of the `index`th runtime behind Kong."""
    return f"D{index + 1}"


@dataclass(frozen=True)
class _Edge:
    source: str
    target: str
    label: str


def _a_label(confs: list[NginxConf]) -> list[str]:
    if not confs:
        return ["not given"]
    proxies = [p for conf in confs for p in conf.proxies]
    if not proxies:
        return ["no proxy_pass location"]
    limits = [p.client_max_body_bytes for p in proxies if p.client_max_body_bytes]
    body = f"{s(min(limits) / MIB)} MiB" if limits else "unlimited"
    return [
        f"proxy_read_timeout {s(max(p.read_timeout_seconds for p in proxies))} s",
        f"keepalive_timeout {s(min(p.client_keepalive_seconds for p in proxies))} s",
        f"client_max_body_size {body}",
        "request buffering " + ("on" if all(p.request_buffering for p in proxies) else "off"),
        _worker_shutdown(confs),
    ]


def _worker_shutdown(confs: list[NginxConf]) -> str:
    """The shortest worker_shutdown_timeout (unset: nginx waits for every request)."""
    stops = [c.worker_shutdown_seconds for c in confs if c.worker_shutdown_seconds is not None]
    return (
        f"worker_shutdown_timeout {s(min(stops))} s" if stops else "worker_shutdown_timeout unset"
    )


def _b_label(confs: list[NginxConf]) -> list[str]:
    if not confs:
        return ["not given"]
    proxies = [p for conf in confs for p in conf.proxies]
    if not proxies:
        return ["no stream proxy server"]
    return [
        f"proxy_timeout {s(min(p.read_timeout_seconds for p in proxies))} s",
        f"proxy_connect_timeout {s(max(p.connect_timeout_seconds for p in proxies))} s",
        _worker_shutdown(confs),
    ]


def _pool_label(confs: list[NginxConf]) -> str:
    pools = []
    for conf in confs:
        for proxy in conf.proxies:
            upstream = conf.upstream_of(proxy)
            if upstream is not None and upstream.keepalive and upstream not in pools:
                pools.append(upstream)
    if not confs:
        return "TCP"
    if not pools:
        return "TCP, no pooled connections"
    return (
        f"TCP, pool of {max(u.keepalive or 0 for u in pools)} per worker, "
        f"keepalive_timeout {s(max(u.keepalive_timeout_seconds for u in pools))} s, "
        f"keepalive_time {s(max(u.keepalive_time_seconds for u in pools))} s"
    )


def _lb_label(title: str, lbs: Sequence[BackendService], *, timeout: bool) -> list[str]:
    if not lbs:
        return [title, "not given"]
    lines = [title]
    if timeout:
        lines.append(f"timeoutSec {_known(lbs[0].timeout_sec, ' s')}")
    lines.append(f"draining {_known(lbs[0].draining_sec, ' s')}")
    return lines


def _kong_label(view: ChainView) -> list[str]:
    if not view.kong:
        return ["C - Kong", "not given"]
    settings = view.kong[0]
    dep = settings.deployment
    container = dep.main_container()
    hook = container.prestop if container else None
    lines = [f"C - Kong {text(dep.ref.name)}", f"replicas {_known(dep.replicas)}"]
    if hook is None:
        lines.append("no preStop")
    elif isinstance(hook, Unknown):
        lines.append("preStop unknown")
    else:
        lines.append(f"preStop {hook.kind} wait {_known(hook.delay_seconds, ' s')}")
        if hook.quit_timeout_seconds is not None:
            lines.append(f"quit timeout {s(hook.quit_timeout_seconds)} s")
    lines.append(f"grace {_known(dep.grace_seconds, ' s')}")
    lines.append(f"client keepalive {_known(settings.client_keepalive_seconds, ' s')}")
    body = settings.client_max_body_bytes
    lines.append(
        "body limit "
        + (
            "unknown"
            if isinstance(body, Unknown)
            else ("unlimited" if body == 0 else f"{s(body / MIB)} MiB")
        )
    )
    return lines


def _runtime_label(rt: Deployment) -> list[str]:
    container = rt.main_container()
    hook = container.prestop if container else None
    prestop = (
        "no preStop"
        if hook is None
        else "preStop unknown"
        if isinstance(hook, Unknown)
        else f"preStop {hook.kind} {_known(hook.delay_seconds, ' s')}"
    )
    return [
        f"D - {text(rt.ref.name)}",
        f"replicas {_known(rt.replicas)}",
        prestop,
        f"grace {_known(rt.grace_seconds, ' s')}",
        f"request timeout {_known(rt.request_timeout_seconds, ' s')}",
        f"keepalive idle {_known(rt.keepalive_idle_seconds, ' s')}",
        f"body limit {_known(rt.max_body_mib, ' MiB')}",
    ]


def _kong_edge(
    view: ChainView, runtime: Deployment | None = None, k8s_services: Sequence[Service] = ()
) -> str:
    """Kong's hop to `runtime` (every runtime when None): the Kong Services that send to it."""
    parts: list[str] = []
    services = [
        svc
        for config in view.kong_configs
        if not isinstance(config.services, Unknown)
        for svc in config.services
        if runtime is None or runtime in view.served_by(svc, list(k8s_services))
    ]
    if services:

        def span(values: list[float | int | Unknown], unit: str) -> str:
            known = sorted({float(v) for v in values if not isinstance(v, Unknown)})
            if not known:
                return "unknown"
            return (
                f"{s(known[0])}{unit}" if len(known) == 1 else f"{s(known[0])}-{s(known[-1])}{unit}"
            )

        parts.append(f"connect {span([v.connect_timeout_ms for v in services], ' ms')}")
        parts.append(f"read {span([v.read_timeout_ms for v in services], ' ms')}")
        parts.append(f"retries {span([v.retries for v in services], '')}")
    else:
        parts.append("Kong services not given")
    if view.kong:
        parts.append(f"pool idle {_known(view.kong[0].upstream_keepalive_idle_seconds, ' s')}")
    return "HTTP, " + ", ".join(parts)


def flowchart(
    view: ChainView,
    config: PackConfig,
    judged: Sequence[Judged],
    k8s_services: Sequence[Service] = (),
) -> str:
    """The chain as a mermaid flowchart: every hop's settings on it, broken pairs in red.

    `k8s_services` (the Kubernetes Services of the input) tell which Kong Service sends to which
    runtime, so each C -> D hop carries its own timeouts and retries.
    """
    profile = config.profile
    longest = view.longest(profile)
    upload = f"{s(profile.max_body_mib)} MiB at {s(profile.min_client_mbps)} Mbps" + (
        "" if isinstance(longest, Unknown) else f" = {s(longest.client_upload)} s"
    )
    labels: dict[str, list[str]] = {
        LB_A: _lb_label("external Application LB", view.lb_a, timeout=True),
        A: ["A - nginx L7", *_a_label(view.a_confs)],
        LB_B: _lb_label("internal passthrough NLB", view.lb_b, timeout=False),
        B: ["B - nginx L4 stream", *_b_label(view.b_confs)],
        LB_C: ["GKE internal LB", "Kong's Service"],
        C: _kong_label(view),
    }
    runtimes = view.runtimes
    edges = [
        _Edge(CLIENT, LB_A, f"HTTPS POST {upload}"),
        _Edge(
            LB_A,
            A,
            "HTTP, GFE keeps idle backend connections "
            f"{s(config.thresholds.gfe_backend_keepalive_seconds)} s",
        ),
        _Edge(A, LB_B, _pool_label(view.a_confs)),
        _Edge(LB_B, B, "TCP, CONNECTION balancing"),
        _Edge(B, LB_C, "TCP"),
        _Edge(LB_C, C, "TCP"),
    ]
    for index, rt in enumerate(runtimes):
        edges.append(_Edge(C, runtime_node(index), _kong_edge(view, rt, k8s_services)))
    if not runtimes:
        labels["D1"] = ["D - runtime", "not given"]
        edges.append(_Edge(C, "D1", _kong_edge(view)))
    for index, rt in enumerate(runtimes):
        labels[runtime_node(index)] = _runtime_label(rt)

    failing = [j for j in judged if j.outcome.status == "fail"]
    red_nodes: set[str] = set()
    red_edges: set[int] = set()
    for item in failing:
        nodes = nodes_of(item, view)
        red_nodes.update(nodes)
        if len(nodes) < 2:
            continue
        outer = [n for n in nodes if n in OUTER_NODES]
        inner = {n for n in nodes if n not in OUTER_NODES}
        low = OUTER_NODES.index(outer[0]) if outer else OUTER_NODES.index(C)
        high = OUTER_NODES.index(C) if inner else OUTER_NODES.index(outer[-1])
        for index, edge in enumerate(edges):
            after = low <= OUTER_NODES.index(edge.source)
            if edge.target in OUTER_NODES:
                if after and OUTER_NODES.index(edge.target) <= high:
                    red_edges.add(index)
            elif after and edge.target in inner:
                red_edges.add(index)
    lines = ["flowchart TB", f'  {CLIENT}(("client"))']
    for node, label in labels.items():
        lines.append(f'  {node}["{"<br/>".join(text(part) for part in label)}"]')
    lines.extend(f'  {e.source} -->|"{text(e.label)}"| {e.target}' for e in edges)
    lines.append("  classDef broken fill:#ffe0e0,stroke:#d00000,stroke-width:3px,color:#600000")
    lines.append("  classDef absent fill:#f4f4f4,stroke:#999999,stroke-dasharray:4 3,color:#666666")
    absent = [node for node, label in labels.items() if "not given" in label]
    if absent:
        lines.append(f"  class {','.join(absent)} absent")
    if red_nodes:
        lines.append(f"  class {','.join(sorted(red_nodes))} broken")
    if red_edges:
        lines.append(f"  linkStyle {','.join(str(i) for i in sorted(red_edges))} {RED}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Gantt: one tier's rollout
# ---------------------------------------------------------------------------------------------

_TAGS: dict[PhaseName, str] = {
    PhaseName.SERVING: "",
    PhaseName.OUT_OF_ROTATION: "active, ",
    PhaseName.DRAINING: "crit, ",
    PhaseName.STARTING: "",
    PhaseName.READY: "active, ",
    PhaseName.IN_ROTATION: "done, ",
}


def _at(value: float) -> str:
    """A time on the gantt's axis: whole milliseconds (`dateFormat x`; `X` takes no fraction)."""
    return str(round(value * 1000))


def gantt(trace: TierTrace, title: str) -> str:
    """A tier's rollout as a mermaid gantt: each backend's phases with their seconds.

    Times are seconds from the start of the simulated run (milliseconds on the axis); the rollout
    starts at `trace.rollout_start`. A killed backend is a milestone at its kill.
    """
    lines = [
        "gantt",
        f"  title {text(title)}",
        "  dateFormat x",
        "  axisFormat %M:%S",
        "  section rollout",
        f"  rollout starts at {s(trace.rollout_start)} s :milestone, r0, "
        f"{_at(trace.rollout_start)}, 0s",
        f"  rollout complete at {s(trace.rollout_end)} s :milestone, r1, "
        f"{_at(trace.rollout_end)}, 0s",
    ]
    for index, life in enumerate(trace.backends):
        lines.append(f"  section {text(life.backend)} ({life.generation.value})")
        for number, phase in enumerate(life.phases):
            task = f"b{index}p{number}"
            if phase.name is PhaseName.KILLED:
                lines.append(
                    f"  killed at {s(phase.start)} s :crit, milestone, {task}, "
                    f"{_at(phase.start)}, 0s"
                )
                continue
            if phase.end <= phase.start:
                continue
            lines.append(
                f"  {phase.name.value} {s(phase.start)}-{s(phase.end)} s :{_TAGS[phase.name]}"
                f"{task}, {_at(phase.start)}, {_at(phase.end)}"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Sequence: the largest POST crossing the chain while one tier rolls
# ---------------------------------------------------------------------------------------------

PARTICIPANTS = (
    ("CL", "client"),
    ("LB", "external ALB"),
    ("A", "A nginx L7"),
    ("NLB", "internal NLB"),
    ("B", "B nginx L4"),
    ("K", "C Kong"),
    ("RT", "D runtime"),
)
"""Who the POST crosses, in order (mermaid participant id, name)."""
ROLLING_PARTICIPANT = {"a": "A", "b": "B", "c": "K", "d": "RT"}
"""The participant of each rolling tier."""


def _old_backend_story(trace: TierTrace, tier: str, longest: float | None) -> list[str]:
    """What the rollout does to the first old backend, and whether its drain covers `longest`."""
    old = [life for life in trace.backends if life.generation is Generation.OLD]
    if not old:
        return [f"tier {tier.upper()} rolls - no old backend was replaced"]
    life = old[0]
    at = {phase.name: phase for phase in life.phases}
    parts = [f"tier {tier.upper()} rolls - {life.backend}"]
    if PhaseName.OUT_OF_ROTATION in at:
        parts.append(f"deletion starts at {s(at[PhaseName.OUT_OF_ROTATION].start)} s")
    if PhaseName.DRAINING in at:
        drain = at[PhaseName.DRAINING]
        parts.append(f"routers stop at {s(drain.start)} s, draining until {s(drain.end)} s")
        if longest is not None:
            verdict = "covers" if drain.end - drain.start >= longest else "does NOT cover"
            parts.append(
                f"its {s(drain.end - drain.start)} s drain {verdict} the longest request of "
                f"{tier.upper()} ({s(longest)} s)"
            )
    if PhaseName.KILLED in at:
        parts.append(f"killed at {s(at[PhaseName.KILLED].start)} s")
    return parts


def _note(parts: Sequence[str]) -> str:
    """Lines of a sequence-diagram note."""
    return "<br/>".join(text(part) for part in parts)


def sequence(
    view: ChainView, profile: TrafficProfile, trace: TierTrace, rolling: str, name: str
) -> str:
    """The profile's largest POST crossing the chain while tier `rolling` rolls (mermaid).

    Each hop's note carries its timeouts and buffering; the rolling tier's note says what the
    rollout does to its first old backend and what the simulation counted.
    """
    longest = view.longest(profile)
    known = None if isinstance(longest, Unknown) else longest
    body = s(profile.max_body_mib)
    lines = ["sequenceDiagram"]
    lines.extend(f"  participant {pid} as {label}" for pid, label in PARTICIPANTS)
    lines.append(
        f"  Note over CL,RT: {text(name)} - a {body} MiB POST while tier {rolling.upper()} rolls"
    )
    upload = "" if known is None else f" in {s(known.client_upload)} s"
    lines.append(f"  CL->>LB: POST {body} MiB at {s(profile.min_client_mbps)} Mbps{upload}")
    lines.append(f"  Note over LB: {_note(_lb_label('LB', view.lb_a, timeout=True)[1:])}")
    lines.append("  LB->>A: the body streams to A")
    lines.append(f"  Note over A: {_note(_a_label(view.a_confs))}")
    hop = "" if known is None else f" in {s(known.internal_transfer)} s per internal hop"
    lines.append(f"  A->>NLB: forward the body{hop}")
    lines.append(f"  Note over NLB: {_note(_lb_label('NLB', view.lb_b, timeout=False)[1:])}")
    lines.append("  NLB->>B: one TCP flow")
    lines.append(f"  Note over B: {_note(_b_label(view.b_confs))}")
    lines.append("  B->>K: the same TCP flow")
    lines.append(f"  Note over K: {_note(_kong_label(view)[1:])}")
    lines.append(f"  K->>RT: {text(_kong_edge(view))}")
    rt_note = _runtime_label(view.runtimes[0])[1:] if view.runtimes else ["not given"]
    lines.append(f"  Note over RT: {_note(rt_note)}")
    processing = s(profile.rt_max_processing_seconds)
    lines.append(f"  RT-->>K: response after up to {processing} s of processing")
    lines.extend(
        f"  {inner}-->>{outer}: response"
        for outer, inner in (("B", "K"), ("NLB", "B"), ("A", "NLB"), ("LB", "A"), ("CL", "LB"))
    )
    held = None if known is None else known.for_tier(rolling)
    pid = ROLLING_PARTICIPANT[rolling]
    causes = [f"{cause} {count}" for cause, count in sorted(trace.failures_by_cause.items())]
    lines.append("  rect rgb(255, 240, 220)")
    lines.append(f"  Note over {pid}: {_note(_old_backend_story(trace, rolling, held))}")
    lines.append(f"  Note over {pid}: simulated failures - {_note(causes) if causes else 'none'}")
    lines.append("  end")
    return "\n".join(lines)


def longest_rows(longest: budget.LongestRequests | Unknown) -> list[tuple[str, str]]:
    """Each tier's longest request as (tier, seconds) rows (unknown buffering: one row)."""
    if isinstance(longest, Unknown):
        return [("every tier", f"unknown: {longest}")]
    return [(tier.upper(), s(longest.for_tier(tier))) for tier in "abcd"]
