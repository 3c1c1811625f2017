"""The security baseline the components build: edge TLS, HSTS, Kong verifying the runtime, GKE
hardening, flow logs, SSH keys, NetworkPolicies, image digests, and secrets kept out of every
artifact and of the console.

Each class names the resource it judges; the whole program runs under the mock runtime
(`hitless.program.run_stack`), as `hitless preview` runs it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hitless.cli import app
from hitless.components import kong as kong_component
from hitless.components import runtime as runtime_component
from hitless.components.chain import kong_backends
from hitless.components.config import (
    KongHybridConfig,
    StackConfig,
    StackConfigError,
    load_stack_config,
)
from hitless.components.k8s_common import image_reference
from hitless.components.kong_entities import build_entities
from hitless.components.nginx_conf import render_edge_conf
from hitless.harness import SECRET_MASK, Capture, CapturedResource, mask_text
from hitless.program import run_stack
from tests.conftest import ROOT, hitless_values, rt_target

NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
TOKEN = "kong-admin-token-7f3c9e2a51"  # noqa: S105 - the secret the leak test greps for


@pytest.fixture(scope="module")
def dev() -> Capture:
    """The dev stack after an update (computed outputs known)."""
    return run_stack("dev", ROOT, preview=False)


@pytest.fixture(scope="module")
def dev_preview() -> Capture:
    """The dev stack in a preview of a new stack (computed outputs unknown)."""
    return run_stack("dev", ROOT, preview=True)


def named(capture: Capture, suffix: str, type_token: str) -> CapturedResource:
    """The one resource of `type_token` whose logical name ends with `suffix`."""
    found = [r for r in capture.of_type(type_token) if r.name.endswith(suffix)]
    assert len(found) == 1, f"{type_token} *{suffix}: {[r.urn for r in found]}"
    return found[0]


def with_values(stack: str, **changes: dict[str, Any]) -> StackConfig:
    """The stack's config with some keys' fields replaced (`runtimes`: of the first runtime)."""
    values = hitless_values(stack)
    for key, fields in changes.items():
        if key == "runtimes":
            values[key][0] = {**values[key][0], **fields}
        else:
            values[key] = {**values.get(key, {}), **fields}
    return load_stack_config(values, stack)


class TestEdgeTls:
    """The HTTPS proxy refuses TLS < 1.2 and weak ciphers: without an SSL policy GCP applies
    COMPATIBLE with TLS 1.0."""

    def test_policy_on_proxy(self, dev: Capture) -> None:
        policy = dev.only("gcp:compute/sSLPolicy:SSLPolicy")
        proxy = dev.only("gcp:compute/targetHttpsProxy:TargetHttpsProxy")
        assert policy.props["minTlsVersion"] == "TLS_1_2", policy.urn
        assert policy.props["profile"] == "MODERN", policy.urn
        assert proxy.props["sslPolicy"].endswith(policy.name), proxy.urn

    def test_tls13_needs_restricted(self) -> None:
        with pytest.raises(StackConfigError, match=r"TLS_1_3.*RESTRICTED"):
            with_values("dev", edge={"ssl_min_tls_version": "TLS_1_3"})
        cfg = with_values(
            "dev", edge={"ssl_min_tls_version": "TLS_1_3", "ssl_policy_profile": "RESTRICTED"}
        )
        assert cfg.edge.ssl_min_tls_version == "TLS_1_3"

    def test_compatible_refused(self) -> None:
        with pytest.raises(StackConfigError, match="ssl_policy_profile"):
            with_values("dev", edge={"ssl_policy_profile": "COMPATIBLE"})


class TestEdgeSources:
    """A's admitted sources are judged as address space in the config model, before any
    resource exists."""

    @pytest.mark.parametrize(
        "ranges",
        [["0.0.0.0/1", "128.0.0.0/1"], ["35.191.0.0/16", "0.0.0.0/0"]],
    )
    def test_whole_internet_refused(self, ranges: list[str]) -> None:
        with pytest.raises(StackConfigError, match=r"hitless:edge: source_ranges = .*whole"):
            with_values("dev", edge={"source_ranges": ranges})

    def test_public_range_refused(self) -> None:
        with pytest.raises(StackConfigError, match=r"admit 256 addresses \(198\.51\.100\.0/24\)"):
            with_values("dev", edge={"source_ranges": ["35.191.0.0/16", "198.51.100.0/24"]})

    def test_private_range_accepted(self) -> None:
        cfg = with_values("dev", edge={"source_ranges": ["35.191.0.0/16", "10.0.0.0/8"]})
        assert len(cfg.edge.source_ranges) == 2


class TestHsts:
    """A answers every response with Strict-Transport-Security (rendered conf; nginx -t and gixy
    run on it in test_nginx_conf)."""

    def test_header(self, dev_config: StackConfig) -> None:
        conf = render_edge_conf(dev_config.edge, "10.10.1.10", 80, 8081)
        assert (
            "add_header Strict-Transport-Security 'max-age=31536000; includeSubDomains' always;"
            in conf
        )

    def test_max_age_bounded(self) -> None:
        with pytest.raises(StackConfigError, match="hsts_max_age_seconds"):
            with_values("dev", edge={"hsts_max_age_seconds": 0})


class TestKongVerifiesRuntime:
    """With an https runtime Kong checks the runtime's certificate against a CA from a Secret;
    without it any pod answering on the Service's address is trusted."""

    def test_declarative(self, dev: Capture, dev_config: StackConfig) -> None:
        config_map = named(dev, "-config", "kubernetes:core/v1:ConfigMap")
        doc = yaml.safe_load(config_map.props["data"]["kong.yml"])
        service = doc["services"][0]
        assert service["protocol"] == "https", config_map.urn
        assert service["tls_verify"] is True, config_map.urn
        assert service["tls_verify_depth"] == dev_config.kong.upstream_tls_verify_depth

    def test_ca_mounted_and_trusted(self, dev: Capture, dev_config: StackConfig) -> None:
        dep = named(dev, "kong-deployment", DEPLOYMENT)
        spec = dep.props["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        secret = volumes["upstream-ca"]["secret"]
        assert secret["secretName"] == dev_config.kong.upstream_ca_secret, dep.urn
        container = spec["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"]}
        path = f"{kong_component.UPSTREAM_CA_DIR}/{dev_config.kong.upstream_ca_key}"
        assert env[kong_component.TRUSTED_UPSTREAM_CA_ENV] == path, dep.urn
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["upstream-ca"]["readOnly"] is True, dep.urn

    def test_http_runtime_has_no_verification(self, dev_config: StackConfig) -> None:
        model = build_entities(
            dev_config.kong,
            [rt_target("HTTP")],
        )
        assert model.runtimes[0].service.tls_verify is None
        assert "tls_verify" not in model.to_declarative()["services"][0]

    def test_verification_off_is_explicit(self, dev_config: StackConfig) -> None:
        cfg = dev_config.kong.model_copy(update={"upstream_tls_verify": False})
        model = build_entities(
            cfg,
            [rt_target("HTTPS")],
        )
        assert model.to_declarative()["services"][0]["tls_verify"] is False


