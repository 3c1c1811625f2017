"""KongDataPlane (tier C) and its Kong entities: every hitless setting, by resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from hitless.components.chain import kong_backends
from hitless.components.config import KongHybridConfig, StackConfig
from hitless.components.kong import (
    CONFIG_CHECKSUM_ANNOTATION,
    CONFIG_KEY,
    TYPE,
    KongDataPlane,
    KongDataPlaneArgs,
    config_checksum,
    entities,
)
from hitless.components.kong_entities import build_entities
from hitless.harness import SECRET_MASK, Capture, CapturedResource
from hitless_policy import identity
from hitless_policy.identity import Tier
from tests.conftest import rt_target, stack_values

Runner = Callable[..., Capture]

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ADDRESS = "gcp:compute/address:Address"
KONG_TYPES = ("kong:index/service:Service", "kong:index/route:Route")
KONG_UPSTREAM = "kong:index/upstream:Upstream"
KONG_TARGET = "kong:index/target:Target"

HYBRID = KongHybridConfig(
    admin_url="https://kong-cp.example.internal:8001",
    cluster_control_plane="kong-cp.kong-cp.svc.cluster.local:8005",
    cluster_telemetry_endpoint="kong-cp.kong-cp.svc.cluster.local:8006",
    cluster_cert_secret="kong-cluster-cert",  # noqa: S106 - a Secret's name, not a password
)


GKE_SUBNET = "projects/p/regions/europe-west1/subnetworks/gke"


def kong_args(cfg: StackConfig) -> KongDataPlaneArgs:
    return KongDataPlaneArgs(
        config=cfg.kong,
        platform=cfg.platform,
        cluster=cfg.cluster,
        runtimes=kong_backends(cfg),
        subnetwork=GKE_SUBNET,
        await_timeout_seconds=cfg.await_timeout("kong"),
    )


def kong_program(cfg: StackConfig, name: str = "kong") -> Callable[[], None]:
    """A program holding one KongDataPlane on a (mock) Kubernetes provider."""

    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        KongDataPlane(
            name,
            kong_args(cfg),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )

    return program


def hybrid(cfg: StackConfig) -> StackConfig:
    return cfg.model_copy(update={"kong": cfg.kong.model_copy(update={"hybrid": HYBRID})})


def pod_spec(dep: CapturedResource) -> dict[str, Any]:
    return dict(dep.props["spec"]["template"]["spec"])


def container(dep: CapturedResource) -> dict[str, Any]:
    return dict(pod_spec(dep)["containers"][0])


def env_of(dep: CapturedResource) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container(dep)["env"]}


@pytest.fixture
def dev(capture: Runner, dev_config: StackConfig) -> Capture:
    return capture(kong_program(dev_config), stack="dev")


@pytest.fixture
def prod(capture: Runner, prod_config: StackConfig) -> Capture:
    return capture(kong_program(prod_config), stack="prod")


@pytest.fixture
def hybrid_dev(capture: Runner, dev_config: StackConfig) -> Capture:
    config = {**stack_values("dev"), "hitless:kongAdminToken": "s3cr3t-token"}
    return capture(kong_program(hybrid(dev_config)), stack="dev", config=config)


class TestChildrenParentedAndNamed:
    """Children parented to the component and named after it (preview tree, provider flow)."""

    def test_parent_and_name(self, dev: Capture) -> None:
        component = dev.only(TYPE)
        children = [r for r in dev.resources if r.type.startswith("kubernetes:")]
        assert {r.type for r in children} == {
            DEPLOYMENT,
            SERVICE,
            CONFIG_MAP,
            PDB,
            HPA,
            NAMESPACE,
            NETWORK_POLICY,
        }
        for res in children:
            assert res.parent == component.urn, res.urn
            assert f"{TYPE}$" in res.urn, res.urn
            assert res.name.startswith("kong-"), res.urn

    def test_names_follow_component_name(self, capture: Runner, dev_config: StackConfig) -> None:
        cap = capture(kong_program(hybrid(dev_config), name="edge-gw"), stack="dev")
        for res in cap.resources:
            if res.custom and res.type != "pulumi:providers:kubernetes":
                assert res.name.startswith("edge-gw-"), res.urn


class TestRegisteredOutputs:
    """Real values in register_outputs: B's nginx.conf embeds the address and port."""

    def test_outputs(self, dev: Capture, dev_config: StackConfig) -> None:
        component = dev.only(TYPE)
        out = component.outputs
        assert out["service_address"] == str(dev_config.platform.network.kong_ilb_address)
        assert out["service_port"] == dev_config.kong.service_port, component.urn
        assert out["namespace"] == dev_config.kong.namespace, component.urn
        dep = dev.only(DEPLOYMENT)
        assert out["pod_labels"] == dep.props["spec"]["selector"]["matchLabels"], component.urn


