"""The catalog of bounds: every relation the chain needs from a setting, declared once, as data.

An entry names the setting twice (its stack key, for the config model, and its resource path,
for the rules), the operator, the bound's formula (from `budget`), the rule that owns it, the
consequence of breaking it and so the fix. Three judges evaluate the same entries:

- the stack config model (`hitless.components.config`), on the config's values;
- the pack's rules (`hitless_policy.rules`), on facts extracted from rendered resources;
- `hitless explain`, which prints every entry with its value and bound.

Each judge maps its own source to the same named inputs (`Values`); an input it cannot read is
absent, and an entry with an absent input is not judged, never passed. A setting has one owning
rule: `test_catalog` checks that no stack key is judged by two rules.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from hitless_policy import budget
from hitless_policy.profile import PackConfig

Op = Literal[">=", ">", "<=", "<"]
"""How a value must compare with its bound."""
Section = Literal[
    "drain", "timeout", "keepalive", "body", "rollout", "probe", "maintenance", "await"
]
"""Where `hitless explain` lists an entry."""
Status = Literal["pass", "fail", "not-judged"]
"""Outcome of one entry on one value."""

Values = Mapping[str, float | None]
"""Named inputs of the bound formulas (seconds unless the name says `_ms`); None: unknown."""

_COMPARE: dict[Op, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Ctx:
    """What a bound formula reads: the pack config and the named inputs."""

    config: PackConfig
    """Traffic profile and thresholds."""
    values: Values
    """Named inputs (every name the entry `needs` is present and known)."""

    def __getitem__(self, name: str) -> float:
        value = self.values[name]
        if value is None:
            raise KeyError(name)
        return float(value)


def _g(value: float) -> str:
    """A number as messages print it (52.4, 45)."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


@dataclass(frozen=True)
class Outcome:
    """One entry judged on one value."""

    entry: Entry
    """The entry."""
    status: Status
    """pass, fail or not-judged."""
    value: float | None
    """The value judged (None: unknown)."""
    bound: float | None
    """The bound (None: an input is unknown)."""
    missing: tuple[str, ...] = ()
    """Inputs that were unknown."""
    other: float | None = None
    """The least value of the entry's other setting that satisfies the relation instead."""
    duration: float | None = None
    """The worst-case duration the bound covers (entries with a `duration`), when known."""
    where: str = ""
    """Which instance of a repeated setting was judged (a node pool's name); empty: the only one."""

    @property
    def threshold(self) -> int | None:
        """The whole value at the edge that satisfies the bound."""
        return None if self.bound is None else self.entry.edge(self.bound)

    def fix(self, subject: str = "it") -> str:
        """`raise it to >= N` / `lower it to <= N`, plus the entry's alternative."""
        edge = self.threshold
        verb = "raise" if self.entry.op in (">=", ">") else "lower"
        relation = ">=" if self.entry.op in (">=", ">") else "<="
        if self.entry.zero_unlimited and relation == ">=":
            text = f"set {subject} to 0 (unlimited) or >= {edge}"
        else:
            text = f"{verb} {subject} to {relation} {edge}"
        other = self.entry.other
        if self.other is not None and other is not None:
            least = math.ceil(self.other - 1e-9)
            raise_other = f"raise {other.what} ({PREFIX}{other.key}) to >= {least}"
            # Every setting the catalog bounds is positive: below 1 only the other side helps.
            return raise_other if edge is not None and edge < 1 else f"{text} or {raise_other}"
        return f"{text}{self.entry.alternative}"

    def consequence(self, ctx: Ctx) -> str:
        """Why the value breaks the chain, with the bound and its basis."""
        bound = "?" if self.bound is None else _g(self.bound)
        return (
            f"{self.entry.consequence} (must be {self.entry.op} {bound}: {self.entry.basis(ctx)})"
        )


PREFIX = "hitless:"
"""Prefix of every stack key."""


@dataclass(frozen=True)
class Other:
    """The other setting of a relation and the least value that satisfies it (`>=`)."""

    key: str
    """Its stack key."""
    what: str
    """What it is."""
    needs: tuple[str, ...]
    """Inputs its bound reads."""
    formula: Callable[[Ctx], float]
    """Its least satisfying value."""