class TestGkeHardening:
    """Binary Authorization, intranode visibility and no client certificate on the cluster."""

    def test_cluster(self, dev: Capture) -> None:
        cluster = dev.only("gcp:container/cluster:Cluster")
        props = cluster.props
        assert props["binaryAuthorization"] == {
            "evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"
        }, cluster.urn
        assert props["enableIntranodeVisibility"] is True, cluster.urn
        client = props["masterAuth"]["clientCertificateConfig"]
        assert client == {"issueClientCertificate": False}, cluster.urn

    def test_evaluation_mode_configurable(self) -> None:
        cfg = with_values("dev", cluster={"binary_authorization_mode": "DISABLED"})
        assert cfg.cluster.binary_authorization_mode == "DISABLED"
        with pytest.raises(StackConfigError, match="binary_authorization_mode"):
            with_values("dev", cluster={"binary_authorization_mode": "AUDIT"})


class TestFlowLogs:
    """Every subnet writes VPC flow logs with the configured sampling."""

    def test_subnets(self, dev: Capture, dev_config: StackConfig) -> None:
        subnets = dev.of_type("gcp:compute/subnetwork:Subnetwork")
        assert len(subnets) == 3
        for subnet in subnets:
            log = subnet.props["logConfig"]
            assert log["flowSampling"] == dev_config.platform.network.flow_log_sampling, subnet.urn
            assert log["aggregationInterval"] == "INTERVAL_5_SEC", subnet.urn
            assert log["metadata"] == "INCLUDE_ALL_METADATA", subnet.urn

    @pytest.mark.parametrize("sampling", [0, 1.5, -0.1])
    def test_sampling_bounded(self, sampling: float) -> None:
        with pytest.raises(StackConfigError, match="flow_log_sampling"):
            with_values(
                "dev",
                platform={"network": {"flow_log_sampling": sampling}},
            )


