"""NginxMigTier: the MIG of tiers A and B rolls without dropping load, and says who it is.

Every test runs the component under the mock runtime (`capture`) for the dev and the prod stack
and reads the props as the policy pack receives them (camelCase wire form).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hitless.components import gce_scripts
from hitless.components.config import StackConfig
from hitless.components.nginx_conf import render_edge_conf, render_relay_conf
from hitless.components.nginx_tier import (
    SERVICE_ACCOUNT_ROLES,
    TYPE,
    NginxMigTier,
    NginxMigTierArgs,
    base_instance_name,
    check_sources,
    network_tag,
    service_account_id,
)
from hitless.harness import Capture, contains_unknown
from hitless_policy import budget, identity
from hitless_policy.identity import Tier

GOOGLE_HEALTH_CHECK_RANGES = ["35.191.0.0/16", "130.211.0.0/22"]
NETWORK = "https://www.googleapis.com/compute/v1/projects/p/global/networks/vpc"
SUBNETS = {
    Tier.A: "https://www.googleapis.com/compute/v1/projects/p/regions/r/subnetworks/a",
    Tier.B: "https://www.googleapis.com/compute/v1/projects/p/regions/r/subnetworks/b",
}
TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
HEALTH_CHECK = "gcp:compute/healthCheck:HealthCheck"
FIREWALL = "gcp:compute/firewall:Firewall"
ACCOUNT = "gcp:serviceaccount/account:Account"
IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
NAMES = {Tier.A: "main-a", Tier.B: "main-b"}
"""Component names, as __main__.py gives them."""


def tier_args(cfg: StackConfig, tier: Tier) -> NginxMigTierArgs:
    """The args __main__.py passes for `tier`."""
    net = cfg.platform.network
    if tier is Tier.A:
        return NginxMigTierArgs(
            tier=Tier.A,
            platform=cfg.platform,
            mig=cfg.edge.mig,
            nginx_conf=render_edge_conf(
                cfg.edge, str(net.b_ilb_address), cfg.relay.listen_port, cfg.edge.mig.health_port
            ),
            network=NETWORK,
            subnetwork=SUBNETS[Tier.A],
            listen_port=cfg.edge.listen_port,
            firewall_sources=[str(cidr) for cidr in cfg.edge.source_ranges],
            health_check_sources=GOOGLE_HEALTH_CHECK_RANGES,
            stream_module=False,
            await_timeout_seconds=cfg.await_timeout("edge.mig"),
        )
    return NginxMigTierArgs(
        tier=Tier.B,
        platform=cfg.platform,
        mig=cfg.relay.mig,
        nginx_conf=render_relay_conf(
            cfg.relay, str(net.kong_ilb_address), cfg.kong.service_port, cfg.relay.mig.health_port
        ),
        network=NETWORK,
        subnetwork=SUBNETS[Tier.B],
        listen_port=cfg.relay.listen_port,
        firewall_sources=[str(net.a_cidr)],
        health_check_sources=GOOGLE_HEALTH_CHECK_RANGES,
        stream_module=True,
        await_timeout_seconds=cfg.await_timeout("relay.mig"),
    )


def program(cfg: StackConfig) -> Callable[[], None]:
    def run() -> None:
        for tier in (Tier.A, Tier.B):
            NginxMigTier(NAMES[tier], tier_args(cfg, tier))

    return run


@pytest.fixture
def captured(
    capture: Callable[..., Capture], stack_name: str, stack_config: StackConfig
) -> Capture:
    """Both tiers of each stack, as `pulumi up` would register them."""
    return capture(program(stack_config), stack=stack_name)


@pytest.fixture(params=[Tier.A, Tier.B], ids=["a", "b"])
def tier(request: pytest.FixtureRequest) -> Tier:
    """Each nginx tier."""
    return Tier(request.param)


def mig_config(cfg: StackConfig, tier: Tier) -> Any:
    return cfg.edge.mig if tier is Tier.A else cfg.relay.mig


def listen_port(cfg: StackConfig, tier: Tier) -> int:
    return cfg.edge.listen_port if tier is Tier.A else cfg.relay.listen_port


class TestUpdatePolicyHitless:
    """Rule mig-update-policy-hitless: new instances first (surge, SUBSTITUTE), none removed
    before its replacement is healthy for min_ready_sec; otherwise a rollout drops capacity.
    """

    def test_update_policy(self, captured: Capture, stack_config: StackConfig, tier: Tier) -> None:
        mig = captured.named(f"{NAMES[tier]}-mig", MIG)
        cfg = mig_config(stack_config, tier)
        policy = mig.props["updatePolicy"]
        expected = {
            "type": "PROACTIVE",
            "minimalAction": "REPLACE",
            "mostDisruptiveAllowedAction": "REPLACE",
            "replacementMethod": "SUBSTITUTE",
            "maxSurgeFixed": cfg.max_surge_fixed,
            "maxUnavailableFixed": 0,
            "minReadySec": cfg.min_ready_sec,
            "instanceRedistributionType": "PROACTIVE",
        }
        for key, value in expected.items():
            assert policy.get(key) == value, f"{mig.urn}: updatePolicy.{key} = {policy.get(key)}"
        assert policy["maxSurgeFixed"] >= len(stack_config.platform.zones), mig.urn

    def test_group_shape(self, captured: Capture, stack_config: StackConfig, tier: Tier) -> None:
        mig = captured.named(f"{NAMES[tier]}-mig", MIG)
        props = mig.props
        assert props["distributionPolicyZones"] == stack_config.platform.zones, mig.urn
        assert props["targetSize"] == mig_config(stack_config, tier).target_size, mig.urn
        assert props["region"] == stack_config.platform.region, mig.urn
        assert props["baseInstanceName"] == base_instance_name(NAMES[tier]), mig.urn


class TestUpdateAwaited:
    """`pulumi up` waits for the rolling update to reach UPDATED, for at least its worst case,
    so it reports the rollout's real outcome instead of returning before any VM is replaced."""

    def test_waits_for_updated(self, captured: Capture, tier: Tier) -> None:
        mig = captured.named(f"{NAMES[tier]}-mig", MIG)
        assert mig.props["waitForInstances"] is True, mig.urn
        assert mig.props["waitForInstancesStatus"] == "UPDATED", mig.urn

    def test_timeout_covers_the_update(
        self, captured: Capture, stack_config: StackConfig, tier: Tier
    ) -> None:
        mig = captured.named(f"{NAMES[tier]}-mig", MIG)
        entry_id = "a-mig-await" if tier is Tier.A else "b-mig-await"
        (found,) = [item for item in stack_config.rollout_awaits() if item.entry.id == entry_id]
        assert found.value is not None, mig.urn
        assert found.bound is not None, mig.urn
        assert found.duration is not None, mig.urn
        assert mig.custom_timeouts.update_seconds == found.value, mig.urn
        assert mig.custom_timeouts.create_seconds == found.value, mig.urn
        assert found.value >= found.bound > found.duration, mig.urn


