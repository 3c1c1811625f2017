"""Rules on Kubernetes workloads: Deployments (Kong and runtime), PDBs, Services."""

from __future__ import annotations

from hitless_policy import budget, catalog
from hitless_policy.extract import gcp, k8s
from hitless_policy.facts import (
    Container,
    Deployment,
    Facts,
    Hpa,
    Pdb,
    PreStop,
    Probe,
    Unknown,
    hpa_of,
    same_namespace,
    sure,
    unknowns,
)
from hitless_policy.profile import PackConfig
from hitless_policy.rules.base import Finding, Judge, Rule, exempt
from hitless_policy.rules.view import (
    chain_views,
    longest_for,
    longest_values,
    runtime_longest_for,
)

HOSTNAME_KEY = "kubernetes.io/hostname"
"""Topology key of a node."""
ZONE_KEY = "topology.kubernetes.io/zone"
"""Topology key of a zone."""


def _min_replicas(deployment: Deployment, hpas: list[Hpa]) -> tuple[int | Unknown, str]:
    """Fewest replicas the Deployment runs with, and where that number comes from."""
    hpa = hpa_of(deployment, hpas)
    if isinstance(hpa, Hpa):
        return hpa.min_replicas, f"HPA '{hpa.ref.name}' minReplicas"
    if isinstance(hpa, Unknown) and (
        isinstance(deployment.replicas, Unknown) or deployment.replicas < 2
    ):
        return hpa, "HPA"
    return deployment.replicas, "replicas"


def min_replicas_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """deployment-min-replicas."""
    judge = Judge("deployment-min-replicas")
    for dep in facts.deployments:
        count, source = _min_replicas(dep, facts.hpa_candidates(dep))
        if isinstance(count, Unknown):
            judge.cannot(dep.ref, [count])
        elif count < 2:
            judge.fail(
                dep.ref,
                f"{source} is {count}: a single pod means every rollout, eviction or node "
                f"upgrade leaves no pod serving. Fix: set {source} to >= 2",
            )
        else:
            judge.ok(dep.ref, f"{source} {count} >= 2")
    return judge.findings


def rolling_update_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """deployment-rolling-update-hitless."""
    judge = Judge("deployment-rolling-update-hitless")
    for dep in facts.deployments:
        missing = unknowns(dep.strategy, dep.replicas, dep.max_surge, dep.max_unavailable)
        if missing:
            judge.cannot(dep.ref, missing)
            continue
        strategy, replicas = sure(dep.strategy), sure(dep.replicas)
        max_surge, max_unavailable = sure(dep.max_surge), sure(dep.max_unavailable)
        if strategy != "RollingUpdate":
            judge.fail(
                dep.ref,
                f"strategy {strategy} kills every old pod before new ones run. Fix: set "
                "strategy.type RollingUpdate with maxUnavailable 0 and maxSurge 1",
            )
            continue
        try:
            surge, unavailable = budget.resolve_rolling_update(replicas, max_surge, max_unavailable)
        except (ValueError, TypeError) as error:
            judge.fail(dep.ref, f"{error}. Fix: use an integer or a percent like '25%'")
            continue
        found = (
            f"maxSurge {max_surge if max_surge is not None else '25% (default)'} -> "
            f"{surge}, maxUnavailable "
            f"{max_unavailable if max_unavailable is not None else '25% (default)'} -> "
            f"{unavailable} at {replicas} replicas"
        )
        problems = []
        if unavailable != 0:
            problems.append(
                f"{found}: the rollout takes {unavailable} of {replicas} pods out of service "
                "before replacements are Available. Fix: set maxUnavailable: 0"
            )
        if surge < 1:
            problems.append(f"{found}: no pod can be added first. Fix: set maxSurge: 1 (or more)")
        judge.verdict(dep.ref, problems, f"{found}: a new pod is Available before an old one goes")
    return judge.findings


def _probe_text(probe: Probe) -> str:
    if isinstance(probe.timing, Unknown):
        return probe.handler
    t = probe.timing
    return f"{probe.handler} every {t.period_seconds}s (failureThreshold {t.failure_threshold})"


