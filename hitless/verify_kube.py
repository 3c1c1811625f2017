"""The Kubernetes side of `hitless verify`: a Deployment's pods and endpoints, second by second.

With `--kubeconfig`, verify reads the Deployment named by `--deployment` (or `--restart
deployment/NAME`) through the official `kubernetes` client once a second while the load runs: its
pods (phase, Ready condition, deletionTimestamp) and the endpoints of the EndpointSlices that point
at those pods (ready, serving, terminating). `--restart` starts the rollout as
`kubectl rollout restart` does: a strategic-merge patch of the pod template's
`kubectl.kubernetes.io/restartedAt` annotation with the current time (kubectl's
`pkg/polymorphichelpers/objectrestarter.go` sets it to `time.Now().Format(time.RFC3339)`).
Nothing here writes to the cluster except that one patch, and only after the operator confirmed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from hitless.verify import MAX_DURATION_SECONDS, Measurement, VerifyOptions, run_verify

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
"""The pod-template annotation `kubectl rollout restart` sets."""
RESTART_AFTER_SECONDS = 5
"""Seconds of load before verify patches the Deployment: the timeline shows a baseline first."""
SAMPLE_SECONDS = 1.0
"""Interval between two reads of pods and EndpointSlices."""
API_TIMEOUT_SECONDS = 5.0
"""Each API call is given up after this (the sampler never blocks the run's end for long)."""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600}


class KubeError(Exception):
    """The cluster could not be read or patched; the message names what and the fix."""


def parse_duration(text: str) -> float:
    """Seconds in `text`: `90`, `90s`, `10m` or `1h`, bounded by `MAX_DURATION_SECONDS`."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(
            f"--duration {text!r} is not a duration: verify would not know when to stop. "
            "Fix: seconds (600) or with a unit: 90s, 10m, 1h"
        )
    seconds = float(found.group(1)) * _UNIT[found.group(2)]
    if not 0 < seconds <= MAX_DURATION_SECONDS:
        raise ValueError(
            f"--duration {text!r} is {seconds:g} s, outside (0, {MAX_DURATION_SECONDS}] s: "
            "verify runs for a bounded time. Fix: at most 30m"
        )
    return seconds


def parse_restart(text: str) -> str:
    """The Deployment's name in `deployment/NAME` (kubectl's `deploy/NAME` too)."""
    kind, _, name = text.partition("/")
    if kind not in ("deployment", "deploy", "deployments") or not re.fullmatch(
        r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name
    ):
        raise ValueError(
            f"--restart {text!r} does not name a Deployment: verify restarts Deployments only. "
            "Fix: --restart deployment/<name> -n <namespace>"
        )
    return name


@dataclass(frozen=True)
class PodState:
    """One pod of the Deployment at one sample."""

    name: str
    """The pod's name."""
    phase: str
    """`status.phase` (Pending, Running, Succeeded, Failed, Unknown)."""
    ready: bool
    """The pod's Ready condition is True."""
    deleting: bool
    """`metadata.deletionTimestamp` is set (the pod is terminating)."""


@dataclass(frozen=True)
class EndpointState:
    """One EndpointSlice endpoint that points at a pod of the Deployment."""

    pod: str
    """The pod of its `targetRef`."""
    ready: bool
    """`conditions.ready` (absent means true, per the EndpointSlice API)."""
    serving: bool
    """`conditions.serving` (absent means true)."""
    terminating: bool
    """`conditions.terminating` (absent means false)."""