class TestIdentityLabels:
    """Every object carries chain/tier c/role labels, the pod template too."""

    def test_every_object_labelled(self, dev: Capture) -> None:
        roles = set()
        for res in dev.resources:
            if not res.type.startswith("kubernetes:"):
                continue
            labels = res.props["metadata"]["labels"]
            assert labels[identity.K8S_CHAIN_LABEL] == "main", res.urn
            assert labels[identity.K8S_TIER_LABEL] == "c", res.urn
            assert labels["app.kubernetes.io/name"] == "kong", res.urn
            assert labels["app.kubernetes.io/part-of"] == "hitless-main", res.urn
            assert labels["app.kubernetes.io/component"] == "gateway", res.urn
            assert labels["env"] == "dev", res.urn
            roles.add(labels[identity.K8S_ROLE_LABEL])
        assert {"config", "proxy"} <= roles
        dep = dev.only(DEPLOYMENT)
        template = dep.props["spec"]["template"]["metadata"]["labels"]
        assert template[identity.K8S_TIER_LABEL] == "c", dep.urn
        assert dep.props["spec"]["selector"]["matchLabels"].items() <= template.items(), dep.urn


class TestRollingUpdateSurgeOnly:
    """maxUnavailable 0 / maxSurge 1: Kong's capacity never drops during a rollout."""

    def test_strategy(self, prod: Capture, prod_config: StackConfig) -> None:
        dep = prod.only(DEPLOYMENT)
        assert dep.props["spec"]["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }, dep.urn
        assert dep.props["spec"]["replicas"] == prod_config.kong.replicas >= 2, dep.urn


class TestProbes:
    """Readiness on /status/ready (503 until config is loaded), a distinct liveness on /status."""

    def test_probes(self, dev: Capture, dev_config: StackConfig) -> None:
        dep = dev.only(DEPLOYMENT)
        ctr = container(dep)
        assert ctr["name"] == "proxy", dep.urn
        assert ctr["image"] == dev_config.kong.image, dep.urn
        ready, live = ctr["readinessProbe"], ctr["livenessProbe"]
        assert ready["httpGet"] == {"path": "/status/ready", "port": "status", "scheme": "HTTP"}
        assert ready["periodSeconds"] <= 10, dep.urn
        assert live["httpGet"]["path"] == "/status", dep.urn
        assert live != ready, dep.urn
        ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
        assert ports == {"proxy": dev_config.kong.proxy_port, "status": dev_config.kong.status_port}


class TestQuitDrain:
    """`kong quit --wait` keeps accepting while the internal LB reprograms, `--timeout` lets
    in-flight requests finish; the grace period covers both."""

    def test_prestop_and_grace(self, dev: Capture, dev_config: StackConfig) -> None:
        dep = dev.only(DEPLOYMENT)
        cfg = dev_config.kong
        assert container(dep)["lifecycle"]["preStop"] == {
            "exec": {
                "command": [
                    "kong",
                    "quit",
                    f"--wait={cfg.quit_wait_seconds}",
                    f"--timeout={cfg.quit_timeout_seconds}",
                ]
            }
        }, dep.urn
        grace = pod_spec(dep)["terminationGracePeriodSeconds"]
        assert grace == cfg.termination_grace_seconds, dep.urn
        assert grace > cfg.quit_wait_seconds + cfg.quit_timeout_seconds, dep.urn


class TestProxyEnv:
    """The env carries every timeout the chain rules judge, under the names they read."""

    def test_env(self, dev: Capture, dev_config: StackConfig) -> None:
        dep = dev.only(DEPLOYMENT)
        env, cfg = env_of(dep), dev_config.kong
        expected = {
            "KONG_DATABASE": "off",
            "KONG_DECLARATIVE_CONFIG": "/kong_dbless/kong.yml",
            "KONG_PROXY_LISTEN": f"0.0.0.0:{cfg.proxy_port}",
            "KONG_STATUS_LISTEN": f"0.0.0.0:{cfg.status_port}",
            "KONG_ADMIN_LISTEN": "off",
            "KONG_NGINX_HTTP_KEEPALIVE_TIMEOUT": f"{cfg.client_keepalive_timeout_seconds}s",
            "KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT": str(
                cfg.upstream_keepalive_idle_timeout_seconds
            ),
            "KONG_UPSTREAM_KEEPALIVE_MAX_REQUESTS": str(cfg.upstream_keepalive_max_requests),
            "KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT": f"{cfg.quit_timeout_seconds}s",
            "KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE": "0",
            "KONG_PREFIX": "/kong_prefix",
            "KONG_PROXY_ACCESS_LOG": "/dev/stdout",
            "KONG_PROXY_ERROR_LOG": "/dev/stderr",
        }
        for key, value in expected.items():
            assert env.get(key) == value, f"{dep.urn}: {key}={env.get(key)!r}, want {value!r}"
        assert "KONG_ROLE" not in env, dep.urn

    def test_body_limit_in_mib(self, capture: Runner, dev_config: StackConfig) -> None:
        cfg = dev_config.model_copy(
            update={"kong": dev_config.kong.model_copy(update={"client_max_body_mib": 64})}
        )
        dep = capture(kong_program(cfg), stack="dev").only(DEPLOYMENT)
        assert env_of(dep)["KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE"] == "64m", dep.urn


class TestWritableDirsOnReadOnlyRoot:
    """Root fs is read-only: Kong's prefix (nginx.conf, body temp files) lives on an emptyDir."""

    def test_security_and_volumes(self, dev: Capture) -> None:
        dep = dev.only(DEPLOYMENT)
        ctx, pod_ctx = container(dep)["securityContext"], pod_spec(dep)["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True, dep.urn
        assert ctx["allowPrivilegeEscalation"] is False, dep.urn
        assert ctx["capabilities"] == {"drop": ["ALL"]}, dep.urn
        assert ctx["runAsNonRoot"] is True, dep.urn
        assert pod_ctx["runAsUser"] == 1000, dep.urn
        assert pod_ctx["seccompProfile"] == {"type": "RuntimeDefault"}, dep.urn
        mounts = {m["name"]: m["mountPath"] for m in container(dep)["volumeMounts"]}
        assert mounts["prefix"] == "/kong_prefix", dep.urn
        volumes = {v["name"]: v for v in pod_spec(dep)["volumes"]}
        assert volumes["prefix"] == {"name": "prefix", "emptyDir": {}}, dep.urn


class TestSpreadAndResources:
    """Spread over nodes (and zones when regional); requests set, no CPU limit."""

    def test_spread(self, dev: Capture, prod: Capture) -> None:
        dev_dep, prod_dep = dev.only(DEPLOYMENT), prod.only(DEPLOYMENT)
        dev_keys = [c["topologyKey"] for c in pod_spec(dev_dep)["topologySpreadConstraints"]]
        assert dev_keys == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"], dev_dep.urn
        spread = pod_spec(prod_dep)["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in spread] == [
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
        ], prod_dep.urn
        for constraint in spread:
            assert constraint["whenUnsatisfiable"] == "DoNotSchedule", prod_dep.urn
            assert constraint["matchLabelKeys"] == ["pod-template-hash"], prod_dep.urn

    def test_resources(self, prod: Capture, prod_config: StackConfig) -> None:
        dep = prod.only(DEPLOYMENT)
        res = prod_config.kong.resources
        assert container(dep)["resources"] == {
            "requests": {"cpu": res.cpu_request, "memory": res.memory_request},
            "limits": {"memory": res.memory_limit},
        }, dep.urn


class TestInternalLoadBalancer:
    """B reaches Kong on the reserved internal address; only B's subnet is admitted; Local
    traffic policy so the LB health-checks nodes with a ready Kong pod."""

    def test_service(self, dev: Capture, dev_config: StackConfig) -> None:
        svc = dev.only(SERVICE)
        dep = dev.only(DEPLOYMENT)
        spec, net = svc.props["spec"], dev_config.platform.network
        annotations = svc.props["metadata"]["annotations"]
        assert annotations == {"networking.gke.io/load-balancer-type": "Internal"}, svc.urn
        assert spec["type"] == "LoadBalancer", svc.urn
        assert spec["loadBalancerIP"] == str(net.kong_ilb_address), svc.urn
        assert spec["loadBalancerSourceRanges"] == [str(net.b_cidr)], svc.urn
        assert spec["externalTrafficPolicy"] == "Local", svc.urn
        assert spec["sessionAffinity"] == "None", svc.urn
        assert spec["selector"] == dep.props["spec"]["selector"]["matchLabels"], svc.urn
        assert spec["ports"] == [
            {
                "name": "proxy",
                "port": dev_config.kong.service_port,
                "targetPort": "proxy",
                "protocol": "TCP",
            }
        ], svc.urn


class TestReservedAddress:
    """B's nginx.conf embeds Kong's internal address: it must be reserved in the GKE subnet before
    the Service claims it, or a node or another LB could take it and B would send to the wrong
    place while the Service stays pending."""

    def test_reserved_and_claimed(self, dev: Capture, dev_config: StackConfig) -> None:
        address = dev.only(ADDRESS)
        svc = dev.only(SERVICE)
        net = dev_config.platform.network
        assert address.props["address"] == str(net.kong_ilb_address), address.urn
        assert address.props["addressType"] == "INTERNAL", address.urn
        assert address.props["subnetwork"] == GKE_SUBNET, address.urn
        assert address.props["region"] == dev_config.platform.region, address.urn
        found = identity.identity_of(address.props)
        assert found is not None, address.urn
        assert found.tier is Tier.C, address.urn
        assert address.parent == dev.only(TYPE).urn, address.urn
        assert address.urn in svc.dependencies, f"{svc.urn} does not wait for {address.urn}"
        assert svc.props["spec"]["loadBalancerIP"] == address.props["address"], svc.urn


class TestPdbAndHpa:
    """One disruption at a time with unhealthy pods evictable; HPA never below 2."""

    def test_pdb(self, dev: Capture) -> None:
        pdb, dep = dev.only(PDB), dev.only(DEPLOYMENT)
        assert pdb.props["spec"] == {
            "maxUnavailable": 1,
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": dep.props["spec"]["selector"],
        }, pdb.urn

    def test_hpa(self, prod: Capture, prod_config: StackConfig) -> None:
        hpa = prod.only(HPA)
        spec = hpa.props["spec"]
        assert spec["minReplicas"] == prod_config.kong.autoscaling.min_replicas >= 2, hpa.urn
        assert spec["maxReplicas"] == prod_config.kong.autoscaling.max_replicas, hpa.urn
        assert spec["scaleTargetRef"]["name"] == "kong", hpa.urn
        assert spec["metrics"][0]["resource"]["name"] == "cpu", hpa.urn


class TestDeclarativeConfig:
    """DB-less: the ConfigMap holds the entities as `kong.yml`, mounted where Kong reads it."""

    def test_config_map(self, dev: Capture, dev_config: StackConfig) -> None:
        cm, dep = dev.only(CONFIG_MAP), dev.only(DEPLOYMENT)
        assert cm.props["metadata"]["labels"][identity.K8S_ROLE_LABEL] == "config", cm.urn
        rendered = yaml.safe_load(cm.props["data"][CONFIG_KEY])
        assert rendered == entities(kong_args(dev_config)).to_declarative(), cm.urn
        assert rendered["_format_version"] == "3.0", cm.urn
        volumes = {v["name"]: v for v in pod_spec(dep)["volumes"]}
        assert volumes["declarative-config"]["configMap"]["name"] == cm.props["metadata"]["name"]

    def test_checksum_annotation(self, dev: Capture) -> None:
        cm, dep = dev.only(CONFIG_MAP), dev.only(DEPLOYMENT)
        annotations = dep.props["spec"]["template"]["metadata"]["annotations"]
        checksum = config_checksum(cm.props["data"][CONFIG_KEY])
        assert annotations[CONFIG_CHECKSUM_ANNOTATION] == checksum, dep.urn

    def test_config_change_rolls_pods(
        self, capture: Runner, dev_config: StackConfig, dev: Capture
    ) -> None:
        rt = dev_config.runtimes[0]
        route = rt.kong.model_copy(update={"retries": 3})
        changed = dev_config.model_copy(
            update={"runtimes": [rt.model_copy(update={"kong": route})]}
        )
        after = capture(kong_program(changed), stack="dev").only(DEPLOYMENT)
        before = dev.only(DEPLOYMENT)
        key = CONFIG_CHECKSUM_ANNOTATION
        old = before.props["spec"]["template"]["metadata"]["annotations"][key]
        new = after.props["spec"]["template"]["metadata"]["annotations"][key]
        assert old != new, after.urn


class TestKongEntities:
    """The model: timeouts and retries from config, one Target that no health check can eject."""

    def test_model(self, dev_config: StackConfig) -> None:
        config = dev_config.runtimes[0].kong
        model = build_entities(
            dev_config.kong,
            [rt_target("HTTPS")],
        )
        svc = model.runtimes[0].service
        assert (svc.protocol, svc.host, svc.port) == ("https", "rt.upstream", 8080)
        assert svc.connect_timeout_ms == config.connect_timeout_ms
        assert svc.read_timeout_ms == config.read_timeout_ms
        assert svc.write_timeout_ms == config.write_timeout_ms
        assert svc.retries == config.retries
        assert model.runtimes[0].upstream.name == svc.host
        assert model.runtimes[0].target.target == "rt.rt.svc.cluster.local:8080"
        assert model.runtimes[0].target.weight == 100
        route = model.runtimes[0].route
        assert route.paths == dev_config.runtimes[0].kong.route_paths
        assert route.protocols == ["http"]
        assert route.strip_path is False
        assert route.preserve_host is True
        assert route.request_buffering is dev_config.runtimes[0].kong.request_buffering
        assert route.response_buffering is True

    def test_declarative_health_checks_off(self, dev_config: StackConfig) -> None:
        doc = entities(kong_args(dev_config)).to_declarative()
        upstream = doc["upstreams"][0]
        assert upstream["algorithm"] == "round-robin"
        assert upstream["targets"] == [{"target": "rt.rt.svc.cluster.local:8080", "weight": 100}]
        checks = upstream["healthchecks"]
        assert checks["active"]["healthy"]["interval"] == 0
        assert checks["active"]["unhealthy"]["interval"] == 0
        assert set(checks["passive"]["unhealthy"].values()) == {0}
        assert doc["services"][0]["host"] == upstream["name"]
        assert doc["services"][0]["routes"][0]["name"] == "rt-route"


class TestHybridMode:
    """Hybrid: no ConfigMap; the same entities are applied with pulumi-kong through an explicit
    provider for the control plane, tagged with the identity; the DP gets cluster settings."""

    def test_no_config_map(self, hybrid_dev: Capture) -> None:
        assert hybrid_dev.of_type(CONFIG_MAP) == []
        dep = hybrid_dev.only(DEPLOYMENT)
        assert "annotations" not in dep.props["spec"]["template"]["metadata"], dep.urn

    def test_dp_env_and_cert(self, hybrid_dev: Capture) -> None:
        dep = hybrid_dev.only(DEPLOYMENT)
        env = env_of(dep)
        assert env["KONG_ROLE"] == "data_plane", dep.urn
        assert env["KONG_DATABASE"] == "off", dep.urn
        assert env["KONG_CLUSTER_CONTROL_PLANE"] == HYBRID.cluster_control_plane, dep.urn
        assert env["KONG_CLUSTER_TELEMETRY_ENDPOINT"] == HYBRID.cluster_telemetry_endpoint
        assert env["KONG_CLUSTER_MTLS"] == "shared", dep.urn
        assert env["KONG_CLUSTER_CERT"].endswith("/tls.crt"), dep.urn
        assert env["KONG_CLUSTER_CERT_KEY"].endswith("/tls.key"), dep.urn
        assert "KONG_DECLARATIVE_CONFIG" not in env, dep.urn
        volumes = {v["name"]: v for v in pod_spec(dep)["volumes"]}
        assert volumes["cluster-cert"]["secret"]["secretName"] == HYBRID.cluster_cert_secret

    def test_provider(self, hybrid_dev: Capture) -> None:
        component = hybrid_dev.only(TYPE)
        provider = hybrid_dev.only("pulumi:providers:kong")
        assert provider.parent == component.urn, provider.urn
        assert provider.props["kongAdminUri"] == HYBRID.admin_url, provider.urn
        # The token reaches the provider as a Pulumi secret: captured props hold only the mask.
        assert provider.props["kongAdminToken"] == SECRET_MASK, provider.urn
        assert hybrid_dev.secrets == ["s3cr3t-token"], provider.urn

    def test_entities(self, hybrid_dev: Capture, dev_config: StackConfig) -> None:
        component = hybrid_dev.only(TYPE)
        model = entities(kong_args(hybrid(dev_config)))
        svc = hybrid_dev.only("kong:index/service:Service")
        route = hybrid_dev.only("kong:index/route:Route")
        upstream = hybrid_dev.only(KONG_UPSTREAM)
        target = hybrid_dev.only(KONG_TARGET)
        assert svc.parent == component.urn, svc.urn
        assert upstream.parent == component.urn, upstream.urn
        assert route.parent == svc.urn, route.urn
        assert target.parent == upstream.urn, target.urn
        for res in (svc, route, upstream, target):
            assert res.name.startswith("kong-kong-"), res.urn
            found = identity.identity_of(res.props)
            assert found is not None, res.urn
            assert (found.chain, found.tier) == ("main", identity.Tier.C), res.urn
        assert svc.props["protocol"] == "https", svc.urn
        assert svc.props["host"] == model.runtimes[0].upstream.name, svc.urn
        assert svc.props["retries"] == model.runtimes[0].service.retries, svc.urn
        assert svc.props["connectTimeout"] == model.runtimes[0].service.connect_timeout_ms, svc.urn
        assert svc.props["readTimeout"] == model.runtimes[0].service.read_timeout_ms, svc.urn
        assert svc.props["writeTimeout"] == model.runtimes[0].service.write_timeout_ms, svc.urn
        assert route.props["stripPath"] is False, route.urn
        assert route.props["preserveHost"] is True, route.urn
        assert route.props["requestBuffering"] is True, route.urn
        assert route.props["paths"] == model.runtimes[0].route.paths, route.urn
        assert target.props["target"] == model.runtimes[0].target.target, target.urn
        assert target.props["weight"] == 100, target.urn
        checks = upstream.props["healthchecks"]
        assert checks["active"]["healthy"]["interval"] == 0, upstream.urn
        assert checks["active"]["unhealthy"]["interval"] == 0, upstream.urn
        assert set(checks["passive"]["unhealthy"].values()) == {0}, upstream.urn


class TestPreview:
    """A preview of a brand-new stack registers the same objects, with the same props."""

    @pytest.mark.parametrize("mode", ["dbless", "hybrid"])
    def test_same_resources(self, capture: Runner, dev_config: StackConfig, mode: str) -> None:
        cfg = dev_config if mode == "dbless" else hybrid(dev_config)
        full = capture(kong_program(cfg), stack="dev")
        preview = capture(kong_program(cfg), stack="dev", preview=True)
        assert sorted((r.type, r.name) for r in preview.resources) == sorted(
            (r.type, r.name) for r in full.resources
        )
        by_urn = {r.urn: r for r in full.resources}
        for res in preview.resources:
            if res.type.startswith("kubernetes:"):
                assert res.props == by_urn[res.urn].props, res.urn