def _liveness_first(live: Probe, ready: Probe) -> bool:
    """Whether liveness checks the same endpoint and gives up no later than readiness.

    A slow pod is then restarted before (or as) it is taken out of rotation.
    """
    if live.handler != ready.handler:
        return False
    if live == ready or isinstance(live.timing, Unknown) or isinstance(ready.timing, Unknown):
        return live == ready
    return live.timing.time_to_fail() <= ready.timing.time_to_fail()


def readiness_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """deployment-readiness-probe."""
    judge = Judge("deployment-readiness-probe")
    limit = config.thresholds.max_probe_period_seconds
    for dep in facts.deployments:
        if isinstance(dep.containers, Unknown):
            judge.cannot(dep.ref, [dep.containers])
            continue
        problems: list[str] = []
        missing: list[Unknown] = []
        for container in dep.serving():
            ready, live = container.readiness, container.liveness
            if isinstance(ready, Unknown) or isinstance(live, Unknown):
                missing.extend(unknowns(ready, live))
                continue
            if ready is None:
                problems.append(
                    f"container '{container.name}' has no readinessProbe: it takes traffic "
                    "before it can serve and keeps it after it stopped. Fix: add a readinessProbe "
                    f"(periodSeconds <= {limit})"
                )
                continue
            if isinstance(ready.timing, Unknown):
                missing.append(ready.timing)
                continue
            if live is not None and _liveness_first(live, ready):
                problems.append(
                    f"container '{container.name}' liveness ({_probe_text(live)}) checks the "
                    f"same endpoint as readiness ({_probe_text(ready)}) and gives up no later: a "
                    "slow pod is restarted instead of taken out of "
                    "rotation. Fix: give liveness its own endpoint or a higher failureThreshold"
                )
            entry_id = "kong-readiness-period" if dep.is_kong else "rt-readiness-period"
            outcome = Judge.outcome(entry_id, ready.timing.period_seconds, config, {})
            if outcome.status == "fail":
                subject = f"container '{container.name}' readinessProbe periodSeconds"
                ctx = catalog.Ctx(config, {})
                problems.append(
                    f"{subject} {ready.timing.period_seconds}: {outcome.consequence(ctx)}. Fix: "
                    f"{outcome.fix('periodSeconds')}"
                )
        if missing:
            judge.cannot(dep.ref, missing)
        elif not dep.serving():
            judge.fail(dep.ref, "no container found. Fix: declare the serving container")
        else:
            judge.verdict(
                dep.ref,
                problems,
                f"every serving container has its own readinessProbe, period <= {limit}s",
            )
    return judge.findings


def _prestop_of(dep: Deployment) -> tuple[Container | None, PreStop | Unknown | None]:
    container = dep.main_container()
    return container, container.prestop if container else None


def prestop_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """deployment-prestop-covers-propagation."""
    judge = Judge("deployment-prestop-covers-propagation")
    for dep in facts.deployments:
        if isinstance(dep.containers, Unknown):
            judge.cannot(dep.ref, [dep.containers])
            continue
        container, hook = _prestop_of(dep)
        if isinstance(hook, Unknown):
            judge.cannot(dep.ref, [hook])
            continue
        entry_id = "kong-quit-wait" if dep.is_kong else "rt-prestop"
        name = f"container '{container.name}'" if container else "the pod"
        if hook is None:
            subject = f"{name} preStop (none, 0 s)"
            delay: float | Unknown = 0.0
        else:
            extra = " (an exec hook without a sleep counts 0 s)" if hook.kind == "exec" else ""
            subject = f"{name} preStop {hook.kind}{extra}"
            delay = hook.delay_seconds
        judge.bound(dep.ref, entry_id, delay, config, {}, subject)
    if any(dep.is_kong for dep in facts.deployments):
        _judge_subsetting(judge, facts, config)
    return judge.findings


