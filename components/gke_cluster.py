"""The GKE platform that carries tiers C and D: a regional private cluster and its node pools.

Owns the regional VPC-native cluster (default node pool removed, private nodes, Workload
Identity, shielded nodes, Dataplane V2 so NetworkPolicies are enforced, Binary Authorization,
intranode visibility, no client certificate, a maintenance window GKE accepts), one separately
managed node pool per `ClusterConfig.node_pools` that upgrades without losing capacity (SURGE
with max_unavailable 0, or BLUE_GREEN with a soak) and honours PDBs even when the pool is
deleted, a dedicated least-privilege node service account, and a Kubernetes provider for the
workloads built from the cluster's outputs.

Nothing here may force a node pool replacement by accident: pools are auto-named (a forced
replacement creates the new pool before deleting the old one), set no `initial_node_count`
and no `version` (auto-upgrade owns it), and the cluster ignores the default pool's fields that
GKE rewrites after creation.

Deliberately not managed here: the VPC, subnet and its secondary ranges (the network component
passes their names), Cloud NAT, the workloads, and maintenance exclusions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from hitless.components.config import (
    ClusterConfig,
    MaintenanceWindowConfig,
    NodePoolConfig,
    PlatformConfig,
    UpgradeStrategy,
)
from hitless_policy import identity
from hitless_policy.identity import Tier

TYPE = "hitless:gke:GkeCluster"
"""Type token of the component."""

MAINTENANCE_ANCHOR = dt.date(2024, 1, 1)
"""Fixed past date the recurring window is anchored on (GKE uses only its time of day)."""

NODE_OAUTH_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
"""Nodes get the broad scope; IAM on the dedicated service account decides what they may do."""

NODE_SERVICE_ACCOUNT_ROLES = (
    "roles/container.defaultNodeServiceAccount",
    "roles/artifactregistry.reader",
)
"""Roles of the node service account: logs, metrics, and pulling the runtime's image."""

CLUSTER_IGNORED_FIELDS = ["nodeConfig", "initialNodeCount"]
"""Cluster fields of the removed default pool: GKE rewrites them and a diff would replace the
cluster."""


@dataclass(frozen=True)
class GkeClusterArgs:
    """Inputs of `GkeCluster`."""

    config: ClusterConfig
    """The cluster's config (`hitless:cluster`)."""
    platform: PlatformConfig
    """Region, zones, network ranges and extra labels."""
    network: pulumi.Input[str]
    """Self link or id of the VPC."""
    subnetwork: pulumi.Input[str]
    """Self link or id of the GKE subnet (nodes; Kong's internal LB address lives in it)."""
    pods_range_name: str
    """Name of the subnet's secondary range for pods."""
    services_range_name: str
    """Name of the subnet's secondary range for Services."""
    upgrade_timeout_seconds: Mapping[str, int]
    """Per pool name: how long `pulumi up` awaits the pool's upgrade (`rollout_awaits()`)."""


def maintenance_window(
    window: MaintenanceWindowConfig,
) -> gcp.container.ClusterMaintenancePolicyRecurringWindowArgs:
    """The recurring window as GKE wants it: RFC3339 UTC start/end and an RRULE.

    Start and end sit on a fixed past date (GKE returns UTC values; anything else diffs forever);
    the end is start + duration, possibly on the next day. `days=None` recurs daily.
    """
    hour, minute = (int(part) for part in window.start_time_utc.split(":"))
    start = dt.datetime.combine(MAINTENANCE_ANCHOR, dt.time(hour, minute), tzinfo=dt.UTC)
    end = start + dt.timedelta(hours=window.duration_hours)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    if window.days is None:
        recurrence = "FREQ=DAILY"
    else:
        recurrence = "FREQ=WEEKLY;BYDAY=" + ",".join(day.value for day in window.days)
    return gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(
        start_time=start.strftime(fmt), end_time=end.strftime(fmt), recurrence=recurrence
    )


def upgrade_settings(pool: NodePoolConfig) -> gcp.container.NodePoolUpgradeSettingsArgs:
    """How a pool upgrades: new nodes before old ones go (SURGE), or a soaked BLUE_GREEN."""
    if pool.strategy is UpgradeStrategy.SURGE:
        return gcp.container.NodePoolUpgradeSettingsArgs(
            strategy="SURGE", max_surge=pool.max_surge, max_unavailable=pool.max_unavailable
        )
    bg = gcp.container
    return bg.NodePoolUpgradeSettingsArgs(
        strategy="BLUE_GREEN",
        blue_green_settings=bg.NodePoolUpgradeSettingsBlueGreenSettingsArgs(
            node_pool_soak_duration=pool.node_pool_soak_duration,
            standard_rollout_policy=bg.NodePoolUpgradeSettingsBlueGreenSettingsStandardRolloutPolicyArgs(
                batch_node_count=pool.batch_node_count,
                batch_soak_duration=pool.batch_soak_duration,
            ),
        ),
    )


