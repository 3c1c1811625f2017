"""GkeCluster: the regional private cluster and node pools that upgrade without losing capacity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from hitless.components.config import NodePoolConfig, StackConfig, UpgradeStrategy, Weekday
from hitless.components.gke_cluster import (
    TYPE,
    GkeCluster,
    GkeClusterArgs,
    maintenance_window,
    node_account_id,
)
from hitless.harness import Capture
from hitless_policy import identity

Runner = Callable[..., Capture]

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
ACCOUNT = "gcp:serviceaccount/account:Account"
K8S_PROVIDER = "pulumi:providers:kubernetes"


def cluster_program(cfg: StackConfig, name: str = "gke") -> Callable[[], None]:
    def program() -> None:
        GkeCluster(
            name,
            GkeClusterArgs(
                config=cfg.cluster,
                platform=cfg.platform,
                network="projects/p/global/networks/chain",
                subnetwork="projects/p/regions/europe-west1/subnetworks/gke",
                pods_range_name="gke-pods",
                services_range_name="gke-services",
                upgrade_timeout_seconds={
                    pool.name: cfg.await_timeout(f"cluster.node_pools.{pool.name}")
                    for pool in cfg.cluster.node_pools
                },
            ),
        )

    return program


def with_pools(cfg: StackConfig, *pools: NodePoolConfig) -> StackConfig:
    return cfg.model_copy(
        update={"cluster": cfg.cluster.model_copy(update={"node_pools": list(pools)})}
    )


@pytest.fixture
def prod(capture: Runner, prod_config: StackConfig) -> Capture:
    return capture(cluster_program(prod_config), stack="prod")


@pytest.fixture
def dev(capture: Runner, dev_config: StackConfig) -> Capture:
    return capture(cluster_program(dev_config), stack="dev")


class TestChildrenParentedAndNamed:
    """Every child is parented to the component and named after it."""

    def test_children(self, prod: Capture) -> None:
        component = prod.only(TYPE)
        children = [r for r in prod.resources if r.urn != component.urn]
        assert children
        for res in children:
            assert res.parent == component.urn, res.urn
            assert f"{TYPE}$" in res.urn, res.urn
            assert res.name.startswith("gke-"), res.urn

    def test_pool_names(self, capture: Runner, dev_config: StackConfig) -> None:
        cfg = with_pools(dev_config, NodePoolConfig(name="serving"), NodePoolConfig(name="batch"))
        cap = capture(cluster_program(cfg, name="plat"), stack="dev")
        assert sorted(r.name for r in cap.of_type(NODE_POOL)) == ["plat-batch", "plat-serving"]
        for pool in cap.of_type(NODE_POOL):
            # Auto-named: a forced replacement creates the new pool before deleting the old.
            assert "name" not in pool.props, pool.urn


class TestRegisteredOutputs:
    """Real outputs and a Kubernetes provider authenticated through gke-gcloud-auth-plugin."""

    def test_outputs(self, prod: Capture) -> None:
        component = prod.only(TYPE)
        kubeconfig = component.outputs.pop("kubeconfig")
        assert component.outputs == {
            "cluster_name": "gke-cluster",
            "endpoint": "172.16.0.2",
            "location": "europe-west1",
        }, component.urn
        # The provider's own kubeconfig, for stacks that deploy onto the cluster.
        assert kubeconfig == prod.only(K8S_PROVIDER).props["kubeconfig"], component.urn

    def test_provider(self, prod: Capture) -> None:
        provider = prod.only(K8S_PROVIDER)
        kubeconfig = provider.props["kubeconfig"]
        assert "server: https://172.16.0.2" in kubeconfig, provider.urn
        assert "command: gke-gcloud-auth-plugin" in kubeconfig, provider.urn
        assert "certificate-authority-data: LS0t" in kubeconfig, provider.urn


class TestRegionalPrivateCluster:
    """Regional (control plane survives a zone), private nodes, VPC-native with the given
    ranges, no default pool (inline pools replace the cluster when changed)."""

    def test_cluster(self, prod: Capture, prod_config: StackConfig) -> None:
        cluster = prod.only(CLUSTER)
        p = cluster.props
        assert p["location"] == prod_config.platform.region, cluster.urn
        assert p["nodeLocations"] == prod_config.platform.zones, cluster.urn
        assert p["removeDefaultNodePool"] is True, cluster.urn
        assert p["initialNodeCount"] == 1, cluster.urn
        assert p["releaseChannel"] == {"channel": "REGULAR"}, cluster.urn
        assert p["minMasterVersion"] == prod_config.cluster.kubernetes_version, cluster.urn
        assert p["privateClusterConfig"]["enablePrivateNodes"] is True, cluster.urn
        assert p["privateClusterConfig"]["masterIpv4CidrBlock"] == "172.16.0.0/28", cluster.urn
        assert p["ipAllocationPolicy"] == {
            "clusterSecondaryRangeName": "gke-pods",
            "servicesSecondaryRangeName": "gke-services",
        }, cluster.urn
        assert p["networkingMode"] == "VPC_NATIVE", cluster.urn
        assert p["deletionProtection"] is True, cluster.urn
        assert p["datapathProvider"] == "ADVANCED_DATAPATH", cluster.urn

    def test_dev_deletion_protection_off(self, dev: Capture) -> None:
        cluster = dev.only(CLUSTER)
        assert cluster.props["deletionProtection"] is False, cluster.urn

    def test_authorized_networks(self, capture: Runner, dev_config: StackConfig) -> None:
        cfg = dev_config.model_copy(
            update={
                "cluster": dev_config.cluster.model_copy(
                    update={"master_authorized_cidrs": ["203.0.113.0/24"]}
                )
            }
        )
        cluster = capture(cluster_program(cfg), stack="dev").only(CLUSTER)
        blocks = cluster.props["masterAuthorizedNetworksConfig"]["cidrBlocks"]
        assert [b["cidrBlock"] for b in blocks] == ["203.0.113.0/24"], cluster.urn


class TestWorkloadIdentityAndShieldedNodes:
    """Workload Identity (pods never see node credentials) and shielded nodes."""

    def test_cluster(self, prod: Capture) -> None:
        cluster = prod.only(CLUSTER)
        assert cluster.props["workloadIdentityConfig"] == {
            "workloadPool": "hitless-prod.svc.id.goog"
        }, cluster.urn
        assert cluster.props["enableShieldedNodes"] is True, cluster.urn

    def test_pool_nodes(self, prod: Capture) -> None:
        account = prod.only(ACCOUNT)
        for pool in prod.of_type(NODE_POOL):
            node = pool.props["nodeConfig"]
            assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}, pool.urn
            assert node["shieldedInstanceConfig"] == {
                "enableSecureBoot": True,
                "enableIntegrityMonitoring": True,
            }, pool.urn
            assert node["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
            assert node["serviceAccount"].startswith(account.props["accountId"] + "@"), pool.urn
            assert node["serviceAccount"].endswith("@hitless-prod.iam.gserviceaccount.com")


class TestIdentityLabels:
    """Cluster and node pools carry the GKE identity labels plus the platform's labels."""

    def test_labels(self, prod: Capture) -> None:
        cluster = prod.only(CLUSTER)
        assert cluster.props["resourceLabels"] == {
            "env": "prod",
            **identity.gcp_labels("main", identity.Tier.GKE, "cluster"),
        }, cluster.urn
        for pool in prod.of_type(NODE_POOL):
            assert pool.props["nodeConfig"]["resourceLabels"] == {
                "env": "prod",
                **identity.gcp_labels("main", identity.Tier.GKE, "node-pool"),
            }, pool.urn
            assert identity.identity_of(pool.props) is not None, pool.urn