def _judge_subsetting(judge: Judge, facts: Facts, config: PackConfig) -> None:
    """Kong's `kong quit --wait` covers its internal LB's lag as measured with GKE subsetting.

    With `enableL4IlbSubsetting` GKE backs an internal LoadBalancer Service with one GCE_VM_IP
    NEG per zone holding only the nodes with a serving pod (externalTrafficPolicy Local), and
    recommends it for every internal LoadBalancer Service
    (https://cloud.google.com/kubernetes-engine/docs/how-to/internal-load-balancing#using-gke-subsetting,
    https://cloud.google.com/kubernetes-engine/docs/concepts/service-load-balancer). Without it
    the LB's backends are instance groups of every node, a different propagation path from the
    one `profile.kong_lb_propagation_seconds` states.
    """
    lag = config.profile.kong_lb_propagation_seconds
    for cluster in facts.clusters:
        if isinstance(cluster.l4_ilb_subsetting, Unknown):
            judge.cannot(cluster.ref, [cluster.l4_ilb_subsetting])
        elif cluster.l4_ilb_subsetting:
            judge.ok(
                cluster.ref,
                f"GKE subsetting on: Kong's internal LB lag is profile.kong_lb_propagation_seconds "
                f"{lag:g} s",
            )
        else:
            judge.fail(
                cluster.ref,
                "enableL4IlbSubsetting is off: Kong's internal LB uses instance groups of every "
                "node, not the GCE_VM_IP NEGs whose propagation lag "
                f"(profile.kong_lb_propagation_seconds {lag:g} s) `kong quit --wait` covers. "
                "Fix: set enableL4IlbSubsetting: true on the cluster",
            )


def _grace_cap(facts: Facts, config: PackConfig) -> float | None:
    """The longest grace a node drain honours on the stack's pools (None: unknown)."""
    flags = [pool.autoscaled for pool in facts.node_pools]
    if any(isinstance(flag, Unknown) for flag in flags):
        return None
    return budget.grace_cap_seconds(
        config.thresholds.max_drain_seconds, autoscaled=any(flag is True for flag in flags)
    )


def grace_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """deployment-grace-covers-drain.

    The one judge of a pod's grace: preStop + drain + margin, where the drain is `kong quit
    --timeout` for a Kong pod stopped with it, and the tier's longest request otherwise (a Kong
    pod without `kong quit` still drains on the image's SIGQUIT, for grace - preStop).
    """
    judge = Judge("deployment-grace-covers-drain")
    views = chain_views(facts)
    cap = _grace_cap(facts, config)
    for dep in facts.deployments:
        if isinstance(dep.containers, Unknown):
            judge.cannot(dep.ref, [dep.containers])
            continue
        _, hook = _prestop_of(dep)
        missing = unknowns(dep.grace_seconds, hook)
        if isinstance(hook, PreStop):
            missing += unknowns(hook.delay_seconds)
        if missing:
            judge.cannot(dep.ref, missing)
            continue
        delay = sure(hook.delay_seconds) if isinstance(hook, PreStop) else 0.0
        # Kong's drain carries every path; a runtime's grace its own path's longest request.
        longest = longest_values(
            longest_for(views, dep.place.chain, config.profile)
            if dep.is_kong
            else runtime_longest_for(views, dep, config.profile)
        )
        if dep.is_kong:
            drain = longest["longest_c"]
            if isinstance(hook, PreStop) and hook.kind == "kong-quit":
                drain = hook.quit_timeout_seconds or 0.0
            values: dict[str, float | None] = {"kong_prestop": delay, "kong_drain": drain}
            ids = ("kong-grace", "kong-grace-cap")
        else:
            values = {"rt_prestop": delay, "longest_d": longest["longest_d"]}
            ids = ("rt-grace", "rt-grace-cap")
        values["grace_cap"] = cap
        for entry_id in ids:
            judge.bound(
                dep.ref,
                entry_id,
                dep.grace_seconds,
                config,
                values,
                "terminationGracePeriodSeconds",
            )
    return judge.findings


