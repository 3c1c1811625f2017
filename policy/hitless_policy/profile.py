"""The traffic profile (the promise the chain makes) and the pack's thresholds.

Both models are plain data with their defaults stated once, here. The stack config embeds
`TrafficProfile` as `hitless:profile`; the policy pack takes both as its config
(`--policy-pack-config`), with these defaults when a key is absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Seconds = Annotated[float, Field(ge=0)]


BodyMiB = Annotated[float, Field(gt=0, le=10240)]
"""A request body size (MiB): the chain's promise and a runtime service's own."""
ClientMbps = Annotated[float, Field(ge=0.01, le=100_000)]
"""A slowest client's upload bandwidth (Mbit/s)."""
ProcessingSeconds = Annotated[float, Field(gt=0, le=3600)]
"""The runtime's longest processing of one request (s)."""


class TrafficProfile(BaseModel):
    """What the chain promises to carry while any tier rolls."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_body_mib: BodyMiB = Field(
        default=50,
        description="Largest request body (MiB) that must survive a rollout of any tier.",
    )
    min_client_mbps: ClientMbps = Field(
        default=8,
        description=(
            "Upload bandwidth (Mbit/s) of the slowest client the chain serves; it sets how long a "
            "body takes to reach tier A. 8 Mbit/s moves 50 MiB in about 52 s."
        ),
    )
    internal_mbps: float = Field(
        default=1000,
        ge=0.01,
        le=1_000_000,
        description="Bandwidth (Mbit/s) of one request between tiers inside the VPC.",
    )
    rt_max_processing_seconds: ProcessingSeconds = Field(
        default=30,
        description="Longest time the runtime (D) works on a request after its body arrived.",
    )
    endpoint_propagation_seconds: float = Field(
        default=10,
        gt=0,
        le=600,
        description=(
            "Lag between a pod turning Terminating and every kube-proxy and Kong node no longer "
            "sending it new connections (10-30 s on large clusters)."
        ),
    )
    lb_propagation_seconds: float = Field(
        default=30,
        gt=0,
        le=600,
        description=(
            "Lag for a GCP load balancer (GFE, tier B's internal passthrough NLB) to stop "
            "or start sending new connections to a backend after its health changes."
        ),
    )
    kong_lb_propagation_seconds: float = Field(
        default=30,
        gt=0,
        le=600,
        description=(
            "Lag for Kong's GKE internal LoadBalancer (externalTrafficPolicy Local, GKE "
            "subsetting, Dataplane V2) to stop sending new connections to a node whose Kong pod "
            "terminates. Only nodes with a ready, non-terminating serving pod take packets: GKE "
            "drops the node from the Service's GCE_VM_IP NEG and its healthCheckNodePort check "
            "fails (cloud.google.com/kubernetes-engine/docs/concepts/service-load-balancer, "
            "/docs/how-to/internal-load-balancing). Dataplane V2 replaces kube-proxy inside the "
            "node only; the LB's lag is its health check's (interval x unhealthy threshold) plus "
            "NEG programming, which GKE does not state: 30 s, as for GCP's other LBs."
        ),
    )


PATH_PROFILE_FIELDS: tuple[str, ...] = (
    "max_body_mib",
    "min_client_mbps",
    "rt_max_processing_seconds",
)
"""The profile fields one runtime service may promise differently from its chain: the ones that
decide its path's longest request. Lags and internal bandwidth belong to the platform."""


