"""Kubernetes facts from manifests (props are the manifest), with Kubernetes' defaults applied."""

from __future__ import annotations

import re

from hitless_policy.budget import ProbeTiming
from hitless_policy.extract.props import Props, finite
from hitless_policy.facts import (
    Container,
    Deployment,
    Hpa,
    LabelSelector,
    Pdb,
    Placement,
    PreStop,
    Probe,
    Ref,
    Service,
    Unknown,
    sure,
)
from hitless_policy.identity import (
    RT_KEEPALIVE_IDLE_ANNOTATION,
    RT_MAX_BODY_ANNOTATION,
    RT_REQUEST_TIMEOUT_ANNOTATION,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
"""Type token of a Deployment."""
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
"""Type token of a PodDisruptionBudget."""
SERVICE = "kubernetes:core/v1:Service"
"""Type token of a Service."""
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
"""Type token of a HorizontalPodAutoscaler."""
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
"""Type token of a ConfigMap."""
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
"""Type token of a NetworkPolicy."""

KONG_CONFIG_KEY = "kong.yml"
"""ConfigMap data key holding Kong's declarative config."""


def looks_like_kong(props: Props) -> bool:
    """Whether a Deployment runs Kong: a container with a kong image or KONG_* env."""
    for container in props.each("spec", "template", "spec", "containers"):
        if isinstance(container, Unknown):
            continue
        image = container.get("image")
        if isinstance(image, str) and re.search(r"(^|/)kong(-gateway)?(:|@|$)", image):
            return True
        for item in container.each("env"):
            if isinstance(item, Props):
                name = item.get("name")
                if isinstance(name, str) and name.startswith("KONG_"):
                    return True
    return False


def _probe(props: Props | Unknown | None) -> Probe | Unknown | None:
    if props is None or isinstance(props, Unknown):
        return props
    handler = "unknown handler"
    if (http := props.sub("httpGet")) is not None:
        if isinstance(http, Unknown):
            return http
        handler = (
            f"httpGet {http.get('scheme') or 'HTTP'} :{http.get('port')}{http.get('path') or '/'}"
        )
    elif (tcp := props.sub("tcpSocket")) is not None:
        handler = "tcpSocket" if isinstance(tcp, Unknown) else f"tcpSocket :{tcp.get('port')}"
    elif (grpc := props.sub("grpc")) is not None:
        handler = "grpc" if isinstance(grpc, Unknown) else f"grpc :{grpc.get('port')}"
    elif (command := props.get("exec", "command")) is not None:
        handler = f"exec {command}"
    fields = (
        props.integer("initialDelaySeconds", default=0),
        props.integer("periodSeconds", default=10),
        props.integer("timeoutSeconds", default=1),
        props.integer("successThreshold", default=1),
        props.integer("failureThreshold", default=3),
    )
    for value in fields:
        if isinstance(value, Unknown):
            return Probe(handler, value)
    delay, period, timeout, success, failure = (sure(value) for value in fields)
    return Probe(handler, ProbeTiming(delay, period, timeout, success, failure))


_SLEEP = re.compile(r"\bsleep\s+(\d+(?:\.\d+)?)")


def _flag(words: list[str], long: str, short: str, default: float) -> float:
    for index, word in enumerate(words):
        text = None
        if word.startswith(f"{long}="):
            text = word.split("=", 1)[1]
        elif word in (long, short) and index + 1 < len(words):
            text = words[index + 1]
        if text is not None:
            number = finite(text)
            if number is None:  # inf, nan, 1e999: not a duration the budget can use
                raise ValueError(text)
            return number
    return default


def _prestop(props: Props | Unknown | None) -> PreStop | Unknown | None:
    if props is None or isinstance(props, Unknown):
        return props
    sleep = props.sub("sleep")
    if sleep is not None:
        if isinstance(sleep, Unknown):
            return sleep
        return PreStop("sleep", sleep.num("seconds", default=0))
    command = props.get("exec", "command")
    if isinstance(command, Unknown):
        return command
    if isinstance(command, list):
        words = [str(word) for word in command]
        text = " ".join(words)
        if "kong" in words[:2] and "quit" in words:
            try:
                wait = _flag(words, "--wait", "-w", 0)
                timeout = _flag(words, "--timeout", "-t", 10)
            except ValueError:
                return Unknown(f"{props.base}.exec.command", f"has an unreadable flag: {text!r}")
            return PreStop("kong-quit", wait, timeout)
        match = _SLEEP.search(text)
        if match:
            seconds = finite(match.group(1))
            if seconds is None:  # hundreds of digits: beyond a float
                return Unknown(f"{props.base}.exec.command", f"has an unreadable sleep: {text!r}")
            return PreStop("exec-sleep", seconds)
        return PreStop("exec", 0.0)
    if props.get("httpGet") is not None:
        return PreStop("http", 0.0)
    return None


def _env(props: Props) -> dict[str, str | Unknown]:
    env: dict[str, str | Unknown] = {}
    for index, item in enumerate(props.each("env")):
        if isinstance(item, Unknown):
            continue
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if item.get("valueFrom") is not None:
            env[name] = Unknown(f"{props.base}.env.{index}", "is set from valueFrom")
        else:
            env[name] = item.text("value", default="")
    return env


def _containers(spec: Props) -> list[Container] | Unknown:
    items = spec.items("containers")
    if isinstance(items, Unknown):
        return items
    raw = [item for item in items or [] if isinstance(item, Props)]
    out: list[Container] = []
    for item in raw:
        ports = item.get("ports")
        out.append(
            Container(
                name=str(item.get("name") or ""),
                image=item.text("image", default=""),
                serves=bool(ports) or len(raw) == 1,
                readiness=_probe(item.sub("readinessProbe")),
                liveness=_probe(item.sub("livenessProbe")),
                startup=_probe(item.sub("startupProbe")),
                prestop=_prestop(item.sub("lifecycle", "preStop")),
                env=_env(item),
            )
        )
    return out


def _spread_keys(spec: Props) -> frozenset[str] | Unknown:
    keys: set[str] = set()
    anti = spec.sub("affinity", "podAntiAffinity")
    if isinstance(anti, Unknown):
        return anti
    if anti is not None:
        for term in anti.each("requiredDuringSchedulingIgnoredDuringExecution"):
            if isinstance(term, Props) and isinstance(key := term.get("topologyKey"), str):
                keys.add(key)
        for term in anti.each("preferredDuringSchedulingIgnoredDuringExecution"):
            if isinstance(term, Props):
                key = term.get("podAffinityTerm", "topologyKey")
                if isinstance(key, str):
                    keys.add(key)
    spread = spec.items("topologySpreadConstraints")
    if isinstance(spread, Unknown):
        return spread
    for constraint in spread or []:
        if isinstance(constraint, Props) and isinstance(key := constraint.get("topologyKey"), str):
            keys.add(key)
    return frozenset(keys)


def _annotation(props: Props, name: str) -> float | Unknown | None:
    for where in (("metadata", "annotations"), ("spec", "template", "metadata", "annotations")):
        if props.get(*where, name) is not None:
            return props.opt_num(*where, name)
    return None


def deployment(ref: Ref, place: Placement, props: Props) -> Deployment:
    """A Deployment fact."""
    pod = props.sub("spec", "template", "spec")
    if pod is None:
        pod = Props({}, "spec.template.spec")
    grace: int | Unknown
    containers: list[Container] | Unknown
    spread: frozenset[str] | Unknown
    if isinstance(pod, Unknown):
        grace, containers, spread = pod, pod, pod
    else:
        grace = pod.integer("terminationGracePeriodSeconds", default=30)
        containers = _containers(pod)
        spread = _spread_keys(pod)
    return Deployment(
        ref=ref,
        place=place,
        namespace=str(props.get("metadata", "namespace") or "default"),
        object_name=props.opt_text("metadata", "name"),
        replicas=props.integer("spec", "replicas", default=1),
        strategy=props.text("spec", "strategy", "type", default="RollingUpdate"),
        max_surge=props.int_or_str("spec", "strategy", "rollingUpdate", "maxSurge"),
        max_unavailable=props.int_or_str("spec", "strategy", "rollingUpdate", "maxUnavailable"),
        min_ready_seconds=props.integer("spec", "minReadySeconds", default=0),
        progress_deadline_seconds=props.integer("spec", "progressDeadlineSeconds", default=600),
        grace_seconds=grace,
        pod_labels=props.str_map("spec", "template", "metadata", "labels"),
        containers=containers,
        spread_keys=spread,
        request_timeout_seconds=_annotation(props, RT_REQUEST_TIMEOUT_ANNOTATION),
        keepalive_idle_seconds=_annotation(props, RT_KEEPALIVE_IDLE_ANNOTATION),
        max_body_mib=_annotation(props, RT_MAX_BODY_ANNOTATION),
    )


def selector(props: Props | Unknown | None) -> LabelSelector | Unknown:
    """A label selector (empty when absent)."""
    if props is None:
        return LabelSelector()
    if isinstance(props, Unknown):
        return props
    labels = props.str_map("matchLabels")
    if isinstance(labels, Unknown):
        return labels
    expressions: list[tuple[str, str, tuple[str, ...]]] = []
    for item in props.each("matchExpressions"):
        if isinstance(item, Unknown):
            return item
        values = item.get("values")
        expressions.append(
            (
                str(item.get("key")),
                str(item.get("operator")),
                tuple(str(v) for v in values) if isinstance(values, list) else (),
            )
        )
    return LabelSelector(labels, tuple(expressions))


def pdb(ref: Ref, place: Placement, props: Props) -> Pdb:
    """A PodDisruptionBudget fact."""
    return Pdb(
        ref=ref,
        place=place,
        namespace=str(props.get("metadata", "namespace") or "default"),
        selector=selector(props.sub("spec", "selector")),
        min_available=props.int_or_str("spec", "minAvailable"),
        max_unavailable=props.int_or_str("spec", "maxUnavailable"),
        unhealthy_pod_eviction_policy=props.text(
            "spec", "unhealthyPodEvictionPolicy", default="IfHealthyBudget"
        ),
    )


def service(ref: Ref, place: Placement, props: Props) -> Service:
    """A Service fact."""
    return Service(
        ref=ref,
        place=place,
        namespace=str(props.get("metadata", "namespace") or "default"),
        type=props.text("spec", "type", default="ClusterIP"),
        session_affinity=props.text("spec", "sessionAffinity", default="None"),
    )


def hpa(ref: Ref, props: Props) -> Hpa:
    """A HorizontalPodAutoscaler fact."""
    return Hpa(
        ref=ref,
        namespace=str(props.get("metadata", "namespace") or "default"),
        target_kind=props.text("spec", "scaleTargetRef", "kind", default=""),
        target_name=props.text("spec", "scaleTargetRef", "name", default=""),
        min_replicas=props.integer("spec", "minReplicas", default=1),
    )
