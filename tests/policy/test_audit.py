"""Corrections from an audit of every rule against Kong's and nginx's source and the GCP, GKE and
Kubernetes documentation. Each test failed before its correction; the source is cited."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hitless.components.config import StackConfigError, load_stack_config
from hitless_policy import budget
from hitless_policy.profile import PackConfig
from hitless_policy.runner import Verdict, judge
from tests.conftest import hitless_values
from tests.policy.baseline import A_CONF, KONG_YML, container, inputs, props

Res = dict[str, tuple[str, dict[str, Any]]]
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""Pulumi's wire sentinel for a value unknown at preview."""


def _verdicts(mutate: Any) -> list[Verdict]:
    return judge(inputs(mutate), PackConfig())


def _on(verdicts: list[Verdict], rule: str, name: str) -> list[Verdict]:
    return [v for v in verdicts if v.rule == rule and v.resource.endswith(f"::{name}")]


def _spec(res: Res, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = props(res, name)["spec"]
    return spec


class TestKongGetWorstCase:
    """nginx passes a request to the next upstream on `error timeout` by default, also after a
    read timeout, unless the request is non-idempotent and already sent
    (http://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_next_upstream); Kong's
    template sets no proxy_next_upstream. A GET waits (connect + read) x (1 + retries)."""

    def test_formula(self) -> None:
        assert budget.kong_worst_case_seconds(2000, 60000, 2) == 186

    def test_a_read_below_get_worst_case_fails(self) -> None:
        # 160 s covered the POST worst case (2 x 3 + 60 = 66 s), not the GET's 186 s.
        def mutate(res: Res) -> None:
            data = props(res, "kong-config")["data"]
            data["kong.yml"] = KONG_YML.replace("read_timeout: 50000", "read_timeout: 60000")

        found = _on(_verdicts(mutate), "chain-request-timeouts-ordered", "a-template")
        assert [v.status for v in found] == ["fail"]
        assert "(connect 2000 ms + read 60000 ms) x (1 + 2 retries)" in found[0].message


class TestGraceOnAutoscaledPools:
    """The cluster autoscaler gives pods 10 minutes on scale-down, whatever their grace
    (cloud.google.com/kubernetes-engine/docs/concepts/cluster-autoscaler; kubernetes#94435);
    GKE honours up to one hour only for upgrades."""

    @staticmethod
    def _grace(res: Res, seconds: int, *, autoscaled: bool) -> None:
        _spec(res, "rt")["template"]["spec"]["terminationGracePeriodSeconds"] = seconds
        if autoscaled:
            props(res, "pool")["autoscaling"] = {"minNodeCount": 1, "maxNodeCount": 3}

    def test_above_600_on_autoscaled_pool_fails(self) -> None:
        found = _on(
            _verdicts(lambda r: self._grace(r, 700, autoscaled=True)),
            "deployment-grace-covers-drain",
            "rt",
        )
        assert [v.status for v in found] == ["fail"]
        assert "must be <= 600" in found[0].message

    def test_above_600_without_autoscaler_passes(self) -> None:
        found = _on(
            _verdicts(lambda r: self._grace(r, 700, autoscaled=False)),
            "deployment-grace-covers-drain",
            "rt",
        )
        assert {v.status for v in found} == {"pass"}


class TestKongWithoutQuit:
    """Kong's image stops with SIGQUIT, nginx's graceful quit (Kong's Dockerfile STOPSIGNAL
    SIGQUIT): a pod without `kong quit` still drains, for grace - preStop, judged by the grace
    rule alone, not as "without drain budget"."""

    @staticmethod
    def _sleep(res: Res, grace: int) -> None:
        container(res, "kong")["lifecycle"] = {"preStop": {"sleep": {"seconds": 30}}}
        _spec(res, "kong")["template"]["spec"]["terminationGracePeriodSeconds"] = grace

    def test_drain_is_grace_minus_prestop(self) -> None:
        verdicts = _verdicts(lambda r: self._sleep(r, 100))
        grace = _on(verdicts, "deployment-grace-covers-drain", "kong")
        assert {v.status for v in grace} == {"pass"}
        drain = _on(verdicts, "chain-drain-covers-longest-request", "kong")
        # Judged on KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT (60 s), never "no drain budget".
        assert [v.status for v in drain] == ["pass"]

    def test_short_grace_fails_with_its_bound(self) -> None:
        grace = _on(
            _verdicts(lambda r: self._sleep(r, 60)), "deployment-grace-covers-drain", "kong"
        )
        assert [v.status for v in grace] == ["fail"]
        # preStop 30 + C's longest request 30.8 + margin 15
        assert "must be >= 75.8" in grace[0].message


class TestBlueGreenDefaultSoak:
    """GKE soaks a BLUE_GREEN pool one hour when nodePoolSoakDuration is unset (GKE docs,
    "Blue-green upgrades"); only an explicit zero soak deletes the blue pool at once."""

    def test_unset_soak_passes(self) -> None:
        def mutate(res: Res) -> None:
            props(res, "pool")["upgradeSettings"] = {"strategy": "BLUE_GREEN"}

        found = _on(_verdicts(mutate), "node-pool-upgrade-hitless", "pool")
        assert [v.status for v in found] == ["pass"]
        assert "3600 s soak" in found[0].message

    def test_zero_soak_fails(self) -> None:
        def mutate(res: Res) -> None:
            props(res, "pool")["upgradeSettings"] = {
                "strategy": "BLUE_GREEN",
                "blueGreenSettings": {"nodePoolSoakDuration": "0s"},
            }

        assert [v.status for v in _on(_verdicts(mutate), "node-pool-upgrade-hitless", "pool")] == [
            "fail"
        ]


class TestUpstreamWithoutKeepalive:
    """Without `keepalive` in the upstream block nginx caches no upstream connection
    (http://nginx.org/en/docs/http/ngx_http_upstream_module.html#keepalive): nothing is pooled,
    so neither pooled-connection verdict applies to it."""

    def test_no_pooled_verdicts(self) -> None:
        def mutate(res: Res) -> None:
            conf = A_CONF.replace("        keepalive 32;\n", "").replace(
                "keepalive_time 50s", "keepalive_time 900s"
            )
            props(res, "a-template")["metadata"]["nginx-conf"] = conf

        verdicts = _verdicts(mutate)
        assert _on(verdicts, "chain-pooled-connections-recycled", "a-template") == []
        keep = _on(verdicts, "chain-keepalive-timeouts-ordered", "a-template")
        assert all("upstream keepalive_timeout" not in v.message for v in keep)


class TestPooledSpanCountsLbLag:
    """During connection draining the internal passthrough NLB may still send new flows to the
    backend until it stops routing to it (reference gcp-lb-mig-gke.md §3.1; networknext/next
    PR #3188): a connection A opens then is pooled too, so the lag belongs in the span."""

    def test_formula(self) -> None:
        assert budget.pooled_connection_span_seconds(60, 30, 30, 30) == 150

    def test_span_without_lag_fitting_fails(self) -> None:
        # keepalive_time 60 + idle 30 + B's longest 30.8 = 120.8 fits in B's 150 s drain; with
        # the LB's 30 s lag it does not.
        def mutate(res: Res) -> None:
            conf = A_CONF.replace("keepalive_time 50s", "keepalive_time 90s")
            props(res, "a-template")["metadata"]["nginx-conf"] = conf

        found = _on(_verdicts(mutate), "chain-pooled-connections-recycled", "a-template")
        assert [v.status for v in found] == ["fail"]
        assert "LB lag 30" in found[0].message


class TestAutohealingDefaultDelay:
    """The API's autoHealingPolicies.initialDelaySec defaults to 0, not 300 (compute v1
    InstanceGroupManagerAutoHealingPolicy); the default lives in extraction."""

    def test_unset_delay_fails(self) -> None:
        def mutate(res: Res) -> None:
            props(res, "b-mig")["autoHealingPolicies"].pop("initialDelaySec")

        found = _on(_verdicts(mutate), "mig-autohealing-configured", "b-mig")
        assert [v.status for v in found] == ["fail"]
        assert "initialDelaySec 0" in found[0].message


class TestLbTimeoutByScheme:
    """The EXTERNAL_MANAGED (Envoy-based) LB's `timeoutSec` is Envoy's route timeout, counted from
    the request's end-of-stream (Envoy `RouteAction.timeout`,
    https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto);
    the classic LB (EXTERNAL) counts from the request, upload included
    (https://cloud.google.com/load-balancing/docs/backend-service#timeout-bes: the meaning
    depends on the load balancer). The baseline body: 50 MiB, 52.4 s at 8 Mbit/s, 0.42 s inside
    the VPC; A's proxy_read_timeout 160 s."""

    @staticmethod
    def _lb(timeout: int, scheme: str) -> list[Verdict]:
        def mutate(res: Res) -> None:
            props(res, "a-backend").update(timeoutSec=timeout, loadBalancingScheme=scheme)

        return _on(_verdicts(mutate), "chain-request-timeouts-ordered", "a-backend")

    def test_formula(self) -> None:
        assert budget.lb_timeout_counts_upload("EXTERNAL_MANAGED") is False
        assert budget.lb_timeout_counts_upload("EXTERNAL") is True
        assert budget.lb_timeout_counts_upload("INTERNAL_MANAGED") is None
        assert budget.min_lb_timeout_seconds(52.4, 0.4, 160, counts_upload=True) == 212.4
        assert budget.min_lb_timeout_seconds(52.4, 0.4, 160, counts_upload=False) == 160.4

    def test_envoy_lb_excludes_the_upload(self) -> None:
        # Upload + read (212.4 s) failed 200 s; Envoy's timer starts after the upload.
        assert [v.status for v in self._lb(200, "EXTERNAL_MANAGED")] == ["pass"]
        found = self._lb(160, "EXTERNAL_MANAGED")
        assert [v.status for v in found] == ["fail"]
        assert "end-of-stream" in found[0].message

    def test_classic_lb_counts_the_upload(self) -> None:
        found = self._lb(200, "EXTERNAL")
        assert [v.status for v in found] == ["fail"]
        assert "client upload 52.4" in found[0].message

    def test_unknown_scheme_is_not_judged(self) -> None:
        assert [v.status for v in self._lb(200, "INTERNAL_MANAGED")] == ["not-judged"]

    def test_config_model_uses_the_envoy_bound(self) -> None:
        values = copy.deepcopy(hitless_values("dev"))
        values["edge"]["backend_timeout_sec"] = 200
        cfg = load_stack_config(values, "dev")
        assert cfg.edge.backend_timeout_sec == 200
        values["edge"]["backend_timeout_sec"] = 160
        with pytest.raises(StackConfigError, match="end-of-stream"):
            load_stack_config(values, "dev")


class TestKongInternalLbLag:
    """Kong's Service is a GKE internal LoadBalancer (externalTrafficPolicy Local) under
    Dataplane V2. With GKE subsetting (`enableL4IlbSubsetting`) its backends are GCE_VM_IP NEGs of
    only the nodes with a serving pod, and only nodes with a ready, non-terminating pod take
    packets (cloud.google.com/kubernetes-engine/docs/how-to/internal-load-balancing#using-gke-
    subsetting, /docs/concepts/service-load-balancer). The lag is its own profile field, and the
    subsetting the lag is stated for is judged by the rule owning `kong quit --wait`."""

    RULE = "deployment-prestop-covers-propagation"

    def test_kong_lag_is_its_own_profile_field(self) -> None:
        # The baseline's `kong quit --wait` of 35 s covers 30 s, not a 40 s internal LB lag.
        verdicts = judge(
            inputs(None),
            PackConfig.model_validate({"profile": {"kong_lb_propagation_seconds": 40}}),
        )
        found = _on(verdicts, self.RULE, "kong")
        assert [v.status for v in found] == ["fail"]
        assert "profile.kong_lb_propagation_seconds" in found[0].message
        assert budget.kong_quit_wait_bound_seconds(PackConfig().profile) == 30

    def test_cluster_without_subsetting_fails(self) -> None:
        def mutate(res: Res) -> None:
            del props(res, "cluster")["enableL4IlbSubsetting"]

        found = _on(_verdicts(mutate), self.RULE, "cluster")
        assert [v.status for v in found] == ["fail"]
        assert "Fix: set enableL4IlbSubsetting: true" in found[0].message

    def test_cluster_with_subsetting_passes(self) -> None:
        assert [v.status for v in _on(_verdicts(None), self.RULE, "cluster")] == ["pass"]

    def test_unknown_subsetting_is_not_judged(self) -> None:
        def mutate(res: Res) -> None:
            props(res, "cluster")["enableL4IlbSubsetting"] = UNKNOWN

        assert [v.status for v in _on(_verdicts(mutate), self.RULE, "cluster")] == ["not-judged"]
