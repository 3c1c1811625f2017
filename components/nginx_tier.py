"""One nginx tier (A or B) as a regional managed instance group that rolls without dropping load.

Owns, per tier: a dedicated service account (log and metric writer only); the instance template
(auto-named from a prefix, so a change creates the new template before the old one is deleted;
Shielded VM; no external IP; the rendered nginx.conf, the startup and shutdown scripts, OS Login
and `block-project-ssh-keys` in its metadata; identity labels; a network tag); the regional MIG
(proactive SUBSTITUTE rollout with surge and no unavailability, `min_ready_sec`, named ports,
autohealing with its own slower health check); and the two ingress firewall rules of the tier:
the serving port from `firewall_sources` only, and the health port from Google's health-check
ranges only.

Deliberately not here: the nginx.conf text (`nginx_conf`, passed in as a plain string so it is
known at preview), the scripts' text (`gce_scripts`), the load balancer in front of the group
and its own health check (`edge_lb`, `internal_lb`), the VPC and NAT (`network`), SSH access
(none is opened: OS Login is enabled for IAP or serial-console use by the operator), and
autoscaling (a fixed `target_size`; an autoscaler would fight the surge arithmetic).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from hitless.components import gce_scripts
from hitless.components.config import (
    MIG_MAX_UNAVAILABLE_FIXED,
    HealthCheckConfig,
    MigConfig,
    PlatformConfig,
)
from hitless.components.nginx_conf import HEALTH_PATH, worker_shutdown_timeout_seconds
from hitless_policy import addresses, identity
from hitless_policy.identity import Tier

TYPE = "hitless:gce:NginxMigTier"
"""Type token of the component."""

SERVICE_ACCOUNT_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")
"""Project roles of each tier's service account: it writes logs and metrics, nothing else."""
HEALTH_PORT_NAME = "health"
"""Named port of the `/healthz` server."""
DISK_TYPE = "pd-balanced"
"""Boot disk type of the instances."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def _bounded(text: str, limit: int) -> str:
    """`text` slugified, cut to `limit` with a hash suffix when longer (stays unique)."""
    slug = _slug(text)
    if len(slug) <= limit:
        return slug
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{slug[: limit - 9].rstrip('-')}-{digest}"


def service_account_id(name: str) -> str:
    """Account id of the tier's service account: 6-30 chars, starts with a letter."""
    account = _bounded(f"{name}-nginx", 30)
    return account if account[0].isalpha() else _bounded(f"sa-{account}", 30)


def service_account_email(account_id: str, project: str) -> str:
    """The email GCP gives the service account `account_id` in `project`."""
    return f"{account_id}@{project}.iam.gserviceaccount.com"


def network_tag(name: str) -> str:
    """Network tag the tier's firewall rules target (RFC 1035, at most 63 chars)."""
    tag = _bounded(f"{name}-nginx", 63)
    return tag if tag[0].isalpha() else _bounded(f"t-{tag}", 63)


def base_instance_name(name: str) -> str:
    """Base of the MIG's instance names (the MIG appends `-xxxx`; at most 58 chars)."""
    base = _bounded(name, 54)
    return base if base[0].isalpha() else _bounded(f"vm-{base}", 54)


def serving_port_name(tier: Tier) -> str:
    """Named port of the serving port: `http` for A (the external LB's port_name), else `tcp`."""
    return "http" if tier is Tier.A else "tcp"


def check_sources(field: str, sources: Sequence[str]) -> list[str]:
    """Validate firewall source ranges: non-empty, valid CIDRs, no public space but Google's.

    The ranges are judged as one set of addresses (`hitless_policy.addresses`), not as strings:
    `[0.0.0.0/1, 128.0.0.0/1]` is the whole internet as surely as `0.0.0.0/0`. Admitted may be
    private ranges (the previous tier's subnet) and Google's front-end and health-check ranges.
    """
    if not sources:
        raise ValueError(
            f"{field} is empty: the firewall rule would admit nothing and the tier never serves. "
            "Fix: list the CIDRs that must reach it."
        )
    try:
        networks = addresses.parse_ranges(sources)
    except ValueError as error:
        raise ValueError(f"{field}: {error}. Fix: use a range such as '10.10.0.0/24'.") from None
    everything = addresses.whole_internet(networks)
    if everything:
        raise ValueError(
            f"{field} = {list(sources)} admits the whole internet (together the ranges cover "
            f"every {'/'.join(everything)} address) to an instance that only its load balancer or "
            "the previous tier may reach. Fix: list the exact source ranges."
        )
    public = addresses.public_outside(networks)
    if public:
        raise ValueError(
            f"{field} = {list(sources)} admits {addresses.describe(public)} of public address "
            "space outside Google's front-end and health-check ranges: clients could bypass the "
            "load balancer and its drain. Fix: admit only the previous tier's private range and "
            "Google's ranges."
        )
    return [str(network) for network in networks]


