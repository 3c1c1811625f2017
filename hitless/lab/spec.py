"""What one lab run rolls: every setting of every tier, in real (unscaled) seconds.

The outer process (`hitless lab`) builds a `Scenario` from the rendered stack (and a team's
manifests); the run inside the network namespace (`hitless.lab.run`) reads it as JSON and divides
every time by `Scenario.time_scale` itself, so the artifacts show the real figures.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Probe(_Spec):
    """A Kubernetes probe's timing fields (Kubernetes' defaults when the manifest omits them)."""

    initial_delay_seconds: float = Field(default=0, description="initialDelaySeconds.")
    period_seconds: float = Field(default=10, description="periodSeconds.")
    timeout_seconds: float = Field(default=1, description="timeoutSeconds.")
    success_threshold: int = Field(default=1, description="successThreshold.")


class DeploymentSpec(_Spec):
    """A Deployment as its controller and kubelet roll it (tier C or D)."""

    name: str = Field(description="Deployment name (pod names derive from it).")
    replicas: int = Field(description="spec.replicas.")
    max_surge: int = Field(description="Resolved maxSurge.")
    max_unavailable: int = Field(description="Resolved maxUnavailable.")
    readiness: Probe = Field(description="The container's readinessProbe.")
    startup: Probe | None = Field(default=None, description="The container's startupProbe.")
    min_ready_seconds: float = Field(description="spec.minReadySeconds.")
    prestop_seconds: float = Field(
        description="Seconds the pod keeps accepting after Terminating: preStop sleep (D) or "
        "`kong quit --wait` (C); 0 without preStop."
    )
    quit_timeout_seconds: float | None = Field(
        default=None, description="`kong quit --timeout` (C only): kill after wait + timeout."
    )
    grace_seconds: float = Field(description="terminationGracePeriodSeconds.")
    lag_seconds: float = Field(description="Routers add or drop a pod this long after the change.")
    source: str = Field(description="Where the settings were read (file or stack).")


class RuntimeLimits(_Spec):
    """The RT server's declared limits and its work per upload (tier D)."""

    request_timeout_seconds: float = Field(description="RT request timeout.")
    keepalive_idle_seconds: float = Field(description="RT keep-alive idle timeout.")
    max_body_mib: float = Field(description="RT body limit (MiB, before the scale).")
    work_seconds: float = Field(description="Work after an upload's body arrived.")


class KongSettings(_Spec):
    """What the Kong stand-in takes from the rendered kong.yml and Kong Deployment (real units)."""

    connect_timeout_ms: int = Field(description="Service connect_timeout.")
    write_timeout_ms: int = Field(description="Service write_timeout.")
    read_timeout_ms: int = Field(description="Service read_timeout.")
    retries: int = Field(description="Service retries: tries = 1 + retries.")
    request_buffering: bool = Field(description="Route request_buffering.")
    response_buffering: bool = Field(description="Route response_buffering.")
    client_keepalive_seconds: float = Field(description="KONG_NGINX_HTTP_KEEPALIVE_TIMEOUT.")
    upstream_keepalive_idle_seconds: float = Field(
        description="KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT."
    )
    upstream_keepalive_max_requests: int = Field(
        description="KONG_UPSTREAM_KEEPALIVE_MAX_REQUESTS."
    )
    worker_shutdown_timeout_seconds: float = Field(
        description="KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT."
    )
    client_max_body_bytes: int = Field(
        description="KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE in bytes (0: unlimited)."
    )


class MigSpec(_Spec):
    """A regional MIG of nginx instances behind a load balancer (tier A or B)."""

    conf: str = Field(description="The rendered nginx.conf every instance runs.")
    conf_source: str = Field(description="Where the nginx.conf was read.")
    size: int = Field(description="target_size.")
    surge: int = Field(description="max_surge_fixed (max unavailable is 0).")
    check_interval_seconds: float = Field(description="LB health check interval.")
    check_timeout_seconds: float = Field(description="LB health check timeout.")
    healthy_threshold: int = Field(description="LB health check healthy threshold.")
    min_ready_seconds: float = Field(description="MIG min_ready_sec.")
    drain_seconds: float = Field(description="LB connection draining timeout: deleted after.")
    drain_wait_seconds: float = Field(
        description="Shutdown script: seconds between the drain flag and `nginx -s quit`."
    )
    lag_seconds: float = Field(description="The LB adds or drops an instance this long after.")
    source: str = Field(description="Where the MIG settings were read.")


class LoadSpec(_Spec):
    """The load generator's traffic."""

    rate: float = Field(description="Requests per second (Poisson).")
    upload_share: float = Field(description="Share of requests that are uploads.")
    body_mib: float = Field(description="Upload body (MiB, before the scale).")
    client_mib_per_second: float = Field(description="Throttled upload rate (MiB/s, unscaled).")
    client_timeout_seconds: float = Field(
        description="The client gives up after this (the external LB's timeoutSec)."
    )
    seed: int = Field(description="Random seed of arrivals and kinds.")


class RollingTier(StrEnum):
    """The tier a lab run rolls."""

    a = "a"
    b = "b"
    c = "c"
    d = "d"


class Scenario(_Spec):
    """One lab run: the chain, the tier that rolls and the load."""

    name: str = Field(description="Scenario name (stack, tier, variant).")
    stack: str = Field(description="Stack whose rendering it rolls.")
    tier: RollingTier = Field(description="The tier that rolls.")
    variant: str = Field(description="`hitless`, or what was changed to break it.")
    expect_failures: bool = Field(description="True for a broken variant (the matrix checks).")
    in_place_upgrade: bool = Field(
        default=False,
        description="Tier A or B: upgrade nginx's binary in place (USR2, then QUIT to the old "
        "master) instead of rolling the MIG; nginx runs as a daemon for that.",
    )
    run: int = Field(description="Run number (1-based) within the scenario's repetitions.")
    time_scale: float = Field(description="Every time is divided by this; bodies too.")
    a: MigSpec = Field(description="Tier A.")
    b: MigSpec = Field(description="Tier B.")
    kong: KongSettings = Field(description="Tier C's proxy settings.")
    c: DeploymentSpec = Field(description="Tier C's Deployment.")
    rt: RuntimeLimits = Field(description="Tier D's limits and work.")
    d: DeploymentSpec = Field(description="Tier D's Deployment.")
    load: LoadSpec = Field(description="The traffic.")
    notes: tuple[str, ...] = Field(default=(), description="Where settings came from.")
    max_rollout_seconds: float = Field(
        default=900, description="A rollout still running after this (unscaled) is aborted."
    )