class TestMaintenanceWindow:
    """GKE rejects a window with < 48 h per 32 days or blocks < 4 h; start/end in UTC on a fixed
    date so the value never diffs."""

    @staticmethod
    def _hours_per_32_days(start: str, end: str, recurrence: str) -> tuple[float, float]:
        begin = dt.datetime.fromisoformat(start)
        finish = dt.datetime.fromisoformat(end)
        block = (finish - begin).total_seconds() / 3600
        if recurrence == "FREQ=DAILY":
            return block, block * 32
        days = recurrence.removeprefix("FREQ=WEEKLY;BYDAY=").split(",")
        # Any 32 days hold every weekday at least 4 times.
        return block, block * 4 * len(days)

    def test_cluster_window(self, prod: Capture) -> None:
        cluster = prod.only(CLUSTER)
        window = cluster.props["maintenancePolicy"]["recurringWindow"]
        assert window["startTime"] == "2024-01-01T02:00:00Z", cluster.urn
        assert window["endTime"] == "2024-01-01T08:00:00Z", cluster.urn
        assert window["recurrence"] == "FREQ=WEEKLY;BYDAY=SA,SU", cluster.urn
        block, total = self._hours_per_32_days(
            window["startTime"], window["endTime"], window["recurrence"]
        )
        assert block >= 4, cluster.urn
        assert total >= 48, cluster.urn

    def test_daily_and_midnight(self, prod_config: StackConfig) -> None:
        cfg = prod_config.cluster.maintenance.model_copy(
            update={"days": None, "start_time_utc": "22:30", "duration_hours": 4}
        )
        window = maintenance_window(cfg)
        assert window.recurrence == "FREQ=DAILY"
        assert window.start_time == "2024-01-01T22:30:00Z"
        assert window.end_time == "2024-01-02T02:30:00Z"
        block, total = self._hours_per_32_days(
            window.start_time, window.end_time, window.recurrence
        )
        assert block >= 4
        assert total >= 48

    def test_weekdays(self, prod_config: StackConfig) -> None:
        cfg = prod_config.cluster.maintenance.model_copy(
            update={"days": [Weekday.MO, Weekday.WE, Weekday.FR]}
        )
        assert maintenance_window(cfg).recurrence == "FREQ=WEEKLY;BYDAY=MO,WE,FR"