class PathProfile(BaseModel):
    """One runtime service's own traffic promise, where it differs from the chain's profile.

    Unset fields take the chain's (`hitless:profile`). The pack reads the same values from the
    runtime Deployment's `hitless.dev/profile.<field>` annotations.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_body_mib: BodyMiB | None = Field(
        default=None,
        description="Largest request body (MiB) this service receives; null: the chain's.",
    )
    min_client_mbps: ClientMbps | None = Field(
        default=None,
        description="Upload bandwidth (Mbit/s) of this service's slowest client; null: chain's.",
    )
    rt_max_processing_seconds: ProcessingSeconds | None = Field(
        default=None,
        description="Longest time this service works on a request; null: the chain's.",
    )

    def overrides(self) -> dict[str, float]:
        """The fields set here, by name."""
        return {
            name: value
            for name in PATH_PROFILE_FIELDS
            if (value := getattr(self, name)) is not None
        }


def path_profile(profile: TrafficProfile, overrides: Mapping[str, float]) -> TrafficProfile:
    """The traffic promise of one path: the chain's profile with the service's own fields.

    Raises ValueError when an override is outside the profile field's bounds.
    """
    if not overrides:
        return profile
    return TrafficProfile.model_validate({**profile.model_dump(), **overrides})


class Thresholds(BaseModel):
    """Margins and bounds the rules apply on top of the profile."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    margin_seconds: float = Field(
        default=15,
        ge=0,
        le=600,
        description=(
            "Safety margin added to pod grace periods (after preStop and the longest request) "
            "and to the progress deadline; timeout and drain orderings are strict bounds."
        ),
    )
    max_probe_period_seconds: int = Field(
        default=10,
        ge=1,
        le=300,
        description="Longest readiness-probe period: a slower probe lets a dead pod take traffic.",
    )
    kong_min_retries: int = Field(
        default=1, ge=0, le=32767, description="Fewest Kong retries (connect-phase failover)."
    )
    kong_max_retries: int = Field(
        default=3,
        ge=0,
        le=32767,
        description="Most Kong retries: more multiplies the worst case seen by outer tiers.",
    )
    kong_max_connect_timeout_ms: int = Field(
        default=5000,
        ge=1,
        le=2**31 - 2,
        description="Longest Kong connect_timeout (ms): a vanished pod IP stalls a try this long.",
    )
    max_drain_seconds: int = Field(
        default=3600,
        ge=1,
        le=3600,
        description="Longest drain GCP allows (LB connection draining, GKE upgrade grace).",
    )
    gfe_backend_keepalive_seconds: int = Field(
        default=600,
        ge=1,
        le=86400,
        description="GFE's fixed keepalive towards backends; A must keep idle connections longer.",
    )
    min_maintenance_hours_per_32_days: float = Field(
        default=48,
        ge=0,
        le=32 * 24,
        description="GKE's minimum maintenance availability per 32 days.",
    )
    min_maintenance_block_hours: float = Field(
        default=4, ge=0, le=24, description="GKE counts only maintenance blocks at least this long."
    )
    pod_start_seconds: float = Field(
        default=60,
        ge=0,
        le=3600,
        description=(
            "Worst-case scheduling, image pull and start of a new pod until its app answers; "
            "with the probes it bounds the time to Available a rollout waits for."
        ),
    )
    mig_boot_seconds: float = Field(
        default=120,
        ge=0,
        le=3600,
        description=(
            "Worst-case boot plus nginx start of a MIG instance; autohealing must not judge an "
            "instance earlier, or it recreates booting instances in a loop."
        ),
    )
    node_boot_seconds: float = Field(
        default=300,
        ge=0,
        le=3600,
        description=(
            "Worst-case time for a GKE surge or green node to be created, boot and turn Ready for "
            "pods; with the drains it bounds a node pool upgrade `pulumi up` must await."
        ),
    )
    mig_shutdown_seconds: float = Field(
        default=90,
        ge=0,
        le=3600,
        description=(
            "Time GCE gives an on-demand VM's shutdown script when the MIG deletes it (about 90 s, "
            "https://cloud.google.com/compute/docs/shutdownscript); part of each MIG update batch."
        ),
    )
    max_lb_time_to_unhealthy_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description=(
            "Longest time a load balancer health check may take to mark a dead backend "
            "unhealthy (interval x unhealthy threshold + timeout); meanwhile requests fail."
        ),
    )


class PackConfig(BaseModel):
    """Everything the rules read besides the resources: the pack's config document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: TrafficProfile = Field(
        default_factory=TrafficProfile, description="The traffic profile the chain promises."
    )
    thresholds: Thresholds = Field(
        default_factory=Thresholds, description="Margins and bounds applied by the rules."
    )
