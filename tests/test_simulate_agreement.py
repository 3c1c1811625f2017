"""Agreement of the simulator with the rules, property-based (hypothesis).

Settings generated around the dev stack's facts that pass every mandatory rule fail no request in
the simulation of any tier or of a node pool upgrade; for each rule that guards against a request
failure (`Rule.failure`), settings that break only that rule make the simulation fail requests of
that cause. The settings are changed on the extracted facts, the simulator's and the rules'
common input.
"""

from __future__ import annotations

import dataclasses
import re
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
from hitless_policy.rules.base import EXEMPT_TAIL, Rule
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


def _no_probes(facts: Facts) -> Facts:
    """The runtime's serving container without its readiness (and startup) probe: Ready once
    started, while its app may still refuse (a startup probe holds it until the app answers)."""
    out: list[Deployment] = []
    for original in facts.deployments:
        dep = original
        main = dep.main_container()
        if dep.place.tier is Tier.D and main is not None and isinstance(dep.containers, list):
            bare = dataclasses.replace(main, readiness=None, startup=None)
            dep = dataclasses.replace(
                dep, containers=[bare if c is main else c for c in dep.containers]
            )
        out.append(dep)
    return dataclasses.replace(facts, deployments=out, _index={})


def _rolling_update(facts: Facts, surge: int, unavailable: int | str) -> Facts:
    """The runtime Deployment's `maxSurge` / `maxUnavailable`."""
    return dataclasses.replace(
        facts,
        deployments=[
            dataclasses.replace(d, max_surge=surge, max_unavailable=unavailable)
            if d.place.tier is Tier.D
            else d
            for d in facts.deployments
        ],
        _index={},
    )


def _mig_policy(facts: Facts, tier: Tier, surge: int, unavailable: int) -> Facts:
    """Tier's MIG update policy with `maxSurgeFixed` / `maxUnavailableFixed`."""
    migs = []
    for original in facts.migs:
        mig = original
        if mig.place.tier is tier and isinstance(mig.update_policy, dict):
            policy = {
                **mig.update_policy,
                "maxSurgeFixed": surge,
                "maxUnavailableFixed": unavailable,
            }
            mig = dataclasses.replace(mig, update_policy=policy)
        migs.append(mig)
    return dataclasses.replace(facts, migs=migs, _index={})


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


ALL_PODS: list[int | str] = [2, "100%"]
"""A `maxUnavailable` that lets every pod of the 2-replica runtime go at once."""

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
    "deployment-readiness-probe": ("d", st.just(_no_probes)),
    # Every pod may go at once (maxUnavailable = replicas): the old pods leave rotation before a
    # new one joins. maxUnavailable 1 of 2 only halves the capacity now and then.
    "deployment-rolling-update-hitless": (
        "d",
        st.tuples(st.integers(0, 1), st.sampled_from(ALL_PODS)).map(
            lambda su: lambda f: _rolling_update(f, *su)
        ),
    ),
    # Every instance of the 2-instance MIG may go at once (maxUnavailableFixed >= targetSize).
    "mig-update-policy-hitless": (
        "a",
        st.tuples(st.integers(0, 1), st.integers(2, 3)).map(
            lambda su: lambda f: _mig_policy(f, Tier.A, *su)
        ),
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


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_exempt_rules_say_what_they_guard(rule: Rule) -> None:
    """A rule names the failure it guards against (`Rule.failure`) or its description says what
    it guards instead and that it is exempt, never both, never neither."""
    states_exemption = re.search(rf" Guards [^.]+{re.escape(EXEMPT_TAIL)}$", rule.description)
    assert bool(rule.failure) != bool(states_exemption), (rule.id, rule.failure, rule.description)
    if rule.failure:
        assert rule.failure in set(Cause) | set(NOT_MODELLED), rule.id