class TestNodePoolUpgradesHitless:
    """SURGE adds a node before draining one (max_unavailable 0); BLUE_GREEN soaks before the old
    pool is deleted. Either way capacity never drops."""

    def test_surge(self, prod: Capture) -> None:
        pool = prod.only(NODE_POOL)
        assert pool.props["upgradeSettings"] == {
            "strategy": "SURGE",
            "maxSurge": 1,
            "maxUnavailable": 0,
        }, pool.urn

    def test_blue_green(self, capture: Runner, prod_config: StackConfig) -> None:
        bg = NodePoolConfig(
            name="serving",
            strategy=UpgradeStrategy.BLUE_GREEN,
            node_pool_soak_duration="3600s",
            batch_node_count=2,
            batch_soak_duration="300s",
        )
        pool = capture(cluster_program(with_pools(prod_config, bg)), stack="prod").only(NODE_POOL)
        assert pool.props["upgradeSettings"] == {
            "strategy": "BLUE_GREEN",
            "blueGreenSettings": {
                "nodePoolSoakDuration": "3600s",
                "standardRolloutPolicy": {"batchNodeCount": 2, "batchSoakDuration": "300s"},
            },
        }, pool.urn

    def test_management(self, prod: Capture) -> None:
        for pool in prod.of_type(NODE_POOL):
            assert pool.props["management"] == {"autoRepair": True, "autoUpgrade": True}


class TestNodePoolRespectsPdbOnDeletion:
    """Deleting (or replacing) a pool drains through PDBs instead of deleting every node."""

    def test_drain_config(self, prod: Capture) -> None:
        for pool in prod.of_type(NODE_POOL):
            assert pool.props["nodeDrainConfigs"] == [{"respectPdbDuringNodePoolDeletion": True}], (
                pool.urn
            )


class TestNoAccidentalPoolReplacement:
    """Fields that force a pool replacement are not set: initial_node_count (ForceNew) and
    version (fights auto-upgrade)."""

    def test_fields(self, prod: Capture, prod_config: StackConfig) -> None:
        for pool in prod.of_type(NODE_POOL):
            assert "initialNodeCount" not in pool.props, pool.urn
            assert "nodeCount" not in pool.props, pool.urn
            assert "version" not in pool.props, pool.urn
            assert pool.props["location"] == prod_config.platform.region, pool.urn
            assert pool.props["nodeLocations"] == prod_config.platform.zones, pool.urn

    def test_autoscaling_per_zone(self, prod: Capture, prod_config: StackConfig) -> None:
        cfg = prod_config.cluster.node_pools[0]
        pool = prod.only(NODE_POOL)
        scaling = pool.props["autoscaling"]
        assert scaling["minNodeCount"] == cfg.min_nodes_per_zone, pool.urn
        assert scaling["maxNodeCount"] == cfg.max_nodes_per_zone, pool.urn


class TestNodeServiceAccount:
    """A dedicated node service account with a valid, derived id."""

    @pytest.mark.parametrize("name", ["gke", "main-gke", "a" * 60, "9-cluster"])
    def test_account_id(self, name: str) -> None:
        account_id = node_account_id(name)
        assert 6 <= len(account_id) <= 30, account_id
        assert account_id[0].isalpha(), account_id
        assert account_id.replace("-", "").isalnum(), account_id
        assert not account_id.endswith("-"), account_id

    def test_account_created(self, prod: Capture) -> None:
        account = prod.only(ACCOUNT)
        assert account.props["accountId"] == node_account_id("gke"), account.urn
        roles = sorted(r.props["role"] for r in prod.of_type("gcp:projects/iAMMember:IAMMember"))
        assert roles == [
            "roles/artifactregistry.reader",
            "roles/container.defaultNodeServiceAccount",
        ]


class TestPreview:
    """A preview of a brand-new stack registers the same resources without crashing."""

    def test_same_resources(self, capture: Runner, prod_config: StackConfig, prod: Capture) -> None:
        preview = capture(cluster_program(prod_config), stack="prod", preview=True)
        assert sorted((r.type, r.name) for r in preview.resources) == sorted(
            (r.type, r.name) for r in prod.resources
        )
        pool = preview.only(NODE_POOL)
        assert pool.props["upgradeSettings"]["maxUnavailable"] == 0, pool.urn
