"""Chain rules: relations between tiers of one chain (timeouts, keepalives, drains, retries).

Each hop is judged when both of its sides are present and known; otherwise it is listed as
not-judged, naming the missing tier (or the unknown value). Findings are attributed to the
resource whose setting must change.
"""

from __future__ import annotations

from collections.abc import Callable

from hitless_policy import budget
from hitless_policy.facts import (
    BackendService,
    Facts,
    KongConfig,
    KongService,
    KongSettings,
    NginxConf,
    NginxProxy,
    PreStop,
    Ref,
    Unknown,
    sure,
    unknowns,
)
from hitless_policy.profile import PackConfig
from hitless_policy.rules.base import Finding, Judge, Rule, chain_ref, num, up
from hitless_policy.rules.view import ChainView, chain_views

MIB = 1024 * 1024


SKIP_REASONS_SHOWN = 3
"""Reasons a not-judged hop lists before counting the rest: each of N resources gets a message
of bounded size, so the output grows linearly with N (not with N x N)."""


def _skip(judge: Judge, view: ChainView, hop: str, refs: list[Ref], reasons: list[str]) -> None:
    """List a hop as not judged, on the present side's resources (or on the chain)."""
    unique = list(dict.fromkeys(reasons))
    shown = unique[:SKIP_REASONS_SHOWN]
    if len(unique) > SKIP_REASONS_SHOWN:
        shown.append(f"and {len(unique) - SKIP_REASONS_SHOWN} more like these")
    text = f"{hop}: {'; '.join(shown)}"
    for ref in refs or [chain_ref(view.name)]:
        judge.cannot(ref, text)


def _a_side(view: ChainView) -> tuple[list[NginxConf], list[str]]:
    confs = [c for c in view.a_confs if c.proxies]
    if confs:
        return confs, []
    if view.a_confs:
        return [], ["tier A's nginx.conf has no proxy_pass location"]
    return [], [view.a_side.missing_reason()]


def _b_side(view: ChainView) -> tuple[list[NginxConf], list[str]]:
    confs = [c for c in view.b_confs if c.proxies]
    if confs:
        return confs, []
    if view.b_confs:
        return [], ["tier B's nginx.conf has no stream proxy server"]
    return [], [view.b_side.missing_reason()]


def _lb(services: list[BackendService], tier: str) -> tuple[list[BackendService], list[str]]:
    if services:
        return services, []
    return [], [f"the backend service in front of tier {tier} is missing from the chain"]


def _kong_services(view: ChainView) -> tuple[list[tuple[KongConfig, KongService]], list[str]]:
    pairs: list[tuple[KongConfig, KongService]] = []
    reasons: list[str] = []
    for config in view.kong_configs:
        if isinstance(config.services, Unknown):
            reasons.append(f"{config.ref.name}: {config.services}")
            continue
        for service in config.services:
            missing = unknowns(service.connect_timeout_ms, service.read_timeout_ms, service.retries)
            if missing:
                reasons.extend(f"{config.ref.name}: {m}" for m in missing)
            else:
                pairs.append((config, service))
    if not pairs and not reasons:
        reasons.append("tier C's Kong config (services) is missing from the chain")
    return pairs, reasons


def _refs(items: list[NginxConf] | list[BackendService] | list[KongConfig]) -> list[Ref]:
    return [item.ref for item in items]


def _kong_worst(service: KongService) -> float:
    return budget.kong_worst_case_seconds(
        sure(service.connect_timeout_ms), sure(service.read_timeout_ms), sure(service.retries)
    )


def _read(proxy: NginxProxy) -> float:
    return proxy.read_timeout_seconds


def _max(confs: list[NginxConf], value: Callable[[NginxProxy], float]) -> float:
    return max(value(p) for conf in confs for p in conf.proxies)


def _min(confs: list[NginxConf], value: Callable[[NginxProxy], float]) -> float:
    return min(value(p) for conf in confs for p in conf.proxies)


# ---------------------------------------------------------------------------------------------


