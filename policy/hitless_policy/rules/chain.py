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
    NginxUpstream,
    PreStop,
    Ref,
    Unknown,
    sure,
    unknowns,
)
from hitless_policy.profile import PackConfig
from hitless_policy.rules.base import Finding, Judge, Rule, chain_ref, exempt
from hitless_policy.rules.view import ChainView, chain_views, longest_values, path_config

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
        longest = longest_values(view.shared_longest(config.profile))
        a, a_why = _a_side(view)
        lbs, lb_why = _lb(view.lb_a, "A")
        kong, kong_why = _kong_services(view)
        # LB -> A
        if a and lbs:
            values = {
                "longest_client_upload": longest["longest_client_upload"],
                "longest_internal_transfer": longest["longest_internal_transfer"],
                "a_proxy_read_timeout": _max(a, _read),
            }
            for lb in lbs:
                counts = (
                    None
                    if isinstance(lb.scheme, Unknown)
                    else budget.lb_timeout_counts_upload(lb.scheme)
                )
                lb_values = values | {
                    "lb_timeout_counts_upload": None if counts is None else float(counts)
                }
                judge.bound(
                    lb.ref, "lb-timeout-covers-a", lb.timeout_sec, config, lb_values, "timeoutSec"
                )
        else:
            _skip(judge, view, "LB->A", [lb.ref for lb in lbs] + _refs(a), lb_why + a_why)
        # A -> C
        if a and kong:
            _, worst_svc = max(kong, key=lambda pair: _kong_worst(pair[1]))
            values = {
                "kong_connect_timeout_ms": sure(worst_svc.connect_timeout_ms),
                "kong_read_timeout_ms": sure(worst_svc.read_timeout_ms),
                "kong_retries": sure(worst_svc.retries),
            }
            for conf in a:
                a_read = min(p.read_timeout_seconds for p in conf.proxies)
                judge.bound(
                    conf.ref, "a-read-covers-kong", a_read, config, values, "proxy_read_timeout"
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
            # Each Kong Service against the runtimes it sends to (its own path's timeout).
            for kong_cfg, service in kong:
                served = [rt for rt in view.served_by(service, facts.services) if rt in runtimes]
                if not served:
                    judge.cannot(
                        kong_cfg.ref_of(service.name),
                        f"C->D: service '{service.name}': the runtimes it sends to declare no "
                        "hitless.dev/request-timeout-seconds annotation",
                    )
                    continue
                rt_timeout = max(float(sure(rt.request_timeout_seconds) or 0) for rt in served)
                names = ", ".join(f"'{rt.ref.name}'" for rt in served)
                judge.bound(
                    kong_cfg.ref_of(service.name),
                    "kong-read-covers-rt",
                    service.read_timeout_ms,
                    config,
                    {"rt_request_timeout": rt_timeout},
                    f"service '{service.name}' (to runtime {names}) read_timeout",
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
        for rt in view.runtimes:
            value = rt.request_timeout_seconds
            if isinstance(value, Unknown) or value is None:
                continue
            own = path_config(view, rt, config)
            if isinstance(own, Unknown):
                judge.cannot(rt.ref, [own])
                continue
            judge.bound(
                rt.ref,
                "rt-timeout-covers-processing",
                value,
                own,
                {},
                "hitless.dev/request-timeout-seconds",
            )
    return judge.findings


def _pooling(conf: NginxConf) -> list[NginxUpstream]:
    """The upstream blocks A's proxies pass to that keep idle connections (`keepalive` set).

    Without a `keepalive` directive nginx closes every upstream connection after its response
    (http://nginx.org/en/docs/http/ngx_http_upstream_module.html#keepalive: the directive
    "activates the cache for connections to upstream servers"), so nothing is pooled.
    """
    found: list[NginxUpstream] = []
    for proxy in conf.proxies:
        upstream = conf.upstream_of(proxy)
        if upstream is not None and upstream.keepalive and upstream not in found:
            found.append(upstream)
    return found


def keepalive_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-keepalive-timeouts-ordered."""
    judge = Judge("chain-keepalive-timeouts-ordered")
    for view in chain_views(facts).values():
        a, a_why = _a_side(view)
        b, b_why = _b_side(view)
        # LB -> A: GFE keeps backend connections for a fixed time; A must keep them longer.
        if a:
            for conf in a:
                keep = min(p.client_keepalive_seconds for p in conf.proxies)
                judge.bound(
                    conf.ref, "a-keepalive-outlasts-gfe", keep, config, {}, "keepalive_timeout"
                )
        else:
            _skip(judge, view, "LB->A", [lb.ref for lb in view.lb_a], a_why)
        # A -> B -> C: A's pooled connections must idle out before B or Kong close them.
        servers: list[float] = []
        if b:
            servers.append(_min(b, _read))
        kong_keep = [
            s.client_keepalive_seconds
            for s in view.kong
            if not isinstance(s.client_keepalive_seconds, Unknown)
        ]
        kong_unknown = [
            (s.deployment.ref, s.client_keepalive_seconds)
            for s in view.kong
            if isinstance(s.client_keepalive_seconds, Unknown)
        ]
        if kong_keep:
            servers.append(min(kong_keep))
        pooling = [(conf, _pooling(conf)) for conf in a]
        if a and servers and not kong_unknown:
            closes = min(servers)
            for conf, pools in pooling:
                if not pools:
                    continue  # nothing pooled: no reuse, no race
                idle = max(u.keepalive_timeout_seconds for u in pools)
                judge.bound(
                    conf.ref,
                    "a-pool-idles-out-first",
                    idle,
                    config,
                    {"downstream_idle": closes},
                    "upstream keepalive_timeout",
                )
            pooled_refs = [conf.ref for conf, pools in pooling if pools]
            # A side that is absent was not compared: say so instead of passing it silently.
            if not b and pooled_refs:
                _skip(judge, view, "A->B keepalive", pooled_refs, b_why)
            if not view.kong and pooled_refs:
                _skip(
                    judge,
                    view,
                    "A->C keepalive",
                    pooled_refs,
                    ["tier C (Kong Deployment) is missing"],
                )
        elif kong_unknown:
            for ref, marker in kong_unknown:
                judge.cannot(ref, [marker])
        else:
            reasons = a_why + ([] if servers else [*b_why, "tier C (Kong Deployment) is missing"])
            refs = [conf.ref for conf, pools in pooling if pools] + _refs(b)
            if refs or not a:
                _skip(judge, view, "A->B->C", refs, reasons)
        # C -> D
        rts = [rt for rt in view.runtimes if rt.keepalive_idle_seconds is not None]
        rt_unknown = unknowns(*(rt.keepalive_idle_seconds for rt in rts))
        if view.kong and rts and not rt_unknown:
            rt_idle = min(float(sure(rt.keepalive_idle_seconds) or 0) for rt in rts)
            for kong_settings in view.kong:
                judge.bound(
                    kong_settings.deployment.ref,
                    "kong-pool-idles-out-first",
                    kong_settings.upstream_keepalive_idle_seconds,
                    config,
                    {"rt_keepalive_idle": rt_idle},
                    "KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT",
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
    for view in chain_views(facts).values():
        # A and Kong's global limit carry every path: the largest body over the paths.
        shared_profile = view.shared_profile(config.profile)
        shared: PackConfig | Unknown = (
            shared_profile
            if isinstance(shared_profile, Unknown)
            else PackConfig(profile=shared_profile, thresholds=config.thresholds)
        )
        a, a_why = _a_side(view)
        if a:
            for conf in a:
                # 0 is unlimited; the tightest non-zero limit decides.
                limits = [p.client_max_body_bytes for p in conf.proxies if p.client_max_body_bytes]
                if not limits:
                    judge.ok(conf.ref, "client_max_body_size 0 (unlimited)")
                    continue
                limit = min(limits)
                if isinstance(shared, Unknown):
                    judge.cannot(conf.ref, [shared])
                    continue
                judge.bound(
                    conf.ref, "a-body-limit", limit / MIB, shared, {}, "client_max_body_size (MiB)"
                )
        else:
            _skip(judge, view, "A", [], a_why)
        if not view.kong:
            _skip(judge, view, "C", [], ["tier C (Kong Deployment) is missing from the chain"])
        for settings in view.kong:
            limit_bytes = settings.client_max_body_bytes
            if isinstance(shared, Unknown):
                judge.cannot(settings.deployment.ref, [shared])
                continue
            judge.bound(
                settings.deployment.ref,
                "kong-body-limit",
                limit_bytes if isinstance(limit_bytes, Unknown) else limit_bytes / MIB,
                shared,
                {},
                "KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE (MiB)",
            )
        if not view.runtimes:
            _skip(judge, view, "D", [], ["tier D (runtime Deployment) is missing from the chain"])
        for rt in view.runtimes:
            declared = rt.max_body_mib
            if declared is None:
                judge.cannot(
                    rt.ref,
                    "the runtime declares no hitless.dev/max-body-mib annotation, so its limit "
                    "is not known",
                )
                continue
            own = path_config(view, rt, config)
            if isinstance(own, Unknown):
                judge.cannot(rt.ref, [own])
                continue
            judge.bound(rt.ref, "rt-body-limit", declared, own, {}, "hitless.dev/max-body-mib")
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
        values = {"a_proxy_read_timeout": _max(a, _read)}
        for conf in b:
            idle = min(p.read_timeout_seconds for p in conf.proxies)
            judge.bound(conf.ref, "b-idle-covers-a-read", idle, config, values, "proxy_timeout")
    return judge.findings


def drain_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-drain-covers-longest-request.

    The runtime's drain (grace - preStop) and the drain of a Kong pod stopped without
    `kong quit` are the grace period's, judged by deployment-grace-covers-drain alone.
    """
    judge = Judge("chain-drain-covers-longest-request")
    for view in chain_views(facts).values():
        longest = longest_values(view.shared_longest(config.profile))
        for tier, lbs in (("a", view.lb_a), ("b", view.lb_b)):
            values = {f"longest_{tier}": longest[f"longest_{tier}"]}
            if not lbs:
                _skip(judge, view, f"{tier.upper()} LB drain", [], _lb(lbs, tier.upper())[1])
            for lb in lbs:
                for entry_id in (f"{tier}-lb-drain", f"{tier}-lb-drain-cap"):
                    judge.bound(
                        lb.ref,
                        entry_id,
                        lb.draining_sec,
                        config,
                        values,
                        "connectionDrainingTimeoutSec",
                    )
        for tier, (confs, why) in (("a", _a_side(view)), ("b", _b_side(view))):
            values = {f"longest_{tier}": longest[f"longest_{tier}"]}
            if not confs:
                _skip(judge, view, f"{tier.upper()} nginx drain", [], why)
            for conf in confs:
                stop = conf.worker_shutdown_seconds
                if stop is None:  # nginx's default: workers wait for every request
                    judge.ok(conf.ref, "worker_shutdown_timeout unset (unlimited)")
                    continue
                judge.bound(
                    conf.ref, f"{tier}-nginx-drain", stop, config, values, "worker_shutdown_timeout"
                )
        if not view.kong:
            _skip(judge, view, "C drain", [], ["tier C (Kong Deployment) is missing"])
        for settings in view.kong:
            _kong_drain(judge, settings, longest["longest_c"], config)
    return judge.findings


def _kong_drain(
    judge: Judge, settings: KongSettings, bound: float | None, config: PackConfig
) -> None:
    ref = settings.deployment.ref
    container = settings.deployment.main_container()
    hook = container.prestop if container else None
    missing = unknowns(hook, settings.worker_shutdown_seconds, settings.deployment.containers)
    if missing:
        judge.cannot(ref, missing)
        return
    values = {"longest_c": bound}
    timeout = hook.quit_timeout_seconds if isinstance(hook, PreStop) else None
    stop = settings.worker_shutdown_seconds
    if timeout is not None:
        window = timeout if stop is None or isinstance(stop, Unknown) else min(timeout, stop)
        judge.bound(ref, "kong-quit-drain", window, config, values, "kong quit --timeout")
    elif stop is not None and not isinstance(stop, Unknown):
        # Stopped with SIGQUIT (the image's stop signal): nginx's graceful quit, bounded by
        # worker_shutdown_timeout when set; the grace period bounds it otherwise.
        judge.bound(
            ref,
            "kong-quit-drain",
            stop,
            config,
            values,
            "KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT",
        )


def pooled_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-pooled-connections-recycled."""
    judge = Judge("chain-pooled-connections-recycled")
    for view in chain_views(facts).values():
        a, a_why = _a_side(view)
        pooling = [(conf, pools) for conf in a if (pools := _pooling(conf))]
        if a and not pooling:
            continue  # A pools no connection to B: nothing to recycle
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
        longest_b = longest_values(view.shared_longest(config.profile))["longest_b"]
        for conf, pools in pooling:
            values = {
                "b_drain": drain,
                "a_upstream_keepalive_timeout": max(u.keepalive_timeout_seconds for u in pools),
                "longest_b": longest_b,
                "a_upstream_keepalive_time": max(u.keepalive_time_seconds for u in pools),
            }
            lifetime = max(u.keepalive_time_seconds for u in pools)
            judge.bound(
                conf.ref,
                "a-pool-recycled-within-b-drain",
                lifetime,
                config,
                values,
                "keepalive_time in the upstream block",
            )
    return judge.findings


def retries_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """chain-retries-safe."""
    judge = Judge("chain-retries-safe")
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
            ref = kong_cfg.ref_of(service.name)
            if sure(service.retries) > 0:
                layers.append(f"C (service '{service.name}')")
            for entry_id, value, subject in (
                ("kong-retries-min", service.retries, "retries"),
                ("kong-retries-max", service.retries, "retries"),
                ("kong-connect-timeout", service.connect_timeout_ms, "connect_timeout"),
            ):
                judge.bound(ref, entry_id, value, config, {}, f"service '{service.name}' {subject}")
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
        failure="timeout",
    ),
    Rule(
        "chain-keepalive-timeouts-ordered",
        "Prohibits hops where the side reusing idle connections keeps them longer than the "
        "side closing them.",
        "mandatory",
        keepalive_rule,
        failure="reset",
    ),
    Rule(
        "chain-body-size-accepted",
        "Prohibits body limits at A, Kong or the runtime below the profile's max_body_mib.",
        "mandatory",
        body_size_rule,
        failure="rejected",
    ),
    Rule(
        "chain-idle-timeouts-cover-silence",
        "Prohibits a B proxy_timeout shorter than the longest silence on the TCP flow "
        "(A's proxy_read_timeout).",
        "mandatory",
        idle_silence_rule,
        failure="timeout",
    ),
    Rule(
        "chain-drain-covers-longest-request",
        "Prohibits drain windows (LB draining, nginx worker_shutdown_timeout, kong quit) "
        "shorter than the tier's longest request.",
        "mandatory",
        drain_rule,
        failure="cut",
    ),
    Rule(
        "chain-pooled-connections-recycled",
        "Prohibits pooled A->B connections that outlive B's drain.",
        "mandatory",
        pooled_rule,
        failure="cut",
    ),
    Rule(
        "chain-retries-safe",
        "Prohibits non-idempotent retries at A, Kong retries outside bounds or with long "
        "connect timeouts, and retries at several layers."
        + exempt(
            "safety (a write sent twice, retries multiplying the load), not a rollout's requests"
        ),
        "mandatory",
        retries_rule,
    ),
)
"""The chain rules."""
