"""Kubernetes facts from manifests (props are the manifest), with Kubernetes' defaults applied."""

from __future__ import annotations

import math
import re
import shlex

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
    RT_PROFILE_ANNOTATION_PREFIX,
    RT_REQUEST_TIMEOUT_ANNOTATION,
    Tier,
)
from hitless_policy.profile import PATH_PROFILE_FIELDS

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

DEPLOYMENT_AWAIT_DEFAULT_SECONDS = 600
"""pulumi-kubernetes' await of a Deployment without customTimeouts: 10 minutes
(https://www.pulumi.com/registry/packages/kubernetes/api-docs/apps/v1/deployment/;
pulumi/pulumi-kubernetes PR #721, "Increase default readiness timeouts to 10 mins")."""

KONG_CONFIG_KEY = "kong.yml"
"""ConfigMap data key the components write Kong's declarative config under."""

SERVED_API_VERSIONS: dict[str, dict[str, str]] = {
    "Deployment": {
        "apps/v1": "apps/v1",
        "apps/v1beta1": "apps/v1",
        "apps/v1beta2": "apps/v1",
        "extensions/v1beta1": "apps/v1",
    },
    "PodDisruptionBudget": {"policy/v1": "policy/v1", "policy/v1beta1": "policy/v1"},
    "HorizontalPodAutoscaler": {
        "autoscaling/v2": "autoscaling/v2",
        "autoscaling/v1": "autoscaling/v2",
        "autoscaling/v2beta1": "autoscaling/v2",
        "autoscaling/v2beta2": "autoscaling/v2",
    },
    "Service": {"v1": "v1"},
    "ConfigMap": {"v1": "v1"},
    "StatefulSet": {"apps/v1": "apps/v1", "apps/v1beta1": "apps/v1", "apps/v1beta2": "apps/v1"},
    "DaemonSet": {
        "apps/v1": "apps/v1",
        "apps/v1beta2": "apps/v1",
        "extensions/v1beta1": "apps/v1",
    },
    "NetworkPolicy": {
        "networking.k8s.io/v1": "networking.k8s.io/v1",
        "extensions/v1beta1": "networking.k8s.io/v1",
    },
}
"""apiVersions read per kind, and the version whose schema the extractor reads: every kind a
rule reads (the rollout rules' Deployments, PDBs, HPAs, Services and Kong ConfigMaps; the
security rules' StatefulSets, DaemonSets, NetworkPolicies and every ConfigMap's data). Older ones
(removed in Kubernetes 1.16, 1.25 and 1.26, still found in real repositories) are read as the
current version: the fields the rules read kept their names and meaning."""

REMOVED_IN = {
    "apps/v1beta1": "1.16",
    "apps/v1beta2": "1.16",
    "extensions/v1beta1": "1.16",
    "policy/v1beta1": "1.25",
    "autoscaling/v2beta1": "1.25",
    "autoscaling/v2beta2": "1.26",
}
"""The Kubernetes release that stopped serving each old apiVersion (a notice, not a verdict)."""

_KONG_IMAGE = re.compile(r"(^|/)kong(-gateway|-enterprise-edition)?(:|@|$)")

SIDECAR_IMAGES = re.compile(
    r"(^|/)(istio/proxyv2|proxyv2|linkerd[^/]*proxy|cloud-sql-proxy|cloudsql-proxy|"
    r"cloud-sql-connectors/cloud-sql-proxy|fluent-bit|fluentd|vault|envoy)(:|@|$)"
)
"""Images of helper sidecars (mesh proxies, database proxies, log shippers): never the
container whose termination a rollout is judged by."""


def runs_kong(container: Props) -> bool:
    """Whether a container runs Kong: a Kong image, or a preStop that runs `kong quit`.

    An image reference left as a kustomize placeholder still stops like Kong.
    """
    image = container.get("image")
    if isinstance(image, str) and _KONG_IMAGE.search(image):
        return True
    command = container.get("lifecycle", "preStop", "exec", "command")
    if isinstance(command, list):
        words = _commands([str(word) for word in command]) or []
        return any(c and c[0].rsplit("/", 1)[-1] == "kong" and "quit" in c[1:3] for c in words)
    return False


def looks_like_kong(props: Props) -> bool:
    """Whether a Deployment runs Kong: a container `runs_kong`.

    `KONG_*` env alone does not make an app Kong (admin UIs and clients set it too).
    """
    return any(runs_kong(c) for c in props.each("spec", "template", "spec", "containers"))


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
        # The gRPC health protocol answers per service name: another service is another check.
        handler = (
            "grpc"
            if isinstance(grpc, Unknown)
            else f"grpc :{grpc.get('port')} service {grpc.get('service') or '(server)'}"
        )
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


