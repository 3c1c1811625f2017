"""What a rollout looks like from production: scraping, log-based metrics, alerts, dashboards.

Owns, for one chain: Google Managed Prometheus `PodMonitoring` objects for Kong (its Status API's
`/metrics`, served by the Prometheus plugin `hitless.components.kong_entities` adds) and, when its
metrics port is declared, the runtime; a NetworkPolicy letting the managed collectors reach those
ports; log-based metrics for Kong's refused connects and prematurely closed upstreams (and the
runtime's drain line, when declared); one alert policy per tier; email notification channels;
one Cloud Monitoring dashboard per tier, its JSON built from the typed model below.

Deliberately not here: enabling Managed Prometheus and kube-state-metrics on the cluster (GKE's
`monitoring_config`, `hitless.components.gke_cluster`), Kong's plugin itself
(`hitless.components.kong_entities`).

Metric names and filters, with their sources:
- Resources are matched by the logical name Pulumi suffixes into the physical one, with the
  filter function `starts_with` (cloud.google.com/monitoring/api/v3/filters, "starts_with"), so
  every query is known at preview, before any name is allocated.
- External Application LB: `loadbalancing.googleapis.com/https/request_count` on monitored
  resource `https_lb_rule`, label `response_code_class` (INT64: 200, 300, 400, 500) and resource
  label `backend_service_name` (cloud.google.com/monitoring/api/metrics_gcp, "loadbalancing").
- Instance groups: `compute.googleapis.com/instance_group/size` on resource `instance_group`,
  resource label `instance_group_name` (same list, "compute").
- Log-based counters: `logging.googleapis.com/user/<metric id>`, DELTA INT64, on the log entry's
  resource (`k8s_container`); filters use the Logging query language, where `:` is "has"
  (cloud.google.com/logging/docs/view/logging-query-language).
- Kong (Prometheus plugin, Kong 3.x): `kong_http_requests_total{service,route,code}`,
  `kong_upstream_latency_ms_bucket{service,le}` (developer.konghq.com/plugins/prometheus).
- GKE's managed kube-state-metrics: `kube_deployment_spec_replicas`,
  `kube_deployment_status_replicas_available`, `kube_deployment_status_replicas_ready`,
  `kube_deployment_metadata_generation`, with labels `namespace` and `deployment`
  (cloud.google.com/kubernetes-engine/docs/how-to/configure-metrics, kube state metrics).
- Nginx/Kong log lines: `connect() failed (111: Connection refused) while connecting to upstream`
  and `upstream prematurely closed connection` are nginx's own error-log texts
  (nginx/nginx src/event/ngx_event_connect.c via ngx_http_upstream.c, `ngx_log_error`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from hitless.components import k8s_common as kc
from hitless.components.config import (
    KongConfig,
    MigConfig,
    ObservabilityConfig,
    PlatformConfig,
    RuntimeConfig,
)
from hitless.components.kong import APP as KONG_APP
from hitless.components.kong import CONTAINER as KONG_CONTAINER
from hitless.components.kong import STATUS_PORT_NAME
from hitless_policy import identity
from hitless_policy.identity import Tier

TYPE = "hitless:observability:ChainMonitoring"
"""Pulumi type token of the component."""

POD_MONITORING_API = "monitoring.googleapis.com/v1"
"""API version of Managed Prometheus' PodMonitoring (GoogleCloudPlatform/prometheus-engine,
examples/pod-monitoring.yaml)."""
GMP_NAMESPACE = "gmp-system"
"""Namespace of GKE's managed collectors, which scrape the pods."""
METRICS_PATH = "/metrics"
"""Where Kong's Status API serves the Prometheus plugin's metrics."""
ALIGNMENT = "60s"
"""Alignment period of every threshold condition and chart: one point per minute."""

REFUSED_LINE = "connect() failed (111: Connection refused)"
"""The error-log text of a connect that found no listener (a pod that stopped accepting)."""
PREMATURE_LINE = "upstream prematurely closed"
"""The error-log text of an upstream that closed a connection mid-response."""


