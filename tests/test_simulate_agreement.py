"""Agreement of the simulator with the rules, property-based (hypothesis).

Settings generated around the dev stack's facts that pass every mandatory rule fail no request in
the simulation of any tier or of a node pool upgrade; for each rule that guards against a request
failure (`Rule.failure`), settings that break only that rule make the simulation fail requests of
that cause. The settings are changed on the extracted facts, the simulator's and the rules'
common input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hitless.sim_inputs import SimInputs, stack_facts
from hitless.simulate import NOT_MODELLED, Cause, simulate_facts, simulate_nodes
from hitless_policy.facts import Deployment, Facts, NginxSource, Unknown
from hitless_policy.identity import Tier
from hitless_policy.rules import RULES
from tests.conftest import ROOT

DEV: SimInputs = stack_facts("dev", Path(ROOT))
"""The dev stack's facts (module level: hypothesis tests cannot take function-scoped fixtures)."""
RATE = 20.0
"""Requests per second of every simulation here."""
SEEDS = (1, 2)
"""Seeds each property simulates."""

Change = Callable[[Facts], Facts]


# --- changing one setting on the facts --------------------------------------------------------


def _nginx(facts: Facts, tier: Tier, **changes: object) -> Facts:
    """Change the first proxy (`proxy.X`) or its upstream (`upstream.X`) of tier's nginx.conf."""
    out: list[NginxSource] = []
    for source in facts.nginx:
        conf = source.conf
        if source.place.tier is not tier or conf is None or isinstance(conf, Unknown):
            out.append(source)
            continue
        proxy = conf.proxies[0]
        upstreams = dict(conf.upstreams)
        p_changes = {k[6:]: v for k, v in changes.items() if k.startswith("proxy.")}
        u_changes = {k[9:]: v for k, v in changes.items() if k.startswith("upstream.")}
        if u_changes and proxy.upstream in upstreams:
            upstreams[proxy.upstream] = dataclasses.replace(
                upstreams[proxy.upstream],
                **u_changes,  # type: ignore[arg-type]
            )
        proxies = [dataclasses.replace(proxy, **p_changes), *conf.proxies[1:]]  # type: ignore[arg-type]
        new_conf = dataclasses.replace(conf, proxies=proxies, upstreams=upstreams)
        out.append(dataclasses.replace(source, conf=new_conf))
    return dataclasses.replace(facts, nginx=out, _index={})


def _drain(facts: Facts, tier: Tier, seconds: float) -> Facts:
    return dataclasses.replace(
        facts,
        backend_services=[
            dataclasses.replace(b, draining_sec=seconds) if b.place.tier is tier else b
            for b in facts.backend_services
        ],
        _index={},
    )


def _runtime(facts: Facts, *, prestop: float | None = None, grace: int | None = None) -> Facts:
    out: list[Deployment] = []
    for original in facts.deployments:
        dep = original
        main = dep.main_container()
        if dep.place.tier is not Tier.D or main is None or isinstance(dep.containers, Unknown):
            out.append(dep)
            continue
        if prestop is not None and main.prestop is not None:
            hook = main.prestop
            assert not isinstance(hook, Unknown)
            main2 = dataclasses.replace(
                main, prestop=dataclasses.replace(hook, delay_seconds=prestop)
            )
            containers = [main2 if c is main else c for c in dep.containers]
            dep = dataclasses.replace(dep, containers=containers)
        if grace is not None:
            dep = dataclasses.replace(dep, grace_seconds=grace)
        out.append(dep)
    return dataclasses.replace(facts, deployments=out, _index={})


def _kong_read(facts: Facts, ms: float) -> Facts:
    configs = []
    for config in facts.kong_configs:
        services = config.services
        assert not isinstance(services, Unknown)
        services = [dataclasses.replace(s, read_timeout_ms=ms) for s in services]
        configs.append(dataclasses.replace(config, services=services))
    return dataclasses.replace(facts, kong_configs=configs, _index={})


# --- judging ----------------------------------------------------------------------------------


def failing_rules(facts: Facts) -> set[str]:
    """The mandatory rules with a failing finding on `facts`."""
    return {
        r.id
        for r in RULES
        if r.level == "mandatory"
        for f in r.check(facts, DEV.config)
        if f.status == "fail"
    }


