"""What one simulated rollout of one tier leaves behind, for tables, JSON and the report.

The simulator (`hitless simulate`) produces a `TierTrace` per tier it rolls; the report
(`hitless report`) draws its gantt charts from `TierTrace.backends` and its capacity charts from
`TierTrace.samples`. Times are seconds from the start of the simulated run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Generation(StrEnum):
    """Whether a backend (pod, instance, node) is replaced by the rollout or created by it."""

    OLD = "old"
    """Serving before the rollout; removed by it."""
    NEW = "new"
    """Created by the rollout."""


class PhaseName(StrEnum):
    """The phases of a backend's life during a rollout, in the order they happen."""

    SERVING = "serving"
    """Old backend in rotation: routers send it new requests and connections."""
    OUT_OF_ROTATION = "out of rotation"
    """Deletion started, routers still send it new work until their propagation lag ends."""
    DRAINING = "draining"
    """No new work; requests in flight finish (preStop, `kong quit --wait`, LB draining)."""
    KILLED = "killed"
    """Processes ended (grace or drain timeout reached, or the drain finished)."""
    STARTING = "starting"
    """New backend created: booting, pulling, until its readiness probe first succeeds."""
    READY = "ready"
    """Ready, but routers do not send it work yet (propagation lag, minReadySeconds)."""
    IN_ROTATION = "in rotation"
    """New backend receives new requests and connections."""


@dataclass(frozen=True)
class Phase:
    """One phase of one backend: `[start, end)` in simulated seconds."""

    name: PhaseName
    """Which phase."""
    start: float
    """When the phase began."""
    end: float
    """When it ended (the end of the run for a phase still going)."""


@dataclass(frozen=True)
class BackendLife:
    """The phases of one backend during the rollout."""

    backend: str
    """The backend's name (e.g. `rt-old-1`, `a-new-2`)."""
    generation: Generation
    """Old (replaced) or new (created)."""
    phases: tuple[Phase, ...]
    """Its phases in time order."""


@dataclass(frozen=True)
class Sample:
    """The state of the tier at one instant (one sample per simulated second)."""

    at: float
    """Simulated time of the sample."""
    serving: int
    """Backends in rotation (routers may send them new work)."""
    in_flight: int
    """Requests in flight through this tier."""
    failed: int
    """Requests that failed in the second ending at `at`."""


@dataclass(frozen=True)
class TierTrace:
    """One simulated rollout of one tier."""

    tier: str
    """The tier rolled: `a`, `b`, `c`, `d` or `nodes`."""
    rollout_start: float
    """When the rollout was started."""
    rollout_end: float
    """When the last old backend was killed and the last new one was in rotation."""
    backends: tuple[BackendLife, ...]
    """Every backend's phases, old then new, in the order the rollout touched them."""
    samples: tuple[Sample, ...]
    """Capacity, in-flight requests and failures over the run, one per simulated second."""
    failures_by_cause: Mapping[str, int] = field(default_factory=dict)
    """Failed requests by cause (`refused`, `cut`, `timeout`, ...)."""
