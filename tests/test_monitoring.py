"""ChainMonitoring and Kong's Prometheus plugin: what a rollout looks like from production."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from hitless.components import kong as kong_component
from hitless.components.chain import compose_chain
from hitless.components.config import StackConfig, load_stack_config
from hitless.components.kong_entities import PROMETHEUS_PLUGIN, build_entities
from hitless.components.monitoring import (
    REFUSED_LINE,
    Chart,
    Dashboard,
    Query,
    below_pdb_promql,
)
from hitless.harness import Capture
from hitless_policy import identity
from hitless_policy.identity import Tier
from tests.conftest import hitless_values, rt_target

Runner = Callable[..., Capture]
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
DASHBOARD = "gcp:monitoring/dashboard:Dashboard"
LOG_METRIC = "gcp:logging/metric:Metric"
POD_MONITORING = "kubernetes:monitoring.googleapis.com/v1:PodMonitoring"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
BACKEND = "gcp:compute/backendService:BackendService"
MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"


def chain(cfg: StackConfig) -> Callable[[], None]:
    def run() -> None:
        compose_chain(cfg)

    return run


def with_observability(stack: str, **values: Any) -> StackConfig:
    raw = hitless_values(stack)
    raw["observability"] = {**raw.get("observability", {}), **values}
    return load_stack_config(raw, stack)


@pytest.fixture
def captured(capture: Runner, stack_name: str, stack_config: StackConfig) -> Capture:
    """The whole chain of each stack, as a preview sees it."""
    return capture(chain(stack_config), stack=stack_name, preview=True)


def tier_of(props: dict[str, Any]) -> Tier | None:
    found = identity.identity_of(props)
    return None if found is None else found.tier


class TestKongExportsMetrics:
    """Kong's per-service status codes and upstream latency exist only with the Prometheus
    plugin and its opt-in flags; without them the dashboard and the 502/504 alert read nothing.
    """

    def test_declarative_config_enables_the_plugin(self, captured: Capture) -> None:
        config_map = next(
            res
            for res in captured.of_type(CONFIG_MAP)
            if kong_component.CONFIG_KEY in (res.props.get("data") or {})
        )
        declarative = yaml.safe_load(config_map.props["data"][kong_component.CONFIG_KEY])
        plugins = {plugin["name"]: plugin["config"] for plugin in declarative["plugins"]}
        assert plugins["prometheus"]["status_code_metrics"] is True, config_map.name
        assert plugins["prometheus"]["latency_metrics"] is True, config_map.name

    def test_admin_api_is_off_so_metrics_are_on_the_status_listener_only(
        self, captured: Capture
    ) -> None:
        deployment = captured.named("main-kong-deployment")
        container = deployment.props["spec"]["template"]["spec"]["containers"][0]
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env["KONG_ADMIN_LISTEN"] == "off", deployment.name
        assert env["KONG_STATUS_LISTEN"].endswith(":8100"), deployment.name

    def test_no_plugin_when_observability_is_off(self, dev_config: StackConfig) -> None:
        model = build_entities(
            dev_config.kong,
            [rt_target("http")],
        )
        assert "plugins" not in model.to_declarative()
        on = build_entities(
            dev_config.kong,
            [rt_target("http")],
            with_metrics=True,
        )
        assert on.plugins == (PROMETHEUS_PLUGIN,)


class TestScraping:
    """Managed Prometheus scrapes only what a PodMonitoring selects, on a named port that must
    exist on the pods; a NetworkPolicy must admit the managed collectors to that port."""

    def test_kong_pod_monitoring_selects_kong_on_its_status_port(self, captured: Capture) -> None:
        monitoring = captured.named("main-obs-podmonitoring-c", POD_MONITORING)
        deployment = captured.named("main-kong-deployment")
        pod_labels = deployment.props["spec"]["template"]["metadata"]["labels"]
        selector = monitoring.props["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items(), monitoring.name
        endpoint = monitoring.props["spec"]["endpoints"][0]
        ports = deployment.props["spec"]["template"]["spec"]["containers"][0]["ports"]
        assert endpoint["port"] in {port["name"] for port in ports}, monitoring.name
        assert endpoint["path"] == "/metrics", monitoring.name
        assert tier_of(monitoring.props) is Tier.C

    def test_collectors_are_admitted_to_the_metrics_port(self, captured: Capture) -> None:
        policy = captured.named("main-obs-scrape-c", NETWORK_POLICY)
        rule = policy.props["spec"]["ingress"][0]
        assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": "gmp-system"
        }, policy.name
        assert rule["ports"][0]["port"] == kong_component.STATUS_PORT_NAME, policy.name

    def test_runtime_scraped_only_when_it_declares_a_port(self, capture: Runner) -> None:
        without = capture(chain(with_observability("dev")), preview=True)
        assert not [r for r in without.of_type(POD_MONITORING) if r.name.endswith("-d")]
        cfg = with_observability("dev", runtime_metrics_port=9090)
        found = capture(chain(cfg), preview=True).named("main-obs-podmonitoring-d-rt")
        assert found.props["spec"]["endpoints"][0]["port"] == 9090, found.name
        assert tier_of(found.props) is Tier.D


class TestLogBasedMetrics:
    """Refused connects and mid-response closes are what a non-hitless runtime rollout looks
    like in Kong's error log; each needs a counter to alert on."""

    def test_refused_and_premature_close_counters(self, captured: Capture) -> None:
        refused = captured.named("main-obs-kong-refused", LOG_METRIC)
        assert REFUSED_LINE in refused.props["filter"], refused.name
        assert 'namespace_name="kong"' in refused.props["filter"], refused.name
        assert refused.props["metricDescriptor"] == {
            "metricKind": "DELTA",
            "valueType": "INT64",
            "unit": "1",
        }
        closed = captured.named("main-obs-kong-premature-close", LOG_METRIC)
        assert "upstream prematurely closed" in closed.props["filter"], closed.name

    def test_drain_line_counted_when_declared(self, capture: Runner) -> None:
        cfg = with_observability("dev", runtime_drain_log_line="draining: SIGTERM")
        drain = capture(chain(cfg), preview=True).named("main-obs-rt-drain", LOG_METRIC)
        assert 'textPayload:"draining: SIGTERM"' in drain.props["filter"], drain.name
        assert 'container_name="rt"' in drain.props["filter"], drain.name


