"""Lab scenarios from a rendered stack (and a team's manifests), and the `make lab` matrix.

Everything a scenario rolls is read from what `hitless preview` rendered under `build/<stack>/`:
`nginx/a.conf`, `nginx/b.conf`, `kong/kong.yml` and the Kong and RT Deployments under `k8s/`.
What the rendering does not carry - the LB side of the MIGs (health check, surge, draining), the
propagation lags, the traffic profile - comes from the stack config. A team's files (`-f`,
`--nginx-a`, `--nginx-b`) replace the rendered ones for their tiers; the scenario's notes say
which tiers use the stack's defaults.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hitless.components import gce_scripts
from hitless.components.config import MigConfig, StackConfig
from hitless.lab.spec import (
    DeploymentSpec,
    KongSettings,
    LoadSpec,
    MigSpec,
    Probe,
    RollingTier,
    RuntimeLimits,
    Scenario,
)
from hitless_policy import budget
from hitless_policy.identity import (
    RT_KEEPALIVE_IDLE_ANNOTATION,
    RT_MAX_BODY_ANNOTATION,
    RT_REQUEST_TIMEOUT_ANNOTATION,
)

K8S_DEFAULT_GRACE_SECONDS = 30
"""terminationGracePeriodSeconds when a manifest omits it (Kubernetes' default)."""
MIB_PER_MBIT = 1_000_000 / 8 / 1_048_576
"""MiB per second in one Mbit/s."""


class ScenarioInputError(ValueError):
    """A manifest or config the lab cannot roll (bad input: exit 2)."""


def _probe(raw: dict[str, Any] | None) -> Probe | None:
    if not raw:
        return None
    return Probe(
        initial_delay_seconds=raw.get("initialDelaySeconds", 0),
        period_seconds=raw.get("periodSeconds", 10),
        timeout_seconds=raw.get("timeoutSeconds", 1),
        success_threshold=raw.get("successThreshold", 1),
    )


def _prestop(container: dict[str, Any]) -> tuple[float, float | None]:
    """(seconds the pod keeps accepting, `kong quit --timeout` or None) from the preStop hook."""
    hook = (container.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in hook:
        return float(hook["sleep"].get("seconds", 0)), None
    command = " ".join(str(part) for part in (hook.get("exec") or {}).get("command", []))
    if "kong" in command and "quit" in command:
        wait = re.search(r"--wait[= ](\d+)", command)
        timeout = re.search(r"--timeout[= ](\d+)", command)
        # kong quit's own default --timeout is 10 s (kong/cmd/quit.lua).
        return float(wait.group(1) if wait else 0), float(timeout.group(1) if timeout else 10)
    sleep = re.search(r"sleep\s+(\d+)", command)
    return (float(sleep.group(1)) if sleep else 0.0), None


def deployment_spec(doc: dict[str, Any], *, lag: float, source: str) -> DeploymentSpec:
    """The Deployment controller's and kubelet's inputs, read from a Deployment manifest."""
    spec = doc.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    containers = pod.get("containers") or []
    if not containers:
        raise ScenarioInputError(f"{source}: the Deployment has no containers")
    container = containers[0]
    replicas = int(spec.get("replicas", 1))
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge, unavailable = budget.resolve_rolling_update(
        replicas, rolling.get("maxSurge"), rolling.get("maxUnavailable")
    )
    readiness = _probe(container.get("readinessProbe"))
    if readiness is None:
        raise ScenarioInputError(
            f"{source}: container {container.get('name')!r} has no readinessProbe; the lab "
            "rolls pods by readiness. Add one."
        )
    accepting, quit_timeout = _prestop(container)
    return DeploymentSpec(
        name=str((doc.get("metadata") or {}).get("name", "pod")),
        replicas=replicas,
        max_surge=surge,
        max_unavailable=unavailable,
        readiness=readiness,
        startup=_probe(container.get("startupProbe")),
        min_ready_seconds=float(spec.get("minReadySeconds", 0)),
        prestop_seconds=accepting,
        quit_timeout_seconds=quit_timeout,
        grace_seconds=float(pod.get("terminationGracePeriodSeconds", K8S_DEFAULT_GRACE_SECONDS)),
        lag_seconds=lag,
        source=source,
    )


def find_deployment(path: Path) -> dict[str, Any]:
    """The one Deployment in a (multi-document) manifest file."""
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    except (OSError, yaml.YAMLError) as error:
        raise ScenarioInputError(f"{path}: {error}") from error
    found = [d for d in docs if d.get("kind") == "Deployment"]
    if len(found) != 1:
        raise ScenarioInputError(
            f"{path}: the lab rolls one Deployment as tier D; found {len(found)}"
        )
    return found[0]


def _env(container: dict[str, Any], name: str) -> str | None:
    for item in container.get("env") or []:
        if item.get("name") == name:
            return str(item.get("value"))
    return None


def kong_settings(
    kong_yml: Path, kong_deployment: dict[str, Any], cfg: StackConfig
) -> KongSettings:
    """The stand-in's proxy settings from the rendered kong.yml and Kong Deployment."""
    declared = yaml.safe_load(kong_yml.read_text())
    # The Kong Service of the replayed path (a chain's config narrowed by `one_path`).
    name = cfg.runtimes[0].name
    service = next((item for item in declared["services"] if item.get("name") == name), None)
    if service is None:
        raise ScenarioInputError(f"{kong_yml}: no Kong Service named {name!r} (the runtime)")
    route = service.get("routes", [{}])[0]
    container = kong_deployment["spec"]["template"]["spec"]["containers"][0]

    def seconds(name: str, fallback: float) -> float:
        value = _env(container, name)
        return float(value.rstrip("s")) if value else fallback

    body = _env(container, "KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE")
    return KongSettings(
        connect_timeout_ms=int(service.get("connect_timeout", 60000)),
        write_timeout_ms=int(service.get("write_timeout", 60000)),
        read_timeout_ms=int(service.get("read_timeout", 60000)),
        retries=int(service.get("retries", 5)),
        request_buffering=bool(route.get("request_buffering", True)),
        response_buffering=bool(route.get("response_buffering", True)),
        client_keepalive_seconds=seconds(
            "KONG_NGINX_HTTP_KEEPALIVE_TIMEOUT", cfg.kong.client_keepalive_timeout_seconds
        ),
        upstream_keepalive_idle_seconds=seconds(
            "KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT", cfg.kong.upstream_keepalive_idle_timeout_seconds
        ),
        upstream_keepalive_max_requests=int(
            _env(container, "KONG_UPSTREAM_KEEPALIVE_MAX_REQUESTS") or 1000
        ),
        worker_shutdown_timeout_seconds=seconds("KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT", 10),
        client_max_body_bytes=int(body) * 1_048_576 if body and body.isdigit() else 0,
    )


def mig_spec(conf: Path, mig: MigConfig, drain: float, cfg: StackConfig, key: str) -> MigSpec:
    """A MIG tier: the nginx.conf its instances run and the LB side from the stack config."""
    hc = mig.lb_health_check
    return MigSpec(
        conf=conf.read_text(),
        conf_source=str(conf),
        size=mig.target_size,
        surge=mig.max_surge_fixed,
        check_interval_seconds=hc.check_interval_sec,
        check_timeout_seconds=hc.timeout_sec,
        healthy_threshold=hc.healthy_threshold,
        min_ready_seconds=mig.min_ready_sec,
        drain_seconds=drain,
        drain_wait_seconds=gce_scripts.drain_wait_seconds(hc),
        lag_seconds=cfg.profile.lb_propagation_seconds,
        source=f"stack {key}.mig, {key}.connection_draining_timeout_sec",
    )


@dataclass(frozen=True)
class Variant:
    """How a scenario departs from the rendered stack."""

    name: str = "hitless"
    """`hitless` or what was broken."""
    expect_failures: bool = False
    """Whether requests must fail (a broken variant)."""
    kong_quit_wait: float | None = None
    """Replace `kong quit --wait` (C)."""
    drain_a: float | None = None
    """Replace A's LB draining timeout."""
    drain_b: float | None = None
    """Replace B's LB draining timeout."""
    in_place_upgrade: bool = False
    """Upgrade nginx's binary in place on every instance instead of rolling the MIG (A, B)."""


def build_scenario(
    cfg: StackConfig,
    stack: str,
    rendered: Path,
    tier: RollingTier,
    *,
    time_scale: float,
    rate: float,
    upload_share: float,
    run: int,
    variant: Variant | None = None,
    manifests: list[Path] | None = None,
    nginx_a: Path | None = None,
    nginx_b: Path | None = None,
) -> Scenario:
    """The scenario rolling `tier` of the stack rendered under `rendered` (build/<stack>)."""
    variant = variant or Variant()
    notes: list[str] = []
    p = cfg.profile
    drain_a = float(cfg.edge.connection_draining_timeout_sec)
    drain_b = float(cfg.relay.connection_draining_timeout_sec)
    if variant.drain_a is not None:
        drain_a = variant.drain_a
        notes.append(f"variant: A's LB draining timeout {variant.drain_a:g} s")
    if variant.drain_b is not None:
        drain_b = variant.drain_b
        notes.append(f"variant: B's LB draining timeout {variant.drain_b:g} s")
    a_conf = nginx_a or rendered / "nginx" / "a.conf"
    b_conf = nginx_b or rendered / "nginx" / "b.conf"
    a = mig_spec(a_conf, cfg.edge.mig, drain_a, cfg, "edge")
    b = mig_spec(b_conf, cfg.relay.mig, drain_b, cfg, "relay")

    kong_doc = yaml.safe_load((rendered / "k8s" / "kong" / "deployment-kong.yaml").read_text())
    kong = kong_settings(rendered / "kong" / "kong.yml", kong_doc, cfg)
    c = deployment_spec(
        kong_doc,
        lag=budget.kong_quit_wait_bound_seconds(p),
        source=str(rendered / "k8s" / "kong" / "deployment-kong.yaml"),
    )
    if variant.kong_quit_wait is not None:
        c = c.model_copy(update={"prestop_seconds": variant.kong_quit_wait})
        notes.append(f"variant: kong quit --wait={variant.kong_quit_wait:g}")

    rt = cfg.runtimes[0]
    if manifests:
        docs = [find_deployment(path) for path in manifests]
        if len(docs) != 1:
            raise ScenarioInputError("give the RT Deployment in exactly one -f file")
        rt_doc, rt_source = docs[0], str(manifests[0])
    else:
        rt_path = rendered / "k8s" / rt.namespace / f"deployment-{rt.name}.yaml"
        rt_doc, rt_source = yaml.safe_load(rt_path.read_text()), str(rt_path)
    d = deployment_spec(rt_doc, lag=budget.runtime_prestop_bound_seconds(p), source=rt_source)
    annotations = (rt_doc.get("metadata") or {}).get("annotations") or {}

    def declared(key: str, fallback: float, what: str) -> float:
        if key in annotations:
            return float(annotations[key])
        notes.append(f"D: {what} not declared in {rt_source}; the stack's {fallback:g} is used")
        return fallback

    limits = RuntimeLimits(
        request_timeout_seconds=declared(
            RT_REQUEST_TIMEOUT_ANNOTATION, rt.request_timeout_seconds, "request timeout"
        ),
        keepalive_idle_seconds=declared(
            RT_KEEPALIVE_IDLE_ANNOTATION, rt.keepalive_idle_timeout_seconds, "keep-alive idle"
        ),
        max_body_mib=declared(RT_MAX_BODY_ANNOTATION, rt.max_body_mib, "body limit"),
        work_seconds=p.rt_max_processing_seconds,
    )
    given = {"a": nginx_a is not None, "b": nginx_b is not None, "c": False, "d": bool(manifests)}
    if any(given.values()):
        defaults = [t.upper() for t, was in given.items() if not was]
        notes.append(
            f"tiers {', '.join(defaults)} use stack {stack}'s rendering (not given on the "
            "command line)"
        )
    return Scenario(
        name=f"{stack} {tier.value.upper()} {variant.name}"
        + (" (given manifests)" if manifests else ""),
        stack=stack,
        tier=tier,
        variant=variant.name,
        expect_failures=variant.expect_failures,
        in_place_upgrade=variant.in_place_upgrade,
        run=run,
        time_scale=time_scale,
        a=a,
        b=b,
        kong=kong,
        c=c,
        rt=limits,
        d=d,
        load=LoadSpec(
            rate=rate,
            upload_share=upload_share,
            body_mib=p.max_body_mib,
            client_mib_per_second=p.min_client_mbps * MIB_PER_MBIT,
            client_timeout_seconds=cfg.edge.backend_timeout_sec,
            seed=run,
        ),
        notes=tuple(notes),
    )


def broken_variants(cfg: StackConfig) -> dict[RollingTier, Variant]:
    """Each tier's broken variant: what the rules predict fails, and how.

    - C without `kong quit --wait`: Kong closes its listener while the LB still routes to it.
    - A and B with a drain half their longest request: uploads are cut when the instance goes.
    """
    longest = cfg.longest_requests()
    return {
        RollingTier.c: Variant("no kong quit --wait", expect_failures=True, kong_quit_wait=0),
        RollingTier.a: Variant(
            "drain < longest request",
            expect_failures=True,
            drain_a=float(math.floor(longest.a / 2)),
        ),
        RollingTier.b: Variant(
            "drain < longest request",
            expect_failures=True,
            drain_b=float(math.floor(longest.b / 2)),
        ),
    }