class TestAutohealingConfigured:
    """Rule mig-autohealing-configured: autohealing with its own, slower check and a delay that
    covers boot; sharing the LB's fast check would recreate busy instances mid-request.
    """

    def test_own_health_check_and_delay(
        self, captured: Capture, stack_config: StackConfig, tier: Tier
    ) -> None:
        name = NAMES[tier]
        mig = captured.named(f"{name}-mig", MIG)
        check = captured.named(f"{name}-autohealing-hc", HEALTH_CHECK)
        cfg = mig_config(stack_config, tier)
        policy = mig.props["autoHealingPolicies"]
        assert policy["healthCheck"] == f"{check.name}-id", f"{mig.urn}: {policy}"
        assert policy["initialDelaySec"] == cfg.autohealing_initial_delay_sec, mig.urn
        assert policy["initialDelaySec"] >= stack_config.thresholds.mig_boot_seconds, mig.urn
        timing = cfg.autohealing_health_check
        assert check.props["checkIntervalSec"] == timing.check_interval_sec, check.urn
        assert check.props["timeoutSec"] == timing.timeout_sec, check.urn
        assert check.props["unhealthyThreshold"] == timing.unhealthy_threshold, check.urn
        assert check.props["healthyThreshold"] == timing.healthy_threshold, check.urn
        assert check.props["httpHealthCheck"] == {
            "port": cfg.health_port,
            "requestPath": "/healthz",
        }, check.urn
        found = identity.identity_of(check.props)
        assert found == identity.Identity("main", tier, "autohealing-health-check"), check.urn