_SLEEP_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
"""`sleep` suffixes (GNU coreutils and busybox: s, m, h, d)."""
_SLEEP_ARG = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})
_SEPARATORS = frozenset({";", "&&", "||", "&", "|"})

KONG_QUIT_DEFAULT_TIMEOUT = 10.0
"""`kong quit --timeout` default (s): Kong's `kong/cmd/quit.lua` declares
`-t,--timeout (default 10) timeout before forced shutdown`."""
KONG_QUIT_DEFAULT_WAIT = 0.0
"""`kong quit --wait` default (s): `-w,--wait (default 0)` in the same file (Kong >= 2.x)."""


def _flag(words: list[str], long: str, short: str, default: float) -> float:
    for index, word in enumerate(words):
        text = None
        if word.startswith(f"{long}=") or word.startswith(f"{short}="):
            text = word.split("=", 1)[1]
        elif word in (long, short) and index + 1 < len(words):
            text = words[index + 1]
        if text is not None:
            number = finite(text)
            if number is None:  # inf, nan, 1e999: not a duration the budget can use
                raise ValueError(text)
            return number
    return default


def _sleep_seconds(args: list[str]) -> float | None:
    """Seconds of `sleep ARG...` (GNU sleep sums its arguments), None when unreadable."""
    total = 0.0
    for arg in args:
        match = _SLEEP_ARG.match(arg)
        if match is None:
            return None
        number = finite(match.group(1))
        if number is None:  # hundreds of digits: beyond a float
            return None
        total += number * _SLEEP_UNITS[match.group(2)]
    return total if args and math.isfinite(total) else None


def _commands(words: list[str]) -> list[list[str]] | None:
    """The simple commands an exec hook runs (None: a script shlex cannot read).

    Its argv, or the script of `sh -c '...'` split at `;`, `&&`, `||` (None: a script shlex cannot
    read).
    """
    program = words[0].rsplit("/", 1)[-1] if words else ""
    if program in _SHELLS and "-c" in words[1:]:
        index = words.index("-c", 1)
        script = " ".join(words[index + 1 : index + 2])
        try:
            lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            return None
        out: list[list[str]] = [[]]
        for token in tokens:
            if token in _SEPARATORS:
                out.append([])
            else:
                out[-1].append(token)
        return [command for command in out if command]
    return [words]


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
        return _exec_prestop(f"{props.base}.exec.command", [str(word) for word in command])
    if props.get("httpGet") is not None:
        # The kubelet waits for the HTTP answer: how long the pod keeps serving depends on
        # the handler, which no manifest states.
        return PreStop(
            "http",
            Unknown(
                f"{props.base}.httpGet",
                "holds the pod as long as the endpoint takes to answer, which the manifest "
                "does not say; use a sleep action or an exec sleep",
            ),
        )
    return None


def _exec_prestop(path: str, words: list[str]) -> PreStop | Unknown:
    """An exec preStop's delay and kind.

    `kong quit` (also inside `sh -c`), `sleep N[smhd]`, or another command (0 s of delay). Sleeps
    before `kong quit` add to its `--wait`.
    """
    commands = _commands(words)
    text = " ".join(words)
    if commands is None:
        return Unknown(path, f"is a shell script that cannot be read: {text!r}")
    delay = 0.0
    kind = "exec"
    for command in commands:
        program = command[0].rsplit("/", 1)[-1]
        if program == "kong" and "quit" in command[1:3]:
            try:
                wait = _flag(command, "--wait", "-w", KONG_QUIT_DEFAULT_WAIT)
                timeout = _flag(command, "--timeout", "-t", KONG_QUIT_DEFAULT_TIMEOUT)
            except ValueError:
                return Unknown(path, f"has an unreadable kong quit flag: {text!r}")
            # quit.lua waits `math.max(args.timeout, 1)`: at least 1 s.
            return PreStop("kong-quit", delay + wait, max(timeout, 1.0))
        if program == "sleep":
            seconds = _sleep_seconds(command[1:])
            if seconds is None:
                return Unknown(path, f"sleeps for an unreadable time: {text!r}")
            delay += seconds
            kind = "exec-sleep"
    return PreStop(kind, delay)


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


