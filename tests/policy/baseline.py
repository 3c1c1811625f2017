"""A hitless-good chain as wire-form props (every rule passes), and helpers to mutate it.

Numbers with the default profile (50 MiB, 8 Mbit/s client, 30 s processing): the longest
request is 83 s at A, 31 s at B and C, 30 s at D; see tests/policy/test_rules.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from hitless_policy.extract import ResourceInput

CHAIN = "main"
"""Chain name of the baseline."""
STACK = "urn:pulumi:dev::hitless::"
"""URN prefix."""

A_CONF = """
worker_processes auto;
worker_shutdown_timeout 120s;
events { worker_connections 1024; }
http {
    keepalive_timeout 650s;
    client_max_body_size 64m;
    proxy_read_timeout 160s;
    proxy_request_buffering on;
    upstream relay {
        server 10.10.1.10:8000;
        keepalive 32;
        keepalive_timeout 30s;
        keepalive_time 50s;
    }
    server {
        listen 80;
        location / {
            proxy_pass http://relay;
            proxy_http_version 1.1;
            proxy_next_upstream error timeout;
        }
    }
}
"""
"""Tier A's nginx.conf (L7)."""

B_CONF = """
worker_processes auto;
worker_shutdown_timeout 120s;
events { worker_connections 1024; }
stream {
    upstream kong { server 10.20.0.10:80; }
    server {
        listen 8000;
        proxy_pass kong;
        proxy_timeout 620s;
        proxy_connect_timeout 5s;
    }
}
"""
"""Tier B's nginx.conf (stream L4)."""

KONG_YML = """
_format_version: "3.0"
services:
  - name: rt
    host: rt-upstream
    port: 8080
    connect_timeout: 2000
    read_timeout: 50000
    write_timeout: 50000
    retries: 2
    routes:
      - name: rt
        paths: [/]
        request_buffering: true
upstreams:
  - name: rt-upstream
    targets:
      - target: rt.api.svc.cluster.local:8080
    healthchecks:
      passive:
        unhealthy: {tcp_failures: 0, timeouts: 0, http_failures: 0}
"""
"""Kong's declarative config."""


def _gcp(tier: str, role: str) -> dict[str, str]:
    return {"hitless-chain": CHAIN, "hitless-tier": tier, "hitless-role": role}


def _k8s(tier: str, role: str, app: str) -> dict[str, str]:
    return {
        "hitless.dev/chain": CHAIN,
        "hitless.dev/tier": tier,
        "hitless.dev/role": role,
        "app": app,
    }


def _desc(tier: str, role: str) -> str:
    return f"[hitless chain={CHAIN} tier={tier} role={role}] test"


def _mig(tier: str) -> dict[str, Any]:
    return {
        "allInstancesConfig": {"labels": _gcp(tier, "mig")},
        "distributionPolicyZones": ["europe-west1-b", "europe-west1-c", "europe-west1-d"],
        "updatePolicy": {
            "type": "PROACTIVE",
            "minimalAction": "REPLACE",
            "replacementMethod": "SUBSTITUTE",
            "maxSurgeFixed": 3,
            "maxUnavailableFixed": 0,
            "minReadySec": 45,
        },
        "autoHealingPolicies": {"healthCheck": f"hc-{tier}-heal", "initialDelaySec": 300},
    }


def _probe(path: str, port: int, period: int = 5) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "timeoutSeconds": 2}


def _deployment(name: str, tier: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    labels = _k8s(tier, "workload", name)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "api", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            **spec,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": container.pop("grace"),
                    "topologySpreadConstraints": [
                        {
                            "topologyKey": key,
                            "maxSkew": 1,
                            "labelSelector": {"matchLabels": labels},
                        }
                        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
                    ],
                    "containers": [container],
                },
            },
        },
    }


def _pdb(name: str, tier: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "api", "labels": _k8s(tier, "pdb", name)},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app": name}},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def _hpa(name: str, tier: str) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": "api", "labels": _k8s(tier, "hpa", name)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 2,
            "maxReplicas": 6,
        },
    }


def _service(name: str, tier: str, kind: str = "ClusterIP") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "api", "labels": _k8s(tier, "service", name)},
        "spec": {"type": kind, "selector": {"app": name}, "ports": [{"port": 80}]},
    }


def _alert(tier: str) -> dict[str, Any]:
    """An alert policy watching `tier` (rule observability-configured)."""
    return {
        "displayName": f"tier {tier}",
        "combiner": "OR",
        "conditions": [{"displayName": "5xx", "conditionPrometheusQueryLanguage": {"query": "1"}}],
        "userLabels": _gcp(tier, "alert"),
    }