class TestNamedPorts:
    """The external LB's backend service sends to the named port `http`; a missing or misnamed
    port leaves A without traffic.
    """

    def test_named_ports(self, captured: Capture, stack_config: StackConfig, tier: Tier) -> None:
        mig = captured.named(f"{NAMES[tier]}-mig", MIG)
        assert mig.props["namedPorts"] == [
            {"name": "http" if tier is Tier.A else "tcp", "port": listen_port(stack_config, tier)},
            {"name": "health", "port": mig_config(stack_config, tier).health_port},
        ], mig.urn


class TestTemplateReplacedSafely:
    """An instance template cannot change in place; a fixed name would make the replacement
    collide with the template the MIG still uses. A prefix lets the new one exist first, and the
    unique self link makes every new template start a rollout.
    """

    def test_auto_named_and_referenced_uniquely(self, captured: Capture, tier: Tier) -> None:
        name = NAMES[tier]
        template = captured.named(f"{name}-template", TEMPLATE)
        assert "name" not in template.props, f"{template.urn}: a fixed name"
        assert template.props["namePrefix"] == f"{name}-", template.urn
        mig = captured.named(f"{name}-mig", MIG)
        (version,) = mig.props["versions"]
        assert version["instanceTemplate"].endswith("?uniqueId=1234567890"), (
            f"{mig.urn}: versions[0].instanceTemplate is not the template's selfLinkUnique"
        )
        assert "/instanceTemplates/" in version["instanceTemplate"], mig.urn


class TestInstancesHardened:
    """Instances must not be reachable from the internet (no external IP), boot only signed
    code (Shielded VM) and run as a dedicated, least-privileged service account.
    """

    def test_no_external_ip(self, captured: Capture, tier: Tier) -> None:
        template = captured.named(f"{NAMES[tier]}-template", TEMPLATE)
        (nic,) = template.props["networkInterfaces"]
        assert not nic.get("accessConfigs"), f"{template.urn}: external IP"
        assert nic["subnetwork"] == SUBNETS[tier], template.urn
        assert nic["network"] == NETWORK, template.urn

    def test_shielded_vm(self, captured: Capture, tier: Tier) -> None:
        template = captured.named(f"{NAMES[tier]}-template", TEMPLATE)
        assert template.props["shieldedInstanceConfig"] == {
            "enableSecureBoot": True,
            "enableVtpm": True,
            "enableIntegrityMonitoring": True,
        }, template.urn

    def test_dedicated_service_account(self, captured: Capture, tier: Tier) -> None:
        name = NAMES[tier]
        account = captured.named(f"{name}-sa", ACCOUNT)
        assert account.props["accountId"] == service_account_id(name), account.urn
        members = [res for res in captured.of_type(IAM_MEMBER) if res.parent == account.urn]
        assert sorted(res.props["role"] for res in members) == sorted(SERVICE_ACCOUNT_ROLES), (
            f"{account.urn}: roles {[res.props['role'] for res in members]}"
        )

    def test_os_login(self, captured: Capture, tier: Tier) -> None:
        template = captured.named(f"{NAMES[tier]}-template", TEMPLATE)
        assert template.props["metadata"]["enable-oslogin"] == "TRUE", template.urn