@dataclass(frozen=True)
class NginxMigTierArgs:
    """Inputs of `NginxMigTier`."""

    tier: Tier
    """Which tier this is: `Tier.A` (nginx L7) or `Tier.B` (nginx L4)."""
    platform: PlatformConfig
    """Chain name, region, zones and extra labels."""
    mig: MigConfig
    """Machine, image, group size, rollout and health-check timings."""
    nginx_conf: str
    """The rendered nginx.conf (`render_edge_conf` / `render_relay_conf`), a plain string."""
    network: pulumi.Input[str]
    """Self link of the VPC."""
    subnetwork: pulumi.Input[str]
    """Self link of the tier's subnet."""
    listen_port: int
    """The port nginx serves on (A: the LB's backend port; B: the ILB's forwarded port)."""
    firewall_sources: list[str]
    """CIDRs admitted to `listen_port`: A: the LB's ranges; B: A's subnet."""
    health_check_sources: list[str]
    """CIDRs admitted to the health port: Google's health checkers."""
    stream_module: bool
    """Install Debian's stream module (B's conf loads it)."""
    await_timeout_seconds: int
    """How long `pulumi up` awaits the rolling update (`StackConfig.rollout_awaits()`)."""


def mig_name(name: str) -> str:
    """Logical name of the instance group manager of the tier called `name`.

    Pulumi suffixes it; the instance group carries the manager's name.
    """
    return f"{name}-mig"


