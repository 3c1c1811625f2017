"""Time the hitless policy pack (a script, not a test).

    .venv/bin/python benchmarks/bench_policy.py [--repeat N]

Two resource sets: the prod stack as the program registers it (captured under Pulumi's mock
runtime, preview mode) and a synthetic stack of 200 runtime services (Deployment, Service, PDB,
HPA each). Two ways to run the pack on each: as the engine does (every policy's `validate` on
proxied props: resource policies once per resource, stack policies once per stack) and as the
offline runner does (`runner.judge`: facts extracted once, every rule).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "policy"))

from pulumi_policy import (  # noqa: E402
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy  # noqa: E402

from hitless.program import run_stack  # noqa: E402
from hitless_policy.pack import policies  # noqa: E402
from hitless_policy.profile import PackConfig  # noqa: E402
from hitless_policy.runner import ResourceInput, judge  # noqa: E402


def opts(res: ResourceInput) -> PolicyResourceOptions:
    """The resource options the engine would pass (custom timeouts in seconds)."""
    t = res.custom_timeouts
    timeouts = (
        PolicyCustomTimeouts(t.create_seconds, t.update_seconds, t.delete_seconds)
        if t is not None
        else PolicyCustomTimeouts(0, 0, 0)
    )
    return PolicyResourceOptions(False, [], None, [], timeouts, [], None)


def prod_resources() -> list[ResourceInput]:
    """The prod stack's custom resources, captured in preview mode."""
    capture = run_stack("prod", ROOT, preview=True)
    return [
        ResourceInput(
            r.urn, r.type, r.name, r.props, r.parent or None, custom_timeouts=r.custom_timeouts
        )
        for r in capture.resources
        if r.custom
    ]


def rt_service(index: int) -> list[ResourceInput]:
    """One runtime service: Deployment, Service, PDB and HPA."""
    name = f"rt-{index:03d}"
    labels = {"app": name, "hitless.dev/chain": "main", "hitless.dev/tier": "d"}
    meta = {"name": name, "namespace": "apps", "labels": labels}
    urn = "urn:pulumi:bench::hitless::{}::" + name
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {**meta, "annotations": {"hitless.dev/request-timeout-seconds": "45"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 60,
                    "topologySpreadConstraints": [{"topologyKey": "kubernetes.io/hostname"}],
                    "containers": [
                        {
                            "name": "rt",
                            "image": "rt:1",
                            "ports": [{"containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
                            "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
                            "lifecycle": {"preStop": {"sleep": {"seconds": 10}}},
                        }
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"selector": {"app": name}},
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app": name}},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name}, "minReplicas": 2},
    }
    return [
        ResourceInput(urn.format(t), t, name, p)
        for t, p in (
            ("kubernetes:apps/v1:Deployment", deployment),
            ("kubernetes:core/v1:Service", service),
            ("kubernetes:policy/v1:PodDisruptionBudget", pdb),
            ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", hpa),
        )
    ]


def engine_run(resources: list[ResourceInput]) -> str:
    """Every policy as the engine calls it; says how many violations it reported."""
    violations: list[Any] = []

    def report(message: str, urn: str | None = None) -> None:
        violations.append((message, urn))

    for policy in policies():
        try:
            if isinstance(policy, ResourceValidationPolicy):
                for res in resources:
                    args = ResourceValidationArgs(
                        res.type,
                        unknown_checking_proxy(dict(res.props)),
                        res.urn,
                        res.name,
                        opts(res),
                        None,
                    )
                    with contextlib.suppress(UnknownValueError):
                        policy.validate(args, report)
            elif isinstance(policy, StackValidationPolicy):
                stack = StackValidationArgs(
                    [
                        PolicyResource(
                            r.type,
                            unknown_checking_proxy(dict(r.props)),
                            r.urn,
                            r.name,
                            opts(r),
                            None,
                            None,
                            [],
                            {},
                        )
                        for r in resources
                    ]
                )
                policy.validate(stack, report)
        except UnknownValueError:
            pass
    return f"{len(violations)} violations"


def timed(label: str, run: Callable[[], object], repeat: int) -> None:
    """Print the median and best wall time of `run`."""
    times = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    print(
        f"{label:<44} median {statistics.median(times) * 1000:8.1f} ms   "
        f"best {min(times) * 1000:8.1f} ms   ({len(result) if isinstance(result, list) else result}"
        f"{' verdicts' if isinstance(result, list) else ''})"
    )


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement")
    repeat = parser.parse_args().repeat
    config = PackConfig()
    prod = prod_resources()
    synthetic = [res for index in range(200) for res in rt_service(index)]
    for label, resources in (
        (f"prod ({len(prod)} resources)", prod),
        (f"200 RT services ({len(synthetic)} resources)", synthetic),
    ):
        timed(
            f"{label}: engine, {len(policies())} policies", partial(engine_run, resources), repeat
        )
        timed(f"{label}: runner.judge", partial(judge, resources, config), repeat)


if __name__ == "__main__":
    main()