def request_timeouts_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-request-timeouts-ordered."""
    judge = Judge("chain-request-timeouts-ordered")
    for view in chain_views(facts).values():
        longest = view.longest(config.profile)
        a, a_why = _a_side(view)
        lbs, lb_why = _lb(view.lb_a, "A")
        kong, kong_why = _kong_services(view)
        # LB -> A
        if a and lbs:
            a_read = _max(a, _read)
            bound = budget.min_lb_timeout_seconds(longest.client_upload, a_read)
            for lb in lbs:
                if isinstance(lb.timeout_sec, Unknown):
                    judge.cannot(lb.ref, [lb.timeout_sec])
                elif lb.timeout_sec <= bound:
                    judge.fail(
                        lb.ref,
                        f"timeoutSec {num(lb.timeout_sec)} <= client upload "
                        f"{num(longest.client_upload)} s + A proxy_read_timeout {num(a_read)} s "
                        f"= {num(bound)} s: the LB answers 502/504 while A still works. Fix: "
                        f"raise timeoutSec above {up(bound)}",
                    )
                else:
                    judge.ok(lb.ref, f"timeoutSec {num(lb.timeout_sec)} > {num(bound)} s")
        else:
            _skip(judge, view, "LB->A", [lb.ref for lb in lbs] + _refs(a), lb_why + a_why)
        # A -> C
        if a and kong:
            _, worst_svc = max(kong, key=lambda pair: _kong_worst(pair[1]))
            worst = budget.min_a_proxy_read_timeout_seconds(_kong_worst(worst_svc))
            for conf in a:
                a_read = min(p.read_timeout_seconds for p in conf.proxies)
                if a_read <= worst:
                    judge.fail(
                        conf.ref,
                        f"proxy_read_timeout {num(a_read)} s <= Kong's worst case {num(worst)} s "
                        f"(service '{worst_svc.name}': connect_timeout "
                        f"{num(sure(worst_svc.connect_timeout_ms))} ms x (1 + retries "
                        f"{worst_svc.retries}) + read_timeout "
                        f"{num(sure(worst_svc.read_timeout_ms))} ms): A answers 504 while Kong "
                        f"still retries. Fix: raise proxy_read_timeout above {up(worst)}s or "
                        "lower Kong's timeouts/retries",
                    )
                else:
                    judge.ok(
                        conf.ref,
                        f"proxy_read_timeout {num(a_read)} s > Kong worst case {num(worst)} s",
                    )
        else:
            _skip(judge, view, "A->C", _refs(a) + _refs(view.kong_configs), a_why + kong_why)
        # C -> D
        runtimes = [rt for rt in view.runtimes if rt.request_timeout_seconds is not None]
        rt_why = [
            f"runtime '{rt.ref.name}' declares no hitless.dev/request-timeout-seconds annotation"
            for rt in view.runtimes
            if rt.request_timeout_seconds is None
        ] or ([] if view.runtimes else ["tier D (runtime Deployment) is missing from the chain"])
        rt_missing = unknowns(*(rt.request_timeout_seconds for rt in runtimes))
        if kong and runtimes and not rt_missing:
            rt_timeout = max(float(sure(rt.request_timeout_seconds) or 0) for rt in runtimes)
            for kong_cfg, service in kong:
                read = sure(service.read_timeout_ms) / 1000
                ref = kong_cfg.ref_of(service.name)
                if read <= rt_timeout:
                    judge.fail(
                        ref,
                        f"service '{service.name}' read_timeout {num(read * 1000)} ms <= runtime "
                        f"request timeout {num(rt_timeout)} s: Kong answers 504 before the "
                        f"runtime ends the request. Fix: raise read_timeout above "
                        f"{num(rt_timeout * 1000)}",
                    )
                else:
                    judge.ok(
                        ref,
                        f"service '{service.name}' read_timeout {num(read)} s > runtime "
                        f"{num(rt_timeout)} s",
                    )
        elif rt_missing:
            for rt in runtimes:
                judge.cannot(rt.ref, unknowns(rt.request_timeout_seconds))
        else:
            _skip(
                judge,
                view,
                "C->D",
                _refs(view.kong_configs) + [rt.ref for rt in view.runtimes],
                kong_why + rt_why,
            )
        processing = config.profile.rt_max_processing_seconds
        for rt in view.runtimes:
            value = rt.request_timeout_seconds
            if isinstance(value, Unknown) or value is None:
                continue
            if value < processing:
                judge.fail(
                    rt.ref,
                    f"request timeout {num(value)} s < longest processing {num(processing)} s: "
                    f"the runtime cuts its own longest requests. Fix: raise "
                    f"hitless.dev/request-timeout-seconds (and the server's timeout) to >= "
                    f"{num(processing)}",
                )
            else:
                judge.ok(rt.ref, f"request timeout {num(value)} s >= processing {num(processing)}")
    return judge.findings


def keepalive_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-keepalive-timeouts-ordered."""
    judge = Judge("chain-keepalive-timeouts-ordered")
    gfe = config.thresholds.gfe_backend_keepalive_seconds
    for view in chain_views(facts).values():
        a, a_why = _a_side(view)
        b, b_why = _b_side(view)
        # LB -> A: GFE keeps backend connections `gfe` s; A must keep them longer.
        if a:
            for conf in a:
                keep = min(p.client_keepalive_seconds for p in conf.proxies)
                if keep <= gfe:
                    judge.fail(
                        conf.ref,
                        f"keepalive_timeout {num(keep)} s <= GFE's fixed backend keepalive "
                        f"{gfe} s: A closes connections the LB reuses -> 502. Fix: set "
                        f"keepalive_timeout above {gfe}s (e.g. {gfe + 20}s)",
                    )
                else:
                    judge.ok(conf.ref, f"keepalive_timeout {num(keep)} s > GFE {gfe} s")
        else:
            _skip(judge, view, "LB->A", [lb.ref for lb in view.lb_a], a_why)
        # A -> B -> C: A's pooled connections must idle out before B or Kong close them.
        servers: list[tuple[str, float]] = []
        if b:
            servers.append(("B proxy_timeout", _min(b, _read)))
        kong_keep = [
            (s.deployment.ref.name, s.client_keepalive_seconds)
            for s in view.kong
            if not isinstance(s.client_keepalive_seconds, Unknown)
        ]
        kong_unknown = [
            (s.deployment.ref, s.client_keepalive_seconds)
            for s in view.kong
            if isinstance(s.client_keepalive_seconds, Unknown)
        ]
        if kong_keep:
            servers.append(("Kong client keepalive_timeout", min(v for _, v in kong_keep)))
        if a and servers and not kong_unknown:
            label, closes = min(servers, key=lambda item: item[1])
            for conf in a:
                pooled = [
                    conf.upstream_of(p) for p in conf.proxies if conf.upstream_of(p) is not None
                ]
                idle = max((u.keepalive_timeout_seconds for u in pooled if u), default=60.0)
                if idle >= closes:
                    judge.fail(
                        conf.ref,
                        f"upstream keepalive_timeout {num(idle)} s >= {label} {num(closes)} s: A "
                        "may reuse a connection the far side closed; a POST on it fails with 502 "
                        f"and is never retried. Fix: lower the upstream keepalive_timeout below "
                        f"{num(closes)}s",
                    )
                else:
                    judge.ok(
                        conf.ref,
                        f"upstream keepalive_timeout {num(idle)} s < {label} {num(closes)} s",
                    )
            # A side that is absent was not compared: say so instead of passing it silently.
            if not b:
                _skip(judge, view, "A->B keepalive", _refs(a), b_why)
            if not view.kong:
                _skip(
                    judge, view, "A->C keepalive", _refs(a), ["tier C (Kong Deployment) is missing"]
                )
        elif kong_unknown:
            for ref, marker in kong_unknown:
                judge.cannot(ref, [marker])
        else:
            reasons = a_why + ([] if servers else [*b_why, "tier C (Kong Deployment) is missing"])
            _skip(judge, view, "A->B->C", _refs(a) + _refs(b), reasons)
        # C -> D
        rts = [rt for rt in view.runtimes if rt.keepalive_idle_seconds is not None]
        rt_unknown = unknowns(*(rt.keepalive_idle_seconds for rt in rts))
        if view.kong and rts and not rt_unknown:
            rt_idle = min(float(sure(rt.keepalive_idle_seconds) or 0) for rt in rts)
            for kong_settings in view.kong:
                kong_idle = kong_settings.upstream_keepalive_idle_seconds
                ref = kong_settings.deployment.ref
                if isinstance(kong_idle, Unknown):
                    judge.cannot(ref, [kong_idle])
                elif kong_idle == 0 or kong_idle >= rt_idle:
                    shown = "0 (never closed)" if kong_idle == 0 else f"{num(kong_idle)} s"
                    judge.fail(
                        ref,
                        f"KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT {shown} >= runtime keep-alive idle "
                        f"timeout {num(rt_idle)} s: Kong reuses connections the runtime closed; "
                        "a POST on one fails with 502. Fix: set "
                        f"KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT below {num(rt_idle)}",
                    )
                else:
                    judge.ok(
                        ref,
                        f"upstream keepalive idle {num(kong_idle)} s < runtime {num(rt_idle)} s",
                    )
        elif rt_unknown:
            for rt in rts:
                judge.cannot(rt.ref, unknowns(rt.keepalive_idle_seconds))
        else:
            reasons = [] if view.kong else ["tier C (Kong Deployment) is missing from the chain"]
            reasons += [
                f"runtime '{rt.ref.name}' declares no hitless.dev/keepalive-idle-timeout-seconds "
                "annotation"
                for rt in view.runtimes
                if rt.keepalive_idle_seconds is None
            ] or ([] if view.runtimes else ["tier D (runtime Deployment) is missing"])
            refs = [s.deployment.ref for s in view.kong] + [rt.ref for rt in view.runtimes]
            _skip(judge, view, "C->D", refs, reasons)
    return judge.findings