def failures(facts: Facts, tier: str) -> dict[str, int]:
    """Failed requests per cause over `SEEDS` rolling `tier`."""
    total: dict[str, int] = {}
    for seed in SEEDS:
        sim = (
            simulate_nodes(facts, config=DEV.config, rate=RATE, seed=seed)
            if tier == "nodes"
            else simulate_facts(facts, tier, config=DEV.config, rate=RATE, seed=seed)
        )
        for cause, count in sim.by_cause().items():
            total[cause] = total.get(cause, 0) + count
    return total


# --- the properties ---------------------------------------------------------------------------


@st.composite
def passing(draw: st.DrawFn) -> Facts:
    """Dev's facts with timing settings drawn where the rules accept them (the awaits of
    `pulumi up` are sized to dev's rollouts, so drains and grace stay at most dev's)."""
    facts = DEV.facts
    facts = _drain(facts, Tier.A, draw(st.integers(84, 150)))
    keepalive_time = draw(st.integers(1, 39))
    facts = _drain(facts, Tier.B, draw(st.integers(111 + keepalive_time, 150)))
    prestop = draw(st.integers(10, 14))
    facts = _runtime(facts, prestop=prestop, grace=draw(st.integers(prestop + 46, 75)))
    facts = _kong_read(facts, draw(st.integers(45_001, 51_000)))
    return _nginx(facts, Tier.A, **{"upstream.keepalive_time_seconds": keepalive_time})


BREAKING: dict[str, tuple[str, st.SearchStrategy[Change]]] = {
    "chain-drain-covers-longest-request": (
        "a",
        st.integers(10, 40).map(lambda s: lambda f: _drain(f, Tier.A, s)),
    ),
    "chain-pooled-connections-recycled": (
        "b",
        st.integers(300, 3600).map(
            lambda s: lambda f: _nginx(f, Tier.A, **{"upstream.keepalive_time_seconds": s})
        ),
    ),
    "chain-request-timeouts-ordered": (
        "d",
        st.integers(5_000, 20_000).map(lambda ms: lambda f: _kong_read(f, ms)),
    ),
    "chain-idle-timeouts-cover-silence": (
        "d",
        st.integers(4, 20).map(
            lambda s: (
                lambda f: _nginx(
                    _nginx(f, Tier.B, **{"proxy.read_timeout_seconds": s}),
                    Tier.A,
                    **{"upstream.keepalive_timeout_seconds": s / 2},
                )
            )
        ),
    ),
    "deployment-grace-covers-drain": (
        "d",
        st.integers(16, 25).map(lambda g: lambda f: _runtime(f, grace=g)),
    ),
    "deployment-prestop-covers-propagation": (
        "d",
        st.integers(0, 3).map(lambda p: lambda f: _runtime(f, prestop=p)),
    ),
}
"""Per failure-guarding rule: the tier to roll and a change of the dev facts that breaks it.

The rules bound the worst case (the slowest client, the longest work, the full lag); the
simulation draws those, so a setting just past a bound fails requests only now and then. The
ranges break each bound clearly (a drain or grace well short of the longest request), where every
value fails requests in the seeds used."""


def test_dev_passes_every_mandatory_rule() -> None:
    assert failing_rules(DEV.facts) == set()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=passing())
def test_passing_settings_fail_no_request(facts: Facts) -> None:
    assume(not failing_rules(facts))
    for tier in ("a", "b", "c", "d", "nodes"):
        assert failures(facts, tier) == {}, tier


def test_every_failure_rule_is_simulated() -> None:
    """Each rule that guards a failure the simulator models has a breaking change here; the
    rest guard a failure the simulator declares it does not model (`simulate.NOT_MODELLED`)."""
    guarding = {r.id: r.failure for r in RULES if r.failure}
    modelled = {rid for rid, cause in guarding.items() if cause in set(Cause)}
    assert modelled == set(BREAKING)
    assert {guarding[rid] for rid in set(guarding) - modelled} <= set(NOT_MODELLED)


@pytest.mark.parametrize("rule_id", sorted(BREAKING))
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_breaking_one_rule_fails_its_cause(rule_id: str, data: st.DataObject) -> None:
    tier, changes = BREAKING[rule_id]
    facts = data.draw(changes)(DEV.facts)
    assert failing_rules(facts) == {rule_id}
    cause = next(r.failure for r in RULES if r.id == rule_id)
    assert failures(facts, tier).get(cause, 0) > 0, (rule_id, failures(facts, tier))