@dataclass(frozen=True)
class Sample:
    """The Deployment's pods and endpoints at one second of the run."""

    second: int
    """Whole seconds from the start of the load."""
    pods: tuple[PodState, ...] = ()
    """The pods the Deployment's selector matches."""
    endpoints: tuple[EndpointState, ...] = ()
    """Endpoints of those pods, over every EndpointSlice of the namespace."""
    error: str = ""
    """Why this sample could not be read (the run goes on)."""
    event: str = ""
    """What verify did to the cluster at this second (the restart)."""

    def summary(self) -> str:
        """`pods R/N ready, D deleting; endpoints ready R, serving S, terminating T`."""
        if self.error:
            return f"kube: {self.error}"
        ready = sum(p.ready and not p.deleting for p in self.pods)
        deleting = sum(p.deleting for p in self.pods)
        eps = self.endpoints
        text = (
            f"pods {ready}/{len(self.pods)} ready, {deleting} deleting; endpoints ready "
            f"{sum(e.ready for e in eps)}, serving {sum(e.serving for e in eps)}, "
            f"terminating {sum(e.terminating for e in eps)}"
        )
        return f"{self.event}; {text}" if self.event else text


@dataclass(frozen=True)
class Cluster:
    """The Deployment verify watches (and may restart), and the client that reads it."""

    api: k8s.ApiClient
    """The official client, configured from the kubeconfig."""
    namespace: str
    """The Deployment's namespace."""
    deployment: str
    """The Deployment's name."""
    restart: bool = False
    """Patch the Deployment as `kubectl rollout restart` does, `RESTART_AFTER_SECONDS` in."""
    restart_after: float = RESTART_AFTER_SECONDS
    """Seconds of load before the restart (at most a quarter of the run)."""
    selector: str = field(default="")
    """The Deployment's label selector, as the API's `labelSelector` parameter."""


def connect(kubeconfig: Path, namespace: str, deployment: str, *, restart: bool) -> Cluster:
    """A `Cluster` for the Deployment, after reading it once (so a wrong name fails up front)."""
    try:
        # The client's config module carries no annotations (its API package does).
        api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig)
        )
    except (k8s_config.ConfigException, OSError, ValueError) as error:
        raise KubeError(
            f"--kubeconfig {kubeconfig}: {error}: verify cannot reach the cluster. "
            "Fix: the file kubectl uses (kubectl --kubeconfig <file> get deploy works)"
        ) from error
    try:
        found = k8s.AppsV1Api(api).read_namespaced_deployment(
            deployment, namespace, _request_timeout=API_TIMEOUT_SECONDS
        )
    except ApiException as error:
        raise KubeError(
            f"deployment/{deployment} in namespace {namespace}: the API answered {error.status} "
            f"{error.reason}: nothing to watch. Fix: the name and -n of `kubectl get deploy`"
        ) from error
    except Exception as error:
        raise KubeError(
            f"deployment/{deployment} in namespace {namespace}: {error}: the API is not "
            "reachable. Fix: the kubeconfig's cluster and credentials"
        ) from error
    spec_selector = found.spec.selector if found.spec else None
    selector = label_selector(
        spec_selector.model_dump(by_alias=True, exclude_none=True) if spec_selector else {}
    )
    return Cluster(
        api=api, namespace=namespace, deployment=deployment, restart=restart, selector=selector
    )


def label_selector(selector: dict[str, Any]) -> str:
    """A LabelSelector object (`matchLabels`, `matchExpressions`) as a `labelSelector` string."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = ",".join(expression.get("values") or [])
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }[operator]
        )
    return ",".join(parts)


def restart_body(now: datetime) -> dict[str, Any]:
    """The strategic-merge patch `kubectl rollout restart` sends."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