class TestFirewallAdmitsOnlyThePreviousHop:
    """Each tier accepts its serving port from the previous hop and its health port from
    Google's checkers; anything from 0.0.0.0/0 bypasses the LB and its drain.
    """

    def test_rules(self, captured: Capture, stack_config: StackConfig, tier: Tier) -> None:
        name = NAMES[tier]
        args = tier_args(stack_config, tier)
        serve = captured.named(f"{name}-fw-serve", FIREWALL)
        health = captured.named(f"{name}-fw-health", FIREWALL)
        for rule, port, sources in (
            (serve, args.listen_port, args.firewall_sources),
            (health, args.mig.health_port, GOOGLE_HEALTH_CHECK_RANGES),
        ):
            assert rule.props["allows"] == [{"protocol": "tcp", "ports": [str(port)]}], rule.urn
            assert rule.props["sourceRanges"] == sources, rule.urn
            assert rule.props["direction"] == "INGRESS", rule.urn
            assert rule.props["targetTags"] == [network_tag(name)], rule.urn

    def test_never_the_internet(self, captured: Capture) -> None:
        for rule in captured.of_type(FIREWALL):
            for source in rule.props["sourceRanges"]:
                assert not source.endswith("/0"), f"{rule.urn}: admits {source}"

    def test_rules_target_the_instances(self, captured: Capture, tier: Tier) -> None:
        template = captured.named(f"{NAMES[tier]}-template", TEMPLATE)
        assert template.props["tags"] == [network_tag(NAMES[tier])], template.urn

    @pytest.mark.parametrize("source", ["0.0.0.0/0", "::/0"])
    def test_internet_source_rejected(self, source: str) -> None:
        with pytest.raises(ValueError, match="whole internet"):
            check_sources("firewall_sources", ["10.0.0.0/8", source])

    @pytest.mark.parametrize(
        "sources",
        [
            ["0.0.0.0/1", "128.0.0.0/1"],
            ["10.0.0.0/8", "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"],
            ["::/1", "8000::/1"],
        ],
    )
    def test_split_internet_rejected(self, sources: list[str]) -> None:
        """Ranges that together cover every address are judged as the set they admit."""
        with pytest.raises(ValueError, match="whole internet"):
            check_sources("firewall_sources", sources)

    def test_public_range_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"admits 256 addresses \(198\.51\.100\.0/24\)"):
            check_sources("firewall_sources", ["10.10.0.0/24", "198.51.100.0/24"])

    def test_google_and_private_ranges_accepted(self) -> None:
        sources = [*GOOGLE_HEALTH_CHECK_RANGES, "10.10.0.0/24", "172.16.0.0/12"]
        assert check_sources("firewall_sources", sources) == sources

    def test_empty_and_garbage_rejected(self) -> None:
        with pytest.raises(ValueError, match="is empty"):
            check_sources("health_check_sources", [])
        with pytest.raises(ValueError, match="not a CIDR"):
            check_sources("firewall_sources", ["10.0.0.300/8"])


class TestIdentity:
    """The chain rules group resources by the identity the components stamp; an unstamped MIG
    or firewall is invisible to them and its tier reads as missing.
    """

    def test_template_and_instances_labelled(
        self, captured: Capture, stack_config: StackConfig, tier: Tier
    ) -> None:
        name = NAMES[tier]
        template = captured.named(f"{name}-template", TEMPLATE)
        expected = {
            **stack_config.platform.labels,
            **identity.gcp_labels("main", tier, "instance"),
        }
        assert template.props["labels"] == expected, template.urn
        mig = captured.named(f"{name}-mig", MIG)
        labels = mig.props["allInstancesConfig"]["labels"]
        assert labels == {
            **stack_config.platform.labels,
            **identity.gcp_labels("main", tier, "mig"),
        }, mig.urn
        assert identity.identity_of(mig.props) == identity.Identity("main", tier, "mig"), mig.urn

    def test_descriptions(self, captured: Capture, tier: Tier) -> None:
        name = NAMES[tier]
        for res_name, role in (
            (f"{name}-fw-serve", "firewall-serve"),
            (f"{name}-fw-health", "firewall-health"),
            (f"{name}-autohealing-hc", "autohealing-health-check"),
        ):
            res = captured.named(res_name)
            assert res.props["description"].startswith(
                f"[hitless chain=main tier={tier.value} role={role}] "
            ), res.urn


