"""Rules on how long `pulumi up` awaits a rollout: it must outlast the rollout it starts.

A hitless rollout is slow on purpose (surge one at a time, wait for readiness, drain). The
providers await it with their own timeouts (pulumi-kubernetes: a Deployment 10 minutes;
pulumi-gcp: a node pool update 30 minutes; a MIG only when asked to, 15 minutes); a timeout
shorter than the rollout's worst case makes `pulumi up` report a failure in the middle of a
healthy rollout and leaves the stack's state behind. The worst cases are the formulas of
`hitless_policy.budget`; the timeouts are the resources' `customTimeouts` options, which the
engine gives policies as `opts.custom_timeouts` and which plain manifests do not have.
"""

from __future__ import annotations

import math
import re

from hitless_policy import budget, catalog
from hitless_policy.extract.props import Props
from hitless_policy.facts import (
    AwaitTimeout,
    Deployment,
    Facts,
    Hpa,
    Mig,
    NodePool,
    Probe,
    Ref,
    Unknown,
    hpa_of,
    sure,
    unknowns,
)
from hitless_policy.identity import Tier
from hitless_policy.profile import PackConfig
from hitless_policy.rules.base import Finding, Judge, Rule, exempt, num

NO_OPTIONS = (
    "no resource options: the await timeout is a Pulumi resource option (customTimeouts) that "
    "manifests and files do not carry; judge it with `hitless preview` or "
    "`pulumi preview --policy-pack policy`"
)
"""Why a resource read from a file (`hitless check`) is not judged by these rules."""

GKE_DEFAULT_NODE_POOL_SOAK = "3600s"
"""GKE's blue-green `nodePoolSoakDuration` when unset (UpgradeSettings, reference §3.5)."""
GKE_DEFAULT_BATCH_SOAK = "0s"
"""GKE's blue-green `batchSoakDuration` when unset."""
GKE_DEFAULT_BATCH_NODE_COUNT = 1
"""GKE's blue-green batch size when neither `batchNodeCount` nor `batchPercentage` is set."""


def _max_replicas(dep: Deployment, hpas: list[Hpa]) -> tuple[int | Unknown, str]:
    """Most replicas the Deployment runs (its HPA's maximum), and where that comes from."""
    hpa = hpa_of(dep, hpas)
    if isinstance(hpa, Unknown):
        return hpa, "HPA"
    if isinstance(hpa, Hpa) and hpa.max_replicas is not None:
        return hpa.max_replicas, f"HPA '{hpa.ref.name}' maxReplicas"
    return dep.replicas, "replicas"


def _time_to_available(dep: Deployment, config: PackConfig) -> float | list[Unknown]:
    """One new pod's worst time to Available (`budget.worst_time_to_available`)."""
    container = dep.main_container()
    ready = container.readiness if container else None
    startup = container.startup if container else None
    missing = unknowns(dep.min_ready_seconds, ready, startup)
    for probe in (ready, startup):
        if isinstance(probe, Probe):
            missing += unknowns(probe.timing)
    if isinstance(dep.containers, Unknown):
        missing.append(dep.containers)
    if missing:
        return missing
    readiness = (
        ready.timing
        if isinstance(ready, Probe) and not isinstance(ready.timing, Unknown)
        else budget.ProbeTiming(period_seconds=0, timeout_seconds=0)
    )
    start = (
        startup.timing
        if isinstance(startup, Probe) and not isinstance(startup.timing, Unknown)
        else None
    )
    return budget.worst_time_to_available(
        readiness, start, sure(dep.min_ready_seconds), config.thresholds.pod_start_seconds
    )


def _await(  # noqa: PLR0917 (the parts of one judgement)
    entry_id: str,
    found: AwaitTimeout,
    subject: str,
    config: PackConfig,
    values: catalog.Values,
    note: str = "",
) -> tuple[catalog.Status, str]:
    """One await judged by its catalog entry, and its text.

    The text shows the value with where it comes from (`customTimeouts` or the provider's
    default), the bound with its basis and `note` (where an input comes from), and for a failure
    the consequence and the fix.
    """
    outcome = Judge.outcome(entry_id, found.seconds, config, values)
    if outcome.status == "not-judged" or outcome.bound is None:
        return "not-judged", f"{subject}: unknown {', '.join(outcome.missing)}"
    ctx = catalog.Ctx(config, values)
    shown = f"{subject} {num(found.seconds)} s ({found.source})"
    if outcome.status == "fail":
        return "fail", (f"{shown}: {outcome.consequence(ctx)}{note}. Fix: {outcome.fix(subject)}s")
    return "pass", f"{shown} >= {num(outcome.bound)}: {outcome.entry.basis(ctx)}{note}"