class TestEveryTierHasItsAlert:
    """Rule observability-configured: a tier without an alert fails requests unseen."""

    def test_one_alert_per_tier(self, captured: Capture) -> None:
        tiers = {tier_of(res.props) for res in captured.of_type(ALERT)}
        assert tiers == {Tier.A, Tier.B, Tier.C, Tier.D}

    def test_edge_alert_reads_5xx_by_class_of_the_real_backend(self, captured: Capture) -> None:
        alert = captured.named("main-obs-alert-a", ALERT)
        backend = captured.only(BACKEND)
        condition = alert.props["conditions"][0]["conditionThreshold"]
        assert f'backend_service_name=starts_with("{backend.name}-")' in condition["filter"]
        assert "response_code_class=500" in condition["filter"], alert.name
        assert condition["aggregations"][0]["groupByFields"] == ["metric.label.response_code_class"]
        assert condition["comparison"] == "COMPARISON_GT"
        assert condition["thresholdValue"] == 0

    def test_capacity_alerts_match_each_mig(self, captured: Capture, stack_config: Any) -> None:
        migs = {res.name for res in captured.of_type(MIG)}
        for tier, mig_cfg in (("a", stack_config.edge.mig), ("b", stack_config.relay.mig)):
            alert = captured.named(f"main-obs-alert-{tier}", ALERT)
            condition = alert.props["conditions"][-1]["conditionThreshold"]
            assert f'instance_group_name=starts_with("main-{tier}-mig-")' in condition["filter"]
            assert f"main-{tier}-mig" in migs
            assert condition["comparison"] == "COMPARISON_LT", alert.name
            assert condition["thresholdValue"] == mig_cfg.target_size, alert.name

    def test_kong_alerts_502_504_refused_and_pdb(self, captured: Capture) -> None:
        alert = captured.named("main-obs-alert-c", ALERT)
        queries = [
            c.get("conditionPrometheusQueryLanguage", {}).get("query", "")
            for c in alert.props["conditions"]
        ]
        filters = [
            c.get("conditionThreshold", {}).get("filter", "") for c in alert.props["conditions"]
        ]
        assert any('code=~"502|504"' in q and "by (service, code)" in q for q in queries)
        assert any("logging.googleapis.com/user/main-obs-kong-refused" in f for f in filters)
        assert below_pdb_promql("kong", "kong") + " > 0" in queries

    def test_runtime_pdb_alert_names_its_deployment(
        self, captured: Capture, stack_config: StackConfig
    ) -> None:
        alert = captured.named("main-obs-alert-d", ALERT)
        queries = [
            c.get("conditionPrometheusQueryLanguage", {}).get("query", "")
            for c in alert.props["conditions"]
        ]
        # One condition per runtime service, in the stack's order, after the shared ones.
        per_runtime = queries[-len(stack_config.runtimes) :]
        for rt, query in zip(stack_config.runtimes, per_runtime, strict=True):
            # maxUnavailable of the PDB is 1: more than one replica missing is below the PDB.
            assert (
                f'kube_deployment_spec_replicas{{namespace="{rt.namespace}",deployment="{rt.name}"}}'
                in query
            ), alert.name
            assert query.endswith(" - 1 > 0"), alert.name

    def test_channels_from_config_notify_every_alert(self, capture: Runner) -> None:
        cfg = with_observability("dev", notification_emails=["oncall@example.com"])
        result = capture(chain(cfg))
        channel = result.only(CHANNEL)
        assert channel.props["labels"] == {"email_address": "oncall@example.com"}
        for alert in result.of_type(ALERT):
            assert len(alert.props["notificationChannels"]) == 1, alert.name
            assert alert.property_dependencies["notificationChannels"] == [channel.urn], alert.name

    def test_bad_email_is_refused(self) -> None:
        with pytest.raises(ValueError, match="notification_emails"):
            with_observability("dev", notification_emails=["not-an-email"])