def node_account_id(name: str) -> str:
    """A service account id (6-30 chars, `[a-z][-a-z0-9]*[a-z0-9]`) derived from `name`."""
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"gke-{slug}"
    base = slug[: 30 - len("-nodes")].rstrip("-")
    return f"{base}-nodes".ljust(6, "x")


def node_account_email(account_id: str, project: str) -> str:
    """The email GCP gives the service account `account_id` in `project`."""
    return f"{account_id}@{project}.iam.gserviceaccount.com"


def kubeconfig(cluster_name: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig that authenticates with `gke-gcloud-auth-plugin` (no static credentials)."""
    return "\n".join(
        [
            "apiVersion: v1",
            "kind: Config",
            f"current-context: {cluster_name}",
            "clusters:",
            f"- name: {cluster_name}",
            "  cluster:",
            f"    server: https://{endpoint}",
            f"    certificate-authority-data: {ca_certificate}",
            "contexts:",
            f"- name: {cluster_name}",
            "  context:",
            f"    cluster: {cluster_name}",
            f"    user: {cluster_name}",
            "users:",
            f"- name: {cluster_name}",
            "  user:",
            "    exec:",
            "      apiVersion: client.authentication.k8s.io/v1beta1",
            "      command: gke-gcloud-auth-plugin",
            "      installHint: Install gke-gcloud-auth-plugin (gcloud components install "
            "gke-gcloud-auth-plugin).",
            "      provideClusterInfo: true",
            "",
        ]
    )


class GkeCluster(pulumi.ComponentResource):
    """A regional private GKE cluster whose node pools upgrade without losing capacity."""

    cluster_name: pulumi.Output[str]
    """The cluster's name."""
    endpoint: pulumi.Output[str]
    """The control plane's endpoint IP."""
    location: pulumi.Output[str]
    """The cluster's region."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig of the cluster (exec auth, no credential inside): the provider's, for other
    stacks that deploy onto the cluster."""
    provider: k8s.Provider
    """Kubernetes provider for the workloads (exec auth through gke-gcloud-auth-plugin)."""

    def __init__(
        self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self._project = pulumi.Config("gcp").require("project")
        self._account = self._create_node_account(name)
        self._cluster = self._create_cluster(name, args)
        for pool in args.config.node_pools:
            self._create_node_pool(name, pool, args)
        self.cluster_name = self._cluster.name
        self.endpoint = self._cluster.endpoint
        self.location = self._cluster.location.apply(lambda loc: loc or args.platform.region)
        self.provider = self._create_provider(name)
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "location": self.location,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _create_node_account(self, name: str) -> gcp.serviceaccount.Account:
        """The nodes' dedicated service account, with only the roles nodes need."""
        account = gcp.serviceaccount.Account(
            f"{name}-nodes",
            account_id=node_account_id(name),
            display_name=f"GKE nodes of {name}",
            project=self._project,
            opts=pulumi.ResourceOptions(parent=self),
        )
        member = account.email.apply(lambda email: f"serviceAccount:{email}")
        for role in NODE_SERVICE_ACCOUNT_ROLES:
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.removeprefix('roles/').replace('.', '-').lower()}",
                project=self._project,
                role=role,
                member=member,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return account

    def _create_cluster(self, name: str, args: GkeClusterArgs) -> gcp.container.Cluster:
        """The regional cluster, without its default node pool."""
        cfg, platform = args.config, args.platform
        return gcp.container.Cluster(
            f"{name}-cluster",
            project=self._project,
            location=platform.region,
            node_locations=list(platform.zones),
            network=args.network,
            subnetwork=args.subnetwork,
            networking_mode="VPC_NATIVE",
            # Node pools are separate resources: changing an inline pool replaces the cluster.
            remove_default_node_pool=True,
            initial_node_count=1,
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=cfg.release_channel),
            min_master_version=cfg.kubernetes_version,
            # Dataplane V2 enforces the runtime's NetworkPolicy (no Calico add-on needed).
            datapath_provider="ADVANCED_DATAPATH",
            # Kong's internal LoadBalancer Service gets GCE_VM_IP NEGs of only the nodes with a
            # serving pod (GKE subsetting); `kong quit --wait` covers that LB's lag
            # (profile.kong_lb_propagation_seconds, rule deployment-prestop-covers-propagation).
            enable_l4_ilb_subsetting=True,
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=False,
                master_ipv4_cidr_block=str(platform.network.gke_master_cidr),
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                        cidr_block=str(cidr), display_name=f"authorized-{index}"
                    )
                    for index, cidr in enumerate(cfg.master_authorized_cidrs)
                ],
                gcp_public_cidrs_access_enabled=False,
            ),
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=args.pods_range_name,
                services_secondary_range_name=args.services_range_name,
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=f"{self._project}.svc.id.goog"
            ),
            enable_shielded_nodes=True,
            # Arguments as in pulumi_gcp.container.ClusterBinaryAuthorizationArgs
            # (`evaluation_mode` DISABLED | PROJECT_SINGLETON_POLICY_ENFORCE; `enabled` is
            # deprecated in its favour): only images the project's policy admits run.
            binary_authorization=gcp.container.ClusterBinaryAuthorizationArgs(
                evaluation_mode=cfg.binary_authorization_mode
            ),
            # Pod-to-pod traffic on one node goes through the VPC, so flow logs and firewall
            # rules see it too (`enable_intranode_visibility`).
            enable_intranode_visibility=True,
            # No client certificate (a static credential that cannot be revoked); said
            # explicitly (ClusterMasterAuthClientCertificateConfigArgs.issue_client_certificate).
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                    issue_client_certificate=False
                )
            ),
            deletion_protection=cfg.deletion_protection,
            maintenance_policy=gcp.container.ClusterMaintenancePolicyArgs(
                recurring_window=maintenance_window(cfg.maintenance)
            ),
            resource_labels={
                **platform.labels,
                **identity.gcp_labels(platform.chain, Tier.GKE, "cluster"),
            },
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=CLUSTER_IGNORED_FIELDS),
        )

    def _create_node_pool(
        self, name: str, pool: NodePoolConfig, args: GkeClusterArgs
    ) -> gcp.container.NodePool:
        """One node pool: autoscaled per zone, auto-repaired and auto-upgraded, hitlessly."""
        platform = args.platform
        return gcp.container.NodePool(
            f"{name}-{pool.name}",
            project=self._project,
            cluster=self._cluster.name,
            location=platform.region,
            node_locations=list(platform.zones),
            # Per zone: a regional pool multiplies these by the number of zones.
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                min_node_count=pool.min_nodes_per_zone,
                max_node_count=pool.max_nodes_per_zone,
                location_policy="BALANCED",
            ),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            upgrade_settings=upgrade_settings(pool),
            # Even a pool deletion (or a forced replacement) drains through the PDBs.
            node_drain_configs=[
                gcp.container.NodePoolNodeDrainConfigArgs(
                    respect_pdb_during_node_pool_deletion=True
                )
            ],
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=pool.machine_type,
                disk_size_gb=pool.disk_size_gb,
                disk_type=pool.disk_type,
                spot=pool.spot,
                # The email is derived, not read back, so it is known in a preview.
                service_account=node_account_email(node_account_id(name), self._project),
                oauth_scopes=NODE_OAUTH_SCOPES,
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"
                ),
                resource_labels={
                    **platform.labels,
                    **identity.gcp_labels(platform.chain, Tier.GKE, "node-pool"),
                },
            ),
            # An update that replaces nodes is one GKE operation the provider awaits, 30 min by
            # default (terraform-provider-google resource_container_node_pool.go: Update
            # DefaultTimeout(30 * time.Minute)); sized from the upgrade's worst case (rule
            # node-pool-timeout-covers-upgrade). A deletion drains every node through the PDBs.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self._account],
                custom_timeouts=pulumi.CustomTimeouts(
                    update=f"{args.upgrade_timeout_seconds[pool.name]}s",
                    delete=f"{args.upgrade_timeout_seconds[pool.name]}s",
                ),
            ),
        )

    def _create_provider(self, name: str) -> k8s.Provider:
        """The Kubernetes provider, from a kubeconfig built from the cluster's outputs."""
        config = pulumi.Output.all(
            self._cluster.name,
            self._cluster.endpoint,
            self._cluster.master_auth.cluster_ca_certificate,
        ).apply(lambda values: kubeconfig(str(values[0]), str(values[1]), str(values[2])))
        self.kubeconfig = config
        return k8s.Provider(
            f"{name}-k8s",
            kubeconfig=config,
            opts=pulumi.ResourceOptions(parent=self),
        )