def spread_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """deployment-spread-across-failure-domains."""
    judge = Judge("deployment-spread-across-failure-domains")
    views = chain_views(facts)
    for dep in facts.deployments:
        if isinstance(dep.spread_keys, Unknown):
            judge.cannot(dep.ref, [dep.spread_keys])
            continue
        view = views.get(dep.place.chain)
        location = view.regional() if view else None
        if isinstance(location, Unknown) and ZONE_KEY not in dep.spread_keys:
            # Whether zones must be spread over depends on the cluster's location.
            judge.cannot(dep.ref, [location])
            continue
        regional = location is True
        need = [HOSTNAME_KEY, ZONE_KEY] if regional else [HOSTNAME_KEY]
        lacking = [key for key in need if key not in dep.spread_keys]
        if lacking:
            where = " (the cluster is regional)" if regional else ""
            judge.fail(
                dep.ref,
                f"pods are not spread on {', '.join(lacking)}{where} (found "
                f"{sorted(dep.spread_keys) or 'none'}): one node or zone drain can take every "
                "replica. Fix: add topologySpreadConstraints (or podAntiAffinity) with "
                f"topologyKey {' and '.join(lacking)}",
            )
        else:
            judge.ok(dep.ref, f"pods spread on {', '.join(need)}")
    return judge.findings


def progress_deadline_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """deployment-progress-deadline-sufficient."""
    judge = Judge("deployment-progress-deadline-sufficient")
    for dep in facts.deployments:
        container = dep.main_container()
        ready = container.readiness if container else None
        startup = container.startup if container else None
        missing = unknowns(dep.progress_deadline_seconds, dep.min_ready_seconds, ready, startup)
        for probe in (ready, startup):
            if isinstance(probe, Probe):
                missing += unknowns(probe.timing)
        if isinstance(dep.containers, Unknown):
            missing.append(dep.containers)
        if missing:
            judge.cannot(dep.ref, missing)
            continue
        min_ready = sure(dep.min_ready_seconds)
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
        worst = budget.worst_time_to_available(
            readiness, start, min_ready, config.thresholds.pod_start_seconds
        )
        judge.bound(
            dep.ref,
            "rt-progress-deadline",
            dep.progress_deadline_seconds,
            config,
            {"worst_time_to_available": worst},
            "progressDeadlineSeconds",
        )
    return judge.findings


def _selected(pdb: Pdb, dep: Deployment) -> bool | Unknown:
    """Whether `pdb` selects `dep`'s pods (Unknown when that depends on an unknown value)."""
    same = same_namespace(pdb.namespace, dep.namespace)
    if same is False:
        return False
    if isinstance(pdb.selector, Unknown):
        return pdb.selector
    if isinstance(dep.pod_labels, Unknown):
        return dep.pod_labels
    if not pdb.selector.matches(dep.pod_labels):
        return False
    return same


def pdb_matches_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """pdb-matches-deployment."""
    judge = Judge("pdb-matches-deployment")
    for dep in facts.deployments:
        count, _ = _min_replicas(dep, facts.hpa_candidates(dep))
        replicas = dep.replicas
        if isinstance(count, Unknown) or isinstance(replicas, Unknown):
            judge.cannot(dep.ref, unknowns(count, replicas))
            continue
        if max(count, replicas) < 2:
            judge.ok(dep.ref, "single replica: no PDB needed (deployment-min-replicas judges it)")
            continue
        matched = [(pdb, _selected(pdb, dep)) for pdb in facts.pdb_candidates(dep)]
        missing = [m for _, m in matched if isinstance(m, Unknown)]
        if missing:
            judge.cannot(dep.ref, missing)
            continue
        mine = [pdb.ref.name for pdb, m in matched if m is True]
        if not mine:
            judge.fail(
                dep.ref,
                f"{max(count, replicas)} replicas and no PodDisruptionBudget selects its pods: a "
                "node upgrade may evict every replica at once. Fix: add a PodDisruptionBudget "
                "with maxUnavailable: 1, its selector matching the pod template labels",
            )
        elif len(mine) > 1:
            judge.fail(
                dep.ref,
                f"PodDisruptionBudgets {', '.join(mine)} all select its pods: evictions fail and "
                "node drains stall. Fix: keep exactly one",
            )
        else:
            judge.ok(dep.ref, f"PodDisruptionBudget '{mine[0]}' selects its pods")
    return judge.findings


