"""`ChainRuntime`: one more runtime service behind an existing hybrid chain, as a component.

Its config (`ChainRuntimeConfig`) is validated before any resource: a DB-less chain, a runtime
in Kong's namespace, a path longer than the chain's tiers carry and a too-short await are
refused with the input, the value, the consequence and the fix. Built under mocks, every
resource hangs under the component and its outputs are registered.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hitless.components.chain import chain_reference, chain_runtime_inputs, kong_reference
from hitless.components.chain_runtime import (
    TYPE,
    ChainFacts,
    ChainRuntime,
    ChainRuntimeArgs,
    ChainRuntimeConfig,
    ChainRuntimeError,
    KongFacts,
    chain_outputs,
    chain_runtime_problems,
    load_chain_runtime_config,
    wire_form,
)
from hitless.components.config import StackConfig, load_stack_config
from hitless.harness import Capture, run_program
from tests.conftest import hitless_values
from tests.test_kong import HYBRID

KUBECONFIG = "apiVersion: v1\nkind: Config\n# gke-gcloud-auth-plugin\n"
"""A stand-in kubeconfig of the chain's cluster (the provider only carries it)."""
REPORTS: dict[str, Any] = {
    "name": "reports",
    "namespace": "reports",
    "image": "europe-west1-docker.pkg.dev/acme/reports/reports:0.3.1",
    "profile": {"max_body_mib": 5, "rt_max_processing_seconds": 20},
    "request_timeout_seconds": 25,
    "max_body_mib": 8,
    "termination_grace_seconds": 55,
    "kong": {"route_paths": ["/reports"], "read_timeout_ms": 30000},
}
"""A small report API: its own promise fits inside dev's upload path."""


def chain_config(*, hybrid: bool = True) -> StackConfig:
    """The dev chain, with Kong in hybrid mode unless told otherwise."""
    values = hitless_values("dev")
    if hybrid:
        values["kong"] = {**values.get("kong", {}), "hybrid": HYBRID.model_dump()}
    return load_stack_config(values, "dev")


def facts(cfg: StackConfig) -> dict[str, Any]:
    """The chain's exports `chain` and `kong` as another stack reads them."""
    return {"chain": chain_reference(cfg), "kong": kong_reference(cfg)}


def load(runtime: dict[str, Any], cfg: StackConfig | None = None) -> ChainRuntimeConfig:
    return load_chain_runtime_config(
        {"runtime": runtime, **facts(cfg or chain_config())},
        prefix="team",
        source="Pulumi.dev.yaml",
        stack="dev",
    )


class TestChainFactsRoundTrip:
    """What the chain exports is what the component takes back: one shape, declared once."""

    def test_exports_validate_as_the_facts(self) -> None:
        cfg = chain_config()
        assert ChainFacts.model_validate(chain_reference(cfg)) == ChainFacts.of(cfg)
        assert KongFacts.model_validate(kong_reference(cfg)) == KongFacts.of(cfg)

    def test_facts_carry_the_chains_longest_requests(self) -> None:
        cfg = chain_config()
        longest = cfg.longest_requests()
        chain = ChainFacts.of(cfg)
        assert [chain.longest.for_tier(t) for t in "abcd"] == [longest.for_tier(t) for t in "abcd"]

    def test_wire_form_is_camel_case_with_label_keys_kept(self) -> None:
        cfg = chain_config()
        wire = chain_runtime_inputs(cfg)
        assert wire["chain"]["kubernetesVersion"] == cfg.cluster.kubernetes_version
        assert wire["chain"]["profile"]["maxBodyMib"] == cfg.profile.max_body_mib
        assert wire["kong"]["adminUrl"] == HYBRID.admin_url
        # Map keys are data, not field names: the pod selector survives as it is.
        assert wire["kong"]["podLabels"] == KongFacts.of(cfg).pod_labels
        assert all("_" not in key for key in wire["chain"])

    def test_wire_form_of_every_facts_field(self) -> None:
        kong = KongFacts.of(chain_config())
        assert set(wire_form(kong)) == {
            "namespace",
            "podLabels",
            "mode",
            "adminUrl",
            "upstreamTlsVerify",
            "upstreamTlsVerifyDepth",
        }


