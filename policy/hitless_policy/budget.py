"""The timing math of the chain: each formula once, used by the config model, the rules and the CLI.

Conventions: seconds as floats, Kong timeouts in milliseconds where Kong states them so.
Tiers are A (nginx L7), B (nginx L4), C (Kong data plane), D (runtime).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hitless_policy.profile import TrafficProfile

MEBIBIT_PER_MEGABIT = 1_000_000 / 1_048_576
"""One megabit expressed in mebibits (bandwidths are decimal, bodies binary)."""


def transfer_seconds(body_mib: float, mbps: float) -> float:
    """Time to move `body_mib` MiB at `mbps` Mbit/s."""
    megabits = body_mib * 8 / MEBIBIT_PER_MEGABIT
    return megabits / mbps


@dataclass(frozen=True)
class LongestRequests:
    """How long each tier holds the largest request, from its first body byte to the response.

    The body enters A at the slowest client's speed. A tier that buffers forwards only after the
    whole body arrived; a tier that streams forwards as bytes arrive. B is an L4 pipe and never
    buffers. D answers `rt_max_processing_seconds` after the whole body reached it.
    """

    client_upload: float
    """Seconds for the slowest client to upload the largest body to A."""
    internal_transfer: float
    """Seconds for one internal hop to carry the largest body."""
    a: float
    """Longest request held by tier A (nginx L7)."""
    b: float
    """Longest request held by tier B (nginx L4): the TCP flow lasts as long as C's request."""
    c: float
    """Longest request held by tier C (Kong)."""
    d: float
    """Longest request held by tier D (runtime)."""

    def for_tier(self, tier: str) -> float:
        """The longest request of tier `a`, `b`, `c` or `d`."""
        return float(getattr(self, tier.lower()))


def longest_requests(
    profile: TrafficProfile, *, buffering_at_a: bool, buffering_at_c: bool
) -> LongestRequests:
    """Derive each tier's longest request from the traffic profile and where bodies are buffered.

    `buffering_at_a` is nginx `proxy_request_buffering` on tier A; `buffering_at_c` is Kong's
    route `request_buffering` (default true).

    For each tier, track when the first and the last body byte arrive: a buffering hop starts
    forwarding at its last byte; a streaming hop forwards from its first byte and cannot finish
    before its upstream did nor faster than the internal link.
    """
    upload = transfer_seconds(profile.max_body_mib, profile.min_client_mbps)
    hop = transfer_seconds(profile.max_body_mib, profile.internal_mbps)
    buffers = {"a": buffering_at_a, "b": False, "c": buffering_at_c}
    first, last = {"a": 0.0}, {"a": upload}
    for prev, tier in (("a", "b"), ("b", "c"), ("c", "d")):
        first[tier] = last[prev] if buffers[prev] else first[prev]
        last[tier] = max(last[prev], first[tier] + hop) if not buffers[prev] else last[prev] + hop
    done = last["d"] + profile.rt_max_processing_seconds
    return LongestRequests(
        client_upload=upload,
        internal_transfer=hop,
        a=done - first["a"],
        b=done - first["b"],
        c=done - first["c"],
        d=done - first["d"],
    )


def longest_over_paths(paths: list[LongestRequests]) -> LongestRequests:
    """The longest requests a tier shared by several paths holds: each field's maximum.

    A, B and Kong's global settings carry every path A -> B -> C -> runtime, so they take the
    longest over the paths; a runtime and its own Kong Service take their own path's.
    """
    if not paths:
        raise ValueError("no path to take the longest requests over")
    names = ("client_upload", "internal_transfer", "a", "b", "c", "d")
    return LongestRequests(**{name: max(getattr(path, name) for path in paths) for name in names})


def required_grace_seconds(prestop_seconds: float, longest_request: float, margin: float) -> float:
    """`terminationGracePeriodSeconds` a pod needs: it includes the preStop hook's time."""
    return prestop_seconds + longest_request + margin


def kong_worst_case_seconds(
    connect_timeout_ms: float, read_timeout_ms: float, retries: int
) -> float:
    """Longest Kong may keep the caller waiting on one request, including its retries.

    Kong's timeouts apply per try. Kong's nginx template sets no `proxy_next_upstream`, so
    nginx's default `error timeout` applies: a try that failed connecting, sending or reading the
    response header (a read timeout, a reset) is passed to the next try. nginx skips that only
    for a non-idempotent request (POST, LOCK, PATCH) already sent; a GET is retried after a read
    timeout too (http://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_next_upstream).
    So the worst case is a GET's: `(connect + read) x (1 + retries)`, longer than a POST's
    `connect x (1 + retries) + read` (design §4, chain-request-timeouts-ordered).
    """
    return (connect_timeout_ms + read_timeout_ms) / 1000 * (1 + retries)


