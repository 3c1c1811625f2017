"""Deliberately wrong stacks: one wrong value per rule family, caught by the policy pack.

The stack config's cross-tier validator normally refuses these values before any resource is
registered. Here each per-tier model is still validated, but the cross-tier check is bypassed
(`model_construct`), the real chain is composed from the wrong config, and the pack judges the
captured resources, as the engine would for a team whose stack skips `load_stack_config`. Each
case must fail exactly the rule ids its family owns, and the checked-in stacks none.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter

from hitless.components.chain import compose_chain
from hitless.components.config import StackConfig, StackConfigError, load_stack_config
from hitless.harness import Capture
from hitless.program import judge_capture
from hitless_policy.profile import PackConfig
from tests.conftest import hitless_values, set_path

Runner = Callable[..., Capture]


def unchecked(stack: str, path: str, value: object) -> StackConfig:
    """The stack's config with `path` (dotted) set to `value`, every tier model validated but
    not the cross-tier bounds."""
    values: dict[str, Any] = copy.deepcopy(hitless_values(stack))
    set_path(values, path, value)
    fields = StackConfig.model_fields
    parts = {
        name: (
            TypeAdapter(fields[name].annotation).validate_python(values[name])  # type: ignore[arg-type]
            if name in values
            else fields[name].get_default(call_default_factory=True)
        )
        for name in fields
    }
    return StackConfig.model_construct(**parts)


def failing_rules(capture: Runner, cfg: StackConfig) -> set[str]:
    """Rule ids with a mandatory failure on the chain composed from `cfg`."""
    cap = capture(lambda: compose_chain(cfg), stack="dev", preview=True)
    verdicts = judge_capture(cap, PackConfig(profile=cfg.profile, thresholds=cfg.thresholds))
    return {v.rule for v in verdicts if v.status == "fail" and v.level == "mandatory"}


WRONG: list[tuple[str, object, set[str]]] = [
    # request timeouts: the LB gives up before a slow upload and A's read timeout end
    ("edge.backend_timeout_sec", 60, {"chain-request-timeouts-ordered"}),
    # keepalives: A closes idle connections before GFE (600 s) stops reusing them
    ("edge.keepalive_timeout_seconds", 300, {"chain-keepalive-timeouts-ordered"}),
    # body size: A answers 413 to the 50 MiB upload
    ("edge.client_max_body_mib", 10, {"chain-body-size-accepted"}),
    # idle silence: B cuts a flow that is silent while A still waits
    ("relay.proxy_timeout_seconds", 60, {"chain-idle-timeouts-cover-silence"}),
    # drain: B's LB drain is shorter than B's longest request (and than A's pooled connections)
    (
        "relay.connection_draining_timeout_sec",
        20,
        {"chain-drain-covers-longest-request", "chain-pooled-connections-recycled"},
    ),
    # retries: Kong retries beyond the bound, and a GET's worst case (connect + read) x (1 + 5)
    # outlasts A's read timeout
    ("runtimes.0.kong.retries", 5, {"chain-retries-safe", "chain-request-timeouts-ordered"}),
    # MIG rollout: the updater removes old instances before the LB programs new ones
    ("edge.mig.min_ready_sec", 0, {"mig-update-policy-hitless"}),
    # autohealing: judges instances that are still booting
    ("relay.mig.autohealing_initial_delay_sec", 30, {"mig-autohealing-configured"}),
    # LB health check: a dead backend stays in rotation for too long
    (
        "edge.mig.lb_health_check",
        {"check_interval_sec": 20, "timeout_sec": 10, "unhealthy_threshold": 5},
        {"lb-health-check-configured"},
    ),
    # grace: the runtime is killed mid-request
    # (the runtime's drain, grace - preStop, has one judge)
    ("runtimes.0.termination_grace_seconds", 30, {"deployment-grace-covers-drain"}),
    # preStop: the runtime stops accepting before endpoints propagate
    ("runtimes.0.prestop_seconds", 3, {"deployment-prestop-covers-propagation"}),
    # readiness: a dead pod keeps traffic for several 20 s periods
    ("runtimes.0.readiness", {"period_seconds": 20}, {"deployment-readiness-probe"}),
    # progress deadline: shorter than a pod's worst time to Available
    ("runtimes.0.progress_deadline_seconds", 60, {"deployment-progress-deadline-sufficient"}),
    # Kong drain: `kong quit --wait` shorter than the LB's propagation
    ("kong.quit_wait_seconds", 5, {"deployment-prestop-covers-propagation"}),
    # await: pulumi-kubernetes' default 10 min is shorter than the RT rollout at its HPA maximum
    ("runtimes.0.await_timeout_seconds", 600, {"deployment-await-covers-rollout"}),
    # MIG await: 5 minutes is shorter than A's rolling replacement (two batches)
    ("edge.mig.await_timeout_seconds", 300, {"mig-update-awaited"}),
]


class TestConfigModelRefusesTheSame:
    """The config model and the pack use the same bounds: every wrong value the pack catches is
    refused first by `load_stack_config`, with its stack key, before any resource exists."""

    @pytest.mark.parametrize(("path", "value", "expected"), WRONG, ids=[w[0] for w in WRONG])
    def test_refused_with_key(self, path: str, value: object, expected: set[str]) -> None:
        values: dict[str, Any] = copy.deepcopy(hitless_values("dev"))
        set_path(values, path, value)
        with pytest.raises(StackConfigError, match=re.escape(f"hitless:{path}")):
            load_stack_config(values, "dev")


class TestCheckedInStacksAreClean:
    """The stacks users copy must pass every mandatory rule, composed through the same path."""

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_clean(self, capture: Runner, stack: str) -> None:
        cfg = unchecked(stack, "profile.max_body_mib", 50)
        assert failing_rules(capture, cfg) == set()


class TestOneWrongValuePerFamily:
    """A wrong value the config validator would refuse is still caught by the pack, by the rule
    ids of its family and no others: the rules, not only the config model, keep a stack hitless."""

    @pytest.mark.parametrize(("path", "value", "expected"), WRONG, ids=[w[0] for w in WRONG])
    def test_fails_expected_ids(
        self, capture: Runner, path: str, value: object, expected: set[str]
    ) -> None:
        assert failing_rules(capture, unchecked("dev", path, value)) == expected
