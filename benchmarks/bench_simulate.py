"""Benchmark: the simulator at 200 requests/s over a rollout of at least 10 minutes, per tier.

Target: under 5 s per tier. The dev stack's facts are rendered once (as `preview` does); each
tier's model is stretched to a rollout of at least 600 s by rolling more replicas, so the load is
200 rps x >= 600 s = >= 120 000 requests per tier. Prints wall time, requests and rollout length.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hitless.sim_inputs import chain_model, stack_facts, tier_model  # noqa: E402
from hitless.simulate import simulate_model  # noqa: E402
from hitless_policy.identity import Tier  # noqa: E402

RATE = 200.0
"""Requests per second."""
MIN_ROLLOUT_SECONDS = 600.0
"""The shortest rollout measured."""
TARGET_SECONDS = 5.0
"""Wall time per tier the simulator must stay under."""


def main() -> int:
    """Run every tier; exit 1 when one misses the target."""
    inputs = stack_facts("dev", ROOT)
    chain = chain_model(inputs.facts, inputs.config, None)
    worst = 0.0
    for tier in (Tier.A, Tier.B, Tier.C, Tier.D):
        model = tier_model(inputs.facts, inputs.config, tier)
        replicas = model.replicas
        while True:
            trial = dataclasses.replace(model, replicas=replicas)
            probe = simulate_model(trial, chain, rate=0.01, seed=1)
            if probe.rollout_seconds >= MIN_ROLLOUT_SECONDS:
                break
            replicas += 1
        began = time.perf_counter()
        sim = simulate_model(trial, chain, rate=RATE, seed=1)
        wall = time.perf_counter() - began
        worst = max(worst, wall)
        print(
            f"tier {tier.value}: {replicas} replicas, rollout {sim.rollout_seconds:.0f} s, "
            f"{len(sim.requests)} requests, {len(sim.failed)} failed, {wall:.2f} s wall"
        )
    print(f"slowest tier: {worst:.2f} s (target < {TARGET_SECONDS:g} s)")
    return 0 if worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
