"""The example stack `examples/extra-runtime`: another team adds a runtime behind the chain.

The chain's outputs come from the real program run under mocks (a hybrid-mode chain), and the
mocks answer the example's StackReference with them. The example is a thin program over the
library's `ChainRuntime` (its own errors: `tests/test_chain_runtime.py`). Its resources pass the
policy pack; the rules whose tiers live in the chain's stack are not judged (never passed by
absence). A DB-less chain and a runtime whose path the chain's tiers do not cover exit 2.
"""

from __future__ import annotations

import copy
import runpy
from pathlib import Path
from typing import Any

import pytest

from hitless.components.chain_runtime import TYPE as CHAIN_RUNTIME
from hitless.harness import Capture, run_program
from hitless.program import judge_capture
from hitless_policy.identity import K8S_CHAIN_LABEL
from hitless_policy.profile import PackConfig, Thresholds, TrafficProfile
from hitless_policy.runner import Verdict
from tests.conftest import ROOT, stack_values
from tests.test_kong import HYBRID

EXAMPLE = ROOT / "examples" / "extra-runtime"
CHAIN_STACK = "acme/hitless/dev"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
KONG_TYPES = {
    "kong:index/service:Service",
    "kong:index/route:Route",
    "kong:index/upstream:Upstream",
    "kong:index/target:Target",
}


def _program(path: Path) -> Any:
    return lambda: runpy.run_path(str(path))


def chain_outputs(*, hybrid: bool) -> dict[str, Any]:
    """The chain's stack outputs: the real program on the dev stack (Kong hybrid or DB-less)."""
    config = dict(stack_values("dev"))
    if hybrid:
        config["hitless:kong"] = {
            **config.get("hitless:kong", {}),
            "hybrid": HYBRID.model_dump(),
        }
        config["hitless:kongAdminToken"] = "chain-admin-token"
    cap = run_program(
        _program(ROOT / "__main__.py"), project="hitless", stack="dev", config=config, preview=False
    )
    return cap.stack_outputs


def example_config(**runtime: Any) -> dict[str, Any]:
    """The example's stack file, with `runtime` keys replaced."""
    import yaml

    doc = yaml.safe_load((EXAMPLE / "Pulumi.dev.yaml").read_text())
    config: dict[str, Any] = copy.deepcopy(doc["config"])
    config["extra-runtime:runtime"].update(runtime)
    config["extra-runtime:kongAdminToken"] = "team-admin-token"
    return config


def run_example(outputs: dict[str, Any], config: dict[str, Any] | None = None) -> Capture:
    return run_program(
        _program(EXAMPLE / "__main__.py"),
        project="extra-runtime",
        stack="dev",
        config=example_config() if config is None else config,
        preview=True,
        stack_references={CHAIN_STACK: outputs},
    )


@pytest.fixture(scope="module")
def hybrid_chain() -> dict[str, Any]:
    return chain_outputs(hybrid=True)


@pytest.fixture(scope="module")
def example(hybrid_chain: dict[str, Any]) -> Capture:
    return run_example(hybrid_chain)


def _verdicts(cap: Capture, chain: dict[str, Any]) -> list[Verdict]:
    pack = PackConfig(
        profile=TrafficProfile.model_validate(chain["chain"]["profile"]),
        thresholds=Thresholds.model_validate(chain["chain"]["thresholds"]),
    )
    return judge_capture(cap, pack)


class TestChainOutputs:
    """The chain exports what another stack needs, as plain values known after `pulumi up`."""

    def test_outputs(self, hybrid_chain: dict[str, Any]) -> None:
        assert hybrid_chain["chain"]["name"] == "main"
        assert hybrid_chain["kong"]["mode"] == "hybrid"
        assert hybrid_chain["kong"]["admin_url"] == HYBRID.admin_url
        assert "gke-gcloud-auth-plugin" in hybrid_chain["kubeconfig"]
        assert set(hybrid_chain["chain"]["longest"]) == {"a", "b", "c", "d"}

    def test_package_form_of_the_same_facts(self, hybrid_chain: dict[str, Any]) -> None:
        """`chain_runtime_inputs` is `chain` and `kong` as the package's SDKs name them."""
        wire = hybrid_chain["chain_runtime_inputs"]
        assert wire["chain"]["kubernetesVersion"] == hybrid_chain["chain"]["kubernetes_version"]
        assert wire["chain"]["longest"] == hybrid_chain["chain"]["longest"]
        assert wire["kong"]["podLabels"] == hybrid_chain["kong"]["pod_labels"]