def _zero_literal(value: int | str | None, *, max_unavailable: bool) -> bool:
    if value is None:
        return False
    text = str(value).strip()
    return text in ("0", "0%") if max_unavailable else text == "100%"


def pdb_allows_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """pdb-allows-disruption."""
    judge = Judge("pdb-allows-disruption")
    for pdb in facts.pdbs:
        missing = unknowns(pdb.min_available, pdb.max_unavailable)
        if missing:
            judge.cannot(pdb.ref, missing)
            continue
        min_available, max_unavailable = sure(pdb.min_available), sure(pdb.max_unavailable)
        if min_available is not None and max_unavailable is not None:
            judge.fail(
                pdb.ref,
                "sets both minAvailable and maxUnavailable, which the API rejects. Fix: keep "
                "only maxUnavailable: 1",
            )
            continue
        if min_available is None and max_unavailable is None:
            judge.fail(
                pdb.ref,
                "sets neither minAvailable nor maxUnavailable: the disruption controller then "
                "lets every selected pod be evicted at once, so the budget protects nothing. "
                "Fix: set maxUnavailable: 1",
            )
            continue
        if _zero_literal(max_unavailable, max_unavailable=True) or _zero_literal(
            min_available, max_unavailable=False
        ):
            spec = (
                f"maxUnavailable {max_unavailable}"
                if max_unavailable is not None
                else f"minAvailable {min_available}"
            )
            judge.fail(
                pdb.ref,
                f"{spec} allows no voluntary eviction: node drains never finish and GKE "
                "force-evicts after an hour. Fix: set maxUnavailable: 1",
            )
            continue
        selection = [(dep, _selected(pdb, dep)) for dep in facts.deployment_candidates(pdb)]
        unsure = [match for _, match in selection if isinstance(match, Unknown)]
        if unsure:
            judge.cannot(pdb.ref, unsure)
            continue
        deps = [dep for dep, match in selection if match is True]
        if not deps:
            judge.ok(pdb.ref, "not zero-disruption (selects no Deployment of this set)")
            continue
        problems: list[str] = []
        missing_counts: list[Unknown] = []
        for dep in deps:
            count, source = _min_replicas(dep, facts.hpa_candidates(dep))
            if isinstance(count, Unknown):
                missing_counts.append(count)
                continue
            try:
                allowed = budget.pdb_allowed_disruptions(count, min_available, max_unavailable)
            except ValueError as error:
                problems.append(f"{error}. Fix: use an integer or a percent like '50%'")
                continue
            if allowed < 1:
                problems.append(
                    f"at {count} pods ({source} of '{dep.ref.name}') it allows {allowed} "
                    "disruptions: drains block. Fix: set maxUnavailable: 1"
                )
        if missing_counts:
            judge.cannot(pdb.ref, missing_counts)
        else:
            judge.verdict(pdb.ref, problems, "allows >= 1 disruption at minimum replicas")
    return judge.findings


def pdb_unhealthy_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """pdb-evicts-unhealthy-pods."""
    judge = Judge("pdb-evicts-unhealthy-pods")
    for pdb in facts.pdbs:
        policy = pdb.unhealthy_pod_eviction_policy
        if isinstance(policy, Unknown):
            judge.cannot(pdb.ref, [policy])
        elif policy != "AlwaysAllow":
            judge.fail(
                pdb.ref,
                f"unhealthyPodEvictionPolicy {policy}: a crash-looping pod cannot be evicted "
                "while the budget is spent, so node drains stall. Fix: set "
                "unhealthyPodEvictionPolicy: AlwaysAllow",
            )
        else:
            judge.ok(pdb.ref, "unhealthyPodEvictionPolicy AlwaysAllow")
    return judge.findings