@dataclass(frozen=True)
class Entry:
    """One relation of the chain: a setting, an operator and a bound."""

    id: str
    """Stable id of the relation."""
    rule: str
    """The rule that owns the setting (its verdict carries this entry's findings)."""
    key: str
    """Stack key of the setting, without the `hitless:` prefix."""
    setting: str
    """Where the setting lives in the rendered resources."""
    what: str
    """What the value is, in the chain's terms (explain's first column)."""
    op: Op
    """How the value must compare with the bound."""
    needs: tuple[str, ...]
    """Named inputs the bound reads."""
    formula: Callable[[Ctx], float]
    """The bound, from `budget`'s formulas, in the setting's unit."""
    basis: Callable[[Ctx], str]
    """Where the bound comes from, with its inputs."""
    consequence: str
    """What fails when the relation does not hold."""
    section: Section
    """Where `hitless explain` lists it."""
    alternative: str = ""
    """Another way to fix it (appended to the fix: ` or raise ...`)."""
    zero_unlimited: bool = False
    """A value of 0 means "no limit" (an infinitely large value)."""
    other: Other | None = None
    """The other side of the relation, raised instead when lowering this one cannot help."""
    duration: Callable[[Ctx], float] | None = None
    """The worst-case duration the bound covers (a rollout's), shown beside the value."""

    def edge(self, bound: float) -> int:
        """The whole value closest to the bound that satisfies it."""
        eps = 1e-9
        if self.op == ">=":
            return math.ceil(bound - eps)
        if self.op == ">":
            return math.floor(bound + eps) + 1
        if self.op == "<=":
            return math.floor(bound + eps)
        return math.ceil(bound - eps) - 1

    def holds(self, value: float, bound: float) -> bool:
        """Whether `value` satisfies the bound."""
        if self.zero_unlimited and value == 0:
            value = math.inf
        return _COMPARE[self.op](value, bound)

    def judge(self, value: float | None, config: PackConfig, values: Values) -> Outcome:
        """Judge `value` (None: unknown) with `values` as the formula's inputs."""
        missing = tuple(name for name in self.needs if values.get(name) is None)
        if value is None:
            return Outcome(self, "not-judged", value, None, (self.key, *missing))
        if missing:
            return Outcome(self, "not-judged", value, None, missing)
        ctx = Ctx(config, values)
        bound = self.formula(ctx)
        status: Status = "pass" if self.holds(value, bound) else "fail"
        other = None
        if self.other is not None and all(values.get(n) is not None for n in self.other.needs):
            other = self.other.formula(ctx)
        duration = None if self.duration is None else self.duration(ctx)
        return Outcome(self, status, value, bound, other=other, duration=duration)


def _e(*entries: Entry) -> dict[str, Entry]:
    return {entry.id: entry for entry in entries}


def _kong_worst(c: Ctx) -> float:
    return budget.kong_worst_case_seconds(
        c["kong_connect_timeout_ms"], c["kong_read_timeout_ms"], int(c["kong_retries"])
    )


def _pooled_keepalive_time(c: Ctx) -> float:
    """Longest keepalive_time: what is left of B's drain after the rest of the span."""
    return c["b_drain"] - budget.pooled_connection_span_seconds(
        0.0,
        c["a_upstream_keepalive_timeout"],
        c["longest_b"],
        c.config.profile.lb_propagation_seconds,
    )


def _mig_entries(tier: str, key: str) -> list[Entry]:
    upper = tier.upper()
    return [
        Entry(
            f"{tier}-mig-surge-per-zone",
            "mig-update-policy-hitless",
            f"{key}.mig.max_surge_fixed",
            f"RegionInstanceGroupManager({upper}).updatePolicy.maxSurgeFixed",
            f"{upper}: MIG maxSurgeFixed",
            ">=",
            (f"{tier}_zones",),
            lambda c: c[f"{tier}_zones"],
            lambda c: f"{_g(c[f'{tier}_zones'])} zones: a regional MIG surges 0 or one per zone",
            "the updater takes serving instances away (a regional MIG needs a surge of 0 or at "
            "least one per zone)",
            "rollout",
        ),
        Entry(
            f"{tier}-mig-min-ready",
            "mig-update-policy-hitless",
            f"{key}.mig.min_ready_sec",
            f"RegionInstanceGroupManager({upper}).updatePolicy.minReadySec",
            f"{upper}: MIG minReadySec",
            ">=",
            (),
            lambda c: budget.min_ready_bound_seconds(c.config.profile),
            lambda c: "profile.lb_propagation_seconds",
            "the updater may delete an old instance before the LB sends traffic to the new one",
            "rollout",
        ),
        Entry(
            f"{tier}-mig-autohealing-delay",
            "mig-autohealing-configured",
            f"{key}.mig.autohealing_initial_delay_sec",
            f"RegionInstanceGroupManager({upper}).autoHealingPolicies.initialDelaySec",
            f"{upper}: autohealing initialDelaySec",
            ">=",
            (),
            lambda c: c.config.thresholds.mig_boot_seconds,
            lambda c: "thresholds.mig_boot_seconds (boot plus nginx start)",
            "autohealing recreates instances that are still booting, in a loop",
            "rollout",
        ),
        Entry(
            f"{tier}-lb-time-to-unhealthy",
            "lb-health-check-configured",
            f"{key}.mig.lb_health_check.unhealthy_threshold",
            f"HealthCheck({upper}).unhealthyThreshold",
            f"{upper}: LB health check unhealthyThreshold",
            "<=",
            (f"{tier}_hc_interval", f"{tier}_hc_timeout"),
            lambda c: budget.max_unhealthy_threshold(
                c[f"{tier}_hc_interval"],
                c[f"{tier}_hc_timeout"],
                c.config.thresholds.max_lb_time_to_unhealthy_seconds,
            ),
            lambda c: (
                f"(thresholds.max_lb_time_to_unhealthy_seconds "
                f"{_g(c.config.thresholds.max_lb_time_to_unhealthy_seconds)} - timeout "
                f"{_g(c[f'{tier}_hc_timeout'])}) / interval {_g(c[f'{tier}_hc_interval'])}"
            ),
            "a dead backend stays in rotation too long (interval x unhealthy threshold + timeout), "
            "failing requests meanwhile",
            "probe",
            alternative=" or lower check_interval_sec",
        ),
    ]