def _serving(items: list[Props], *, kong: bool) -> list[bool]:
    """Which containers serve traffic.

    Those declaring a port or a readiness probe (the only container always), helper sidecars
    excepted. In a Kong pod, the container running Kong.
    When no container says so, every non-sidecar container is taken as serving.
    """
    sidecar = [
        isinstance(image := item.get("image"), str) and bool(SIDECAR_IMAGES.search(image))
        for item in items
    ]
    if kong:
        marks = [runs_kong(item) for item in items]
        if any(marks):
            return marks
    if len(items) == 1:
        return [True]
    declared = [bool(item.get("ports")) or item.get("readinessProbe") is not None for item in items]
    marks = [d and not s for d, s in zip(declared, sidecar, strict=True)]
    if any(marks):
        return marks
    return [not s for s in sidecar] if not all(sidecar) else [True] * len(items)


def _containers(spec: Props, *, kong: bool = False) -> list[Container] | Unknown:
    items = spec.items("containers")
    if isinstance(items, Unknown):
        return items
    raw = [item for item in items or [] if isinstance(item, Props)]
    serving = _serving(raw, kong=kong)
    out: list[Container] = []
    for item, serves in zip(raw, serving, strict=True):
        out.append(
            Container(
                name=str(item.get("name") or ""),
                image=item.text("image", default=""),
                serves=serves,
                readiness=_probe(item.sub("readinessProbe")),
                liveness=_probe(item.sub("livenessProbe")),
                startup=_probe(item.sub("startupProbe")),
                prestop=_prestop(item.sub("lifecycle", "preStop")),
                env=_env(item),
            )
        )
    return out


HOSTNAME_KEY = "kubernetes.io/hostname"
"""Node topology key."""
ZONE_KEY = "topology.kubernetes.io/zone"
"""Zone topology key."""
REGION_KEY = "topology.kubernetes.io/region"
"""Region topology key."""
_LEGACY_KEYS = {
    "failure-domain.beta.kubernetes.io/zone": ZONE_KEY,
    "failure-domain.beta.kubernetes.io/region": REGION_KEY,
}
"""Deprecated node labels GKE still sets, read as their current names."""


def _own_pods(term: Props, key: str, labels: dict[str, str] | Unknown) -> bool | Unknown:
    """Whether a term's label selector selects the Deployment's own pods."""
    found = selector(term.sub(key))
    if isinstance(found, Unknown):
        return found
    if isinstance(labels, Unknown):
        return labels
    return found.matches(labels)


