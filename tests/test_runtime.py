"""RuntimeService (tier D): every hitless setting of the runtime's objects, by resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from hitless.components import kong
from hitless.components.config import StackConfig
from hitless.components.runtime import TYPE, RuntimeService, RuntimeServiceArgs, service_host
from hitless.harness import Capture, CapturedResource
from hitless_policy import identity

Runner = Callable[..., Capture]

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"


def rt_program(cfg: StackConfig, name: str = "rt") -> Callable[[], None]:
    """A program holding one RuntimeService on a (mock) Kubernetes provider."""

    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        RuntimeService(
            name,
            RuntimeServiceArgs(
                config=cfg.runtimes[0],
                platform=cfg.platform,
                cluster=cfg.cluster,
                kong_namespace=cfg.kong.namespace,
                kong_pod_labels=kong.pod_labels(cfg.platform),
                await_timeout_seconds=cfg.await_timeout("runtimes.rt"),
            ),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )

    return program


def pod_spec(dep: CapturedResource) -> dict[str, Any]:
    return dict(dep.props["spec"]["template"]["spec"])


def container(dep: CapturedResource) -> dict[str, Any]:
    return dict(pod_spec(dep)["containers"][0])


@pytest.fixture
def dev(capture: Runner, dev_config: StackConfig) -> Capture:
    return capture(rt_program(dev_config), stack="dev")


@pytest.fixture
def prod(capture: Runner, prod_config: StackConfig) -> Capture:
    return capture(rt_program(prod_config), stack="prod")


class TestChildrenParentedAndNamed:
    """Children parented to the component and named after it: the preview tree shows the tier,
    providers flow through the parent, and two runtimes in one stack cannot collide."""

    def test_parent_and_name(self, dev: Capture) -> None:
        component = dev.only(TYPE)
        children = [r for r in dev.resources if r.type.startswith("kubernetes:")]
        assert {r.type for r in children} == {DEPLOYMENT, SERVICE, PDB, HPA, NETPOL, NAMESPACE}
        for res in children:
            assert res.parent == component.urn, res.urn
            assert f"{TYPE}$" in res.urn, res.urn
            assert res.name.startswith("rt-"), res.urn

    def test_names_follow_component_name(self, capture: Runner, dev_config: StackConfig) -> None:
        cap = capture(rt_program(dev_config, name="other"), stack="dev")
        for res in cap.resources:
            if res.type.startswith("kubernetes:"):
                assert res.name.startswith("other-"), res.urn


class TestRegisteredOutputs:
    """Real values in register_outputs: Kong's config and the CLI read them from the engine."""

    def test_outputs(self, dev: Capture, dev_config: StackConfig) -> None:
        component = dev.only(TYPE)
        out = component.outputs
        assert out["service_host"] == "rt.rt.svc.cluster.local", component.urn
        assert out["service_host"] == service_host(dev_config.runtimes[0]), component.urn
        assert out["service_port"] == dev_config.runtimes[0].port, component.urn
        assert out["namespace"] == dev_config.runtimes[0].namespace, component.urn
        dep = dev.only(DEPLOYMENT)
        assert out["pod_labels"] == dep.props["spec"]["selector"]["matchLabels"], component.urn


