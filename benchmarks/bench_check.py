"""Time and memory of `hitless check` on a cluster-sized input (a script, not a test).

    .venv/bin/python benchmarks/bench_check.py [--deployments 1000] [--format json]

Writes one multi-document manifest of N runtime Deployments, each with its Service, PDB and HPA
(plus one Kong Deployment and its declarative config naming every Service), runs the same code
path as the CLI (read, scope, judge, render the chosen format) in this process and prints the
wall time, the peak Python allocation (tracemalloc, a second run) and the process's peak resident
size. Goal: 1 000 Deployments in under 2 s and 300 MB. CPU time is printed beside wall time: on
a shared machine the wall time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "policy"))

from hitless.check import check  # noqa: E402


def _runtime(index: int) -> list[dict[str, Any]]:
    """A runtime's Deployment, Service, PDB and HPA, written out in full as kubectl and Helm
    render them (no YAML anchors: every mapping is its own object)."""
    name = f"rt-{index}"
    labels = {"app": name}
    meta = {"name": name, "namespace": "rt"}
    docs = _objects(name, labels, meta)
    return [json.loads(json.dumps(doc)) for doc in docs]


def _objects(name: str, labels: dict[str, str], meta: dict[str, str]) -> list[dict[str, Any]]:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            **meta,
            "annotations": {
                "hitless.dev/request-timeout-seconds": "30",
                "hitless.dev/keepalive-idle-timeout-seconds": "75",
                "hitless.dev/max-body-mib": "64",
            },
        },
        "spec": {
            "replicas": 3,
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 90,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": labels},
                        }
                    ],
                    "containers": [
                        {
                            "name": "app",
                            "image": "example/rt:1",
                            "ports": [{"containerPort": 8080}],
                            "readinessProbe": {
                                "httpGet": {"path": "/ready", "port": 8080},
                                "periodSeconds": 5,
                            },
                            "lifecycle": {"preStop": {"sleep": {"seconds": 15}}},
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
        "spec": {"selector": labels, "ports": [{"port": 8080}]},
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        "spec": {
            "maxUnavailable": 1,
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": {"matchLabels": labels},
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 3,
            "maxReplicas": 10,
        },
    }
    return [deployment, service, pdb, hpa]


def _kong(count: int) -> dict[str, Any]:
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": f"rt-{i}",
                "host": f"rt-{i}.rt.svc.cluster.local",
                "port": 8080,
                "retries": 2,
                "connect_timeout": 5000,
                "read_timeout": 60000,
            }
            for i in range(count)
        ],
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kong-config", "namespace": "kong"},
        "data": {"kong.yml": yaml.safe_dump(config)},
    }


def _run(path: Path, output: str) -> tuple[int, int]:
    """(verdicts, bytes of output) of one check, rendered as the CLI would."""
    result = check([path])
    document = result.to_sarif() if output == "sarif" else result.to_json()
    return len(result.verdicts), len(json.dumps(document, indent=2))


def main() -> None:
    """Generate the input, run check twice (timed, then traced), print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--format", choices=["json", "sarif"], default="json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cluster.yaml"
        docs: list[dict[str, Any]] = [_kong(args.deployments)]
        for index in range(args.deployments):
            docs.extend(_runtime(index))
        path.write_text(yaml.safe_dump_all(docs))
        size = path.stat().st_size
        start, cpu = time.perf_counter(), time.process_time()
        verdicts, out_bytes = _run(path, args.format)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        tracemalloc.start()
        _run(path, args.format)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"{args.deployments} Deployments (+ Services, PDBs, HPAs): input {size / 1e6:.1f} MB, "
        f"{verdicts} verdicts, {args.format} output {out_bytes / 1e6:.1f} MB\n"
        f"wall {elapsed:.2f} s, CPU {cpu:.2f} s; peak Python allocation {peak / 2**20:.0f} MiB; "
        f"peak RSS {rss:.0f} MiB"
    )


if __name__ == "__main__":
    main()