def body_size_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-body-size-accepted."""
    judge = Judge("chain-body-size-accepted")
    body = config.profile.max_body_mib
    need = body * MIB
    for view in chain_views(facts).values():
        a, a_why = _a_side(view)
        if a:
            for conf in a:
                limit = _min([conf], lambda p: p.client_max_body_bytes or float("inf"))
                if limit < need:
                    judge.fail(
                        conf.ref,
                        f"client_max_body_size {num(limit / MIB)}m < {num(body)} MiB: A answers "
                        f"413 to the largest upload. Fix: set client_max_body_size "
                        f"{int(-(-body // 1))}m (or more)",
                    )
                else:
                    judge.ok(conf.ref, f"client_max_body_size accepts {num(body)} MiB")
        else:
            _skip(judge, view, "A", [], a_why)
        if not view.kong:
            _skip(judge, view, "C", [], ["tier C (Kong Deployment) is missing from the chain"])
        for settings in view.kong:
            limit_bytes = settings.client_max_body_bytes
            ref = settings.deployment.ref
            if isinstance(limit_bytes, Unknown):
                judge.cannot(ref, [limit_bytes])
            elif limit_bytes and limit_bytes < need:
                judge.fail(
                    ref,
                    f"KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE {num(limit_bytes / MIB)}m < "
                    f"{num(body)} MiB: Kong answers 413. Fix: set it to 0 (unlimited) or "
                    f">= {int(-(-body // 1))}m",
                )
            else:
                judge.ok(ref, f"Kong accepts {num(body)} MiB bodies")
        if not view.runtimes:
            _skip(judge, view, "D", [], ["tier D (runtime Deployment) is missing from the chain"])
        for rt in view.runtimes:
            declared = rt.max_body_mib
            if isinstance(declared, Unknown):
                judge.cannot(rt.ref, [declared])
            elif declared is None:
                judge.cannot(
                    rt.ref,
                    "the runtime declares no hitless.dev/max-body-mib annotation, so its limit "
                    "is not known",
                )
            elif declared < body:
                judge.fail(
                    rt.ref,
                    f"declared body limit {num(declared)} MiB < {num(body)} MiB: the runtime "
                    f"refuses the largest upload. Fix: raise its limit (and the annotation) to "
                    f">= {num(body)}",
                )
            else:
                judge.ok(rt.ref, f"runtime accepts {num(declared)} MiB >= {num(body)} MiB")
    return judge.findings


def idle_silence_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-idle-timeouts-cover-silence."""
    judge = Judge("chain-idle-timeouts-cover-silence")
    for view in chain_views(facts).values():
        a, a_why = _a_side(view)
        b, b_why = _b_side(view)
        if not (a and b):
            _skip(judge, view, "A->B", _refs(a) + _refs(b), a_why + b_why)
            continue
        silence = _max(a, _read)
        for conf in b:
            idle = min(p.read_timeout_seconds for p in conf.proxies)
            if idle < silence:
                judge.fail(
                    conf.ref,
                    f"proxy_timeout {num(idle)} s < A proxy_read_timeout {num(silence)} s: B cuts "
                    "a flow that is silent while A still waits for the response. Fix: raise "
                    f"proxy_timeout to >= {num(silence)}s",
                )
            else:
                judge.ok(conf.ref, f"proxy_timeout {num(idle)} s >= A silence {num(silence)} s")
    return judge.findings


