"""Rules on GCP resources: MIGs, backend services, health checks, GKE clusters and node pools."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from hitless_policy import budget
from hitless_policy.extract import gcp
from hitless_policy.extract.props import Props
from hitless_policy.facts import BackendService, Facts, HealthCheck, Unknown, sure, unknowns
from hitless_policy.identity import Tier
from hitless_policy.profile import PackConfig
from hitless_policy.rules.base import Finding, Judge, Rule, exempt, num, problem

ASSUMED_REGION_ZONES = 3
"""Zones of a regional MIG without `distributionPolicyZones` (GCP uses all zones; >= 3)."""


def mig_update_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """mig-update-policy-hitless."""
    judge = Judge("mig-update-policy-hitless")
    lag = config.profile.lb_propagation_seconds
    for mig in facts.migs:
        missing = unknowns(mig.update_policy, mig.zones, mig.target_size)
        if missing:
            judge.cannot(mig.ref, missing)
            continue
        if mig.update_policy is None or isinstance(mig.update_policy, Unknown):
            judge.fail(
                mig.ref,
                "no updatePolicy: GCP's default takes one instance per zone out at once. Fix: set "
                "updatePolicy {type: PROACTIVE, minimalAction: REPLACE, replacementMethod: "
                "SUBSTITUTE, maxUnavailableFixed: 0, maxSurgeFixed: <zones>, minReadySec: "
                f">= {num(lag)}}}",
            )
            continue
        policy = Props(mig.update_policy, "updatePolicy")
        zones = mig.zones if isinstance(mig.zones, int) else ASSUMED_REGION_ZONES
        zone_note = "" if isinstance(mig.zones, int) else " (all zones of the region, assumed 3)"
        fields = {
            "type": policy.text("type", default="OPPORTUNISTIC"),
            "minimalAction": policy.text("minimalAction", default=""),
            "replacementMethod": policy.text("replacementMethod", default="SUBSTITUTE"),
            "maxUnavailableFixed": policy.opt_num("maxUnavailableFixed"),
            "maxUnavailablePercent": policy.opt_num("maxUnavailablePercent"),
            "maxSurgeFixed": policy.opt_num("maxSurgeFixed"),
            "maxSurgePercent": policy.opt_num("maxSurgePercent"),
            "minReadySec": policy.num("minReadySec", default=0),
        }
        missing = unknowns(*fields.values())
        if missing:
            judge.cannot(mig.ref, missing)
            continue
        problems: list[str] = []
        kind = fields["type"]
        if kind not in ("PROACTIVE", "OPPORTUNISTIC"):
            problems.append(f"type {kind}. Fix: set type PROACTIVE (or OPPORTUNISTIC)")
        if fields["minimalAction"] != "REPLACE":
            problems.append(
                f"minimalAction {fields['minimalAction'] or 'unset'}: a template change is not "
                "rolled out by replacing instances. Fix: set minimalAction REPLACE"
            )
        if fields["replacementMethod"] != "SUBSTITUTE":
            problems.append(
                f"replacementMethod {fields['replacementMethod']} deletes an instance before its "
                "replacement exists. Fix: set replacementMethod SUBSTITUTE"
            )
        unavailable = fields["maxUnavailableFixed"]
        if fields["maxUnavailablePercent"] is not None:
            unavailable = fields["maxUnavailablePercent"]
        if unavailable is None or unavailable != 0:
            shown = f"{num(float(unavailable))}" if isinstance(unavailable, float) else "unset"
            problems.append(
                f"maxUnavailableFixed {shown} (GCP's default is one per zone): serving instances "
                "go away before replacements are ready. Fix: set maxUnavailableFixed 0"
            )
        surge: float | None = None
        if isinstance(fields["maxSurgeFixed"], float):
            surge = fields["maxSurgeFixed"]
        elif isinstance(fields["maxSurgePercent"], float) and isinstance(mig.target_size, int):
            surge = float(-(-int(fields["maxSurgePercent"]) * mig.target_size // 100))
        elif fields["maxSurgeFixed"] is None and fields["maxSurgePercent"] is None:
            surge = float(zones)  # GCP default: one per zone
        tier = "b" if mig.place.tier is Tier.B else "a"
        values = {f"{tier}_zones": float(zones)}
        if surge is None:
            problems.append(
                f"maxSurgePercent without targetSize cannot be resolved against {zones} "
                f"zones{zone_note}. Fix: set maxSurgeFixed >= {zones}"
            )
        else:
            outcome = Judge.outcome(f"{tier}-mig-surge-per-zone", surge, config, values)
            found = problem(outcome, config, values, "maxSurgeFixed")
            if found:
                problems.append(found + zone_note)
        ready = float(sure(policy.num("minReadySec", default=0)))
        outcome = Judge.outcome(f"{tier}-mig-min-ready", ready, config, {})
        found = problem(outcome, config, {}, "minReadySec")
        if found:
            problems.append(found)
        judge.verdict(
            mig.ref,
            problems,
            f"{kind} REPLACE/SUBSTITUTE, maxUnavailable 0, maxSurge {num(surge or 0)} >= "
            f"{zones} zones, minReadySec {num(ready)} >= {num(lag)}",
        )
    return judge.findings


def mig_autohealing_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """mig-autohealing-configured."""
    judge = Judge("mig-autohealing-configured")
    boot = config.thresholds.mig_boot_seconds
    for mig in facts.migs:
        missing = unknowns(mig.autohealing_health_check, mig.autohealing_initial_delay)
        if missing:
            judge.cannot(mig.ref, missing)
            continue
        if not mig.autohealing_health_check:
            judge.fail(
                mig.ref,
                "no autoHealingPolicies health check: a hung nginx keeps its instance forever. "
                f"Fix: set autoHealingPolicies {{healthCheck, initialDelaySec: >= {num(boot)}}}",
            )
            continue
        tier = "b" if mig.place.tier is Tier.B else "a"
        judge.bound(
            mig.ref,
            f"{tier}-mig-autohealing-delay",
            mig.autohealing_initial_delay,
            config,
            {},
            "autoHealingPolicies.initialDelaySec",
        )
    return judge.findings


def draining_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """backend-service-draining-enabled."""
    judge = Judge("backend-service-draining-enabled")
    for service in facts.backend_services:
        drain = service.draining_sec
        if isinstance(drain, Unknown):
            judge.cannot(service.ref, [drain])
        elif drain <= 0:
            judge.fail(
                service.ref,
                "connectionDrainingTimeoutSec 0 disables draining: a removed backend's in-flight "
                "requests are cut. Fix: set connectionDrainingTimeoutSec to the tier's longest "
                "request (chain-drain-covers-longest-request gives the bound)",
            )
        else:
            judge.ok(service.ref, f"connectionDrainingTimeoutSec {num(drain)} > 0")
    return judge.findings


def connection_balancing_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """internal-backend-connection-balancing."""
    judge = Judge("internal-backend-connection-balancing")
    for service in facts.backend_services:
        if isinstance(service.scheme, Unknown):
            judge.cannot(service.ref, [service.scheme])
            continue
        if not service.regional or service.scheme != "INTERNAL":
            continue
        missing = unknowns(service.balancing_modes)
        if missing:
            judge.cannot(service.ref, missing)
            continue
        wrong = [mode for mode in service.balancing_modes if mode != "CONNECTION"]
        if wrong:
            judge.fail(
                service.ref,
                f"balancingMode {', '.join(str(m) for m in wrong)} on an INTERNAL backend service "
                "(UTILIZATION when unset): the API rejects it. Fix: set every "
                "backends[].balancingMode CONNECTION",
            )
        else:
            judge.ok(service.ref, "every backend balances by CONNECTION")
    return judge.findings


def _check_of(service: BackendService, checks: list[HealthCheck]) -> list[HealthCheck] | Unknown:
    """The health checks a backend service uses: by dependency, by name, else by identity."""
    if service.health_check_deps:
        return [c for c in checks if c.ref.id in service.health_check_deps]
    peers = [
        c
        for c in checks
        if c.place.chain == service.place.chain and c.place.tier == service.place.tier
    ]
    lb_peers = [c for c in peers if "autoheal" not in c.place.role]
    if isinstance(service.health_checks, Unknown):
        # At preview the links are computed: the engine's property dependencies name the check
        # (above); without them, which check the LB uses is not known.
        return service.health_checks
    found: list[HealthCheck] = []
    for link in service.health_checks:
        if isinstance(link, Unknown):
            continue
        tail = link.rstrip("/").rsplit("/", 1)[-1]
        found.extend(
            c
            for c in checks
            if tail in (c.resource_name, c.ref.name, c.ref.id) or link in (c.ref.id,)
        )
    unknown = [link for link in service.health_checks if isinstance(link, Unknown)]
    if unknown:
        return unknown[0]
    if found:
        return found
    return lb_peers


def health_check_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """lb-health-check-configured."""
    judge = Judge("lb-health-check-configured")
    bound = config.thresholds.max_lb_time_to_unhealthy_seconds
    for service in facts.backend_services:
        if isinstance(service.health_checks, list) and not service.health_checks:
            judge.fail(
                service.ref,
                "no healthChecks: the LB keeps sending requests to dead backends. Fix: attach a "
                f"health check that marks a backend unhealthy within {num(bound)} s",
            )
            continue
        checks = _check_of(service, facts.health_checks)
        if isinstance(checks, Unknown):
            judge.cannot(service.ref, [checks])
            continue
        if not checks:
            judge.cannot(
                service.ref,
                "its health check is not among the judged resources (add it, or mark it with the "
                "chain's identity)",
            )
            continue
        problems: list[str] = []
        missing: list[Unknown] = []
        for check in checks:
            values = (check.interval_sec, check.timeout_sec, check.unhealthy_threshold)
            if unknowns(*values):
                missing.extend(unknowns(*values))
                continue
            interval, timeout = sure(check.interval_sec), sure(check.timeout_sec)
            threshold = sure(check.unhealthy_threshold)
            if timeout > interval:
                problems.append(
                    f"health check '{check.ref.name}' timeoutSec {num(timeout)} > "
                    f"checkIntervalSec {num(interval)}, which GCP rejects. Fix: timeoutSec <= "
                    "checkIntervalSec"
                )
            tier = "b" if service.regional or service.place.tier is Tier.B else "a"
            inputs = {f"{tier}_hc_interval": interval, f"{tier}_hc_timeout": timeout}
            outcome = Judge.outcome(f"{tier}-lb-time-to-unhealthy", threshold, config, inputs)
            found = problem(
                outcome, config, inputs, f"health check '{check.ref.name}' unhealthyThreshold"
            )
            if found:
                took = budget.lb_time_to_unhealthy(interval, timeout, threshold)
                problems.append(f"{found} (it takes {num(took)} s to mark a backend unhealthy)")
        if missing:
            judge.cannot(service.ref, missing)
        else:
            names = ", ".join(f"'{c.ref.name}'" for c in checks)
            judge.verdict(
                service.ref, problems, f"health check {names} marks unhealthy within {num(bound)} s"
            )
    return judge.findings


def _duration_seconds(text: object) -> float | None:
    if isinstance(text, int | float):
        return float(text)
    if isinstance(text, str) and (match := re.fullmatch(r"(\d+(?:\.\d+)?)s", text.strip())):
        return float(match.group(1))
    return None


def node_pool_upgrade_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """node-pool-upgrade-hitless."""
    judge = Judge("node-pool-upgrade-hitless")
    for pool in facts.node_pools:
        if isinstance(pool.upgrade, Unknown):
            judge.cannot(pool.ref, [pool.upgrade])
            continue
        settings = Props(pool.upgrade or {}, "upgradeSettings")
        strategy = settings.text("strategy", default="SURGE")
        surge = settings.num("maxSurge", default=1)
        unavailable = settings.num("maxUnavailable", default=0)
        soak = settings.get("blueGreenSettings", "nodePoolSoakDuration")
        missing = unknowns(strategy, surge, unavailable, soak)
        if missing:
            judge.cannot(pool.ref, missing)
            continue
        if strategy == "BLUE_GREEN":
            # Absent, the API soaks one hour (extraction fills it: NodePool.upgrade).
            seconds = _duration_seconds(soak)
            if not seconds:
                judge.fail(
                    pool.ref,
                    f"BLUE_GREEN with nodePoolSoakDuration {soak!r}: the blue pool is deleted as "
                    "soon as it is drained, leaving no way back. Fix: set "
                    "blueGreenSettings.nodePoolSoakDuration (e.g. '1800s') or leave it unset "
                    "(one hour)",
                )
            else:
                judge.ok(pool.ref, f"BLUE_GREEN with a {num(seconds)} s soak")
            continue
        if strategy != "SURGE":
            judge.fail(pool.ref, f"strategy {strategy}. Fix: use SURGE or BLUE_GREEN")
            continue
        surge, unavailable = sure(surge), sure(unavailable)
        problems = []
        if unavailable != 0:
            problems.append(
                f"maxUnavailable {num(unavailable)} drains nodes before replacements exist. "
                "Fix: set maxUnavailable 0"
            )
        if surge < 1:
            problems.append(f"maxSurge {num(surge)} adds no node first. Fix: set maxSurge >= 1")
        judge.verdict(
            pool.ref, problems, f"SURGE maxSurge {num(surge)}, maxUnavailable {num(unavailable)}"
        )
    return judge.findings


def node_pool_pdb_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """node-pool-respects-pdb-on-deletion."""
    judge = Judge("node-pool-respects-pdb-on-deletion")
    for pool in facts.node_pools:
        if isinstance(pool.drain_configs, Unknown):
            judge.cannot(pool.ref, [pool.drain_configs])
            continue
        values = [
            Props(item, "nodeDrainConfigs").flag("respectPdbDuringNodePoolDeletion", default=False)
            for item in pool.drain_configs or []
        ]
        missing = unknowns(values)
        if missing:
            judge.cannot(pool.ref, missing)
        elif not values or not all(values):
            judge.fail(
                pool.ref,
                "nodeDrainConfigs does not set respectPdbDuringNodePoolDeletion: deleting or "
                "replacing the pool evicts every pod at once, ignoring PDBs. Fix: set "
                "nodeDrainConfigs [{respectPdbDuringNodePoolDeletion: true}]",
            )
        else:
            judge.ok(pool.ref, "respectPdbDuringNodePoolDeletion true")
    return judge.findings


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _window(policy: Props) -> tuple[float, int | None] | str:
    """(block hours, days per week or None for daily) of a maintenance policy, or a problem."""
    daily = policy.get("dailyMaintenanceWindow")
    if daily is not None:
        return 4.0, None  # GKE's daily window is a fixed 4 h block
    window = policy.sub("recurringWindow")
    if window is None or isinstance(window, Unknown):
        return "no recurringWindow or dailyMaintenanceWindow"
    start_text = window.text("startTime", default="")
    end_text = window.text("endTime", default="")
    recurrence = window.text("recurrence", default="")
    if isinstance(start_text, Unknown) or isinstance(end_text, Unknown):
        return "startTime/endTime unknown"
    try:
        start = datetime.fromisoformat(start_text)
        end = datetime.fromisoformat(end_text)
    except ValueError:
        return f"startTime {start_text!r} / endTime {end_text!r} are not RFC 3339 times"
    for stamp, text in ((start, start_text), (end, end_text)):
        if stamp.utcoffset() != timedelta(0):
            return f"{text!r} is not in UTC (GKE stores UTC, so the stack never converges)"
    hours = (end - start).total_seconds() / 3600
    if isinstance(recurrence, Unknown):
        return "recurrence unknown"
    rule = dict(part.split("=", 1) for part in recurrence.split(";") if "=" in part)
    if rule.get("FREQ") == "DAILY":
        return hours, None
    if rule.get("FREQ") == "WEEKLY":
        days = [day for day in rule.get("BYDAY", "").split(",") if day in _WEEKDAYS]
        return hours, len(days) or 1
    return f"recurrence {recurrence!r} is neither FREQ=DAILY nor FREQ=WEEKLY"


def maintenance_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """cluster-maintenance-window-valid."""
    judge = Judge("cluster-maintenance-window-valid")
    for cluster in facts.clusters:
        if isinstance(cluster.maintenance, Unknown):
            judge.cannot(cluster.ref, [cluster.maintenance])
            continue
        if cluster.maintenance is None:
            judge.ok(cluster.ref, "no maintenance window: GKE may maintain at any time")
            continue
        policy = Props(cluster.maintenance, "maintenancePolicy")
        raw = policy.get("recurringWindow")
        if isinstance(raw, Unknown):
            judge.cannot(cluster.ref, [raw])
            continue
        found = _window(policy)
        if isinstance(found, str):
            judge.fail(
                cluster.ref,
                f"maintenance window invalid: {found}. Fix: set maintenancePolicy.recurringWindow "
                "with UTC startTime/endTime ('2025-01-04T02:00:00Z') and FREQ=DAILY or "
                "FREQ=WEEKLY;BYDAY=...",
            )
            continue
        hours, days = found
        total = budget.maintenance_hours_per_32_days(hours, days)
        values = {"maintenance_blocks": float(budget.maintenance_blocks_per_32_days(days))}
        problems = [
            text
            for entry_id in ("maintenance-block", "maintenance-availability")
            if (
                text := problem(
                    Judge.outcome(entry_id, hours, config, values),
                    config,
                    values,
                    "maintenance window hours",
                )
            )
        ]
        judge.verdict(
            cluster.ref, problems, f"{num(total)} h per 32 days in blocks of {num(hours)} h"
        )
    return judge.findings


RULES: tuple[Rule, ...] = (
    Rule(
        "mig-update-policy-hitless",
        "Prohibits MIG update policies that remove serving instances before replacements are "
        "ready and programmed into the LB.",
        "mandatory",
        mig_update_rule,
        frozenset({gcp.MIG}),
        failure="refused",
    ),
    Rule(
        "mig-autohealing-configured",
        "Prohibits MIGs without autohealing, or whose autohealing judges instances still booting."
        + exempt("recovery from a failed instance, outside rollouts"),
        "mandatory",
        mig_autohealing_rule,
        frozenset({gcp.MIG}),
    ),
    Rule(
        "backend-service-draining-enabled",
        "Prohibits backend services with connection draining disabled."
        + exempt(
            "the cut chain-drain-covers-longest-request also guards (a 0 s drain breaks both)"
        ),
        "mandatory",
        draining_rule,
        frozenset({gcp.BACKEND_SERVICE, gcp.REGION_BACKEND_SERVICE}),
    ),
    Rule(
        "internal-backend-connection-balancing",
        "Prohibits INTERNAL backend services whose backends do not balance by CONNECTION."
        + exempt("capacity (connections spread across the backends)"),
        "mandatory",
        connection_balancing_rule,
        frozenset({gcp.REGION_BACKEND_SERVICE}),
    ),
    Rule(
        "lb-health-check-configured",
        "Prohibits backend services without a health check that detects a dead backend quickly."
        + exempt("recovery from a dead backend, outside rollouts"),
        "mandatory",
        health_check_rule,
    ),
    Rule(
        "node-pool-upgrade-hitless",
        "Prohibits node pool upgrades that drain nodes before replacements exist "
        "(SURGE maxUnavailable 0 / maxSurge >= 1, or BLUE_GREEN with a soak)."
        + exempt("capacity (room for the evicted pods while nodes drain)"),
        "mandatory",
        node_pool_upgrade_rule,
        frozenset({gcp.NODE_POOL}),
    ),
    Rule(
        "node-pool-respects-pdb-on-deletion",
        "Prohibits node pools whose deletion ignores PodDisruptionBudgets."
        + exempt("safety when a node pool is deleted, not upgraded"),
        "mandatory",
        node_pool_pdb_rule,
        frozenset({gcp.NODE_POOL}),
    ),
    Rule(
        "cluster-maintenance-window-valid",
        "Prohibits GKE maintenance windows below 48 h per 32 days in blocks of 4 h (UTC)."
        + exempt("safety (when GKE may start an upgrade)"),
        "mandatory",
        maintenance_rule,
        frozenset({gcp.CLUSTER}),
    ),
)
"""The GCP rules."""