def _record(judge: Judge, ref: Ref, judged: list[tuple[catalog.Status, str]]) -> None:
    """One verdict on `ref`: every failure, else what could not be judged, else the passes."""
    for status in ("fail", "not-judged"):
        texts = [text for found, text in judged if found == status]
        if texts and status == "fail":
            judge.fail(ref, "; ".join(texts))
            return
        if texts:
            judge.cannot(ref, "; ".join(texts))
            return
    judge.ok(ref, "; ".join(text for _, text in judged))


def deployment_await_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """deployment-await-covers-rollout (catalog entries `kong-await`, `rt-await`)."""
    judge = Judge("deployment-await-covers-rollout")
    for dep in facts.deployments:
        if dep.await_create is None or dep.await_update is None:
            judge.cannot(dep.ref, NO_OPTIONS)
            continue
        replicas, source = _max_replicas(dep, facts.hpas)
        available = _time_to_available(dep, config)
        missing = unknowns(
            replicas,
            dep.strategy,
            dep.max_surge,
            dep.max_unavailable,
            dep.grace_seconds,
            dep.progress_deadline_seconds,
        )
        if isinstance(available, list):
            missing += available
        if missing:
            judge.cannot(dep.ref, missing)
            continue
        count = sure(replicas)
        if sure(dep.strategy) == "Recreate":
            # Every old pod terminates, then every new pod starts: one batch.
            surge, unavailable = 0, max(1, count)
        else:
            surge, unavailable = budget.resolve_rolling_update(
                count, sure(dep.max_surge), sure(dep.max_unavailable)
            )
        prefix = "kong" if dep.is_kong else "rt"
        values: dict[str, float | None] = {
            f"{prefix}_rollout_replicas": count,
            f"{prefix}_rollout_surge": surge,
            f"{prefix}_rollout_unavailable": unavailable,
            f"{prefix}_time_to_available": None if isinstance(available, list) else available,
            f"{prefix}_rollout_grace": float(sure(dep.grace_seconds)),
            f"{prefix}_progress_deadline": float(sure(dep.progress_deadline_seconds)),
        }
        note = f" (pods: {source} {count})"
        _record(
            judge,
            dep.ref,
            [
                _await(f"{prefix}-await", found, f"customTimeouts.{op}", config, values, note)
                for op, found in (("create", dep.await_create), ("update", dep.await_update))
            ],
        )
    return judge.findings