def drain_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-drain-covers-longest-request."""
    judge = Judge("chain-drain-covers-longest-request")
    cap = config.thresholds.max_drain_seconds
    for view in chain_views(facts).values():
        longest = view.longest(config.profile)
        for tier, lbs in (("A", view.lb_a), ("B", view.lb_b)):
            bound = longest.for_tier(tier)
            if not lbs:
                _skip(judge, view, f"{tier} LB drain", [], _lb(lbs, tier)[1])
            for lb in lbs:
                drain = lb.draining_sec
                if isinstance(drain, Unknown):
                    judge.cannot(lb.ref, [drain])
                elif drain < bound or drain > cap:
                    judge.fail(
                        lb.ref,
                        f"connectionDrainingTimeoutSec {num(drain)} vs tier {tier}'s longest "
                        f"request {num(bound)} s (max {cap}): in-flight requests are cut while "
                        f"an instance drains. Fix: set connectionDrainingTimeoutSec between "
                        f"{up(bound)} and {cap}",
                    )
                else:
                    judge.ok(lb.ref, f"drain {num(drain)} s >= longest request {num(bound)} s")
        for tier, (confs, why) in (("A", _a_side(view)), ("B", _b_side(view))):
            bound = longest.for_tier(tier)
            if not confs:
                _skip(judge, view, f"{tier} nginx drain", [], why)
            for conf in confs:
                stop = conf.worker_shutdown_seconds
                if stop is not None and stop < bound:
                    judge.fail(
                        conf.ref,
                        f"worker_shutdown_timeout {num(stop)} s < tier {tier}'s longest request "
                        f"{num(bound)} s: nginx closes in-flight requests on quit. Fix: set "
                        f"worker_shutdown_timeout {up(bound)}s (or more)",
                    )
                else:
                    shown = "unset (unlimited)" if stop is None else f"{num(stop)} s"
                    judge.ok(conf.ref, f"worker_shutdown_timeout {shown} >= {num(bound)} s")
        if not view.kong:
            _skip(judge, view, "C drain", [], ["tier C (Kong Deployment) is missing"])
        for settings in view.kong:
            _kong_drain(judge, settings, longest.c)
        if not view.runtimes:
            _skip(judge, view, "D drain", [], ["tier D (runtime Deployment) is missing"])
        for rt in view.runtimes:
            container = rt.main_container()
            hook = container.prestop if container else None
            delay = hook.delay_seconds if hook is not None and not isinstance(hook, Unknown) else 0
            missing = unknowns(rt.grace_seconds, hook, delay, rt.containers)
            if missing:
                judge.cannot(rt.ref, missing)
                continue
            grace, delay = sure(rt.grace_seconds), sure(delay)
            window = grace - delay
            if window < longest.d:
                judge.fail(
                    rt.ref,
                    f"drain window {num(window)} s (terminationGracePeriodSeconds "
                    f"{grace} - preStop {num(delay)}) < tier D's longest request "
                    f"{num(longest.d)} s. Fix: raise terminationGracePeriodSeconds to >= "
                    f"{up(delay + longest.d)}",
                )
            else:
                judge.ok(rt.ref, f"drain window {num(window)} s >= {num(longest.d)} s")
    return judge.findings


def _kong_drain(judge: Judge, settings: KongSettings, bound: float) -> None:
    ref = settings.deployment.ref
    container = settings.deployment.main_container()
    hook = container.prestop if container else None
    missing = unknowns(hook, settings.worker_shutdown_seconds)
    if missing:
        judge.cannot(ref, missing)
        return
    timeout = hook.quit_timeout_seconds if isinstance(hook, PreStop) else None
    if timeout is None:
        judge.fail(
            ref,
            f"no `kong quit --timeout` preStop: Kong gets SIGQUIT with no drain budget for tier "
            f"C's longest request {num(bound)} s. Fix: preStop exec ['kong', 'quit', "
            f"'--wait=<propagation>', '--timeout={up(bound)}']",
        )
        return
    stop = settings.worker_shutdown_seconds
    window = timeout if stop is None or isinstance(stop, Unknown) else min(timeout, stop)
    if window < bound:
        judge.fail(
            ref,
            f"kong quit --timeout {num(timeout)}"
            + ("" if stop is None else f" / worker_shutdown_timeout {num(sure(stop))}")
            + f" s < tier C's longest request {num(bound)} s: Kong is stopped mid-request. "
            f"Fix: set --timeout={up(bound)} (and KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT "
            f">= {up(bound)}s)",
        )
    else:
        judge.ok(ref, f"kong quit --timeout {num(timeout)} s >= {num(bound)} s")


def pooled_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-pooled-connections-recycled."""
    judge = Judge("chain-pooled-connections-recycled")
    for view in chain_views(facts).values():
        a, a_why = _a_side(view)
        lbs, lb_why = _lb(view.lb_b, "B")
        known = [lb for lb in lbs if not isinstance(lb.draining_sec, Unknown)]
        if not (a and known):
            for lb in lbs:
                if isinstance(lb.draining_sec, Unknown):
                    judge.cannot(lb.ref, [lb.draining_sec])
            if not lbs or not a:
                _skip(judge, view, "A->B", _refs(a) + [lb.ref for lb in lbs], a_why + lb_why)
            continue
        drain = min(sure(lb.draining_sec) for lb in known)
        longest_b = view.longest(config.profile).b
        for conf in a:
            pools = [u for p in conf.proxies if (u := conf.upstream_of(p)) is not None]
            lifetime = max((u.keepalive_time_seconds for u in pools), default=3600.0)
            idle = max((u.keepalive_timeout_seconds for u in pools), default=60.0)
            span = budget.pooled_connection_span_seconds(lifetime, idle, longest_b)
            if span > drain:
                judge.fail(
                    conf.ref,
                    f"a pooled A->B connection may carry a request {num(span)} s after B starts "
                    f"draining (keepalive_time {num(lifetime)} + keepalive_timeout {num(idle)} + "
                    f"B's longest request {num(longest_b)}) > B's drain {num(drain)} s: the B "
                    "instance is deleted mid-request. Fix: lower keepalive_time in the upstream "
                    f"block to <= {num(max(0.0, drain - idle - longest_b))}s, or raise B's "
                    f"connectionDrainingTimeoutSec to >= {up(span)}",
                )
            else:
                judge.ok(
                    conf.ref, f"pooled connection span {num(span)} s <= B drain {num(drain)} s"
                )
    return judge.findings