def resources() -> dict[str, tuple[str, dict[str, Any]]]:
    """The baseline: logical name -> (type token, props)."""
    kong_container = {
        "name": "proxy",
        "image": "kong:3.9",
        "grace": 100,
        "ports": [{"containerPort": 8000}],
        "readinessProbe": _probe("/status/ready", 8100),
        "livenessProbe": {**_probe("/status", 8100, 10), "failureThreshold": 5},
        "lifecycle": {
            "preStop": {"exec": {"command": ["kong", "quit", "--wait=30", "--timeout=45"]}}
        },
        "env": [
            {"name": "KONG_DATABASE", "value": "off"},
            {"name": "KONG_NGINX_HTTP_KEEPALIVE_TIMEOUT", "value": "75s"},
            {"name": "KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT", "value": "30"},
            {"name": "KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT", "value": "60s"},
            {"name": "KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE", "value": "0"},
        ],
    }
    rt_container = {
        "name": "rt",
        "image": "registry.example.com/rt:2.0",
        "grace": 60,
        "ports": [{"containerPort": 8080}],
        "readinessProbe": _probe("/ready", 8080),
        "livenessProbe": {**_probe("/live", 8080, 10), "failureThreshold": 6},
        "lifecycle": {"preStop": {"sleep": {"seconds": 10}}},
    }
    rt = _deployment("rt", "d", rt_container)
    rt["metadata"]["annotations"] = {
        "hitless.dev/request-timeout-seconds": "45",
        "hitless.dev/keepalive-idle-timeout-seconds": "60",
        "hitless.dev/max-body-mib": "64",
    }
    return {
        "a-template": (
            "gcp:compute/instanceTemplate:InstanceTemplate",
            {"labels": _gcp("a", "template"), "metadata": {"nginx-conf": A_CONF}},
        ),
        "a-mig": ("gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager", _mig("a")),
        "a-backend": (
            "gcp:compute/backendService:BackendService",
            {
                "description": _desc("a", "backend"),
                "loadBalancingScheme": "EXTERNAL_MANAGED",
                "timeoutSec": 240,
                "connectionDrainingTimeoutSec": 120,
                "backends": [{"group": "ig-a", "balancingMode": "UTILIZATION"}],
                "healthChecks": ["projects/p/global/healthChecks/hc-a"],
            },
        ),
        "a-health": (
            "gcp:compute/healthCheck:HealthCheck",
            {
                "name": "hc-a",
                "description": _desc("a", "lb-health"),
                "checkIntervalSec": 5,
                "timeoutSec": 4,
                "unhealthyThreshold": 2,
            },
        ),
        "b-template": (
            "gcp:compute/instanceTemplate:InstanceTemplate",
            {"labels": _gcp("b", "template"), "metadata": {"nginx-conf": B_CONF}},
        ),
        "b-mig": ("gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager", _mig("b")),
        "b-backend": (
            "gcp:compute/regionBackendService:RegionBackendService",
            {
                "description": _desc("b", "backend"),
                "loadBalancingScheme": "INTERNAL",
                # covers a pooled A->B connection: LB lag 30 + keepalive_time 50 + idle 30 + B's
                # longest request 30.8
                "connectionDrainingTimeoutSec": 150,
                "backends": [{"group": "ig-b", "balancingMode": "CONNECTION"}],
                "healthChecks": ["projects/p/regions/r/healthChecks/hc-b"],
            },
        ),
        "b-health": (
            "gcp:compute/regionHealthCheck:RegionHealthCheck",
            {
                "name": "hc-b",
                "description": _desc("b", "lb-health"),
                "checkIntervalSec": 5,
                "timeoutSec": 4,
                "unhealthyThreshold": 2,
            },
        ),
        "cluster": (
            "gcp:container/cluster:Cluster",
            {
                "location": "europe-west1",
                "resourceLabels": _gcp("gke", "cluster"),
                "enableL4IlbSubsetting": True,
                "maintenancePolicy": {
                    "recurringWindow": {
                        "startTime": "2025-01-04T00:00:00Z",
                        "endTime": "2025-01-04T08:00:00Z",
                        "recurrence": "FREQ=WEEKLY;BYDAY=SA,SU",
                    }
                },
            },
        ),
        "pool": (
            "gcp:container/nodePool:NodePool",
            {
                "nodeConfig": {"resourceLabels": _gcp("gke", "pool")},
                "upgradeSettings": {"strategy": "SURGE", "maxSurge": 1, "maxUnavailable": 0},
                "nodeDrainConfigs": [{"respectPdbDuringNodePoolDeletion": True}],
            },
        ),
        "kong": ("kubernetes:apps/v1:Deployment", _deployment("kong", "c", kong_container)),
        "kong-config": (
            "kubernetes:core/v1:ConfigMap",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "kong-config",
                    "namespace": "api",
                    "labels": _k8s("c", "config", "kong"),
                },
                "data": {"kong.yml": KONG_YML},
            },
        ),
        "kong-svc": ("kubernetes:core/v1:Service", _service("kong", "c", "LoadBalancer")),
        "kong-pdb": ("kubernetes:policy/v1:PodDisruptionBudget", _pdb("kong", "c")),
        "kong-hpa": ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", _hpa("kong", "c")),
        "rt": ("kubernetes:apps/v1:Deployment", rt),
        "rt-svc": ("kubernetes:core/v1:Service", _service("rt", "d")),
        "rt-pdb": ("kubernetes:policy/v1:PodDisruptionBudget", _pdb("rt", "d")),
        "rt-hpa": ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", _hpa("rt", "d")),
        **{
            f"{tier}-alert": ("gcp:monitoring/alertPolicy:AlertPolicy", _alert(tier))
            for tier in "abcd"
        },
    }


Mutation = Callable[[dict[str, tuple[str, dict[str, Any]]]], object]
"""Changes the baseline in place."""


def urn(name: str, type_token: str) -> str:
    """The URN of a baseline resource."""
    return f"{STACK}{type_token}::{name}"


def inputs(mutate: Mutation | None = None) -> list[ResourceInput]:
    """The baseline (mutated) as ResourceInputs."""
    res = copy.deepcopy(resources())
    if mutate is not None:
        mutate(res)
    return [ResourceInput(urn(n, t), t, n, props) for n, (t, props) in res.items()]


def props(res: dict[str, tuple[str, dict[str, Any]]], name: str) -> dict[str, Any]:
    """The props of one baseline resource (to mutate)."""
    return res[name][1]


def container(res: dict[str, tuple[str, dict[str, Any]]], name: str) -> dict[str, Any]:
    """The first container of a baseline Deployment."""
    first: dict[str, Any] = props(res, name)["spec"]["template"]["spec"]["containers"][0]
    return first