class TestIdentityLabels:
    """Every object carries chain/tier/role labels: the chain rules group resources by them."""

    def test_every_object_labelled(self, dev: Capture) -> None:
        for res in dev.resources:
            if not res.type.startswith("kubernetes:"):
                continue
            labels = res.props["metadata"]["labels"]
            assert labels[identity.K8S_CHAIN_LABEL] == "main", res.urn
            assert labels[identity.K8S_TIER_LABEL] == "d", res.urn
            assert labels[identity.K8S_ROLE_LABEL], res.urn
            assert labels["app.kubernetes.io/name"] == "rt", res.urn
            assert labels["app.kubernetes.io/part-of"] == "hitless-main", res.urn
            assert labels["app.kubernetes.io/component"] == "runtime", res.urn
            assert labels["env"] == "dev", res.urn
            assert identity.identity_of(res.props) is not None, res.urn

    def test_pod_template_labelled(self, dev: Capture) -> None:
        dep = dev.only(DEPLOYMENT)
        labels = dep.props["spec"]["template"]["metadata"]["labels"]
        assert labels[identity.K8S_TIER_LABEL] == "d", dep.urn
        assert labels[identity.K8S_CHAIN_LABEL] == "main", dep.urn
        selector = dep.props["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items(), dep.urn

    def test_selector_excludes_platform_labels(self, dev: Capture) -> None:
        """The Deployment selector is immutable: a platform label in it would force a replace."""
        dep = dev.only(DEPLOYMENT)
        assert "env" not in dep.props["spec"]["selector"]["matchLabels"], dep.urn


class TestDeploymentNameAndReplicas:
    """The Deployment is named as configured and runs >= 2 pods, so one can drain."""

    def test_name_replicas(self, prod: Capture, prod_config: StackConfig) -> None:
        dep = prod.only(DEPLOYMENT)
        assert dep.props["metadata"]["name"] == prod_config.runtimes[0].name, dep.urn
        assert dep.props["metadata"]["namespace"] == prod_config.runtimes[0].namespace, dep.urn
        assert dep.props["spec"]["replicas"] == prod_config.runtimes[0].replicas >= 2, dep.urn


class TestHpaOwnsReplicasAfterCreation:
    """`replicas` sizes the first rollout only: a later `pulumi up` must not reset the count the
    HPA chose, or a deploy during a traffic peak would shrink capacity mid-rollout."""

    def test_replicas_ignored_after_creation(self, dev: Capture) -> None:
        dep = dev.only(DEPLOYMENT)
        assert dep.ignore_changes == ["spec.replicas"], dep.urn
        assert dev.only(HPA).props["spec"]["minReplicas"] <= dep.props["spec"]["replicas"], dep.urn


class TestRollingUpdateSurgeOnly:
    """maxUnavailable 0 / maxSurge 1: a rollout never removes a pod before its replacement is
    Available, so capacity never drops (the user's maxUnavailable 1 halved it)."""

    def test_strategy(self, dev: Capture, dev_config: StackConfig) -> None:
        dep = dev.only(DEPLOYMENT)
        spec = dep.props["spec"]
        assert spec["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }, dep.urn
        assert spec["minReadySeconds"] == dev_config.runtimes[0].min_ready_seconds, dep.urn
        assert spec["progressDeadlineSeconds"] == dev_config.runtimes[0].progress_deadline_seconds
        assert spec["progressDeadlineSeconds"] > spec["minReadySeconds"], dep.urn


class TestProbes:
    """A fast readiness probe pulls a failing pod out of the Service; a distinct, slower liveness
    probe does not kill a busy one; a startup probe protects slow starts."""

    def test_readiness(self, dev: Capture, dev_config: StackConfig) -> None:
        dep = dev.only(DEPLOYMENT)
        probe = container(dep)["readinessProbe"]
        rt = dev_config.runtimes[0]
        assert probe["httpGet"] == {"path": rt.health_path, "port": "https", "scheme": "HTTPS"}
        assert probe["periodSeconds"] <= 10, dep.urn
        assert probe["periodSeconds"] == rt.readiness.period_seconds, dep.urn
        ports = container(dep)["ports"]
        assert ports == [{"name": "https", "containerPort": rt.port, "protocol": "TCP"}], dep.urn

    def test_liveness_distinct(self, dev: Capture, dev_config: StackConfig) -> None:
        dep = dev.only(DEPLOYMENT)
        ctr = container(dep)
        assert ctr["livenessProbe"] != ctr["readinessProbe"], dep.urn
        assert ctr["livenessProbe"]["httpGet"]["path"] == dev_config.runtimes[0].liveness_path
        assert (
            ctr["livenessProbe"]["periodSeconds"] == dev_config.runtimes[0].liveness.period_seconds
        )
        assert ctr["livenessProbe"]["successThreshold"] == 1, dep.urn

    def test_startup(self, dev: Capture, dev_config: StackConfig) -> None:
        dep = dev.only(DEPLOYMENT)
        probe = container(dep)["startupProbe"]
        assert probe["failureThreshold"] == dev_config.runtimes[0].startup.failure_threshold, (
            dep.urn
        )
        assert probe["successThreshold"] == 1, dep.urn

    def test_http_scheme(self, capture: Runner, dev_config: StackConfig) -> None:
        cfg = dev_config.model_copy(
            update={"runtimes": [dev_config.runtimes[0].model_copy(update={"scheme": "HTTP"})]}
        )
        cap = capture(rt_program(cfg), stack="dev")
        dep = cap.only(DEPLOYMENT)
        assert container(dep)["readinessProbe"]["httpGet"]["scheme"] == "HTTP", dep.urn
        svc = cap.only(SERVICE)
        assert svc.props["spec"]["ports"][0]["appProtocol"] == "http", svc.urn


class TestPreStopAndGrace:
    """preStop keeps the pod serving while endpoint removal propagates to Kong's nodes; the grace
    period covers preStop plus the longest request, or in-flight requests are killed."""

    def test_native_sleep(self, dev: Capture, dev_config: StackConfig) -> None:
        assert dev_config.cluster.supports_sleep_action
        dep = dev.only(DEPLOYMENT)
        assert container(dep)["lifecycle"]["preStop"] == {
            "sleep": {"seconds": dev_config.runtimes[0].prestop_seconds}
        }, dep.urn

    def test_exec_sleep_before_1_30(self, capture: Runner, dev_config: StackConfig) -> None:
        old = dev_config.cluster.model_copy(update={"kubernetes_version": "1.29"})
        cap = capture(rt_program(dev_config.model_copy(update={"cluster": old})), stack="dev")
        dep = cap.only(DEPLOYMENT)
        seconds = dev_config.runtimes[0].prestop_seconds
        assert container(dep)["lifecycle"]["preStop"] == {
            "exec": {"command": ["sh", "-c", f"sleep {seconds}"]}
        }, dep.urn

    def test_grace(self, dev: Capture, dev_config: StackConfig) -> None:
        dep = dev.only(DEPLOYMENT)
        grace = pod_spec(dep)["terminationGracePeriodSeconds"]
        assert grace == dev_config.runtimes[0].termination_grace_seconds, dep.urn
        assert dev_config.runtimes[0].prestop_seconds < grace <= 3600, dep.urn


class TestSpread:
    """Pods spread over nodes (and zones when regional): one node drain or zone loss never
    takes every replica; pod-template-hash keeps old pods from skewing a rollout."""

    def test_single_zone_regional_cluster(self, dev: Capture) -> None:
        """One node zone, but the cluster is regional: the zone constraint (one domain, always
        satisfied) is there, as the policy requires for a regional cluster."""
        dep = dev.only(DEPLOYMENT)
        spread = pod_spec(dep)["topologySpreadConstraints"]
        keys = [c["topologyKey"] for c in spread]
        assert keys == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"], dep.urn

    def test_regional(self, prod: Capture) -> None:
        dep = prod.only(DEPLOYMENT)
        spread = pod_spec(dep)["topologySpreadConstraints"]
        keys = [c["topologyKey"] for c in spread]
        assert keys == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"], dep.urn
        selector = dep.props["spec"]["selector"]["matchLabels"]
        for constraint in spread:
            assert constraint["whenUnsatisfiable"] == "DoNotSchedule", dep.urn
            assert constraint["maxSkew"] == 1, dep.urn
            assert constraint["matchLabelKeys"] == ["pod-template-hash"], dep.urn
            assert constraint["labelSelector"] == {"matchLabels": selector}, dep.urn


class TestResources:
    """Requests let the scheduler and HPA work; a memory limit bounds a leak; no CPU limit."""

    def test_resources(self, prod: Capture, prod_config: StackConfig) -> None:
        dep = prod.only(DEPLOYMENT)
        res = prod_config.runtimes[0].resources
        assert container(dep)["resources"] == {
            "requests": {"cpu": res.cpu_request, "memory": res.memory_request},
            "limits": {"memory": res.memory_limit},
        }, dep.urn


class TestSecurityContext:
    """Restricted pod security: non-root, no escalation, no capabilities, RuntimeDefault seccomp,
    read-only root filesystem (with a writable /tmp for spooled uploads)."""

    def test_container(self, dev: Capture) -> None:
        dep = dev.only(DEPLOYMENT)
        ctx = container(dep)["securityContext"]
        assert ctx["runAsNonRoot"] is True, dep.urn
        assert ctx["allowPrivilegeEscalation"] is False, dep.urn
        assert ctx["capabilities"] == {"drop": ["ALL"]}, dep.urn
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, dep.urn
        assert ctx["readOnlyRootFilesystem"] is True, dep.urn
        assert pod_spec(dep)["securityContext"]["runAsNonRoot"] is True, dep.urn
        assert {"name": "tmp", "mountPath": "/tmp"} in container(dep)["volumeMounts"], dep.urn
        assert pod_spec(dep)["automountServiceAccountToken"] is False, dep.urn


class TestDeclaredSettings:
    """The runtime's own timeouts and body limit are declared on its Deployment (the chain rules
    read them) and passed to the container, so the declaration is what runs."""

    def test_annotations_and_env(self, dev: Capture, dev_config: StackConfig) -> None:
        dep = dev.only(DEPLOYMENT)
        rt = dev_config.runtimes[0]
        annotations = dep.props["metadata"]["annotations"]
        assert annotations[identity.RT_REQUEST_TIMEOUT_ANNOTATION] == str(
            rt.request_timeout_seconds
        ), dep.urn
        assert annotations[identity.RT_KEEPALIVE_IDLE_ANNOTATION] == str(
            rt.keepalive_idle_timeout_seconds
        ), dep.urn
        assert annotations[identity.RT_MAX_BODY_ANNOTATION] == str(rt.max_body_mib), dep.urn
        env = {item["name"]: item["value"] for item in container(dep)["env"]}
        assert env["RT_REQUEST_TIMEOUT_SECONDS"] == str(rt.request_timeout_seconds), dep.urn
        assert env["RT_KEEPALIVE_IDLE_TIMEOUT_SECONDS"] == str(rt.keepalive_idle_timeout_seconds), (
            dep.urn
        )
        assert env["RT_MAX_BODY_MIB"] == str(rt.max_body_mib), dep.urn


class TestService:
    """A ClusterIP Service without client-IP affinity (affinity pins clients to draining pods),
    named as Kong's target expects."""

    def test_service(self, dev: Capture, dev_config: StackConfig) -> None:
        svc = dev.only(SERVICE)
        dep = dev.only(DEPLOYMENT)
        spec = svc.props["spec"]
        assert svc.props["metadata"]["name"] == dev_config.runtimes[0].name, svc.urn
        assert spec["type"] == "ClusterIP", svc.urn
        assert spec["sessionAffinity"] == "None", svc.urn
        assert spec["selector"] == dep.props["spec"]["selector"]["matchLabels"], svc.urn
        assert spec["ports"] == [
            {
                "name": "https",
                "port": dev_config.runtimes[0].port,
                "targetPort": "https",
                "protocol": "TCP",
                "appProtocol": "https",
            }
        ], svc.urn


class TestPodDisruptionBudget:
    """One disruption at a time, unhealthy pods always evictable: node drains never take both
    pods and never wedge on a crash-looping one."""

    def test_pdb(self, dev: Capture) -> None:
        pdb = dev.only(PDB)
        dep = dev.only(DEPLOYMENT)
        spec = pdb.props["spec"]
        assert spec["maxUnavailable"] == 1, pdb.urn
        assert "minAvailable" not in spec, pdb.urn
        assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow", pdb.urn
        assert spec["selector"] == dep.props["spec"]["selector"], pdb.urn
        assert pdb.props["metadata"]["namespace"] == dep.props["metadata"]["namespace"], pdb.urn


class TestHorizontalPodAutoscaler:
    """The HPA never scales below 2 and scales the runtime's Deployment on CPU."""

    def test_hpa(self, prod: Capture, prod_config: StackConfig) -> None:
        hpa = prod.only(HPA)
        spec = hpa.props["spec"]
        scaling = prod_config.runtimes[0].autoscaling
        assert hpa.props["apiVersion"] == "autoscaling/v2", hpa.urn
        assert spec["minReplicas"] == scaling.min_replicas >= 2, hpa.urn
        assert spec["maxReplicas"] == scaling.max_replicas, hpa.urn
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": prod_config.runtimes[0].name,
        }, hpa.urn
        target = spec["metrics"][0]["resource"]
        assert target["name"] == "cpu", hpa.urn
        assert target["target"]["averageUtilization"] == scaling.cpu_utilization_percent


class TestNetworkPolicy:
    """Only Kong reaches the runtime: nothing bypasses Kong's timeouts, retries and limits."""

    def test_ingress_from_kong_only(self, dev: Capture, dev_config: StackConfig) -> None:
        pol = dev.named("rt-network-policy", NETPOL)
        dep = dev.only(DEPLOYMENT)
        spec = pol.props["spec"]
        assert spec["podSelector"] == dep.props["spec"]["selector"], pol.urn
        assert spec["policyTypes"] == ["Ingress"], pol.urn
        assert spec["ingress"] == [
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {
                                "kubernetes.io/metadata.name": dev_config.kong.namespace
                            }
                        },
                        "podSelector": {"matchLabels": kong.pod_labels(dev_config.platform)},
                    }
                ],
                "ports": [{"port": dev_config.runtimes[0].port, "protocol": "TCP"}],
            }
        ], pol.urn


class TestPreview:
    """A preview of a brand-new stack registers the same objects and every judged value is known."""

    def test_same_resources(self, capture: Runner, dev_config: StackConfig, dev: Capture) -> None:
        preview = capture(rt_program(dev_config), stack="dev", preview=True)
        assert sorted((r.type, r.name) for r in preview.resources) == sorted(
            (r.type, r.name) for r in dev.resources
        )
        by_urn = {r.urn: r for r in dev.resources}
        for res in preview.resources:
            if res.type.startswith("kubernetes:"):
                assert res.props == by_urn[res.urn].props, res.urn