def affinity_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """service-no-client-ip-affinity."""
    judge = Judge("service-no-client-ip-affinity")
    for service in facts.services:
        affinity = service.session_affinity
        if isinstance(affinity, Unknown):
            judge.cannot(service.ref, [affinity])
        elif affinity == "ClientIP":
            judge.fail(
                service.ref,
                "sessionAffinity ClientIP pins each client to one pod, including a draining one, "
                "and skews load after a rollout. Fix: set sessionAffinity: None",
            )
        else:
            judge.ok(service.ref, f"sessionAffinity {affinity}")
    return judge.findings


RULES: tuple[Rule, ...] = (
    Rule(
        "deployment-min-replicas",
        "Prohibits Deployments that run fewer than 2 replicas (replicas or HPA minReplicas)."
        + exempt("capacity (a pod left serving while another one is lost)"),
        "mandatory",
        min_replicas_rule,
    ),
    Rule(
        "deployment-rolling-update-hitless",
        "Prohibits rollouts that take a pod out of service before its replacement is Available "
        "(resolved maxUnavailable must be 0 and maxSurge >= 1).",
        "mandatory",
        rolling_update_rule,
        frozenset({k8s.DEPLOYMENT}),
        failure="refused",
    ),
    Rule(
        "deployment-readiness-probe",
        "Prohibits serving containers without a readiness probe distinct from liveness and "
        "checked at least every few seconds.",
        "mandatory",
        readiness_rule,
        frozenset({k8s.DEPLOYMENT}),
        failure="refused",
    ),
    Rule(
        "deployment-prestop-covers-propagation",
        "Prohibits pods that stop accepting connections before endpoint and LB removal has "
        "propagated (preStop shorter than the propagation lag).",
        "mandatory",
        prestop_rule,
        frozenset({k8s.DEPLOYMENT, gcp.CLUSTER}),
        failure="refused",
    ),
    Rule(
        "deployment-grace-covers-drain",
        "Prohibits a terminationGracePeriodSeconds shorter than preStop + longest request + "
        "margin, or longer than GKE honours.",
        "mandatory",
        grace_rule,
        failure="cut",
    ),
    Rule(
        "deployment-spread-across-failure-domains",
        "Prohibits Deployments whose pods may share one node (or one zone in a regional cluster)."
        + exempt("capacity when a node or a zone fails"),
        "mandatory",
        spread_rule,
    ),
    Rule(
        "deployment-progress-deadline-sufficient",
        "Prohibits a progressDeadlineSeconds shorter than the worst-case time to Available."
        + exempt("the rollout's completion, not its requests"),
        "mandatory",
        progress_deadline_rule,
        frozenset({k8s.DEPLOYMENT}),
    ),
    Rule(
        "pdb-matches-deployment",
        "Prohibits multi-replica Deployments without exactly one PodDisruptionBudget."
        + exempt("capacity while nodes drain"),
        "mandatory",
        pdb_matches_rule,
    ),
    Rule(
        "pdb-allows-disruption",
        "Prohibits PodDisruptionBudgets that allow no eviction at minimum replicas."
        + exempt("the node drain's progress (an eviction never allowed)"),
        "mandatory",
        pdb_allows_rule,
    ),
    Rule(
        "pdb-evicts-unhealthy-pods",
        "Prohibits PodDisruptionBudgets that keep unhealthy pods from being evicted."
        + exempt("the node drain's progress (unhealthy pods holding it)"),
        "mandatory",
        pdb_unhealthy_rule,
        frozenset({k8s.PDB}),
    ),
    Rule(
        "service-no-client-ip-affinity",
        "Discourages ClientIP session affinity, which pins clients to draining pods."
        + exempt("capacity (load spread across pods)"),
        "advisory",
        affinity_rule,
        frozenset({k8s.SERVICE}),
    ),
)
"""The workload rules."""