def retries_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-retries-safe."""
    judge = Judge("chain-retries-safe")
    t = config.thresholds
    for view in chain_views(facts).values():
        a, a_why = _a_side(view)
        kong, kong_why = _kong_services(view)
        layers: list[str] = []
        for conf in a:
            problems = []
            retrying = [
                p
                for p in conf.proxies
                if "off" not in p.next_upstream
                and (u := conf.upstream_of(p)) is not None
                and u.servers > 1
            ]
            if retrying:
                layers.append(f"A ({conf.ref.name})")
            unsafe = [p.where for p in conf.proxies if "non_idempotent" in p.next_upstream]
            if unsafe:
                problems.append(
                    f"proxy_next_upstream non_idempotent in {', '.join(unsafe)}: a POST already "
                    "sent is replayed to another upstream. Fix: remove non_idempotent"
                )
            judge.verdict(conf.ref, problems, "no non_idempotent retries at A")
        if not a:
            _skip(judge, view, "A", [], a_why)
        if not kong:
            _skip(judge, view, "C", _refs(view.kong_configs), kong_why)
        for kong_cfg, service in kong:
            retries, connect = sure(service.retries), sure(service.connect_timeout_ms)
            problems = []
            if retries > 0:
                layers.append(f"C (service '{service.name}')")
            if not t.kong_min_retries <= retries <= t.kong_max_retries:
                problems.append(
                    f"service '{service.name}' retries {service.retries} outside "
                    f"{t.kong_min_retries}-{t.kong_max_retries}: none turns a refused connection "
                    "to a terminating pod into a 502, many multiply the worst case outer tiers "
                    f"wait. Fix: set retries between {t.kong_min_retries} and "
                    f"{t.kong_max_retries}"
                )
            if connect > t.kong_max_connect_timeout_ms:
                problems.append(
                    f"service '{service.name}' connect_timeout "
                    f"{num(connect)} ms > {t.kong_max_connect_timeout_ms} ms: "
                    "a try to a vanished pod IP stalls this long before the retry. Fix: lower "
                    f"connect_timeout to <= {t.kong_max_connect_timeout_ms}"
                )
            judge.verdict(
                kong_cfg.ref_of(service.name),
                problems,
                f"service '{service.name}' retries {retries}, connect_timeout {num(connect)} ms",
            )
        distinct = sorted({layer.split(" ", 1)[0] for layer in layers})
        if len(distinct) > 1:
            target = a[0].ref if a else chain_ref(view.name)
            judge.fail(
                target,
                f"requests are retried at several layers ({', '.join(layers)}): retries multiply "
                "and outer timeouts fire first. Fix: retry only at Kong (proxy_next_upstream off "
                "at A, or a single upstream server)",
            )
    return judge.findings


RULES: tuple[Rule, ...] = (
    Rule(
        "chain-request-timeouts-ordered",
        "Prohibits an outer response timeout that fires before the inner tier's worst case "
        "(including its retries).",
        "mandatory",
        request_timeouts_rule,
    ),
    Rule(
        "chain-keepalive-timeouts-ordered",
        "Prohibits hops where the side reusing idle connections keeps them longer than the "
        "side closing them.",
        "mandatory",
        keepalive_rule,
    ),
    Rule(
        "chain-body-size-accepted",
        "Prohibits body limits at A, Kong or the runtime below the profile's max_body_mib.",
        "mandatory",
        body_size_rule,
    ),
    Rule(
        "chain-idle-timeouts-cover-silence",
        "Prohibits a B proxy_timeout shorter than the longest silence on the TCP flow "
        "(A's proxy_read_timeout).",
        "mandatory",
        idle_silence_rule,
    ),
    Rule(
        "chain-drain-covers-longest-request",
        "Prohibits drain windows (LB draining, nginx worker_shutdown_timeout, kong quit, RT "
        "grace) shorter than the tier's longest request.",
        "mandatory",
        drain_rule,
    ),
    Rule(
        "chain-pooled-connections-recycled",
        "Prohibits pooled A->B connections that outlive B's drain.",
        "mandatory",
        pooled_rule,
    ),
    Rule(
        "chain-retries-safe",
        "Prohibits non-idempotent retries at A, Kong retries outside bounds or with long "
        "connect timeouts, and retries at several layers.",
        "mandatory",
        retries_rule,
    ),
)
"""The chain rules."""