def _duration(value: object) -> float | None:
    """Seconds of a GKE duration (`"1800s"`), None when it is not one."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and (match := re.fullmatch(r"(\d+(?:\.\d+)?)s", value.strip())):
        return float(match.group(1))
    return None


def _pool_drain(
    pool: NodePool, nodes_min: int, facts: Facts, config: PackConfig
) -> tuple[float, str] | list[Unknown] | str:
    """Worst drain of one node of `pool` over the Deployments it may carry, and its basis."""
    if not facts.deployments:
        return "no Deployment facts: nothing bounds a node's drain (PDB waits and grace)"
    limit = float(config.thresholds.max_drain_seconds)
    worst, basis = -1.0, ""
    for dep in facts.deployments:
        replicas, _ = _max_replicas(dep, facts.hpas)
        available = _time_to_available(dep, config)
        missing = unknowns(replicas, dep.grace_seconds)
        if isinstance(available, list):
            missing += available
        if missing:
            return missing
        per_node = math.ceil(sure(replicas) / max(1, nodes_min))
        tta = 0.0 if isinstance(available, list) else float(available)
        grace = float(sure(dep.grace_seconds))
        drain = budget.node_drain_seconds(per_node, tta, grace, limit)
        if drain > worst:
            worst = drain
            basis = (
                f"'{dep.ref.name}': {per_node} pods per node x time to Available {num(tta)} s "
                f"(PDB waits) + grace {num(grace)} s, each capped at {num(limit)}"
            )
    return worst, basis


def node_pool_timeout_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """node-pool-timeout-covers-upgrade."""
    judge = Judge("node-pool-timeout-covers-upgrade")
    for pool in facts.node_pools:
        if pool.await_update is None:
            judge.cannot(pool.ref, NO_OPTIONS)
            continue
        missing = unknowns(
            pool.upgrade, pool.zones, pool.min_nodes_per_zone, pool.max_nodes_per_zone
        )
        if missing:
            judge.cannot(pool.ref, missing)
            continue
        if pool.zones is None or pool.max_nodes_per_zone is None:
            judge.cannot(
                pool.ref,
                "nodeLocations or autoscaling.maxNodeCount/nodeCount absent: the number of nodes "
                "an upgrade replaces is not known",
            )
            continue
        zones, most = sure(pool.zones), sure(pool.max_nodes_per_zone)
        fewest = sure(pool.min_nodes_per_zone) if pool.min_nodes_per_zone is not None else most
        nodes, nodes_min = most * zones, max(1, fewest) * zones
        drained = _pool_drain(pool, nodes_min, facts, config)
        if isinstance(drained, str):
            judge.cannot(pool.ref, drained)
            continue
        if isinstance(drained, list):
            judge.cannot(pool.ref, drained)
            continue
        drain, drain_basis = drained
        settings = Props(pool.upgrade or {}, "upgradeSettings")
        strategy = settings.text("strategy", default="SURGE")
        fields = (
            settings.num("maxSurge", default=1),
            settings.num("maxUnavailable", default=0),
            settings.get("blueGreenSettings", "nodePoolSoakDuration"),
            settings.get("blueGreenSettings", "standardRolloutPolicy", "batchSoakDuration"),
            settings.num(
                "blueGreenSettings",
                "standardRolloutPolicy",
                "batchNodeCount",
                default=GKE_DEFAULT_BATCH_NODE_COUNT,
            ),
        )
        missing = unknowns(strategy, *fields)
        if missing:
            judge.cannot(pool.ref, missing)
            continue
        values: dict[str, float | None] = {
            "pool_nodes": nodes,
            "pool_surge": float(sure(fields[0])),
            "pool_unavailable": float(sure(fields[1])),
            "pool_drain": drain,
            "pool_blue_green": 1 if strategy == "BLUE_GREEN" else 0,
            "pool_batch": max(1, int(sure(fields[4]))),
            "pool_batch_soak": _duration(fields[3] or GKE_DEFAULT_BATCH_SOAK),
            "pool_soak": _duration(fields[2] or GKE_DEFAULT_NODE_POOL_SOAK),
        }
        judged = _await(
            "node-pool-await",
            pool.await_update,
            "customTimeouts.update",
            config,
            values,
            f" ({most} nodes per zone x {zones} zones; drain {drain_basis})",
        )
        _record(judge, pool.ref, [judged])
    return judge.findings


def _mig_drain(facts: Facts, chain: str, tier: object) -> float | list[Unknown] | None:
    """The longest connection draining of the backend services in front of a MIG's tier."""
    found: list[float] = []
    missing: list[Unknown] = []
    for service in facts.backend_services:
        if service.place.chain != chain or service.place.tier != tier:
            continue
        if isinstance(service.draining_sec, Unknown):
            missing.append(service.draining_sec)
        else:
            found.append(float(service.draining_sec))
    if missing:
        return missing
    return max(found) if found else None


AUTOHEALING_ROLE = "autohealing-health-check"
"""Identity role of a MIG's own (autohealing) health check."""


def _time_to_healthy(facts: Facts, mig: Mig, boot: float) -> tuple[float, str] | str:
    """When a new VM of `mig` counts for the updater: boot, then its health check passed once.

    Without an autohealing health check a RUNNING VM counts. The check is found by identity
    (same chain and tier, role `autohealing-health-check`); its link is a computed id.
    """
    if mig.autohealing_health_check is None or mig.autohealing_health_check is False:
        return boot, f"boot {num(boot)}"
    checks = [
        check
        for check in facts.health_checks
        if check.place.chain == mig.place.chain
        and check.place.tier == mig.place.tier
        and check.place.role == AUTOHEALING_ROLE
    ]
    if len(checks) != 1:
        return (
            f"{len(checks)} health checks marked {AUTOHEALING_ROLE} for its chain and tier: the "
            "time a new VM takes to count as available is not known"
        )
    check = checks[0]
    missing = unknowns(check.interval_sec, check.timeout_sec, check.healthy_threshold)
    if missing:
        return "; ".join(str(item) for item in missing)
    healthy = budget.ProbeTiming(
        period_seconds=int(sure(check.interval_sec)),
        timeout_seconds=int(sure(check.timeout_sec)),
        success_threshold=sure(check.healthy_threshold),
    ).worst_time_to_pass(boot)
    return healthy, f"boot {num(boot)} and health check '{check.ref.name}' passed {num(healthy)}"