class NginxMigTier(pulumi.ComponentResource):
    """A regional MIG of nginx instances for tier A or B, with its firewall and identity."""

    instance_group: pulumi.Output[str]
    """URL of the MIG's instance group, the backend `group` of the tier's load balancer."""
    mig_self_link: pulumi.Output[str]
    """Self link of the regional instance group manager."""
    service_account_email: pulumi.Output[str]
    """Email of the instances' service account."""
    template_self_link: pulumi.Output[str]
    """Unique self link of the current instance template (changes with every template)."""

    def __init__(
        self, name: str, args: NginxMigTierArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        if args.tier not in (Tier.A, Tier.B):
            raise ValueError(
                f"tier {args.tier.value!r}: NginxMigTier runs tier A or B only. Fix: pass Tier.A "
                "or Tier.B."
            )
        firewall_sources = check_sources("firewall_sources", args.firewall_sources)
        health_sources = check_sources("health_check_sources", args.health_check_sources)
        self._chain = args.platform.chain
        self._tier = args.tier

        account = self._create_service_account(name)
        template = self._create_template(name, args, account)
        autohealing = self._create_health_check(
            f"{name}-autohealing-hc",
            args.mig.autohealing_health_check,
            args.mig.health_port,
            "autohealing-health-check",
            "Autohealing: slower than the LB's check, so a busy instance is not recreated.",
        )
        mig = self._create_mig(name, args, template, autohealing)
        self._create_firewall(
            f"{name}-fw-serve",
            network=args.network,
            port=args.listen_port,
            sources=firewall_sources,
            name=name,
            role="firewall-serve",
            text=f"Serving port {args.listen_port} from the previous hop only.",
        )
        self._create_firewall(
            f"{name}-fw-health",
            network=args.network,
            port=args.mig.health_port,
            sources=health_sources,
            name=name,
            role="firewall-health",
            text=f"Health port {args.mig.health_port} from Google's health checkers only.",
        )

        self.instance_group = mig.instance_group
        self.mig_self_link = mig.self_link
        self.service_account_email = account.email
        self.template_self_link = template.self_link_unique
        self.register_outputs(
            {
                "instanceGroup": self.instance_group,
                "migSelfLink": self.mig_self_link,
                "serviceAccountEmail": self.service_account_email,
                "templateSelfLink": self.template_self_link,
            }
        )

    def _description(self, role: str, text: str) -> str:
        return identity.gcp_description(self._chain, self._tier, role, text)

    def _create_service_account(self, name: str) -> gcp.serviceaccount.Account:
        account = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=service_account_id(name),
            display_name=f"hitless {self._chain} tier {self._tier.value} nginx",
            description=self._description("service-account", "Identity of the nginx instances."),
            opts=pulumi.ResourceOptions(parent=self),
        )
        member = account.email.apply(lambda email: f"serviceAccount:{email}")
        for role in SERVICE_ACCOUNT_ROLES:
            short = role.split("/", 1)[1].split(".", 1)[0]
            gcp.projects.IAMMember(
                f"{name}-sa-{short}",
                # The account's own project: where it writes logs and metrics.
                project=account.project,
                role=role,
                member=member,
                opts=pulumi.ResourceOptions(parent=account),
            )
        return account

    def _create_template(
        self, name: str, args: NginxMigTierArgs, account: gcp.serviceaccount.Account
    ) -> gcp.compute.InstanceTemplate:
        mig = args.mig
        wst = worker_shutdown_timeout_seconds(args.nginx_conf)
        metadata = {
            identity.NGINX_CONF_METADATA_KEY: args.nginx_conf,
            "startup-script": gce_scripts.startup_script(
                stream_module=args.stream_module, worker_shutdown_timeout_seconds=wst
            ),
            "shutdown-script": gce_scripts.shutdown_script(
                drain_wait_seconds=gce_scripts.drain_wait_seconds(mig.lb_health_check),
                worker_shutdown_timeout_seconds=wst,
            ),
            "enable-oslogin": "TRUE",
            # Only OS Login grants SSH: project-wide keys in project metadata are not honoured
            # on these instances (rule vm-shielded-os-login).
            "block-project-ssh-keys": "TRUE",
        }
        return gcp.compute.InstanceTemplate(
            f"{name}-template",
            # No fixed name: a prefix lets every change create a new template (the engine creates
            # the replacement before it deletes the old one, which the MIG still references).
            name_prefix=f"{_bounded(name, 36)}-",
            description=self._description("instance-template", "nginx instance template."),
            machine_type=mig.machine_type,
            region=args.platform.region,
            disks=[
                gcp.compute.InstanceTemplateDiskArgs(
                    source_image=mig.image,
                    boot=True,
                    auto_delete=True,
                    disk_size_gb=mig.disk_size_gb,
                    disk_type=DISK_TYPE,
                )
            ],
            # No access_configs: no external IP; egress (apt) goes through Cloud NAT.
            network_interfaces=[
                gcp.compute.InstanceTemplateNetworkInterfaceArgs(
                    network=args.network, subnetwork=args.subnetwork
                )
            ],
            # The email is derived, not read back from the account, so it is known in a preview
            # (rule vm-dedicated-service-account judges it); depends_on keeps the order.
            service_account=gcp.compute.InstanceTemplateServiceAccountArgs(
                email=service_account_email(
                    service_account_id(name), pulumi.Config("gcp").require("project")
                ),
                scopes=["cloud-platform"],
            ),
            shielded_instance_config=gcp.compute.InstanceTemplateShieldedInstanceConfigArgs(
                enable_secure_boot=True, enable_vtpm=True, enable_integrity_monitoring=True
            ),
            # Live-migrate on host maintenance instead of stopping: no drain needed for it.
            scheduling=gcp.compute.InstanceTemplateSchedulingArgs(
                automatic_restart=True, on_host_maintenance="MIGRATE"
            ),
            labels={
                **args.platform.labels,
                **identity.gcp_labels(self._chain, self._tier, "instance"),
            },
            metadata=metadata,
            tags=[network_tag(name)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )

    def _create_health_check(
        self, resource_name: str, timing: HealthCheckConfig, port: int, role: str, text: str
    ) -> gcp.compute.HealthCheck:
        return gcp.compute.HealthCheck(
            resource_name,
            description=self._description(role, text),
            check_interval_sec=timing.check_interval_sec,
            timeout_sec=timing.timeout_sec,
            healthy_threshold=timing.healthy_threshold,
            unhealthy_threshold=timing.unhealthy_threshold,
            http_health_check=gcp.compute.HealthCheckHttpHealthCheckArgs(
                port=port, request_path=HEALTH_PATH
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_mig(
        self,
        name: str,
        args: NginxMigTierArgs,
        template: gcp.compute.InstanceTemplate,
        autohealing: gcp.compute.HealthCheck,
    ) -> gcp.compute.RegionInstanceGroupManager:
        mig = args.mig
        return gcp.compute.RegionInstanceGroupManager(
            mig_name(name),
            base_instance_name=base_instance_name(name),
            description=self._description("mig", "nginx instance group."),
            region=args.platform.region,
            distribution_policy_zones=args.platform.zones,
            target_size=mig.target_size,
            # self_link_unique changes with every template, so a new template starts a rollout.
            versions=[
                gcp.compute.RegionInstanceGroupManagerVersionArgs(
                    name="primary", instance_template=template.self_link_unique
                )
            ],
            named_ports=[
                gcp.compute.RegionInstanceGroupManagerNamedPortArgs(
                    name=serving_port_name(args.tier), port=args.listen_port
                ),
                gcp.compute.RegionInstanceGroupManagerNamedPortArgs(
                    name=HEALTH_PORT_NAME, port=mig.health_port
                ),
            ],
            # New instances first (surge, SUBSTITUTE), none taken away before their replacement
            # is healthy for min_ready_sec (rule mig-update-policy-hitless).
            update_policy=gcp.compute.RegionInstanceGroupManagerUpdatePolicyArgs(
                type="PROACTIVE",
                minimal_action="REPLACE",
                most_disruptive_allowed_action="REPLACE",
                replacement_method="SUBSTITUTE",
                max_surge_fixed=mig.max_surge_fixed,
                max_unavailable_fixed=MIG_MAX_UNAVAILABLE_FIXED,
                min_ready_sec=mig.min_ready_sec,
                instance_redistribution_type="PROACTIVE",
            ),
            # Its own, slower health check and a delay that covers boot and nginx install
            # (rule mig-autohealing-configured).
            auto_healing_policies=gcp.compute.RegionInstanceGroupManagerAutoHealingPoliciesArgs(
                health_check=autohealing.id,
                initial_delay_sec=mig.autohealing_initial_delay_sec,
            ),
            all_instances_config=gcp.compute.RegionInstanceGroupManagerAllInstancesConfigArgs(
                labels={
                    **args.platform.labels,
                    **identity.gcp_labels(self._chain, self._tier, "mig"),
                }
            ),
            # The API accepts an update before any VM is replaced; waiting for UPDATED (version
            # target reached, every VM stable) makes `pulumi up` report the rollout's real outcome
            # (rule mig-update-awaited). The provider awaits 15 min by default
            # (terraform-provider-google resource_compute_region_instance_group_manager.go:
            # Create/Update DefaultTimeout(15 * time.Minute)); the timeout is sized from the update.
            wait_for_instances=True,
            wait_for_instances_status="UPDATED",
            opts=pulumi.ResourceOptions(
                parent=self,
                custom_timeouts=pulumi.CustomTimeouts(
                    create=f"{args.await_timeout_seconds}s",
                    update=f"{args.await_timeout_seconds}s",
                ),
            ),
        )

    def _create_firewall(
        self,
        resource_name: str,
        *,
        network: pulumi.Input[str],
        port: int,
        sources: list[str],
        name: str,
        role: str,
        text: str,
    ) -> gcp.compute.Firewall:
        return gcp.compute.Firewall(
            resource_name,
            network=network,
            description=self._description(role, text),
            direction="INGRESS",
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(port)])],
            source_ranges=sources,
            target_tags=[network_tag(name)],
            opts=pulumi.ResourceOptions(parent=self),
        )