class TestInstanceTemplates:
    """Only OS Login grants SSH, and the instances run as their tier's own account, known in a
    preview so the policy can judge it."""

    def test_metadata_and_account(self, dev_preview: Capture) -> None:
        templates = dev_preview.of_type("gcp:compute/instanceTemplate:InstanceTemplate")
        assert len(templates) == 2
        for template in templates:
            metadata = template.props["metadata"]
            assert metadata["block-project-ssh-keys"] == "TRUE", template.urn
            assert metadata["enable-oslogin"] == "TRUE", template.urn
            email = template.props["serviceAccount"]["email"]
            assert email.endswith("@hitless-dev.iam.gserviceaccount.com"), template.urn


class TestNetworkPolicies:
    """Kong's pods admit B and the health checkers on the proxy port and the nodes on the status
    port; Kong may reach the runtime and DNS, the runtime only DNS."""

    def test_kong_ingress(self, dev: Capture, dev_config: StackConfig) -> None:
        pol = named(dev, "kong-ingress-policy", NETPOL)
        spec = pol.props["spec"]
        net, kong = dev_config.platform.network, dev_config.kong
        assert spec["podSelector"]["matchLabels"] == kong_component.pod_labels(
            dev_config.platform
        ), pol.urn
        assert spec["policyTypes"] == ["Ingress"], pol.urn
        proxy, status = spec["ingress"]
        assert [p["port"] for p in proxy["ports"]] == [kong.proxy_port], pol.urn
        assert [b["ipBlock"]["cidr"] for b in proxy["from"]] == [
            str(net.b_cidr),
            "35.191.0.0/16",
            "130.211.0.0/22",
        ], pol.urn
        assert [p["port"] for p in status["ports"]] == [kong.status_port], pol.urn
        assert [b["ipBlock"]["cidr"] for b in status["from"]] == [str(net.gke_nodes_cidr)]

    def test_kong_egress(self, dev: Capture, dev_config: StackConfig) -> None:
        pol = named(dev, "kong-egress-policy", NETPOL)
        to_runtime, dns = pol.props["spec"]["egress"]
        peer = to_runtime["to"][0]
        assert peer["podSelector"]["matchLabels"] == runtime_component.pod_labels(
            dev_config.runtimes[0], dev_config.platform
        ), pol.urn
        assert peer["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": dev_config.runtimes[0].namespace
        }, pol.urn
        assert to_runtime["ports"] == [{"port": dev_config.runtimes[0].port, "protocol": "TCP"}]
        assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}

    def test_runtime_egress_dns_only(self, dev: Capture) -> None:
        pol = named(dev, "rt-egress-policy", NETPOL)
        (dns,) = pol.props["spec"]["egress"]
        assert dns["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}, pol.urn

    def test_hybrid_reaches_control_plane(self, dev_config: StackConfig) -> None:
        hybrid = KongHybridConfig(
            admin_url="https://kong-cp.example.internal:8001",
            cluster_control_plane="kong-cp.kong-cp.svc.cluster.local:8005",
            cluster_telemetry_endpoint="kong-cp.kong-cp.svc.cluster.local:8006",
            cluster_cert_secret="kong-cluster-cert",  # noqa: S106 - a Secret's name
        )
        cfg = dev_config.model_copy(
            update={"kong": dev_config.kong.model_copy(update={"hybrid": hybrid})}
        )
        args = kong_component.KongDataPlaneArgs(
            config=cfg.kong,
            platform=cfg.platform,
            cluster=cfg.cluster,
            runtimes=kong_backends(cfg),
            subnetwork="projects/p/regions/r/subnetworks/gke",
            await_timeout_seconds=cfg.await_timeout("kong"),
        )
        rules = kong_component.egress_policy_manifest(args)["spec"]["egress"]
        assert rules[-1] == {
            "ports": [{"port": 8005, "protocol": "TCP"}, {"port": 8006, "protocol": "TCP"}]
        }


class TestImageDigest:
    """A digest given in the stack pins the image the pods run."""

    DIGEST = "sha256:" + "ab" * 32

    def test_pinned(self) -> None:
        cfg = with_values("dev", runtimes={"image_digest": self.DIGEST})
        image = image_reference(cfg.runtimes[0].image, cfg.runtimes[0].image_digest)
        assert image == f"{cfg.runtimes[0].image}@{self.DIGEST}"

    def test_unpinned_and_already_pinned(self) -> None:
        assert image_reference("kong:3.9.1", None) == "kong:3.9.1"
        pinned = f"kong@{self.DIGEST}"
        assert image_reference(pinned, self.DIGEST) == pinned

    def test_bad_digest_refused(self) -> None:
        with pytest.raises(StackConfigError, match="image_digest"):
            with_values("dev", kong={"image_digest": "sha256:xyz"})


class TestAdminUrl:
    """An http:// admin URL would send the admin token in clear; refused unless explicitly
    allowed for a loopback control plane."""

    BASE = {
        "cluster_control_plane": "kong-cp:8005",
        "cluster_telemetry_endpoint": "kong-cp:8006",
        "cluster_cert_secret": "kong-cluster-cert",
    }

    def test_http_refused(self) -> None:
        with pytest.raises(StackConfigError) as error:
            with_values("dev", kong={"hybrid": {**self.BASE, "admin_url": "http://cp:8001"}})
        text = str(error.value)
        assert "hitless:kong.hybrid: admin_url = 'http://cp:8001'" in text
        assert "in clear" in text
        assert "Fix:" in text

    @pytest.mark.parametrize("url", ["http://127.0.0.1:8001", "http://localhost:8001"])
    def test_loopback_allowed_explicitly(self, url: str) -> None:
        hybrid = {**self.BASE, "admin_url": url, "allow_plain_http_loopback_admin": True}
        cfg = with_values("dev", kong={"hybrid": hybrid})
        assert cfg.kong.hybrid is not None
        assert cfg.kong.hybrid.admin_url == url

    def test_allowed_only_for_loopback(self) -> None:
        hybrid = {
            **self.BASE,
            "admin_url": "http://10.0.0.5:8001",
            "allow_plain_http_loopback_admin": True,
        }
        with pytest.raises(StackConfigError, match="not one"):
            with_values("dev", kong={"hybrid": hybrid})


class TestSecretsNeverWritten:
    """The Kong admin token (a Pulumi secret) appears in no file under build/ and not on the
    console; the props show the mask instead."""

    @pytest.fixture
    def hybrid_project(self, tmp_path: Path) -> Path:
        root = tmp_path / "project"
        (root / "stacks").mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(ROOT / name, root / name)
        doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
        doc["config"]["hitless:kong"]["hybrid"] = {
            "admin_url": "https://kong-cp.example.internal:8001",
            "cluster_control_plane": "kong-cp.example.internal:8005",
            "cluster_telemetry_endpoint": "kong-cp.example.internal:8006",
            "cluster_cert_secret": "kong-cluster-cert",
        }
        doc["config"]["hitless:kongAdminToken"] = TOKEN
        (root / "stacks" / "Pulumi.hybrid.yaml").write_text(yaml.safe_dump(doc))
        return root

    def test_no_file_holds_the_token(self, hybrid_project: Path) -> None:
        result = CliRunner().invoke(
            app, ["preview", "--stack", "hybrid", "--root", str(hybrid_project)]
        )
        assert result.exit_code == 0, result.output
        assert TOKEN not in result.output
        build = hybrid_project / "build" / "hybrid"
        files = [path for path in build.rglob("*") if path.is_file()]
        assert len(files) > 10, files
        for path in files:
            # Bytes: the report's charts are PNGs.
            assert TOKEN.encode() not in path.read_bytes(), f"{path}: holds the admin token"
        resources = (build / "resources.json").read_text()
        assert f'"kongAdminToken": "{SECRET_MASK}"' in resources

    def test_mask_text(self) -> None:
        assert mask_text(f"a {TOKEN} b", [TOKEN, "ab"]) == f"a {SECRET_MASK} b"