AWAIT_CONSEQUENCE = (
    "`pulumi up` gives up while the rollout it started may still be running, and reports a "
    "failure in the middle of a healthy rollout"
)
"""What fails when an await timeout is shorter than the rollout it covers."""


def _deployment_rollout(p: str) -> Callable[[Ctx], float]:
    """Worst-case rollout of a Deployment at its HPA maximum (inputs prefixed `p`)."""
    return lambda c: budget.deployment_rollout_seconds(
        int(c[f"{p}_rollout_replicas"]),
        int(c[f"{p}_rollout_surge"]),
        int(c[f"{p}_rollout_unavailable"]),
        c[f"{p}_time_to_available"],
        c[f"{p}_rollout_grace"],
    )


def _deployment_await_entry(p: str, tier: str, key: str, name: str) -> Entry:
    rollout = _deployment_rollout(p)

    def basis(c: Ctx) -> str:
        replicas = int(c[f"{p}_rollout_replicas"])
        surge, unavailable = int(c[f"{p}_rollout_surge"]), int(c[f"{p}_rollout_unavailable"])
        tta, grace = c[f"{p}_time_to_available"], c[f"{p}_rollout_grace"]
        per_batch = (
            f"(time to Available {_g(tta)} + grace {_g(grace)})"
            if unavailable == 0
            else f"time to Available {_g(tta)}, + grace {_g(grace)} once"
        )
        return (
            f"worst-case rollout {_g(rollout(c))} s: {replicas} pods (HPA maximum) in "
            f"{budget.rollout_batches(replicas, max(1, surge + unavailable))} batches of "
            f"maxSurge {surge} / maxUnavailable {unavailable} x {per_batch}; the larger of it "
            f"and progressDeadlineSeconds {_g(c[f'{p}_progress_deadline'])}, + margin "
            f"{_g(c.config.thresholds.margin_seconds)}"
        )

    return Entry(
        f"{p}-await",
        "deployment-await-covers-rollout",
        key,
        f"Deployment({name}) customTimeouts create/update",
        f"{tier}: {name} Deployment rollout: `pulumi up` await",
        ">=",
        tuple(
            f"{p}_{n}"
            for n in (
                "rollout_replicas",
                "rollout_surge",
                "rollout_unavailable",
                "time_to_available",
                "rollout_grace",
                "progress_deadline",
            )
        ),
        lambda c: budget.deployment_await_bound_seconds(
            rollout(c), c[f"{p}_progress_deadline"], c.config.thresholds.margin_seconds
        ),
        basis,
        AWAIT_CONSEQUENCE,
        "await",
        duration=rollout,
    )


def _mig_update(t: str) -> Callable[[Ctx], float]:
    """Worst-case rolling replacement of MIG `t` (inputs prefixed `t_mig_`)."""
    return lambda c: budget.mig_update_seconds(
        int(c[f"{t}_mig_size"]),
        max_surge=int(c[f"{t}_mig_surge"]),
        max_unavailable=int(c[f"{t}_mig_unavailable"]),
        time_to_healthy=c[f"{t}_mig_time_to_healthy"],
        min_ready_seconds=c[f"{t}_mig_min_ready"],
        drain_seconds=c[f"{t}_mig_drain"],
        shutdown_seconds=c.config.thresholds.mig_shutdown_seconds,
    )


def _mig_await_entry(t: str, key: str, what: str) -> Entry:
    update = _mig_update(t)
    upper = t.upper()

    def basis(c: Ctx) -> str:
        size = int(c[f"{t}_mig_size"])
        surge, unavailable = int(c[f"{t}_mig_surge"]), int(c[f"{t}_mig_unavailable"])
        return (
            f"worst-case rolling replacement {_g(update(c))} s: {size} instances in "
            f"{budget.rollout_batches(size, max(1, surge + unavailable))} batches of maxSurge "
            f"{surge} + maxUnavailable {unavailable} x (new VM healthy "
            f"{_g(c[f'{t}_mig_time_to_healthy'])} + minReadySec {_g(c[f'{t}_mig_min_ready'])} + "
            f"LB drain {_g(c[f'{t}_mig_drain'])} + shutdown "
            f"{_g(c.config.thresholds.mig_shutdown_seconds)}), + margin "
            f"{_g(c.config.thresholds.margin_seconds)}"
        )

    return Entry(
        f"{t}-mig-await",
        "mig-update-awaited",
        f"{key}.mig.await_timeout_seconds",
        f"RegionInstanceGroupManager({upper}) customTimeouts create/update",
        f"{upper}: {what}: `pulumi up` await",
        ">=",
        tuple(
            f"{t}_mig_{n}"
            for n in ("size", "surge", "unavailable", "time_to_healthy", "min_ready", "drain")
        ),
        lambda c: update(c) + c.config.thresholds.margin_seconds,
        basis,
        AWAIT_CONSEQUENCE,
        "await",
        duration=update,
    )