# --------------------------------------------------------------------------------------------
# The dashboard, as a typed model rendered to Cloud Monitoring's Dashboard JSON
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One time series query of a chart: PromQL, or a Monitoring filter with its aggregation."""

    promql: str | None = None
    """A PromQL expression (Managed Prometheus data)."""
    filter: str | None = None
    """A Cloud Monitoring filter (GCP and log-based metrics)."""
    aligner: str = "ALIGN_DELTA"
    """Per-series aligner of a filter query (ALIGN_DELTA for counts, ALIGN_MEAN for gauges)."""
    group_by: tuple[str, ...] = ()
    """Labels a filter query is summed by (empty: one total series)."""
    legend: str = ""
    """Legend template of the series."""

    def to_json(self) -> dict[str, Any]:
        """The `dataSets[]` entry of an XyChart."""
        if self.promql is not None:
            query: dict[str, Any] = {"prometheusQuery": self.promql}
        else:
            query = {
                "timeSeriesFilter": {
                    "filter": self.filter,
                    "aggregation": {
                        "alignmentPeriod": ALIGNMENT,
                        "perSeriesAligner": self.aligner,
                        "crossSeriesReducer": "REDUCE_SUM",
                        "groupByFields": list(self.group_by),
                    },
                }
            }
        data: dict[str, Any] = {"timeSeriesQuery": query, "plotType": "LINE"}
        if self.legend:
            data["legendTemplate"] = self.legend
        return data


@dataclass(frozen=True)
class Chart:
    """One chart (an XyChart widget)."""

    title: str
    """What the chart shows, as the operator reads it during a rollout."""
    queries: tuple[Query, ...]
    """Its series."""
    y_label: str
    """Unit of the y axis."""
    threshold: float | None = None
    """A line drawn at the value beyond which the chart shows trouble."""

    def to_json(self) -> dict[str, Any]:
        """The widget."""
        chart: dict[str, Any] = {
            "dataSets": [query.to_json() for query in self.queries],
            "yAxis": {"label": self.y_label, "scale": "LINEAR"},
        }
        if self.threshold is not None:
            chart["thresholds"] = [{"value": self.threshold}]
        return {"title": self.title, "xyChart": chart}


@dataclass(frozen=True)
class Dashboard:
    """A Cloud Monitoring dashboard: charts laid out two per row on a 48-column mosaic."""

    display_name: str
    """Title of the dashboard."""
    labels: Mapping[str, str]
    """Dashboard labels (the identity of the tier it shows)."""
    charts: tuple[Chart, ...]
    """Charts, in reading order."""
    columns: int = 48
    """Width of the mosaic layout (the API's maximum)."""
    tile_height: int = 16
    """Height of each tile."""

    def to_json(self) -> str:
        """The `dashboard_json` of `gcp.monitoring.Dashboard`."""
        width = self.columns // 2
        tiles = [
            {
                "xPos": (index % 2) * width,
                "yPos": (index // 2) * self.tile_height,
                "width": width,
                "height": self.tile_height,
                "widget": chart.to_json(),
            }
            for index, chart in enumerate(self.charts)
        ]
        return json.dumps(
            {
                "displayName": self.display_name,
                "labels": dict(self.labels),
                "mosaicLayout": {"columns": self.columns, "tiles": tiles},
            },
            sort_keys=True,
        )


# --------------------------------------------------------------------------------------------
# Queries (pure: names in, query text out)
# --------------------------------------------------------------------------------------------


def lb_5xx_filter(backend_service: str) -> str:
    """External ALB responses of class 5xx for one backend service."""
    return (
        'metric.type="loadbalancing.googleapis.com/https/request_count" '
        'AND resource.type="https_lb_rule" '
        f'AND resource.label.backend_service_name=starts_with("{backend_service}-") '
        "AND metric.label.response_code_class=500"
    )


def lb_requests_filter(backend_service: str) -> str:
    """External ALB responses of every class for one backend service."""
    return (
        'metric.type="loadbalancing.googleapis.com/https/request_count" '
        'AND resource.type="https_lb_rule" '
        f'AND resource.label.backend_service_name=starts_with("{backend_service}-")'
    )


def mig_size_filter(instance_group: str) -> str:
    """Number of instances in one instance group."""
    return (
        'metric.type="compute.googleapis.com/instance_group/size" '
        'AND resource.type="instance_group" '
        f'AND resource.label.instance_group_name=starts_with("{instance_group}-")'
    )


def log_metric_filter(metric_id: str) -> str:
    """A log-based counter on the containers that wrote the lines."""
    return (
        f'metric.type="logging.googleapis.com/user/{metric_id}" AND resource.type="k8s_container"'
    )


def container_log_filter(namespace: str, container: str, text: str) -> str:
    """Log entries of one container whose text contains `text`."""
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return (
        'resource.type="k8s_container" '
        f'AND resource.labels.namespace_name="{namespace}" '
        f'AND resource.labels.container_name="{container}" '
        f'AND textPayload:"{quoted}"'
    )


def kong_status_promql(namespace: str, codes: str) -> str:
    """Kong responses per service whose status matches the regex `codes`, per second."""
    return (
        "sum by (service, code) (rate(kong_http_requests_total"
        f'{{namespace="{namespace}",code=~"{codes}"}}[1m]))'
    )


def kong_latency_promql(namespace: str, quantile: float) -> str:
    """Kong's upstream (runtime) latency quantile per service, ms."""
    return (
        f"histogram_quantile({quantile}, sum by (le, service) "
        f'(rate(kong_upstream_latency_ms_bucket{{namespace="{namespace}"}}[1m])))'
    )


def below_pdb_promql(namespace: str, deployment: str) -> str:
    """Replicas missing beyond what the PodDisruptionBudget allows (positive: below the PDB)."""
    selector = f'{{namespace="{namespace}",deployment="{deployment}"}}'
    return (
        f"kube_deployment_spec_replicas{selector} - "
        f"kube_deployment_status_replicas_available{selector} - {kc.PDB_MAX_UNAVAILABLE}"
    )


def deployment_promql(metric: str, namespace: str, deployment: str) -> str:
    """One kube-state-metrics series of a Deployment."""
    return f'{metric}{{namespace="{namespace}",deployment="{deployment}"}}'


def rollout_marker_promql(namespace: str, deployment: str) -> str:
    """1 in each minute a new rollout of the Deployment began (its generation changed)."""
    return (
        "changes("
        + deployment_promql("kube_deployment_metadata_generation", namespace, deployment)
        + "[1m])"
    )


# --------------------------------------------------------------------------------------------
# The component
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitoredRuntime:
    """One runtime service as monitoring sees it."""

    config: RuntimeConfig
    """Its config (namespace, name)."""
    pod_labels: Mapping[str, str]
    """Labels selecting its pods."""


@dataclass(frozen=True)
class ChainMonitoringArgs:
    """Inputs of `ChainMonitoring`: the stack's config and where each tier lives."""

    config: ObservabilityConfig
    """`hitless:observability`."""
    platform: PlatformConfig
    """Chain name and labels."""
    kong: KongConfig
    """Tier C's config (namespace, status port)."""
    runtimes: Sequence[MonitoredRuntime]
    """Tier D: every runtime service (namespace, name, pod labels)."""
    edge_mig: MigConfig
    """Tier A's instance group config (its target size is full capacity)."""
    relay_mig: MigConfig
    """Tier B's instance group config."""
    kong_pod_labels: Mapping[str, str]
    """Labels selecting Kong's pods."""
    edge_backend_service: str
    """Logical name of the external LB's backend service (`edge_lb.backend_service_name`)."""
    edge_instance_group: str
    """Logical name of tier A's instance group manager (`nginx_tier.mig_name`)."""
    relay_instance_group: str
    """Logical name of tier B's instance group manager."""


@dataclass(frozen=True)
class _Names:
    """The names every GCP query matches (logical names, suffixed by Pulumi)."""

    edge_backend: str
    """The external LB's backend service."""
    edge_group: str
    """Tier A's instance group."""
    relay_group: str
    """Tier B's instance group."""


Comparison = Literal["COMPARISON_GT", "COMPARISON_LT"]
"""The threshold comparisons the alerts use."""


class ChainMonitoring(pulumi.ComponentResource):
    """Scraping, log-based metrics, one alert policy per tier and one dashboard per tier."""

    alert_policies: pulumi.Output[dict[str, str]]
    """Alert policy name (resource id) per tier (`a`..`d`)."""
    dashboards: pulumi.Output[dict[str, str]]
    """Dashboard id per tier."""
    log_metrics: pulumi.Output[list[str]]
    """Ids of the log-based metrics."""

    def __init__(
        self, name: str, args: ChainMonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._args = args
        self._chain = args.platform.chain
        cfg = args.config
        names = _Names(
            args.edge_backend_service, args.edge_instance_group, args.relay_instance_group
        )

        self._create_pod_monitorings()
        self.refused_id = f"{name}-kong-refused"
        self.premature_id = f"{name}-kong-premature-close"
        self.drain_ids = {rt.config.name: f"{name}-{rt.config.name}-drain" for rt in args.runtimes}
        metrics = self._create_log_metrics()
        channels = [
            gcp.monitoring.NotificationChannel(
                f"{name}-email-{_slug(email)}",
                type="email",
                display_name=f"{self._chain}: rollout alerts to {email}",
                labels={"email_address": email},
                user_labels={identity.GCP_CHAIN_LABEL: self._chain},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for email in cfg.notification_emails
        ]
        channel_ids = [channel.name for channel in channels]
        policies = {
            tier: self._alert(tier, conditions, channel_ids, metrics)
            for tier, conditions in self._conditions(names).items()
        }
        boards = {
            tier: gcp.monitoring.Dashboard(
                f"{name}-dashboard-{tier.value}",
                dashboard_json=self.dashboard(tier, names).to_json(),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for tier in (Tier.A, Tier.B, Tier.C, Tier.D)
        }
        self.alert_policies = pulumi.Output.all(
            **{tier.value: policy.name for tier, policy in policies.items()}
        ).apply(dict)
        self.dashboards = pulumi.Output.all(
            **{tier.value: board.id for tier, board in boards.items()}
        ).apply(dict)
        self.log_metrics = pulumi.Output.all(*[metric.name for metric in metrics]).apply(list)
        self.register_outputs(
            {
                "alertPolicies": self.alert_policies,
                "dashboards": self.dashboards,
                "logMetrics": self.log_metrics,
            }
        )

    # -- scraping -------------------------------------------------------------------------

    def _pod_monitoring(
        self,
        tier: Tier,
        namespace: str,
        selector: Mapping[str, str],
        port: str | int,
        path: str,
        *,
        suffix: str = "",
    ) -> None:
        manifest = pod_monitoring_manifest(
            f"{self._name}-{tier.value}{suffix}",
            namespace,
            identity.k8s_labels(self._chain, tier, "metrics"),
            selector,
            port,
            path,
            self._args.config.scrape_interval_seconds,
        )
        k8s.apiextensions.CustomResource(
            f"{self._name}-podmonitoring-{tier.value}{suffix}",
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = scrape_policy_manifest(
            f"{self._name}-{tier.value}{suffix}-scrape",
            namespace,
            identity.k8s_labels(self._chain, tier, "metrics"),
            selector,
            port,
        )
        kc.create(
            f"{self._name}-scrape-{tier.value}{suffix}", policy, pulumi.ResourceOptions(parent=self)
        )

    def _create_pod_monitorings(self) -> None:
        args = self._args
        self._pod_monitoring(
            Tier.C, args.kong.namespace, args.kong_pod_labels, STATUS_PORT_NAME, METRICS_PATH
        )
        port = args.config.runtime_metrics_port
        if port is None:
            return
        for rt in args.runtimes:
            self._pod_monitoring(
                Tier.D,
                rt.config.namespace,
                rt.pod_labels,
                port,
                args.config.runtime_metrics_path,
                suffix=f"-{rt.config.name}",
            )

    # -- log-based metrics ------------------------------------------------------------------

    def _log_metric(
        self, metric_id: str, tier: Tier, what: str, log_filter: str
    ) -> gcp.logging.Metric:
        return gcp.logging.Metric(
            metric_id,
            name=metric_id,
            filter=log_filter,
            description=identity.gcp_description(self._chain, tier, "metrics", what),
            metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(
                metric_kind="DELTA", value_type="INT64", unit="1"
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_log_metrics(self) -> list[gcp.logging.Metric]:
        kong = self._args.kong
        metrics = [
            self._log_metric(
                self.refused_id,
                Tier.C,
                "Kong's connects to the runtime refused (a pod no longer listening).",
                container_log_filter(kong.namespace, KONG_CONTAINER, REFUSED_LINE),
            ),
            self._log_metric(
                self.premature_id,
                Tier.C,
                "Runtime connections closed by the runtime in the middle of a response.",
                container_log_filter(kong.namespace, KONG_CONTAINER, PREMATURE_LINE),
            ),
        ]
        line = self._args.config.runtime_drain_log_line
        if line is not None:
            metrics.extend(
                self._log_metric(
                    self.drain_ids[rt.config.name],
                    Tier.D,
                    f"Runtime {rt.config.name}: pods that began draining (their declared "
                    "shutdown line).",
                    container_log_filter(rt.config.namespace, rt.config.name, line),
                )
                for rt in self._args.runtimes
            )
        return metrics

    # -- alerts ---------------------------------------------------------------------------

    def _conditions(
        self, names: _Names
    ) -> dict[Tier, list[gcp.monitoring.AlertPolicyConditionArgs]]:
        args = self._args
        duration = f"{args.config.alert_duration_seconds}s"
        kong_ns = args.kong.namespace

        def threshold(  # noqa: PLR0917 (the six parts of one condition)
            title: str,
            query: str,
            aligner: str,
            comparison: Comparison,
            value: float,
            group_by: Sequence[str] = (),
        ) -> gcp.monitoring.AlertPolicyConditionArgs:
            return gcp.monitoring.AlertPolicyConditionArgs(
                display_name=title,
                condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                    filter=query,
                    comparison=comparison,
                    threshold_value=value,
                    duration=duration,
                    aggregations=[
                        gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                            alignment_period=ALIGNMENT,
                            per_series_aligner=aligner,
                            cross_series_reducer="REDUCE_SUM",
                            group_by_fields=list(group_by),
                        )
                    ],
                    trigger=gcp.monitoring.AlertPolicyConditionConditionThresholdTriggerArgs(
                        count=1
                    ),
                ),
            )

        def promql(title: str, query: str) -> gcp.monitoring.AlertPolicyConditionArgs:
            return gcp.monitoring.AlertPolicyConditionArgs(
                display_name=title,
                condition_prometheus_query_language=(
                    gcp.monitoring.AlertPolicyConditionConditionPrometheusQueryLanguageArgs(
                        query=query, duration=duration, evaluation_interval=ALIGNMENT
                    )
                ),
            )

        def capacity(
            tier: str, group: str, mig: MigConfig
        ) -> gcp.monitoring.AlertPolicyConditionArgs:
            return threshold(
                f"tier {tier}: fewer instances than its target size {mig.target_size}",
                mig_size_filter(group),
                "ALIGN_MIN",
                "COMPARISON_LT",
                mig.target_size,
            )

        return {
            Tier.A: [
                threshold(
                    "tier a: 5xx at the external load balancer",
                    lb_5xx_filter(names.edge_backend),
                    "ALIGN_DELTA",
                    "COMPARISON_GT",
                    0,
                    ["metric.label.response_code_class"],
                ),
                capacity("a", names.edge_group, args.edge_mig),
            ],
            Tier.B: [capacity("b", names.relay_group, args.relay_mig)],
            Tier.C: [
                promql(
                    "tier c: Kong answered 502/504 (per service)",
                    kong_status_promql(kong_ns, "502|504") + " > 0",
                ),
                threshold(
                    "tier c: Kong's connects to the runtime refused",
                    log_metric_filter(self.refused_id),
                    "ALIGN_DELTA",
                    "COMPARISON_GT",
                    0,
                ),
                promql(
                    "tier c: Kong's available replicas below its PDB",
                    below_pdb_promql(kong_ns, KONG_APP) + " > 0",
                ),
            ],
            Tier.D: [
                threshold(
                    "tier d: runtime closed connections mid-response",
                    log_metric_filter(self.premature_id),
                    "ALIGN_DELTA",
                    "COMPARISON_GT",
                    0,
                ),
                *(
                    promql(
                        f"tier d: runtime {rt.config.name}'s available replicas below its PDB",
                        below_pdb_promql(rt.config.namespace, rt.config.name) + " > 0",
                    )
                    for rt in args.runtimes
                ),
            ],
        }

    def _alert(
        self,
        tier: Tier,
        conditions: list[gcp.monitoring.AlertPolicyConditionArgs],
        channels: list[pulumi.Output[str]],
        metrics: list[gcp.logging.Metric],
    ) -> gcp.monitoring.AlertPolicy:
        return gcp.monitoring.AlertPolicy(
            f"{self._name}-alert-{tier.value}",
            display_name=f"{self._chain} tier {tier.value}: a request failed during a rollout",
            combiner="OR",
            conditions=conditions,
            notification_channels=channels,
            severity="ERROR",
            documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                mime_type="text/markdown",
                subject=f"{self._chain} tier {tier.value}: failed requests",
                content=(
                    f"Tier {tier.value} of chain {self._chain} failed requests or lost serving "
                    "capacity. Read the tier's dashboard beside the rollout markers "
                    "(docs/observability.md)."
                ),
            ),
            user_labels=identity.gcp_labels(self._chain, tier, "alert"),
            # A threshold on a log-based metric needs the metric to exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(metrics)),
        )

    # -- dashboards -----------------------------------------------------------------------

    def dashboard(self, tier: Tier, names: _Names) -> Dashboard:
        """The dashboard of `tier` (pure: live names in, model out)."""
        args = self._args
        kong_ns = args.kong.namespace
        client_5xx = Chart(
            "5xx at the external LB (what clients see), by class",
            (
                Query(
                    filter=lb_5xx_filter(names.edge_backend),
                    group_by=("metric.label.response_code_class",),
                    legend="${metric.labels.response_code_class}",
                ),
            ),
            "responses/min",
            threshold=0,
        )
        charts: tuple[Chart, ...]
        if tier in (Tier.A, Tier.B):
            group, mig = (
                (names.edge_group, args.edge_mig)
                if tier is Tier.A
                else (names.relay_group, args.relay_mig)
            )
            charts = (
                client_5xx,
                Chart(
                    f"tier {tier.value} serving capacity: instances (surge above, loss below "
                    f"{mig.target_size})",
                    (Query(filter=mig_size_filter(group), aligner="ALIGN_MIN"),),
                    "instances",
                    threshold=mig.target_size,
                ),
                Chart(
                    "external LB responses by class",
                    (
                        Query(
                            filter=lb_requests_filter(names.edge_backend),
                            group_by=("metric.label.response_code_class",),
                            legend="${metric.labels.response_code_class}",
                        ),
                    ),
                    "responses/min",
                ),
            )
        elif tier is Tier.C:
            charts = (
                client_5xx,
                Chart(
                    "Kong 5xx per service",
                    (
                        Query(
                            promql=kong_status_promql(kong_ns, "5.."), legend="{{service}} {{code}}"
                        ),
                    ),
                    "responses/s",
                    threshold=0,
                ),
                Chart(
                    "refused connections (Kong -> runtime)",
                    (Query(filter=log_metric_filter(self.refused_id)),),
                    "lines/min",
                    threshold=0,
                ),
                Chart(
                    "Kong serving capacity: available replicas",
                    (
                        Query(
                            promql=deployment_promql(
                                "kube_deployment_status_replicas_available", kong_ns, KONG_APP
                            )
                        ),
                    ),
                    "pods",
                ),
                Chart(
                    "rollout markers: Kong",
                    (Query(promql=rollout_marker_promql(kong_ns, KONG_APP)),),
                    "rollouts begun",
                ),
            )
        else:
            charts = (
                client_5xx,
                Chart(
                    "Kong upstream (runtime) latency p95/p99",
                    (
                        Query(promql=kong_latency_promql(kong_ns, 0.95), legend="p95 {{service}}"),
                        Query(promql=kong_latency_promql(kong_ns, 0.99), legend="p99 {{service}}"),
                    ),
                    "ms",
                ),
                Chart(
                    "RT endpoints ready (ready pods behind each Service)",
                    tuple(
                        Query(
                            promql=deployment_promql(
                                "kube_deployment_status_replicas_ready",
                                rt.config.namespace,
                                rt.config.name,
                            ),
                            legend=rt.config.name,
                        )
                        for rt in args.runtimes
                    ),
                    "pods",
                ),
                Chart(
                    "refused connections and mid-response closes (Kong -> runtime)",
                    (
                        Query(filter=log_metric_filter(self.refused_id), legend="refused"),
                        Query(filter=log_metric_filter(self.premature_id), legend="closed"),
                    ),
                    "lines/min",
                    threshold=0,
                ),
                Chart(
                    "rollout markers: runtimes",
                    tuple(
                        Query(
                            promql=rollout_marker_promql(rt.config.namespace, rt.config.name),
                            legend=rt.config.name,
                        )
                        for rt in args.runtimes
                    )
                    + (
                        tuple(
                            Query(
                                filter=log_metric_filter(self.drain_ids[rt.config.name]),
                                legend=f"drains {rt.config.name}",
                            )
                            for rt in args.runtimes
                        )
                        if args.config.runtime_drain_log_line is not None
                        else ()
                    ),
                    "events",
                ),
            )
        return Dashboard(
            display_name=f"{self._chain} tier {tier.value}: rollout",
            labels=identity.gcp_labels(self._chain, tier, "dashboard"),
            charts=charts,
        )


def pod_monitoring_manifest(  # noqa: PLR0917 (one manifest's seven parts)
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    selector: Mapping[str, str],
    port: str | int,
    path: str,
    interval_seconds: int,
) -> dict[str, Any]:
    """A Managed Prometheus PodMonitoring scraping `port` at `path` of the selected pods."""
    return {
        "apiVersion": POD_MONITORING_API,
        "kind": "PodMonitoring",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(selector)},
            "endpoints": [{"port": port, "path": path, "interval": f"{interval_seconds}s"}],
        },
    }


def scrape_policy_manifest(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    selector: Mapping[str, str],
    port: str | int,
) -> kc.Manifest:
    """A NetworkPolicy admitting only GKE's managed collectors to the metrics port.

    NetworkPolicies add up: the tier's own policy keeps admitting what it admits.
    """
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "podSelector": {"matchLabels": dict(selector)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": GMP_NAMESPACE}
                            }
                        }
                    ],
                    "ports": [{"port": port, "protocol": "TCP"}],
                }
            ],
        },
    }


def _slug(text: str) -> str:
    """A name part from free text: lowercase letters, digits and hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


__all__ = [
    "TYPE",
    "ChainMonitoring",
    "ChainMonitoringArgs",
    "Chart",
    "Dashboard",
    "MonitoredRuntime",
    "Query",
]
