"""Properties of the rollout-duration formulas (`hitless_policy.budget`), with hypothesis.

Each formula is a worst case that an await timeout must cover, so it must never shrink when a
rollout gets bigger or slower, never grow when more units roll at once, and stay between the
obvious bounds (one batch at least, one unit at a time at most).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hitless_policy import budget

units = st.integers(min_value=1, max_value=500)
small = st.integers(min_value=1, max_value=50)
seconds = st.floats(min_value=0, max_value=3600, allow_nan=False, allow_infinity=False)
millis = st.integers(min_value=0, max_value=3_600_000).map(lambda ms: ms / 1000)
"""Seconds to the millisecond: what a timeout is rounded from."""


class TestRolloutBatches:
    """Batches cover every unit, and no batch is empty."""

    @given(units, small)
    def test_cover_exactly(self, count: int, per_batch: int) -> None:
        batches = budget.rollout_batches(count, per_batch)
        assert batches * per_batch >= count
        assert (batches - 1) * per_batch < count

    @pytest.mark.parametrize(("count", "per_batch"), [(-1, 1), (3, 0)])
    def test_rejects_nonsense(self, count: int, per_batch: int) -> None:
        with pytest.raises(ValueError, match="per_batch >= 1"):
            budget.rollout_batches(count, per_batch)


class TestDeploymentRollout:
    """A Deployment's worst-case rollout (surge-only or with unavailability)."""

    @given(units, small, seconds, seconds)
    def test_between_one_batch_and_one_pod_at_a_time(
        self, replicas: int, surge: int, available: float, grace: float
    ) -> None:
        worst = budget.deployment_rollout_seconds(replicas, surge, 0, available, grace)
        assert available + grace <= worst + 1e-6
        assert worst <= replicas * (available + grace) + 1e-6

    @given(units, small, seconds, seconds)
    def test_more_replicas_never_faster(
        self, replicas: int, surge: int, available: float, grace: float
    ) -> None:
        assert budget.deployment_rollout_seconds(
            replicas, surge, 0, available, grace
        ) <= budget.deployment_rollout_seconds(replicas + 1, surge, 0, available, grace)

    @given(units, small, seconds, seconds)
    def test_more_surge_never_slower(
        self, replicas: int, surge: int, available: float, grace: float
    ) -> None:
        assert budget.deployment_rollout_seconds(
            replicas, surge + 1, 0, available, grace
        ) <= budget.deployment_rollout_seconds(replicas, surge, 0, available, grace)

    @given(units, small, seconds, seconds, seconds)
    def test_slower_pods_never_faster(
        self, replicas: int, surge: int, available: float, grace: float, extra: float
    ) -> None:
        base = budget.deployment_rollout_seconds(replicas, surge, 0, available, grace)
        assert base <= budget.deployment_rollout_seconds(
            replicas, surge, 0, available + extra, grace
        )
        assert base <= budget.deployment_rollout_seconds(
            replicas, surge, 0, available, grace + extra
        )

    @given(units, small, small, seconds, seconds)
    def test_with_unavailability_grace_counts_once(
        self, replicas: int, surge: int, unavailable: int, available: float, grace: float
    ) -> None:
        batches = budget.rollout_batches(replicas, surge + unavailable)
        worst = budget.deployment_rollout_seconds(replicas, surge, unavailable, available, grace)
        assert worst == pytest.approx(batches * available + grace)

    def test_prod_runtime_at_hpa_max(self) -> None:
        """12 pods one at a time, 192 s to Available and a 75 s grace: 3204 s."""
        assert budget.deployment_rollout_seconds(12, 1, 0, 192, 75) == 3204

    @given(seconds, seconds, seconds)
    def test_await_bound_covers_rollout_and_deadline(
        self, rollout: float, deadline: float, margin: float
    ) -> None:
        bound = budget.deployment_await_bound_seconds(rollout, deadline, margin)
        assert bound >= rollout + margin
        assert bound >= deadline + margin
        assert bound == pytest.approx(max(rollout, deadline) + margin)