class TestAddsOneRuntime:
    """The example registers one runtime behind the chain, named after it, on the chain's
    cluster, and its Kong entities through the chain's control plane."""

    def test_one_library_component(self, example: Capture) -> None:
        component = example.only(CHAIN_RUNTIME)
        assert component.name == "main-reports", component.urn
        assert component.outputs["service_host"] == "reports.reports.svc.cluster.local"
        assert example.stack_outputs["runtime_host"] == "reports.reports.svc.cluster.local"

    def test_runtime_joins_the_chain(self, example: Capture) -> None:
        dep = example.only(DEPLOYMENT)
        assert dep.name == "main-reports-deployment", dep.urn
        assert dep.props["metadata"]["labels"][K8S_CHAIN_LABEL] == "main", dep.urn
        assert dep.props["metadata"]["namespace"] == "reports", dep.urn
        annotations = dep.props["metadata"]["annotations"]
        assert annotations["hitless.dev/profile.max_body_mib"] == "5", dep.urn

    def test_kong_entities_through_the_control_plane(self, example: Capture) -> None:
        kinds = {res.type for res in example.resources if res.type in KONG_TYPES}
        assert kinds == KONG_TYPES
        service = example.only("kong:index/service:Service")
        assert service.name == "main-reports-kong-reports-service", service.urn
        assert service.props["readTimeout"] == 30000, service.urn
        route = example.only("kong:index/route:Route")
        assert route.props["paths"] == ["/reports"], route.urn
        provider = example.only("pulumi:providers:kong")
        assert provider.props["kongAdminUri"] == HYBRID.admin_url, provider.urn

    def test_kong_may_reach_the_new_pods(self, example: Capture) -> None:
        (policy,) = [
            res
            for res in example.of_type(NETWORK_POLICY)
            if res.props["metadata"]["namespace"] == "kong"
        ]
        rule = policy.props["spec"]["egress"][0]
        assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}], policy.urn
        assert rule["to"][0]["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": "reports"
        }

    def test_cluster_provider_from_the_chain(
        self, example: Capture, hybrid_chain: dict[str, Any]
    ) -> None:
        provider = example.only("pulumi:providers:kubernetes")
        assert provider.props["kubeconfig"] == hybrid_chain["kubeconfig"], provider.urn


class TestPolicyPack:
    """The pack passes what the example registers; the hops whose tiers live in the chain's
    stack are not judged, never passed by their absence."""

    def test_no_mandatory_failure(self, example: Capture, hybrid_chain: dict[str, Any]) -> None:
        failed = [
            v
            for v in _verdicts(example, hybrid_chain)
            if v.status == "fail" and v.level == "mandatory"
        ]
        assert failed == []

    def test_own_path_judged(self, example: Capture, hybrid_chain: dict[str, Any]) -> None:
        verdicts = _verdicts(example, hybrid_chain)
        grace = [
            v
            for v in verdicts
            if v.rule == "deployment-grace-covers-drain" and "main-reports-deployment" in v.resource
        ]
        assert {v.status for v in grace} == {"pass"}
        # Its own path's longest request (20 s processing), not the chain's upload (60.4).
        assert any("terminationGracePeriodSeconds 55 >= 50" in v.message for v in grace), grace

    @pytest.mark.parametrize(
        "rule",
        [
            "chain-idle-timeouts-cover-silence",
            "chain-pooled-connections-recycled",
        ],
    )
    def test_other_stacks_tiers_not_judged(
        self, example: Capture, hybrid_chain: dict[str, Any], rule: str
    ) -> None:
        verdicts = [v for v in _verdicts(example, hybrid_chain) if v.rule == rule]
        assert verdicts, rule
        assert {v.status for v in verdicts} == {"not-judged"}, verdicts
        assert all("missing from the chain" in v.message for v in verdicts), verdicts

    def test_lb_hop_not_judged(self, example: Capture, hybrid_chain: dict[str, Any]) -> None:
        verdicts = [
            v
            for v in _verdicts(example, hybrid_chain)
            if v.rule == "chain-request-timeouts-ordered" and "LB->A" in v.message
        ]
        assert verdicts
        assert {v.status for v in verdicts} == {"not-judged"}


class TestRefusedChains:
    """A stack that cannot be built as described exits 2 with the reason and the fix."""

    def test_dbless_chain(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as stopped:
            run_example(chain_outputs(hybrid=False))
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert "runs Kong DB-less" in err
        assert "Fix: add the runtime to the chain's hitless:runtimes" in err

    def test_path_longer_than_the_chain_carries(
        self, hybrid_chain: dict[str, Any], capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = example_config(
            profile={"max_body_mib": 5, "rt_max_processing_seconds": 300},
            request_timeout_seconds=300,
            termination_grace_seconds=400,
            kong={"route_paths": ["/reports"], "read_timeout_ms": 310000},
        )
        with pytest.raises(SystemExit) as stopped:
            run_example(hybrid_chain, config)
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert "its longest request on A is" in err
        assert "Fix: lower its promise" in err

    def test_bad_runtime_config(
        self, hybrid_chain: dict[str, Any], capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as stopped:
            run_example(hybrid_chain, example_config(replicas=1))
        assert stopped.value.code == 2
        assert "extra-runtime:runtime.replicas = 1" in capsys.readouterr().err