class TestConfShippedInMetadata:
    """The VM runs the conf from its metadata; the policy reads the same prop. Both must be the
    rendered text, under the key both sides agree on.
    """

    def test_metadata(self, captured: Capture, stack_config: StackConfig, tier: Tier) -> None:
        template = captured.named(f"{NAMES[tier]}-template", TEMPLATE)
        metadata = template.props["metadata"]
        args = tier_args(stack_config, tier)
        assert metadata[identity.NGINX_CONF_METADATA_KEY] == args.nginx_conf, template.urn
        wst = (
            stack_config.edge.worker_shutdown_timeout_seconds
            if tier is Tier.A
            else stack_config.relay.worker_shutdown_timeout_seconds
        )
        assert metadata["startup-script"] == gce_scripts.startup_script(
            stream_module=tier is Tier.B, worker_shutdown_timeout_seconds=wst
        ), template.urn
        assert metadata["shutdown-script"] == gce_scripts.shutdown_script(
            drain_wait_seconds=gce_scripts.drain_wait_seconds(args.mig.lb_health_check),
            worker_shutdown_timeout_seconds=wst,
        ), template.urn


class TestKnownAtPreview:
    """Design §5: every value a rule needs is known in the preview of a brand-new stack. The conf
    carries the timeouts, so it must not wait on any computed output.
    """

    def test_conf_known(
        self, capture: Callable[..., Capture], stack_name: str, stack_config: StackConfig
    ) -> None:
        cap = capture(program(stack_config), stack=stack_name, preview=True)
        for template in cap.of_type(TEMPLATE):
            conf = template.props["metadata"][identity.NGINX_CONF_METADATA_KEY]
            assert isinstance(conf, str), template.urn
            assert not contains_unknown(conf), f"{template.urn}: conf unknown at preview"
            assert not contains_unknown(template.props["metadata"]), template.urn
        for mig in cap.of_type(MIG):
            assert not contains_unknown(mig.props["updatePolicy"]), mig.urn


class TestComponentShape:
    """Children parented to the component (or to the child that owns them) show as one tree in
    the preview and move together; names derived from the component name never collide when a
    stack builds two tiers.
    """

    def test_children_parented_and_named(self, captured: Capture, tier: Tier) -> None:
        name = NAMES[tier]
        (component,) = [res for res in captured.of_type(TYPE) if res.name == name]
        assert "::pulumi:pulumi:Stack::" in component.parent, component.urn
        owned = {component.urn}
        for res in captured.resources:
            if res.parent in owned or res.urn in owned:
                owned.add(res.urn)
        children = [res for res in captured.resources if res.urn in owned - {component.urn}]
        assert {res.type for res in children} >= {TEMPLATE, MIG, HEALTH_CHECK, FIREWALL, ACCOUNT}
        for res in children:
            assert res.name.startswith(f"{name}-"), f"{res.urn}: name not derived from {name}"
        direct = {res.type for res in children if res.parent == component.urn}
        assert {TEMPLATE, MIG, FIREWALL, ACCOUNT, HEALTH_CHECK} <= direct
        account = captured.named(f"{name}-sa")
        members = [res for res in captured.of_type(IAM_MEMBER) if res.name.startswith(name)]
        assert members, f"{account.urn}: no IAM members"
        for member in members:
            assert member.parent == account.urn, f"{member.urn}: not parented to {account.urn}"

    def test_registered_outputs(self, captured: Capture, tier: Tier) -> None:
        (component,) = [res for res in captured.of_type(TYPE) if res.name == NAMES[tier]]
        outputs = component.outputs
        # serviceAccountEmail is registered too, but the mocks compute no Account.email, and a
        # None output is dropped from the wire form.
        assert {"instanceGroup", "migSelfLink", "templateSelfLink"} <= set(outputs), (
            f"{component.urn}: {outputs}"
        )
        assert outputs["instanceGroup"].startswith("https://"), component.urn
        assert outputs["migSelfLink"].startswith("https://"), component.urn
        assert "uniqueId=" in outputs["templateSelfLink"], component.urn

    def test_rejects_tier_c(self, capture: Callable[..., Capture], dev_config: StackConfig) -> None:
        args = tier_args(dev_config, Tier.A)
        bad = NginxMigTierArgs(**{**args.__dict__, "tier": Tier.C})

        def run() -> None:
            NginxMigTier("main-c", bad)

        with pytest.raises(Exception, match="tier A or B only"):
            capture(run)