def _at_least_one(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 1


def _spread_keys(spec: Props, labels: dict[str, str] | Unknown) -> frozenset[str] | Unknown:
    """Topology keys on which the scheduler *must* keep the pods apart.

    Counted: required pod anti-affinity whose selector selects the pods themselves (on a zone or
    region key it also keeps them on distinct nodes), and topology spread constraints with
    `whenUnsatisfiable: DoNotSchedule` (the default), a valid maxSkew (>= 1), a minDomains of at
    least 1 when set and a selector of the pods themselves. Preferred anti-affinity and
    `ScheduleAnyway` are hints the scheduler drops when nodes are short (during a surge or a node
    upgrade), so they do not count.
    """
    keys: set[str] = set()
    anti = spec.sub("affinity", "podAntiAffinity")
    if isinstance(anti, Unknown):
        return anti
    if anti is not None:
        for term in anti.each("requiredDuringSchedulingIgnoredDuringExecution"):
            key = term.get("topologyKey")
            own = _own_pods(term, "labelSelector", labels)
            if isinstance(own, Unknown):
                return own
            if isinstance(key, str) and own:
                key = _LEGACY_KEYS.get(key, key)
                keys.add(key)
                if key in (ZONE_KEY, REGION_KEY):
                    keys.add(HOSTNAME_KEY)
    spread = spec.items("topologySpreadConstraints")
    if isinstance(spread, Unknown):
        return spread
    for constraint in spread or []:
        if not isinstance(constraint, Props):
            continue
        key = constraint.get("topologyKey")
        when = constraint.get("whenUnsatisfiable") or "DoNotSchedule"
        skew = constraint.get("maxSkew")
        domains = constraint.get("minDomains")
        own = _own_pods(constraint, "labelSelector", labels)
        if isinstance(own, Unknown):
            return own
        valid = (
            isinstance(key, str)
            and when == "DoNotSchedule"
            and _at_least_one(skew)
            and (domains is None or _at_least_one(domains))
        )
        if valid and own and isinstance(key, str):
            keys.add(_LEGACY_KEYS.get(key, key))
    return frozenset(keys)


def _annotation(props: Props, name: str) -> float | Unknown | None:
    for where in (("metadata", "annotations"), ("spec", "template", "metadata", "annotations")):
        if props.get(*where, name) is not None:
            return props.opt_num(*where, name)
    return None


_PERCENT = re.compile(r"^\d+%$")


def int_or_percent(props: Props, *keys: str) -> int | str | Unknown | None:
    """A Kubernetes IntOrString as the API server validates it.

    An integer, or a string that is a percent (`"25%"`). A numeric string such as `"0"` or `"1"` is
    rejected by the API server
    ("a valid percent string must be a numeric string followed by an ending '%'"), so it is
    reported instead of read as a number.
    """
    value = props.int_or_str(*keys)
    if isinstance(value, str) and not _PERCENT.match(value.strip()):
        return Unknown(
            ".".join(keys),
            f"is the string {value!r}, which the API server rejects (an integer or a percent "
            f"string like '25%' is required). Fix: write it without quotes"
            if value.strip().isdigit()
            else f"is {value!r}, not an integer or a percent string like '25%'",
        )
    return value


def deployment(ref: Ref, place: Placement, props: Props) -> Deployment:
    """A Deployment fact."""
    pod = props.sub("spec", "template", "spec")
    if pod is None:
        pod = Props({}, "spec.template.spec")
    grace: int | Unknown
    containers: list[Container] | Unknown
    spread: frozenset[str] | Unknown
    labels = props.str_map("spec", "template", "metadata", "labels")
    if isinstance(pod, Unknown):
        grace, containers, spread = pod, pod, pod
    else:
        grace = pod.integer("terminationGracePeriodSeconds", default=30)
        containers = _containers(pod, kong=place.tier is Tier.C)
        spread = _spread_keys(pod, labels)
    return Deployment(
        ref=ref,
        place=place,
        namespace=namespace(props),
        object_name=props.opt_text("metadata", "name"),
        replicas=props.integer("spec", "replicas", default=1),
        strategy=props.text("spec", "strategy", "type", default="RollingUpdate"),
        max_surge=int_or_percent(props, "spec", "strategy", "rollingUpdate", "maxSurge"),
        max_unavailable=int_or_percent(
            props, "spec", "strategy", "rollingUpdate", "maxUnavailable"
        ),
        min_ready_seconds=props.integer("spec", "minReadySeconds", default=0),
        progress_deadline_seconds=props.integer("spec", "progressDeadlineSeconds", default=600),
        grace_seconds=grace,
        pod_labels=labels,
        containers=containers,
        spread_keys=spread,
        request_timeout_seconds=_annotation(props, RT_REQUEST_TIMEOUT_ANNOTATION),
        keepalive_idle_seconds=_annotation(props, RT_KEEPALIVE_IDLE_ANNOTATION),
        max_body_mib=_annotation(props, RT_MAX_BODY_ANNOTATION),
        profile=_profile(props),
    )


def _profile(props: Props) -> dict[str, float | Unknown]:
    """The runtime's own promise: every `hitless.dev/profile.<field>` annotation that is set."""
    out: dict[str, float | Unknown] = {}
    for name in PATH_PROFILE_FIELDS:
        value = _annotation(props, f"{RT_PROFILE_ANNOTATION_PREFIX}{name}")
        if value is not None:
            out[name] = value
    return out


def namespace(props: Props) -> str | Unknown:
    """`metadata.namespace` (`default` when absent; Unknown while unknown, never a name)."""
    value = props.get("metadata", "namespace")
    if isinstance(value, Unknown):
        return value
    return str(value or "default")


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
        namespace=namespace(props),
        selector=selector(props.sub("spec", "selector")),
        min_available=int_or_percent(props, "spec", "minAvailable"),
        max_unavailable=int_or_percent(props, "spec", "maxUnavailable"),
        unhealthy_pod_eviction_policy=props.text(
            "spec", "unhealthyPodEvictionPolicy", default="IfHealthyBudget"
        ),
    )


def service(ref: Ref, place: Placement, props: Props) -> Service:
    """A Service fact."""
    return Service(
        ref=ref,
        place=place,
        namespace=namespace(props),
        type=props.text("spec", "type", default="ClusterIP"),
        session_affinity=props.text("spec", "sessionAffinity", default="None"),
        object_name=props.text("metadata", "name", default=ref.name),
        selector=props.str_map("spec", "selector"),
    )


def hpa(ref: Ref, props: Props) -> Hpa:
    """A HorizontalPodAutoscaler fact."""
    return Hpa(
        ref=ref,
        namespace=namespace(props),
        target_kind=props.text("spec", "scaleTargetRef", "kind", default=""),
        target_name=props.text("spec", "scaleTargetRef", "name", default=""),
        min_replicas=props.integer("spec", "minReplicas", default=1),
        max_replicas=(
            None
            if props.get("spec", "maxReplicas") is None
            else props.integer("spec", "maxReplicas", default=0)
        ),
    )