class TestMigUpdate:
    """A MIG's rolling update: batches of surge, each boot + minReady + drain + shutdown."""

    @given(size=units, surge=small, boot=seconds, ready=seconds, drain=seconds, stop=seconds)
    def test_between_one_batch_and_one_vm_at_a_time(
        self, *, size: int, surge: int, boot: float, ready: float, drain: float, stop: float
    ) -> None:
        worst = budget.mig_update_seconds(
            size,
            max_surge=surge,
            max_unavailable=0,
            time_to_healthy=boot,
            min_ready_seconds=ready,
            drain_seconds=drain,
            shutdown_seconds=stop,
        )
        per_batch = boot + ready + drain + stop
        assert per_batch <= worst + 1e-6
        assert worst <= size * per_batch + 1e-6
        assert worst == pytest.approx(math.ceil(size / surge) * per_batch)

    @given(units, small, seconds, seconds)
    def test_more_surge_never_slower(
        self, size: int, surge: int, boot: float, drain: float
    ) -> None:
        def run(count: int, step: int) -> float:
            return budget.mig_update_seconds(
                count,
                max_surge=step,
                max_unavailable=0,
                time_to_healthy=boot,
                min_ready_seconds=45,
                drain_seconds=drain,
                shutdown_seconds=90,
            )

        assert run(size, surge + 1) <= run(size, surge)
        assert run(size, surge) <= run(size + 1, surge)


class TestNodePoolUpgrade:
    """GKE surge and blue-green upgrades, and the drain of one node."""

    @given(st.integers(min_value=0, max_value=50), seconds, seconds, seconds)
    def test_drain_is_capped_twice(
        self, pods: int, available: float, grace: float, limit: float
    ) -> None:
        drain = budget.node_drain_seconds(pods, available, grace, limit)
        assert drain <= 2 * limit + 1e-6
        assert drain <= pods * available + grace + 1e-6
        assert drain <= budget.node_drain_seconds(pods + 1, available, grace, limit) + 1e-6

    def test_drain_under_the_limit_is_exact(self) -> None:
        assert budget.node_drain_seconds(4, 192, 75, 3600) == 4 * 192 + 75

    @given(units, small, seconds, seconds)
    def test_surge_monotone(self, nodes: int, surge: int, boot: float, drain: float) -> None:
        worst = budget.surge_upgrade_seconds(nodes, surge, 0, boot, drain)
        assert boot + drain <= worst + 1e-6
        assert worst <= nodes * (boot + drain) + 1e-6
        assert budget.surge_upgrade_seconds(nodes, surge + 1, 0, boot, drain) <= worst
        assert worst <= budget.surge_upgrade_seconds(nodes + 1, surge, 0, boot, drain)

    @given(nodes=units, batch=small, boot=seconds, drain=seconds, soak=seconds, pool_soak=seconds)
    def test_blue_green_includes_the_soaks(
        self, *, nodes: int, batch: int, boot: float, drain: float, soak: float, pool_soak: float
    ) -> None:
        def run(count: int, size: int) -> float:
            return budget.blue_green_upgrade_seconds(
                count,
                batch_node_count=size,
                node_boot_seconds=boot,
                drain_seconds=drain,
                batch_soak_seconds=soak,
                node_pool_soak_seconds=pool_soak,
            )

        worst = run(nodes, batch)
        assert boot + drain + soak + pool_soak <= worst + 1e-6
        assert run(nodes, batch + 1) <= worst
        assert worst <= run(nodes + 1, batch)


class TestAwaitTimeout:
    """The await timeout a component sets: the bound rounded up to whole minutes."""

    @given(millis, millis, st.sampled_from([1, 60, 300]))
    def test_rounds_up_within_one_step(self, rollout: float, margin: float, step: int) -> None:
        timeout = budget.await_timeout_seconds(rollout, margin, step)
        assert timeout % step == 0
        assert rollout + margin <= timeout < rollout + margin + step