def _pool_upgrade(c: Ctx) -> float:
    """Worst-case upgrade of one node pool (inputs `pool_*`; `pool_blue_green` 1 or 0)."""
    t = c.config.thresholds
    nodes = int(c["pool_nodes"])
    if c["pool_blue_green"]:
        return budget.blue_green_upgrade_seconds(
            nodes,
            batch_node_count=int(c["pool_batch"]),
            node_boot_seconds=t.node_boot_seconds,
            drain_seconds=c["pool_drain"],
            batch_soak_seconds=c["pool_batch_soak"],
            node_pool_soak_seconds=c["pool_soak"],
        )
    return budget.surge_upgrade_seconds(
        nodes,
        int(c["pool_surge"]),
        int(c["pool_unavailable"]),
        t.node_boot_seconds,
        c["pool_drain"],
    )


def _pool_basis(c: Ctx) -> str:
    t = c.config.thresholds
    nodes = int(c["pool_nodes"])
    drain = _g(c["pool_drain"])
    if c["pool_blue_green"]:
        shape = (
            f"BLUE_GREEN over {nodes} nodes: node boot {_g(t.node_boot_seconds)} + "
            f"{budget.rollout_batches(nodes, int(c['pool_batch']))} batches x (drain {drain} + "
            f"batch soak {_g(c['pool_batch_soak'])}) + pool soak {_g(c['pool_soak'])}"
        )
    else:
        surge, unavailable = int(c["pool_surge"]), int(c["pool_unavailable"])
        shape = (
            f"SURGE over {nodes} nodes in "
            f"{budget.rollout_batches(nodes, max(1, surge + unavailable))} batches of maxSurge "
            f"{surge} + maxUnavailable {unavailable} x (node boot {_g(t.node_boot_seconds)} + "
            f"drain {drain})"
        )
    return (
        f"worst-case upgrade {_g(_pool_upgrade(c))} s: {shape}; a node's drain: PDB waits of "
        f"its pods and their grace, each capped at {_g(t.max_drain_seconds)}; + margin "
        f"{_g(t.margin_seconds)}"
    )


def _grace_cap_basis(_c: Ctx) -> str:
    """Where a workload's grace cap comes from (Kong's and the runtime's alike)."""
    return (
        "the limit node drains honour (cluster autoscaler 600 s on autoscaled pools, "
        "thresholds.max_drain_seconds for upgrades)"
    )


GRACE_CAP_CONSEQUENCE = "a node drain kills the pod before its grace ends"
"""What a grace above the node drain limit does (Kong's and the runtime's alike)."""

