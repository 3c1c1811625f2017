"""A hand-written secure stack as wire-form props (every security rule passes), to mutate.

One resource of each kind a security rule reads: an instance template, two firewalls, the edge
load balancer's proxies, URL maps and SSL policy, a GKE cluster and node pool, Kong's and the
runtime's Deployments with their NetworkPolicies, a ConfigMap and the pulumi-kong provider.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from hitless_policy.extract import ResourceInput

STACK = "urn:pulumi:dev::hitless::"
"""URN prefix."""
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""Pulumi's unknown sentinel (a preview unknown)."""

Resources = dict[str, tuple[str, dict[str, Any]]]
"""Logical name -> (type token, props)."""
Mutation = Callable[[Resources], object]
"""Changes the fixture in place."""

DESC = "[hitless chain=main tier=a role={role}] test"
"""Identity description of the edge LB's resources."""


def _restricted() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _container(name: str, image: str, env: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "ports": [{"containerPort": 8000}],
        "env": env,
        "securityContext": _restricted(),
        "resources": {
            "requests": {"cpu": "500m", "memory": "512Mi"},
            "limits": {"memory": "1Gi"},
        },
    }


def _deployment(name: str, namespace: str, container: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "securityContext": {"runAsNonRoot": True},
                    "containers": [container],
                },
            },
        },
    }


def _policy(name: str, namespace: str, app: str, types: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": types},
    }


DIGEST = "sha256:" + "0" * 64
"""A digest the fixture's images are pinned to."""


def resources() -> Resources:
    """A fresh copy of the secure stack."""
    return copy.deepcopy(
        {
            "template": (
                "gcp:compute/instanceTemplate:InstanceTemplate",
                {
                    "networkInterfaces": [{"subnetwork": "projects/p/regions/r/subnetworks/a"}],
                    "serviceAccount": {
                        "email": "main-a-nginx@p.iam.gserviceaccount.com",
                        "scopes": ["cloud-platform"],
                    },
                    "shieldedInstanceConfig": {
                        "enableSecureBoot": True,
                        "enableVtpm": True,
                        "enableIntegrityMonitoring": True,
                    },
                    "metadata": {"enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE"},
                },
            ),
            "fw-serve": (
                "gcp:compute/firewall:Firewall",
                {
                    "direction": "INGRESS",
                    "allows": [{"protocol": "tcp", "ports": ["80"]}],
                    "sourceRanges": ["35.191.0.0/16", "130.211.0.0/22"],
                },
            ),
            "fw-from-a": (
                "gcp:compute/firewall:Firewall",
                {
                    "direction": "INGRESS",
                    "allows": [{"protocol": "tcp", "ports": ["80"]}],
                    "sourceRanges": ["10.10.0.0/24"],
                },
            ),
            "ssl-policy": (
                "gcp:compute/sSLPolicy:SSLPolicy",
                {
                    "minTlsVersion": "TLS_1_2",
                    "profile": "MODERN",
                    "description": DESC.format(role="ssl-policy"),
                },
            ),
            "url-map": (
                "gcp:compute/uRLMap:URLMap",
                {"defaultService": "backend", "description": DESC.format(role="url-map")},
            ),
            "redirect": (
                "gcp:compute/uRLMap:URLMap",
                {
                    "defaultUrlRedirect": {"httpsRedirect": True, "stripQuery": False},
                    "description": DESC.format(role="url-map"),
                },
            ),
            "https-proxy": (
                "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
                {
                    "urlMap": "url-map",
                    "sslPolicy": "projects/p/global/sslPolicies/ssl-policy",
                    "description": DESC.format(role="https-proxy"),
                },
            ),
            "http-proxy": (
                "gcp:compute/targetHttpProxy:TargetHttpProxy",
                {"urlMap": "redirect", "description": DESC.format(role="http-proxy")},
            ),
            "cluster": (
                "gcp:container/cluster:Cluster",
                {
                    "location": "europe-west1",
                    "privateClusterConfig": {"enablePrivateNodes": True},
                    "workloadIdentityConfig": {"workloadPool": "p.svc.id.goog"},
                    "enableShieldedNodes": True,
                    "binaryAuthorization": {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"},
                },
            ),
            "pool": (
                "gcp:container/nodePool:NodePool",
                {
                    "nodeConfig": {
                        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
                        "shieldedInstanceConfig": {
                            "enableSecureBoot": True,
                            "enableIntegrityMonitoring": True,
                        },
                    }
                },
            ),
            "kong": (
                "kubernetes:apps/v1:Deployment",
                _deployment(
                    "kong",
                    "kong",
                    _container(
                        "proxy",
                        f"kong@{DIGEST}",
                        [
                            {"name": "KONG_ADMIN_LISTEN", "value": "off"},
                            {"name": "KONG_CLUSTER_CERT_KEY", "value": "/etc/secrets/tls.key"},
                        ],
                    ),
                ),
            ),
            "rt": (
                "kubernetes:apps/v1:Deployment",
                _deployment(
                    "rt",
                    "rt",
                    _container(
                        "rt",
                        f"rt@{DIGEST}",
                        [
                            {
                                "name": "DB_PASSWORD",
                                "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}},
                            }
                        ],
                    ),
                ),
            ),
            "kong-ingress": (
                "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                _policy("kong-ingress", "kong", "kong", ["Ingress"]),
            ),
            "kong-egress": (
                "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                _policy("kong-egress", "kong", "kong", ["Egress"]),
            ),
            "rt-both": (
                "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                _policy("rt-both", "rt", "rt", ["Ingress", "Egress"]),
            ),
            "config": (
                "kubernetes:core/v1:ConfigMap",
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "config", "namespace": "kong"},
                    "data": {"kong.yml": "_format_version: '3.0'\n"},
                },
            ),
            "kong-admin": (
                "pulumi:providers:kong",
                {"kongAdminUri": "https://kong-cp.example.internal:8001"},
            ),
        }
    )


def urn(name: str, type_token: str) -> str:
    """The fixture's URN of a resource."""
    return f"{STACK}{type_token}::{name}"


def inputs(mutate: Mutation | None = None) -> list[ResourceInput]:
    """The (optionally mutated) stack as resource inputs."""
    res = resources()
    if mutate is not None:
        mutate(res)
    return [
        ResourceInput(urn(name, kind), kind, name, props) for name, (kind, props) in res.items()
    ]


def props(res: Resources, name: str) -> dict[str, Any]:
    """The props of one resource."""
    return res[name][1]


def container(res: Resources, name: str) -> dict[str, Any]:
    """The first container of a Deployment."""
    found: dict[str, Any] = props(res, name)["spec"]["template"]["spec"]["containers"][0]
    return found