class TestNamesFitGcpLimits:
    """GCP rejects a too-long or malformed account id, tag or instance name at apply time."""

    @pytest.mark.parametrize("name", ["main-a", "x" * 80, "9-chain-with-a-very-long-name-b"])
    def test_limits(self, name: str) -> None:
        assert re.fullmatch(r"[a-z][-a-z0-9]{4,28}[a-z0-9]", service_account_id(name))
        assert re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", network_tag(name))
        assert re.fullmatch(r"[a-z]([-a-z0-9]{0,56}[a-z0-9])?", base_instance_name(name))

    def test_long_names_stay_distinct(self) -> None:
        long = "chain-with-a-rather-long-name"
        assert service_account_id(f"{long}-a") != service_account_id(f"{long}-b")


class TestScripts:
    """The startup script must install what the conf loads and start nginx only on a conf that
    passed `nginx -t`; the shutdown script must fail /healthz, wait for the LB to notice, then
    quit gracefully and wait for in-flight requests, or a stop cuts them.
    """

    @pytest.fixture
    def bash(self) -> str:
        found = shutil.which("bash")
        assert found, "bash is required to syntax-check the scripts"
        return found

    def check_syntax(self, bash: str, script: str, tmp_path: Path) -> None:
        path = tmp_path / "script.sh"
        path.write_text(script)
        result = subprocess.run(
            [bash, "-n", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr

    @pytest.mark.parametrize("stream", [False, True], ids=["a", "b"])
    def test_startup(self, bash: str, tmp_path: Path, stream: bool) -> None:
        script = gce_scripts.startup_script(
            stream_module=stream, worker_shutdown_timeout_seconds=150
        )
        self.check_syntax(bash, script, tmp_path)
        assert "set -euo pipefail" in script.splitlines()
        assert ("libnginx-mod-stream" in script) is stream
        assert "nginx-light" in script
        assert f"/attributes/{identity.NGINX_CONF_METADATA_KEY}" in script
        lines = script.splitlines()
        check = next(i for i, line in enumerate(lines) if line.startswith("nginx -t"))
        start = next(i for i, line in enumerate(lines) if line == "systemctl restart nginx")
        assert check < start, "nginx must be started only after nginx -t passed"
        assert "systemctl enable nginx" in lines
        assert "--retry QUIT/160/TERM/5" in script

    def test_shutdown(self, bash: str, tmp_path: Path, dev_config: StackConfig) -> None:
        timing = dev_config.edge.mig.lb_health_check
        drain = gce_scripts.drain_wait_seconds(timing)
        assert drain >= budget.lb_time_to_unhealthy(
            timing.check_interval_sec, timing.timeout_sec, timing.unhealthy_threshold
        )
        script = gce_scripts.shutdown_script(
            drain_wait_seconds=drain, worker_shutdown_timeout_seconds=150
        )
        self.check_syntax(bash, script, tmp_path)
        assert "set -euo pipefail" in script.splitlines()
        lines = script.splitlines()
        touch = next(i for i, line in enumerate(lines) if line.startswith("touch "))
        sleep = next(i for i, line in enumerate(lines) if line.startswith("sleep "))
        quit_ = next(i for i, line in enumerate(lines) if line.startswith("nginx -s quit"))
        assert touch < sleep < quit_, "drain flag, then wait for the LB, then QUIT"
        assert f"readonly DRAIN_WAIT={drain}" in lines
        assert "readonly QUIT_WAIT=160" in lines