def mig_awaited_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """mig-update-awaited."""
    judge = Judge("mig-update-awaited")
    for mig in facts.migs:
        if mig.await_update is None:
            judge.cannot(mig.ref, NO_OPTIONS)
            continue
        wait, status = mig.wait_for_instances, mig.wait_status
        missing = unknowns(wait, status, mig.target_size, mig.update_policy)
        if missing:
            judge.cannot(mig.ref, missing)
            continue
        problems: list[str] = []
        if wait is not True or status != "UPDATED":
            problems.append(
                f"waitForInstances {str(wait).lower()}, waitForInstancesStatus {status}: the API "
                "accepts the update before any VM is replaced, so `pulumi up` reports success "
                "(or a partial state) while the rollout runs, and its failure is never reported. "
                "Fix: turn waitForInstances on with waitForInstancesStatus UPDATED"
            )
        drain = _mig_drain(facts, mig.place.chain, mig.place.tier)
        if isinstance(drain, list):
            judge.cannot(mig.ref, drain)
            continue
        if drain is None:
            judge.cannot(
                mig.ref,
                "no backend service of its tier in the chain: the LB drain of each batch is "
                "not known",
            )
            continue
        policy = Props(mig.update_policy or {}, "updatePolicy")
        fields = (
            policy.num("maxSurgeFixed", default=1),
            policy.num("maxUnavailableFixed", default=0),
            policy.num("minReadySec", default=0),
        )
        missing = unknowns(*fields)
        if missing or mig.target_size is None:
            judge.cannot(mig.ref, missing or "targetSize absent: the instances to replace")
            continue
        healthy = _time_to_healthy(facts, mig, config.thresholds.mig_boot_seconds)
        if isinstance(healthy, str):
            judge.cannot(mig.ref, healthy)
            continue
        time_to_healthy, healthy_basis = healthy
        tier = "a" if mig.place.tier == Tier.A else "b"
        values: dict[str, float | None] = {
            f"{tier}_mig_size": int(sure(mig.target_size)),
            f"{tier}_mig_surge": float(sure(fields[0])),
            f"{tier}_mig_unavailable": float(sure(fields[1])),
            f"{tier}_mig_time_to_healthy": time_to_healthy,
            f"{tier}_mig_min_ready": float(sure(fields[2])),
            f"{tier}_mig_drain": drain,
        }
        judged = _await(
            f"{tier}-mig-await",
            mig.await_update,
            "customTimeouts.update",
            config,
            values,
            f" (a new VM counts after {healthy_basis})",
        )
        _record(judge, mig.ref, [("fail", text) for text in problems] + [judged])
    return judge.findings


RULES: tuple[Rule, ...] = (
    Rule(
        "deployment-await-covers-rollout",
        "Prohibits a Deployment whose `pulumi up` await (customTimeouts) is shorter than its "
        "worst-case rollout at the HPA maximum or its progress deadline."
        + exempt("the deployment (`pulumi up` awaiting the rollout)"),
        "mandatory",
        deployment_await_rule,
    ),
    Rule(
        "node-pool-timeout-covers-upgrade",
        "Prohibits a node pool whose update timeout (customTimeouts) is shorter than its "
        "worst-case surge or blue-green upgrade."
        + exempt("the deployment (`pulumi up` awaiting the upgrade)"),
        "mandatory",
        node_pool_timeout_rule,
    ),
    Rule(
        "mig-update-awaited",
        "Prohibits a MIG whose rolling update `pulumi up` does not await (waitForInstances, "
        "UPDATED) for at least its worst case."
        + exempt("the deployment (`pulumi up` awaiting the update)"),
        "mandatory",
        mig_awaited_rule,
    ),
)
"""The rollout-await rules (stack rules: they join HPAs, Deployments and backend services)."""

__all__ = ["RULES", "deployment_await_rule", "mig_awaited_rule", "node_pool_timeout_rule"]