class TestRefusedBeforeAnyResource:
    """A runtime that cannot join the chain hitless is refused with the input and the fix."""

    def test_dbless_chain(self) -> None:
        with pytest.raises(ChainRuntimeError) as caught:
            load(REPORTS, chain_config(hybrid=False))
        message = str(caught.value)
        assert 'kong.mode = "dbless"' in message
        assert "chain 'main' runs Kong DB-less" in message
        assert "Fix: add the runtime to the chain's hitless:runtimes" in message

    def test_hybrid_without_admin_url(self) -> None:
        values = facts(chain_config())
        values["kong"] = {**values["kong"], "admin_url": None}
        cfg = ChainRuntimeConfig.model_construct(
            runtime=load(REPORTS).runtime,
            chain=ChainFacts.model_validate(values["chain"]),
            kong=KongFacts.model_validate(values["kong"]),
        )
        assert any("runs Kong DB-less" in line for line in chain_runtime_problems(cfg))

    def test_runtime_in_kongs_namespace(self) -> None:
        with pytest.raises(
            ChainRuntimeError, match=r"runtime\.namespace = kong: it is Kong's.*Fix"
        ):
            load({**REPORTS, "namespace": "kong"})

    def test_path_longer_than_the_chain_carries(self) -> None:
        slow = {
            **REPORTS,
            "profile": {"max_body_mib": 5, "rt_max_processing_seconds": 300},
            "request_timeout_seconds": 300,
            "termination_grace_seconds": 400,
            "kong": {"route_paths": ["/reports"], "read_timeout_ms": 310000},
        }
        with pytest.raises(ChainRuntimeError) as caught:
            load(slow)
        message = str(caught.value)
        for tier in ("A", "B", "Kong"):
            assert f"its longest request on {tier} is" in message, tier
        assert "(chain.longest.a)" in message
        assert "Fix: lower its promise (runtime.profile)" in message

    def test_await_too_short(self) -> None:
        with pytest.raises(ChainRuntimeError) as caught:
            load({**REPORTS, "await_timeout_seconds": 60})
        message = str(caught.value)
        assert "runtime.await_timeout_seconds = 60: `pulumi up` would give up" in message
        assert "Fix: raise it, or remove it" in message

    def test_bad_runtime_value_names_the_input_and_the_file(self) -> None:
        with pytest.raises(ChainRuntimeError) as caught:
            load({**REPORTS, "replicas": 1})
        message = str(caught.value)
        assert "team:runtime.replicas = 1" in message
        assert "Pulumi.dev.yaml" in message
        assert "stacks/Pulumi" not in message
        # The field's own description explains the value.
        assert "Pods; at least 2" in message

    def test_missing_chain_fact(self) -> None:
        values = facts(chain_config())
        del values["chain"]["longest"]
        with pytest.raises(ChainRuntimeError, match=r"team:chain\.longest is required"):
            load_chain_runtime_config(
                {"runtime": REPORTS, **values}, prefix="team", source="x", stack="dev"
            )

    @settings(max_examples=25, deadline=None)
    @given(
        processing=st.floats(min_value=1, max_value=600),
        body=st.floats(min_value=0.1, max_value=50),
    )
    def test_refused_exactly_when_a_shared_tier_is_exceeded(
        self, processing: float, body: float
    ) -> None:
        """A path is accepted iff none of A, B, Kong holds its request longer than the chain's."""
        cfg = chain_config()
        chain = ChainFacts.of(cfg)
        runtime = load(REPORTS).runtime.model_copy(
            update={
                "profile": REPORTS_PROFILE.model_copy(
                    update={"max_body_mib": body, "rt_max_processing_seconds": processing}
                )
            }
        )
        candidate = ChainRuntimeConfig.model_construct(
            runtime=runtime, chain=chain, kong=KongFacts.of(cfg)
        )
        own = candidate.path_longest()
        exceeds = any(own.for_tier(t) > chain.longest.for_tier(t) for t in "abc")
        longer = [p for p in chain_runtime_problems(candidate) if "its longest request" in p]
        assert bool(longer) == exceeds


REPORTS_PROFILE = load(REPORTS).runtime.profile


ADMIN_TOKEN = "team-token"  # noqa: S105 - a test value the capture must mask
"""The Admin API token the tests pass (a secret)."""


def _program(config: ChainRuntimeConfig) -> Any:
    def program() -> None:
        ChainRuntime(
            "main-reports",
            ChainRuntimeArgs(
                config=config,
                kubeconfig=KUBECONFIG,
                kong_admin_token=pulumi.Output.secret(ADMIN_TOKEN),
            ),
        )

    return program


@pytest.fixture(scope="module")
def built() -> Capture:
    return run_program(
        _program(load(REPORTS)), project="team", stack="dev", config={}, preview=True
    )


class TestComponentTree:
    """Every resource is a child of the component, named after it, on the chain's cluster."""

    def test_every_resource_under_the_component(self, built: Capture) -> None:
        root = built.only(TYPE)
        by_urn = {res.urn: res for res in built.resources}
        for res in built.resources:
            if res is root:
                continue
            node = res
            while node.parent in by_urn and node.parent != root.urn:
                node = by_urn[node.parent]
            assert node.parent == root.urn, f"{res.urn} is not under {root.urn}"
            assert res.name.startswith("main-reports"), res.urn

    def test_cluster_and_control_plane(self, built: Capture) -> None:
        cluster = built.only("pulumi:providers:kubernetes")
        assert cluster.props["kubeconfig"] == KUBECONFIG, cluster.urn
        admin = built.only("pulumi:providers:kong")
        assert admin.props["kongAdminUri"] == HYBRID.admin_url, admin.urn
        assert ADMIN_TOKEN not in str(admin.props), admin.urn

    def test_runtime_awaits_its_rollout(self, built: Capture) -> None:
        deployment = built.only("kubernetes:apps/v1:Deployment")
        expected = load(REPORTS).await_timeout_seconds()
        assert deployment.custom_timeouts.update_seconds == expected, deployment.urn

    def test_outputs_registered(self, built: Capture) -> None:
        root = built.only(TYPE)
        assert root.outputs["service_host"] == "reports.reports.svc.cluster.local", root.urn
        assert root.outputs["namespace"] == "reports", root.urn
        assert root.outputs["route_paths"] == ["/reports"], root.urn


class TestChainOutputsHelper:
    """`chain_outputs` reads the chain's stack as plain values, or says what is missing."""

    def test_reads_both(self) -> None:
        read: list[dict[str, Any]] = []

        def program() -> None:
            read.append(chain_outputs(pulumi.StackReference("ref", stack_name="acme/hitless/dev")))

        exported = facts(chain_config())
        run_program(
            program,
            project="team",
            stack="dev",
            config={},
            preview=True,
            stack_references={"acme/hitless/dev": exported},
        )
        assert read == [exported]

    def test_missing_output(self) -> None:
        def program() -> None:
            chain_outputs(pulumi.StackReference("ref", stack_name="acme/hitless/dev"))

        with pytest.raises(ChainRuntimeError, match=r"exports no `kong`.*Fix"):
            run_program(
                program,
                project="team",
                stack="dev",
                config={},
                preview=True,
                stack_references={"acme/hitless/dev": {"chain": {"name": "main"}}},
            )
