"""Every Kubernetes object the components register is valid against the real Kubernetes schema of
the cluster's version, strictly (an unknown or misspelt field is an error, not silently dropped).

The captured props of a `kubernetes:*` resource ARE the manifest (apiVersion, kind, metadata,
spec). Numbers cross Pulumi's wire as doubles, so integral floats are turned back into the
integers the provider sends to the API server before validating.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pulumi
import pytest
from kubernetes_validate.utils import all_versions

from hitless.components import kong as kong_component
from hitless.components.chain import kong_backends
from hitless.components.config import KongHybridConfig, StackConfig
from hitless.components.gke_cluster import GkeCluster, GkeClusterArgs
from hitless.components.kong import KongDataPlane, KongDataPlaneArgs
from hitless.components.runtime import RuntimeService, RuntimeServiceArgs
from hitless.harness import Capture

Runner = Callable[..., Capture]


def chain_program(cfg: StackConfig) -> Callable[[], None]:
    """The GKE tiers of a stack: the cluster, and Kong and the runtime on its provider."""

    def program() -> None:
        gke = GkeCluster(
            "gke",
            GkeClusterArgs(
                config=cfg.cluster,
                platform=cfg.platform,
                network="chain",
                subnetwork="gke",
                pods_range_name="gke-pods",
                services_range_name="gke-services",
                upgrade_timeout_seconds={
                    pool.name: cfg.await_timeout(f"cluster.node_pools.{pool.name}")
                    for pool in cfg.cluster.node_pools
                },
            ),
        )
        on_gke = pulumi.ResourceOptions(providers={"kubernetes": gke.provider})
        KongDataPlane(
            "kong",
            KongDataPlaneArgs(
                config=cfg.kong,
                platform=cfg.platform,
                cluster=cfg.cluster,
                runtimes=kong_backends(cfg),
                subnetwork="projects/p/regions/europe-west1/subnetworks/gke",
                await_timeout_seconds=cfg.await_timeout("kong"),
            ),
            opts=on_gke,
        )
        RuntimeService(
            "rt",
            RuntimeServiceArgs(
                config=cfg.runtimes[0],
                platform=cfg.platform,
                cluster=cfg.cluster,
                kong_namespace=cfg.kong.namespace,
                kong_pod_labels=kong_component.pod_labels(cfg.platform),
                await_timeout_seconds=cfg.await_timeout("runtimes.rt"),
            ),
            opts=on_gke,
        )

    return program


def as_sent(value: Any) -> Any:
    """Integral doubles back to ints, recursively (what the provider sends)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: as_sent(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_sent(item) for item in value]
    return value


def validate_all(cap: Capture, version: str) -> list[str]:
    """Validate every kubernetes:* resource; return the kinds validated."""
    kinds = []
    for res in cap.resources:
        if not res.type.startswith("kubernetes:"):
            continue
        manifest = as_sent(res.props)
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{res.urn}: invalid against Kubernetes {version}: {error}")
        kinds.append(manifest["kind"])
    return kinds


def schema_version(cfg: StackConfig) -> str:
    """The schema version matching the cluster's minimum control-plane version."""
    return f"{cfg.cluster.kubernetes_version}.0"


EXPECTED_KINDS = {
    "Namespace",
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "ConfigMap",
    "NetworkPolicy",
}


class TestSchemaVersionShipped:
    """The installed kubernetes-validate ships the cluster's version, so no newer schema is used
    silently in place of it."""

    def test_versions(self, stack_config: StackConfig) -> None:
        shipped = {v.rsplit(".", 1)[0] for v in all_versions()}
        assert stack_config.cluster.kubernetes_version in shipped


class TestStackManifestsValid:
    """Each checked-in stack's Kubernetes objects validate strictly against its cluster version."""

    def test_valid(self, capture: Runner, stack_name: str, stack_config: StackConfig) -> None:
        cap = capture(chain_program(stack_config), stack=stack_name)
        kinds = validate_all(cap, schema_version(stack_config))
        assert set(kinds) == EXPECTED_KINDS


class TestVariantManifestsValid:
    """The variants valid too: hybrid Kong (secret volume, cluster env), HTTP runtime, and a
    pre-1.30 cluster (exec preStop) against its own older schema."""

    def test_hybrid_http(self, capture: Runner, prod_config: StackConfig) -> None:
        hybrid = KongHybridConfig(
            admin_url="https://kong-cp.example.internal:8001",
            cluster_control_plane="kong-cp.kong-cp.svc.cluster.local:8005",
            cluster_telemetry_endpoint="kong-cp.kong-cp.svc.cluster.local:8006",
            cluster_cert_secret="kong-cluster-cert",  # noqa: S106 - a Secret's name
        )
        cfg = prod_config.model_copy(
            update={
                "kong": prod_config.kong.model_copy(update={"hybrid": hybrid}),
                "runtimes": [prod_config.runtimes[0].model_copy(update={"scheme": "HTTP"})],
            }
        )
        kinds = validate_all(capture(chain_program(cfg), stack="prod"), schema_version(cfg))
        assert "ConfigMap" not in kinds

    def test_old_cluster(self, capture: Runner, dev_config: StackConfig) -> None:
        cfg = dev_config.model_copy(
            update={"cluster": dev_config.cluster.model_copy(update={"kubernetes_version": "1.29"})}
        )
        kinds = validate_all(capture(chain_program(cfg), stack="dev"), "1.29.0")
        assert set(kinds) == EXPECTED_KINDS

    def test_invalid_is_caught(self) -> None:
        """The validator is strict: a misspelt field fails (guards against a vacuous test)."""
        manifest = {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "x"},
            "spec": {"maxUnavailabel": 1},
        }
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(manifest, "1.33.0", strict=True)