ENTRIES: dict[str, Entry] = _e(
    # -- chain-request-timeouts-ordered ---------------------------------------------------------
    # The classic LB's timeoutSec runs from the request's start, upload included; the
    # EXTERNAL_MANAGED (Envoy-based) LB's is Envoy's route timeout, counted from the request's
    # end-of-stream (sources in budget.lb_timeout_counts_upload), so there it bounds A's response
    # time after the body: one internal hop plus A's read timeout.
    Entry(
        "lb-timeout-covers-a",
        "chain-request-timeouts-ordered",
        "edge.backend_timeout_sec",
        "BackendService(A).timeoutSec",
        "external LB timeoutSec",
        ">",
        (
            "lb_timeout_counts_upload",
            "longest_client_upload",
            "longest_internal_transfer",
            "a_proxy_read_timeout",
        ),
        lambda c: budget.min_lb_timeout_seconds(
            c["longest_client_upload"],
            c["longest_internal_transfer"],
            c["a_proxy_read_timeout"],
            counts_upload=bool(c["lb_timeout_counts_upload"]),
        ),
        lambda c: (
            f"client upload {_g(c['longest_client_upload'])} + A proxy_read_timeout "
            f"{_g(c['a_proxy_read_timeout'])} (classic LB: counted from the request)"
            if c["lb_timeout_counts_upload"]
            else f"A forwarding the body {_g(c['longest_internal_transfer'])} + A "
            f"proxy_read_timeout {_g(c['a_proxy_read_timeout'])} (EXTERNAL_MANAGED: counted "
            "from the request's end-of-stream)"
        ),
        "the LB gives up on a request before A does and answers 502/504",
        "timeout",
    ),
    Entry(
        "a-read-covers-kong",
        "chain-request-timeouts-ordered",
        "edge.proxy_read_timeout_seconds",
        "nginx A proxy_read_timeout",
        "A: nginx proxy_read_timeout",
        ">",
        ("kong_connect_timeout_ms", "kong_read_timeout_ms", "kong_retries"),
        _kong_worst,
        lambda c: (
            f"Kong's worst case for a GET: (connect "
            f"{_g(c['kong_connect_timeout_ms'])} ms + read {_g(c['kong_read_timeout_ms'])} ms) x "
            f"(1 + {_g(c['kong_retries'])} retries)"
        ),
        "A answers 504 while Kong still retries an idempotent request",
        "timeout",
        alternative=" or lower Kong's timeouts or retries",
    ),
    Entry(
        "kong-read-covers-rt",
        "chain-request-timeouts-ordered",
        "runtimes.kong.read_timeout_ms",
        "Kong Service read_timeout",
        "C: Kong read_timeout (ms)",
        ">",
        ("rt_request_timeout",),
        lambda c: c["rt_request_timeout"] * 1000,
        lambda c: f"runtime request timeout {_g(c['rt_request_timeout'])} s",
        "Kong answers 504 before the runtime's own timeout ends the request",
        "timeout",
    ),
    Entry(
        "rt-timeout-covers-processing",
        "chain-request-timeouts-ordered",
        "runtimes.request_timeout_seconds",
        "Deployment(runtime) hitless.dev/request-timeout-seconds",
        "D: RT request timeout",
        ">=",
        (),
        lambda c: c.config.profile.rt_max_processing_seconds,
        lambda c: "profile.rt_max_processing_seconds",
        "the runtime cuts its own longest requests",
        "timeout",
    ),
    # -- chain-idle-timeouts-cover-silence ------------------------------------------------------
    Entry(
        "b-idle-covers-a-read",
        "chain-idle-timeouts-cover-silence",
        "relay.proxy_timeout_seconds",
        "nginx B proxy_timeout",
        "B: nginx stream proxy_timeout (idle)",
        ">=",
        ("a_proxy_read_timeout",),
        lambda c: c["a_proxy_read_timeout"],
        lambda c: "A proxy_read_timeout: the longest silence on the flow",
        "B cuts a flow that is silent while A still waits for the response",
        "timeout",
    ),
    # -- chain-keepalive-timeouts-ordered -------------------------------------------------------
    Entry(
        "a-keepalive-outlasts-gfe",
        "chain-keepalive-timeouts-ordered",
        "edge.keepalive_timeout_seconds",
        "nginx A keepalive_timeout",
        "LB -> A: A keepalive_timeout",
        ">",
        (),
        lambda c: c.config.thresholds.gfe_backend_keepalive_seconds,
        lambda c: (
            "thresholds.gfe_backend_keepalive_seconds (GFE reuses backend connections this long)"
        ),
        "A closes connections the LB still reuses -> 502",
        "keepalive",
    ),
    Entry(
        "a-pool-idles-out-first",
        "chain-keepalive-timeouts-ordered",
        "edge.upstream_keepalive_timeout_seconds",
        "nginx A upstream keepalive_timeout",
        "A -> B -> C: A upstream keepalive_timeout",
        "<",
        ("downstream_idle",),
        lambda c: c["downstream_idle"],
        lambda c: "min(B proxy_timeout, Kong client keepalive_timeout)",
        "A may reuse a pooled connection that B or Kong already closed; a POST on it fails with "
        "502 and is never retried",
        "keepalive",
    ),
    Entry(
        "kong-pool-idles-out-first",
        "chain-keepalive-timeouts-ordered",
        "kong.upstream_keepalive_idle_timeout_seconds",
        "Kong KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT",
        "C -> D: Kong upstream_keepalive_idle_timeout",
        "<",
        ("rt_keepalive_idle",),
        lambda c: c["rt_keepalive_idle"],
        lambda c: "the runtime's keep-alive idle timeout",
        "Kong may reuse a connection the runtime closed; a POST on it fails with 502",
        "keepalive",
        zero_unlimited=True,
    ),
    # -- chain-pooled-connections-recycled ------------------------------------------------------
    Entry(
        "a-pool-recycled-within-b-drain",
        "chain-pooled-connections-recycled",
        "edge.upstream_keepalive_time_seconds",
        "nginx A upstream keepalive_time",
        "A -> B: pooled connection lifetime (keepalive_time)",
        "<=",
        ("b_drain", "a_upstream_keepalive_timeout", "longest_b"),
        _pooled_keepalive_time,
        lambda c: (
            f"B's drain {_g(c['b_drain'])} - (LB lag "
            f"{_g(c.config.profile.lb_propagation_seconds)} + keepalive_timeout "
            f"{_g(c['a_upstream_keepalive_timeout'])} + B's longest request {_g(c['longest_b'])})"
        ),
        "a pooled A->B connection may still carry a request when B's drain ends, so the B "
        "instance is deleted mid-request",
        "keepalive",
        other=Other(
            "relay.connection_draining_timeout_sec",
            "B's connection draining",
            ("a_upstream_keepalive_time", "a_upstream_keepalive_timeout", "longest_b"),
            lambda c: budget.pooled_connection_span_seconds(
                c["a_upstream_keepalive_time"],
                c["a_upstream_keepalive_timeout"],
                c["longest_b"],
                c.config.profile.lb_propagation_seconds,
            ),
        ),
    ),
    # -- chain-body-size-accepted ---------------------------------------------------------------
    Entry(
        "a-body-limit",
        "chain-body-size-accepted",
        "edge.client_max_body_mib",
        "nginx A client_max_body_size (MiB)",
        "A: client_max_body_size (MiB)",
        ">=",
        (),
        lambda c: c.config.profile.max_body_mib,
        lambda c: "profile.max_body_mib",
        "A answers 413 to the largest upload",
        "body",
    ),
    Entry(
        "kong-body-limit",
        "chain-body-size-accepted",
        "kong.client_max_body_mib",
        "Kong KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE (MiB)",
        "C: Kong client_max_body_size (MiB)",
        ">=",
        (),
        lambda c: c.config.profile.max_body_mib,
        lambda c: "profile.max_body_mib",
        "Kong answers 413 to the largest upload",
        "body",
        zero_unlimited=True,
    ),
    Entry(
        "rt-body-limit",
        "chain-body-size-accepted",
        "runtimes.max_body_mib",
        "Deployment(runtime) hitless.dev/max-body-mib",
        "D: RT body limit (MiB)",
        ">=",
        (),
        lambda c: c.config.profile.max_body_mib,
        lambda c: "profile.max_body_mib",
        "the runtime refuses the largest upload",
        "body",
    ),
    # -- chain-drain-covers-longest-request -----------------------------------------------------
    Entry(
        "a-lb-drain",
        "chain-drain-covers-longest-request",
        "edge.connection_draining_timeout_sec",
        "BackendService(A).connectionDrainingTimeoutSec",
        "A: external LB connection draining",
        ">=",
        ("longest_a",),
        lambda c: c["longest_a"],
        lambda c: "longest request of A",
        "in-flight requests are cut while tier A drains",
        "drain",
    ),
    Entry(
        "a-lb-drain-cap",
        "chain-drain-covers-longest-request",
        "edge.connection_draining_timeout_sec",
        "BackendService(A).connectionDrainingTimeoutSec",
        "A: external LB connection draining, within GCP's limit",
        "<=",
        (),
        lambda c: c.config.thresholds.max_drain_seconds,
        lambda c: "thresholds.max_drain_seconds",
        "GCP rejects a longer drain",
        "drain",
    ),
    Entry(
        "a-nginx-drain",
        "chain-drain-covers-longest-request",
        "edge.worker_shutdown_timeout_seconds",
        "nginx A worker_shutdown_timeout",
        "A: nginx worker_shutdown_timeout",
        ">=",
        ("longest_a",),
        lambda c: c["longest_a"],
        lambda c: "longest request of A",
        "nginx closes in-flight requests on quit while tier A drains",
        "drain",
    ),
    Entry(
        "b-lb-drain",
        "chain-drain-covers-longest-request",
        "relay.connection_draining_timeout_sec",
        "RegionBackendService(B).connectionDrainingTimeoutSec",
        "B: internal NLB connection draining",
        ">=",
        ("longest_b",),
        lambda c: c["longest_b"],
        lambda c: "longest request of B",
        "in-flight requests are cut while tier B drains",
        "drain",
    ),
    Entry(
        "b-lb-drain-cap",
        "chain-drain-covers-longest-request",
        "relay.connection_draining_timeout_sec",
        "RegionBackendService(B).connectionDrainingTimeoutSec",
        "B: internal NLB connection draining, within GCP's limit",
        "<=",
        (),
        lambda c: c.config.thresholds.max_drain_seconds,
        lambda c: "thresholds.max_drain_seconds",
        "GCP rejects a longer drain",
        "drain",
    ),
    Entry(
        "b-nginx-drain",
        "chain-drain-covers-longest-request",
        "relay.worker_shutdown_timeout_seconds",
        "nginx B worker_shutdown_timeout",
        "B: nginx worker_shutdown_timeout",
        ">=",
        ("longest_b",),
        lambda c: c["longest_b"],
        lambda c: "longest request of B",
        "nginx closes in-flight flows on quit while tier B drains",
        "drain",
    ),
    Entry(
        "kong-quit-drain",
        "chain-drain-covers-longest-request",
        "kong.quit_timeout_seconds",
        "Deployment(Kong) preStop `kong quit --timeout` / KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT",
        "C: kong quit --timeout",
        ">=",
        ("longest_c",),
        lambda c: c["longest_c"],
        lambda c: "longest request of C",
        "Kong is stopped mid-request while tier C drains",
        "drain",
    ),
    # -- deployment-prestop-covers-propagation --------------------------------------------------
    Entry(
        "kong-quit-wait",
        "deployment-prestop-covers-propagation",
        "kong.quit_wait_seconds",
        "Deployment(Kong) preStop `kong quit --wait`",
        "C: kong quit --wait (keeps serving)",
        ">=",
        (),
        lambda c: budget.kong_quit_wait_bound_seconds(c.config.profile),
        lambda c: "max(profile.kong_lb_propagation_seconds, profile.endpoint_propagation_seconds)",
        "Kong stops accepting before the internal LB and kube-proxy stop sending it connections "
        "-> connection refused, 502",
        "drain",
    ),
    Entry(
        "rt-prestop",
        "deployment-prestop-covers-propagation",
        "runtimes.prestop_seconds",
        "Deployment(runtime) preStop sleep",
        "D: RT preStop sleep",
        ">=",
        (),
        lambda c: budget.runtime_prestop_bound_seconds(c.config.profile),
        lambda c: "profile.endpoint_propagation_seconds",
        "the runtime stops accepting before Kong's nodes stop sending it connections -> "
        "connection refused, 502",
        "drain",
    ),
    # -- deployment-grace-covers-drain ----------------------------------------------------------
    Entry(
        "kong-grace",
        "deployment-grace-covers-drain",
        "kong.termination_grace_seconds",
        "Deployment(Kong) terminationGracePeriodSeconds",
        "C: Kong terminationGracePeriodSeconds",
        ">=",
        ("kong_prestop", "kong_drain"),
        lambda c: budget.required_grace_seconds(
            c["kong_prestop"], c["kong_drain"], c.config.thresholds.margin_seconds
        ),
        lambda c: (
            f"preStop {_g(c['kong_prestop'])} + drain {_g(c['kong_drain'])} + margin "
            f"{_g(c.config.thresholds.margin_seconds)}"
        ),
        "Kong is killed before its drain ends, cutting in-flight requests",
        "drain",
    ),
    Entry(
        "kong-grace-cap",
        "deployment-grace-covers-drain",
        "kong.termination_grace_seconds",
        "Deployment(Kong) terminationGracePeriodSeconds",
        "C: Kong grace within the node drain limit",
        "<=",
        ("grace_cap",),
        lambda c: c["grace_cap"],
        _grace_cap_basis,
        GRACE_CAP_CONSEQUENCE,
        "drain",
    ),
    Entry(
        "rt-grace",
        "deployment-grace-covers-drain",
        "runtimes.termination_grace_seconds",
        "Deployment(runtime) terminationGracePeriodSeconds",
        "D: RT terminationGracePeriodSeconds",
        ">=",
        ("rt_prestop", "longest_d"),
        lambda c: budget.required_grace_seconds(
            c["rt_prestop"], c["longest_d"], c.config.thresholds.margin_seconds
        ),
        lambda c: (
            f"preStop {_g(c['rt_prestop'])} + longest request of D "
            f"{_g(c['longest_d'])} + margin {_g(c.config.thresholds.margin_seconds)}"
        ),
        "the runtime is killed mid-request",
        "drain",
    ),
    Entry(
        "rt-grace-cap",
        "deployment-grace-covers-drain",
        "runtimes.termination_grace_seconds",
        "Deployment(runtime) terminationGracePeriodSeconds",
        "D: RT grace within the node drain limit",
        "<=",
        ("grace_cap",),
        lambda c: c["grace_cap"],
        _grace_cap_basis,
        GRACE_CAP_CONSEQUENCE,
        "drain",
    ),
    # -- chain-retries-safe ---------------------------------------------------------------------
    Entry(
        "kong-retries-min",
        "chain-retries-safe",
        "runtimes.kong.retries",
        "Kong Service retries",
        "C: Kong retries (at least)",
        ">=",
        (),
        lambda c: c.config.thresholds.kong_min_retries,
        lambda c: "thresholds.kong_min_retries",
        "a refused connection to a terminating pod is a 502 without a retry",
        "timeout",
    ),
    Entry(
        "kong-retries-max",
        "chain-retries-safe",
        "runtimes.kong.retries",
        "Kong Service retries",
        "C: Kong retries (at most)",
        "<=",
        (),
        lambda c: c.config.thresholds.kong_max_retries,
        lambda c: "thresholds.kong_max_retries",
        "many retries multiply the worst case outer tiers wait",
        "timeout",
    ),
    Entry(
        "kong-connect-timeout",
        "chain-retries-safe",
        "runtimes.kong.connect_timeout_ms",
        "Kong Service connect_timeout",
        "C: Kong connect_timeout (ms)",
        "<=",
        (),
        lambda c: c.config.thresholds.kong_max_connect_timeout_ms,
        lambda c: "thresholds.kong_max_connect_timeout_ms",
        "a try to a vanished pod stalls this long before Kong retries",
        "timeout",
    ),
    # -- deployment-readiness-probe -------------------------------------------------------------
    Entry(
        "rt-readiness-period",
        "deployment-readiness-probe",
        "runtimes.readiness.period_seconds",
        "Deployment(runtime) readinessProbe.periodSeconds",
        "D: RT readiness period",
        "<=",
        (),
        lambda c: c.config.thresholds.max_probe_period_seconds,
        lambda c: "thresholds.max_probe_period_seconds",
        "a pod that stopped serving keeps receiving traffic for several periods",
        "probe",
    ),
    Entry(
        "kong-readiness-period",
        "deployment-readiness-probe",
        "kong.readiness.period_seconds",
        "Deployment(Kong) readinessProbe.periodSeconds",
        "C: Kong readiness period",
        "<=",
        (),
        lambda c: c.config.thresholds.max_probe_period_seconds,
        lambda c: "thresholds.max_probe_period_seconds",
        "a pod that stopped serving keeps receiving traffic for several periods",
        "probe",
    ),
    # -- deployment-progress-deadline-sufficient ------------------------------------------------
    Entry(
        "rt-progress-deadline",
        "deployment-progress-deadline-sufficient",
        "runtimes.progress_deadline_seconds",
        "Deployment(runtime) progressDeadlineSeconds",
        "D: RT progressDeadlineSeconds",
        ">=",
        ("worst_time_to_available",),
        lambda c: c["worst_time_to_available"] + c.config.thresholds.margin_seconds,
        lambda c: (
            f"worst time to Available {_g(c['worst_time_to_available'])} + margin "
            f"{_g(c.config.thresholds.margin_seconds)}"
        ),
        "the rollout is reported failed while a new pod may still be starting",
        "rollout",
    ),
    # -- MIGs and their LB health checks (tiers A and B) ----------------------------------------
    *_mig_entries("a", "edge"),
    *_mig_entries("b", "relay"),
    # -- cluster-maintenance-window-valid -------------------------------------------------------
    Entry(
        "maintenance-block",
        "cluster-maintenance-window-valid",
        "cluster.maintenance.duration_hours",
        "Cluster.maintenancePolicy.recurringWindow (endTime - startTime, hours)",
        "GKE maintenance window length (h)",
        ">=",
        (),
        lambda c: c.config.thresholds.min_maintenance_block_hours,
        lambda c: "thresholds.min_maintenance_block_hours",
        "GKE does not count shorter blocks and rejects the window, so auto-upgrades cannot be "
        "scheduled",
        "maintenance",
    ),
    Entry(
        "maintenance-availability",
        "cluster-maintenance-window-valid",
        "cluster.maintenance.duration_hours",
        "Cluster.maintenancePolicy.recurringWindow (endTime - startTime, hours)",
        "GKE maintenance hours per 32 days, per block",
        ">=",
        ("maintenance_blocks",),
        lambda c: c.config.thresholds.min_maintenance_hours_per_32_days / c["maintenance_blocks"],
        lambda c: (
            f"thresholds.min_maintenance_hours_per_32_days "
            f"{_g(c.config.thresholds.min_maintenance_hours_per_32_days)} / "
            f"{_g(c['maintenance_blocks'])} blocks per 32 days"
        ),
        "the window gives fewer maintenance hours per 32 days than GKE requires, and GKE rejects "
        "it",
        "maintenance",
        alternative=" or add days",
    ),
    # -- awaits: `pulumi up` outlasts the rollout it starts ------------------------------------
    # pulumi-kubernetes awaits a Deployment 10 minutes by default (its docs, PR #721); pulumi-gcp
    # a node pool update 30 minutes and a MIG update 15 minutes (its resource docs).
    _mig_await_entry("a", "edge", "nginx L7 MIG rolling update"),
    _mig_await_entry("b", "relay", "nginx L4 MIG rolling update"),
    _deployment_await_entry("kong", "C", "kong.await_timeout_seconds", "Kong"),
    _deployment_await_entry("rt", "D", "runtimes.await_timeout_seconds", "runtime"),
    Entry(
        "node-pool-await",
        "node-pool-timeout-covers-upgrade",
        "cluster.node_pools.await_timeout_seconds",
        "NodePool customTimeouts update",
        "GKE node pool upgrade: `pulumi up` await",
        ">=",
        (
            "pool_nodes",
            "pool_surge",
            "pool_unavailable",
            "pool_drain",
            "pool_blue_green",
            "pool_batch",
            "pool_batch_soak",
            "pool_soak",
        ),
        lambda c: _pool_upgrade(c) + c.config.thresholds.margin_seconds,
        _pool_basis,
        "the provider reports a failure while GKE is still upgrading the pool",
        "await",
        duration=_pool_upgrade,
    ),
)
"""Every relation, by id."""


def entry(entry_id: str) -> Entry:
    """The entry with this id (raises KeyError)."""
    return ENTRIES[entry_id]


def for_rule(rule: str) -> list[Entry]:
    """The entries a rule owns, in catalog order."""
    return [item for item in ENTRIES.values() if item.rule == rule]


def for_key(key: str) -> list[Entry]:
    """The entries judging a stack key."""
    return [item for item in ENTRIES.values() if item.key == key]
