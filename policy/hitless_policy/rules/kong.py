"""Rules on Kong's proxy configuration."""

from __future__ import annotations

import ipaddress

from hitless_policy.facts import Facts, Unknown, sure, unknowns
from hitless_policy.profile import PackConfig
from hitless_policy.rules.base import Finding, Judge, Rule, exempt


def _is_dns_name(target: str) -> bool:
    host = target.rsplit(":", 1)[0].strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def upstream_healthcheck_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """kong-upstream-healthcheck-safe."""
    judge = Judge("kong-upstream-healthcheck-safe")
    for kong in facts.kong_configs:
        if isinstance(kong.upstreams, Unknown):
            judge.cannot(kong.ref, [kong.upstreams])
            continue
        for upstream in kong.upstreams:
            ref = kong.ref_of(upstream.name)
            missing = unknowns(upstream.targets, upstream.active_ejects, upstream.passive_ejects)
            if missing:
                judge.cannot(ref, missing)
                continue
            targets = sure(upstream.targets)
            ejecting = [
                kind
                for kind, on in (
                    ("active", upstream.active_ejects),
                    ("passive", upstream.passive_ejects),
                )
                if on
            ]
            if ejecting and len(targets) == 1:
                target = targets[0]
                what = "a Service DNS name" if _is_dns_name(target) else "a single address"
                judge.fail(
                    ref,
                    f"upstream '{upstream.name}' has one target ({target}, {what}) and "
                    f"{' and '.join(ejecting)} health checks that can mark it unhealthy: one "
                    "failing pod behind the Service ejects the whole runtime and Kong answers "
                    "503 for every request. Fix: set the unhealthy counters "
                    "(tcp_failures, timeouts, http_failures) to 0, or target pod endpoints",
                )
            else:
                count = len(targets)
                judge.ok(
                    ref,
                    f"upstream '{upstream.name}': {count} target(s), health checks "
                    f"{'/'.join(ejecting) or 'off'}",
                )
    return judge.findings


RULES: tuple[Rule, ...] = (
    Rule(
        "kong-upstream-healthcheck-safe",
        "Prohibits Kong health checks that can eject the only target of an upstream."
        + exempt("safety outside rollouts (the only target ejected on errors)"),
        "mandatory",
        upstream_healthcheck_rule,
    ),
)
"""The Kong rules."""