class TestDashboards:
    """One dashboard per tier, from a typed model; it is what an operator reads mid-rollout."""

    def _board(self, captured: Capture, tier: str) -> dict[str, Any]:
        board = captured.named(f"main-obs-dashboard-{tier}", DASHBOARD)
        body: dict[str, Any] = json.loads(board.props["dashboardJson"])
        assert tier_of(board.props) is Tier(tier), board.name
        return body

    def test_each_tier_shows_its_signals(self, captured: Capture) -> None:
        titles = {
            tier: [
                tile["widget"]["title"]
                for tile in self._board(captured, tier)["mosaicLayout"]["tiles"]
            ]
            for tier in "abcd"
        }
        for tier in "abcd":
            assert titles[tier][0].startswith("5xx at the external LB"), tier
        assert any("serving capacity" in t for t in titles["a"])
        assert any("serving capacity" in t for t in titles["b"])
        assert any("refused connections" in t for t in titles["c"])
        assert any("rollout markers" in t for t in titles["c"])
        assert any("p95/p99" in t for t in titles["d"])
        assert any("RT endpoints ready" in t for t in titles["d"])
        assert any("rollout markers" in t for t in titles["d"])

    def test_tiles_do_not_overlap_and_fit_the_grid(self, captured: Capture) -> None:
        for tier in "abcd":
            layout = self._board(captured, tier)["mosaicLayout"]
            seen: set[tuple[int, int]] = set()
            for tile in layout["tiles"]:
                assert tile["xPos"] + tile["width"] <= layout["columns"]
                cells = {
                    (x, y)
                    for x in range(tile["xPos"], tile["xPos"] + tile["width"])
                    for y in range(tile["yPos"], tile["yPos"] + tile["height"])
                }
                assert not cells & seen, tier
                seen |= cells

    def test_model_renders_promql_and_filter_queries(self) -> None:
        board = Dashboard(
            "x",
            {"k": "v"},
            (
                Chart("p", (Query(promql="up"),), "n", threshold=1),
                Chart("f", (Query(filter='metric.type="m"', group_by=("g",)),), "n"),
            ),
        )
        body = json.loads(board.to_json())
        first, second = (tile["widget"]["xyChart"] for tile in body["mosaicLayout"]["tiles"])
        assert first["dataSets"][0]["timeSeriesQuery"] == {"prometheusQuery": "up"}
        assert first["thresholds"] == [{"value": 1}]
        aggregation = second["dataSets"][0]["timeSeriesQuery"]["timeSeriesFilter"]["aggregation"]
        assert aggregation["groupByFields"] == ["g"]
        assert aggregation["crossSeriesReducer"] == "REDUCE_SUM"


class TestObservabilityOff:
    """Off, nothing is created (and the rule reports every tier without its alert)."""

    def test_nothing_created(self, capture: Runner) -> None:
        result = capture(chain(with_observability("dev", enabled=False)), preview=True)
        for token in (ALERT, DASHBOARD, LOG_METRIC, POD_MONITORING):
            assert not result.of_type(token), token