def min_ready_bound_seconds(profile: TrafficProfile) -> float:
    """Shortest MIG `minReadySec`: the LB must program the new backend before an old one goes."""
    return profile.lb_propagation_seconds


def max_unhealthy_threshold(check_interval_sec: float, timeout_sec: float, limit: float) -> float:
    """Largest `unhealthyThreshold` keeping `lb_time_to_unhealthy` within `limit` seconds."""
    return (limit - timeout_sec) / check_interval_sec


_PERCENT = re.compile(r"^\s*(\d+)%\s*$")


def resolve_int_or_percent(value: int | str, total: int, *, round_up: bool) -> int:
    """Resolve a Kubernetes IntOrString (`2` or `"25%"`) against `total`, as Kubernetes does."""
    if isinstance(value, bool):
        raise TypeError(f"expected an int or a percent string, got {value!r}")
    if isinstance(value, int):
        return value
    match = _PERCENT.match(value)
    if match is None:
        if value.strip().isdigit():
            return int(value.strip())
        raise ValueError(f"invalid int-or-percent value {value!r}")
    scaled = int(match.group(1)) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


DEFAULT_ROLLING = "25%"
"""Kubernetes' default for both maxSurge and maxUnavailable."""


def resolve_rolling_update(
    replicas: int, max_surge: int | str | None, max_unavailable: int | str | None
) -> tuple[int, int]:
    """Resolved (maxSurge, maxUnavailable) of a RollingUpdate, as the Deployment controller does.

    Surge rounds up, unavailable rounds down, and if both resolve to 0 unavailable becomes 1
    (`ResolveFenceposts` in kubernetes/pkg/controller/deployment/util).
    """
    surge = resolve_int_or_percent(
        DEFAULT_ROLLING if max_surge is None else max_surge, replicas, round_up=True
    )
    unavailable = resolve_int_or_percent(
        DEFAULT_ROLLING if max_unavailable is None else max_unavailable, replicas, round_up=False
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def pdb_allowed_disruptions(
    replicas: int, min_available: int | str | None, max_unavailable: int | str | None
) -> int:
    """Disruptions a PDB allows with `replicas` healthy pods (percentages round up)."""
    if max_unavailable is not None:
        return max(0, resolve_int_or_percent(max_unavailable, replicas, round_up=True))
    if min_available is not None:
        return max(0, replicas - resolve_int_or_percent(min_available, replicas, round_up=True))
    return replicas


@dataclass(frozen=True)
class ProbeTiming:
    """The fields of a Kubernetes probe that decide timing, with Kubernetes' defaults."""

    initial_delay_seconds: int = 0
    """`initialDelaySeconds` (default 0)."""
    period_seconds: int = 10
    """`periodSeconds` (default 10)."""
    timeout_seconds: int = 1
    """`timeoutSeconds` (default 1)."""
    success_threshold: int = 1
    """`successThreshold` (default 1)."""
    failure_threshold: int = 3
    """`failureThreshold` (default 3)."""

    def worst_time_to_pass(self, healthy_after: float) -> float:
        """Latest time the probe passes for an app that is healthy `healthy_after` s after start."""
        start = max(self.initial_delay_seconds, healthy_after)
        return start + self.success_threshold * self.period_seconds + self.timeout_seconds

    def time_to_fail(self) -> float:
        """Longest time for the probe to report failure once the app stopped answering."""
        return self.failure_threshold * self.period_seconds + self.timeout_seconds

    def startup_budget(self) -> float:
        """Time a startup probe allows before the kubelet restarts the container."""
        return self.initial_delay_seconds + self.failure_threshold * self.period_seconds


def worst_time_to_available(
    readiness: ProbeTiming,
    startup: ProbeTiming | None,
    min_ready_seconds: int,
    scheduling_seconds: float,
) -> float:
    """Worst case from pod creation to Available for one new pod of a rollout.

    A startup probe gates readiness: the pod is ready one readiness pass after the startup probe's
    budget at the latest. Available = ready for `minReadySeconds`.
    """
    healthy_after = scheduling_seconds + (startup.startup_budget() if startup else 0.0)
    return readiness.worst_time_to_pass(healthy_after) + min_ready_seconds


def lb_time_to_unhealthy(
    check_interval_sec: float, timeout_sec: float, unhealthy_threshold: int
) -> float:
    """Longest time a GCP health check takes to mark a backend unhealthy."""
    return check_interval_sec * unhealthy_threshold + timeout_sec


def maintenance_hours_per_32_days(block_hours: float, days_per_week: int | None) -> float:
    """Guaranteed maintenance availability in any 32-day window.

    `days_per_week` None means a daily window; otherwise a weekly recurrence on that many days,
    of which any 32-day window holds at least four full weeks.
    """
    if days_per_week is None:
        return 32 * block_hours
    return 4 * days_per_week * block_hours


def maintenance_blocks_per_32_days(days_per_week: int | None) -> int:
    """Maintenance blocks any 32-day window holds: 32 daily, else four full weeks of days."""
    return 32 if days_per_week is None else 4 * days_per_week


CLUSTER_AUTOSCALER_GRACE_SECONDS = 600
"""Longest grace the cluster autoscaler gives a pod when it removes a node on scale-down.

GKE's cluster autoscaler "gives Pods a 10-minute graceful termination period" and then deletes
the node (cloud.google.com/kubernetes-engine/docs/concepts/cluster-autoscaler, "Pod scheduling
and disruption"; kubernetes/kubernetes#94435: a 3 h grace killed after 10 min by the autoscaler).
GKE honours PDBs and grace up to one hour only for node upgrades. A GCP platform fact, so it
lives here, next to the formula that uses it."""


def grace_cap_seconds(max_drain_seconds: float, *, autoscaled: bool) -> float:
    """Longest terminationGracePeriodSeconds a node drain honours on the pods' pool."""
    if autoscaled:
        return min(max_drain_seconds, CLUSTER_AUTOSCALER_GRACE_SECONDS)
    return max_drain_seconds


def lb_timeout_counts_upload(scheme: str) -> bool | None:
    """Whether a global backend service's `timeoutSec` runs while the client still uploads.

    The classic Application LB (EXTERNAL) counts its response timeout from the request, so a slow
    upload spends it. The global external Application LB (EXTERNAL_MANAGED) is Envoy-based: its
    `timeoutSec` is Envoy's route timeout, which "spans between the point at which the entire
    downstream request (i.e. end-of-stream) has been processed and when the upstream response has
    been completely processed" (Envoy `RouteAction.timeout`,
    https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto and
    https://www.envoyproxy.io/docs/envoy/latest/faq/configuration/timeouts), and GCP says the
    backend service timeout "has a different meaning depending on the type of load balancer"
    (https://cloud.google.com/load-balancing/docs/backend-service#timeout-bes). None: another
    scheme, whose meaning is not judged here.
    """
    return {"EXTERNAL": True, "EXTERNAL_MANAGED": False}.get(scheme)


def min_lb_timeout_seconds(
    client_upload: float,
    internal_transfer: float,
    a_proxy_read_timeout: float,
    *,
    counts_upload: bool,
) -> float:
    """The GCP LB `timeoutSec` must exceed this: A's response time, measured as the LB counts it.

    A timeout counted from the request (classic LB) covers the slow upload, then A waiting on its
    upstream. One counted from the end of the request (EXTERNAL_MANAGED) covers what A needs after
    the last body byte: forwarding the body one internal hop (when A buffers it), then waiting on
    its upstream (`lb_timeout_counts_upload`).
    """
    if counts_upload:
        return client_upload + a_proxy_read_timeout
    return internal_transfer + a_proxy_read_timeout


def min_a_proxy_read_timeout_seconds(kong_worst_case: float) -> float:
    """A's `proxy_read_timeout` must exceed this: Kong's worst case including its retries."""
    return kong_worst_case


def pooled_connection_span_seconds(
    keepalive_time: float, keepalive_timeout: float, longest_b: float, lb_lag: float
) -> float:
    """How long after B starts draining one of A's pooled connections through B may carry bytes.

    The internal passthrough NLB keeps sending new flows to a draining backend until its
    programming catches up (`lb_lag`, profile lb_propagation_seconds): during connection draining
    the backend can still look healthy, and new flows still arrive on an L4 passthrough LB
    (reference gcp-lb-mig-gke.md §3.1; networknext/next PR #3188). A connection opened then is
    pooled by A. nginx checks an upstream connection's `keepalive_time` only when the connection
    returns to the pool: one returned just short of it may idle `keepalive_timeout` more, be
    picked for a new request, and then carry B's longest request. B's drain must outlast this
    span, or the B instance is deleted under a request (chain-pooled-connections-recycled).
    """
    return lb_lag + keepalive_time + keepalive_timeout + longest_b


def kong_quit_wait_bound_seconds(profile: TrafficProfile) -> float:
    """Shortest `kong quit --wait`.

    Kong keeps accepting until both its GKE internal LB (subsetting NEG membership and health
    checks of its nodes, profile.kong_lb_propagation_seconds) and the nodes' Service routing
    (Dataplane V2) stopped sending it new connections.
    """
    return max(profile.kong_lb_propagation_seconds, profile.endpoint_propagation_seconds)


def runtime_prestop_bound_seconds(profile: TrafficProfile) -> float:
    """Shortest runtime preStop: Kong's nodes (kube-proxy) must stop sending it connections."""
    return profile.endpoint_propagation_seconds


def required_progress_deadline_seconds(
    readiness: ProbeTiming,
    startup: ProbeTiming | None,
    min_ready_seconds: int,
    scheduling_seconds: float,
    margin: float,
) -> float:
    """Shortest `progressDeadlineSeconds`: one new pod's worst time to Available, plus margin."""
    return (
        worst_time_to_available(readiness, startup, min_ready_seconds, scheduling_seconds) + margin
    )


# ---------------------------------------------------------------------------------------------
# Rollout durations: how long the controller that rolls a tier may take, worst case. The await
# timeouts of `pulumi up` (customTimeouts) must outlast them, or the engine reports a failure in
# the middle of a healthy rollout (rules in `rules/rollout.py`).
# ---------------------------------------------------------------------------------------------


def rollout_batches(units: int, per_batch: int) -> int:
    """Batches a rolling update of `units` needs when it replaces `per_batch` at a time."""
    if units < 0 or per_batch < 1:
        raise ValueError(f"need units >= 0 and per_batch >= 1, got {units}, {per_batch}")
    return math.ceil(units / per_batch)


def deployment_rollout_seconds(
    replicas: int,
    max_surge: int,
    max_unavailable: int,
    time_to_available: float,
    termination_seconds: float,
) -> float:
    """Worst-case duration of a Deployment's RollingUpdate of `replicas` pods.

    The Deployment controller replaces `max_surge + max_unavailable` pods per step and moves on
    when the new ones are Available (ready for `minReadySeconds`; `time_to_available`, from
    `worst_time_to_available`). With `max_unavailable` 0 the next step also waits, worst case,
    for the old pods to finish terminating (`termination_seconds`: terminationGracePeriodSeconds,
    which includes the preStop hook): the scheduler keeps counting a terminating pod's requests
    until it is gone, so on a full node pool the next surge pod waits for them, and with
    `podReplacementPolicy: TerminationComplete` the controller itself waits. With unavailability
    the old pods go first and only the last step's termination adds.

    Sources: Kubernetes Deployment docs, "Rolling Update Deployment", "Max Surge", "Max
    Unavailable", "Progress Deadline Seconds"
    (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/); the grace period
    includes preStop (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
    #pod-termination); KEP-3973 / KEP-5882, terminating pods and the Deployment's pod
    replacement policy (https://www.kubernetes.dev/resources/keps/3973/,
    https://www.kubernetes.dev/resources/keps/5882/).
    """
    batches = rollout_batches(replicas, max(1, max_surge + max_unavailable))
    if max_unavailable == 0:
        return batches * (time_to_available + termination_seconds)
    return batches * time_to_available + termination_seconds


def mig_update_seconds(
    instances: int,
    *,
    max_surge: int,
    max_unavailable: int,
    time_to_healthy: float,
    min_ready_seconds: float,
    drain_seconds: float,
    shutdown_seconds: float,
) -> float:
    """Worst-case duration of a MIG's proactive rolling update (SUBSTITUTE) of `instances` VMs.

    Per batch of `max_surge + max_unavailable` instances: the new VMs boot and pass the group's
    health check once (`time_to_healthy`; "If there is a health check on the instance group, the
    instance's health check status must be HEALTHY at least once", InstanceGroupManagerUpdatePolicy,
    https://cloud.google.com/compute/docs/reference/rest/v1/instanceGroupManagers), stay
    available for `min_ready_seconds`, then the old ones are
    removed: the load balancer drains them (`drain_seconds`: connectionDrainingTimeoutSec) and
    GCE stops them, running the shutdown script (`shutdown_seconds`).

    Sources: Compute Engine, "Automatically apply VM configuration updates in a MIG" (maxSurge,
    maxUnavailable, minReadySec, SUBSTITUTE; "Updates are intent based": the API answers before
    any VM is replaced;
    https://cloud.google.com/compute/docs/instance-groups/updating-managed-instance-groups),
    "Enabling connection draining"
    (https://cloud.google.com/load-balancing/docs/enabling-connection-draining), shutdown scripts,
    "On-demand instances: 90 seconds after you stop or delete an instance"
    (https://cloud.google.com/compute/docs/shutdownscript).
    """
    batches = rollout_batches(instances, max(1, max_surge + max_unavailable))
    return batches * (time_to_healthy + min_ready_seconds + drain_seconds + shutdown_seconds)


def node_drain_seconds(
    pods_per_node: int, time_to_available: float, grace_seconds: float, drain_limit: float
) -> float:
    """Worst-case drain of one node holding `pods_per_node` pods of one workload.

    GKE evicts through the PodDisruptionBudget, which (at `maxUnavailable: 1`) lets the next pod
    go only once the previous one's replacement is Available: `pods_per_node x
    time_to_available` of waits, which GKE respects for at most `drain_limit`; then the last pod
    terminates within its grace period, also capped at `drain_limit` during upgrades.

    Sources: GKE node pool upgrade strategies, "respecting PodDisruptionBudget and
    GracefulTerminationPeriod settings for up to one hour"
    (https://cloud.google.com/kubernetes-engine/docs/concepts/node-pool-upgrade-strategies).
    """
    pdb_waits = min(pods_per_node * time_to_available, drain_limit)
    return pdb_waits + min(grace_seconds, drain_limit)


def surge_upgrade_seconds(
    nodes: int,
    max_surge: int,
    max_unavailable: int,
    node_boot_seconds: float,
    drain_seconds: float,
) -> float:
    """Worst-case duration of a GKE surge upgrade of `nodes` nodes.

    `max_surge + max_unavailable` nodes upgrade at once (zones one after another): a surge node
    boots and joins, then an old node is cordoned, drained (`drain_seconds`, from
    `node_drain_seconds`) and deleted.

    Sources: GKE UpgradeSettings, "(maxUnavailable + maxSurge) determines the level of
    parallelism" (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/
    UpgradeSettings); surge upgrades
    (https://cloud.google.com/kubernetes-engine/docs/concepts/node-pool-upgrade-strategies).
    """
    batches = rollout_batches(nodes, max(1, max_surge + max_unavailable))
    return batches * (node_boot_seconds + drain_seconds)


def blue_green_upgrade_seconds(
    nodes: int,
    *,
    batch_node_count: int,
    node_boot_seconds: float,
    drain_seconds: float,
    batch_soak_seconds: float,
    node_pool_soak_seconds: float,
) -> float:
    """Worst-case duration of a GKE blue-green upgrade (standard rollout policy).

    The green nodes are created (they boot in parallel), the blue pool is cordoned and drained in
    batches of `batch_node_count` nodes, each followed by `batch_soak_seconds`, then the whole
    pool soaks `node_pool_soak_seconds` before the blue nodes are deleted.

    Sources: GKE blue-green upgrades
    (https://cloud.google.com/kubernetes-engine/docs/concepts/node-pool-upgrade-strategies
    #blue-green-upgrade-strategy); the phases CreatingGreenPool, CordoningBluePool,
    DrainingBluePool, NodePoolSoaking ("soaking time after draining entire blue pool"),
    DeletingBluePool (https://cloud.google.com/dotnet/docs/reference/Google.Cloud.Container.V1/
    3.22.0/Google.Cloud.Container.V1.NodePool.Types.UpdateInfo.Types.BlueGreenInfo.Types.Phase);
    NodePool.UpgradeSettings
    (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/UpgradeSettings).
    """
    batches = rollout_batches(nodes, max(1, batch_node_count))
    return (
        node_boot_seconds + batches * (drain_seconds + batch_soak_seconds) + node_pool_soak_seconds
    )


def await_timeout_seconds(rollout_seconds: float, margin: float, step: int = 60) -> int:
    """A `pulumi up` await timeout covering `rollout_seconds` + `margin`, rounded up to `step`."""
    return math.ceil((rollout_seconds + margin) / step) * step


def deployment_await_bound_seconds(
    rollout_seconds: float, progress_deadline_seconds: float, margin: float
) -> float:
    """Shortest await (customTimeouts create/update) for a Deployment's rollout.

    It must outlast the worst-case rollout, and the progress deadline too, so that a stuck
    rollout is failed by the Deployment's own `ProgressDeadlineExceeded` (which pulumi-kubernetes
    reports at once, with the reason) before `pulumi up` merely times out.
    """
    return max(rollout_seconds, progress_deadline_seconds) + margin