def restart(cluster: Cluster, now: datetime) -> str:
    """Patch the Deployment's pod template as `kubectl rollout restart` does; the annotation."""
    body = restart_body(now)
    k8s.AppsV1Api(cluster.api).patch_namespaced_deployment(
        cluster.deployment,
        cluster.namespace,
        body,
        _content_type="application/strategic-merge-patch+json",
        _request_timeout=API_TIMEOUT_SECONDS,
    )
    stamp: str = body["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
    return stamp


def read_sample(cluster: Cluster, second: int) -> Sample:
    """The Deployment's pods and their EndpointSlice endpoints now."""
    try:
        pods = k8s.CoreV1Api(cluster.api).list_namespaced_pod(
            cluster.namespace,
            label_selector=cluster.selector or None,
            _request_timeout=API_TIMEOUT_SECONDS,
        )
        slices = k8s.DiscoveryV1Api(cluster.api).list_namespaced_endpoint_slice(
            cluster.namespace, _request_timeout=API_TIMEOUT_SECONDS
        )
    except Exception as error:  # one unreadable second must not stop the load
        return Sample(second, error=str(error).splitlines()[0] if str(error) else repr(error))
    states = tuple(sorted((_pod_state(p) for p in pods.items), key=lambda p: p.name))
    names = {p.name for p in states}
    endpoints: list[EndpointState] = []
    for endpoint_slice in slices.items:
        for endpoint in endpoint_slice.endpoints or []:
            ref = endpoint.target_ref
            if ref is None or ref.kind != "Pod" or ref.name not in names:
                continue
            conditions = endpoint.conditions
            endpoints.append(
                EndpointState(
                    pod=str(ref.name),
                    ready=conditions is None or conditions.ready is not False,
                    serving=conditions is None or conditions.serving is not False,
                    terminating=conditions is not None and conditions.terminating is True,
                )
            )
    return Sample(second, pods=states, endpoints=tuple(sorted(endpoints, key=lambda e: e.pod)))


def _pod_state(pod: k8s.V1Pod) -> PodState:
    status = pod.status
    conditions = (status.conditions if status else None) or []
    return PodState(
        name=str(pod.metadata.name if pod.metadata else ""),
        phase=str(status.phase if status and status.phase else "Unknown"),
        ready=any(c.type == "Ready" and c.status == "True" for c in conditions),
        deleting=bool(pod.metadata and pod.metadata.deletion_timestamp),
    )


async def watch(cluster: Cluster, began: float, stop: asyncio.Event) -> list[Sample]:
    """Sample once a second from `began` until `stop`; restart the Deployment when asked."""
    samples: list[Sample] = []
    restarted = not cluster.restart
    while not stop.is_set():
        second = int(time.monotonic() - began)
        event = ""
        if not restarted and time.monotonic() - began >= cluster.restart_after:
            restarted = True
            try:
                stamp = await asyncio.to_thread(restart, cluster, datetime.now(UTC))
                event = f"restarted deployment/{cluster.deployment} ({RESTARTED_AT}={stamp})"
            except Exception as error:  # reported on the timeline; the load goes on
                event = f"restart failed: {str(error).splitlines()[0]}"
        sample = await asyncio.to_thread(read_sample, cluster, second)
        if event:
            sample = Sample(sample.second, sample.pods, sample.endpoints, sample.error, event)
        samples.append(sample)
        next_at = began + (second + 1) * SAMPLE_SECONDS
        try:
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - time.monotonic()))
        except TimeoutError:
            continue
    return samples


def by_second(samples: list[Sample]) -> dict[int, str]:
    """Each second's summary (the last sample of a second; a restart's event is kept)."""
    shown: dict[int, str] = {}
    for sample in samples:
        text = sample.summary()
        earlier = shown.get(sample.second, "")
        if earlier.startswith(("restarted", "restart failed")) and not sample.event:
            text = f"{earlier.split(';')[0]}; {text}"
        shown[sample.second] = text
    return shown


async def run_with_cluster(
    options: VerifyOptions, cluster: Cluster
) -> tuple[Measurement, list[Sample]]:
    """Run the load and sample the cluster on the same clock; both stop by themselves.

    A restart comes `RESTART_AFTER_SECONDS` in, or a quarter into a shorter run.
    """
    cluster = dataclasses.replace(
        cluster, restart_after=min(cluster.restart_after, options.duration_seconds / 4)
    )
    stop = asyncio.Event()
    began = time.monotonic()
    watcher = asyncio.ensure_future(watch(cluster, began, stop))
    try:
        measurement = await run_verify(options)
    finally:
        stop.set()
    return measurement, await watcher
