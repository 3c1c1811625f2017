"""`hitless verify`: bounded load through a real edge while a rollout happens, second by second.

The operator names the edge explicitly (`--url`); nothing is guessed. The load is capped
(`MAX_RATE` requests per second, `MAX_DURATION_SECONDS`), every request has the client timeout,
and the run stops by itself when its duration is over (or when told). Redirects are never
followed to another host: a 3xx whose Location names another host is recorded as an outcome of
its own (`redirect-off-host`), not fetched. Failures are classified as the lab classifies them
(`hitless.lab.load.client_cause`: refused, cut, timeout, other) plus the HTTP status of a 5xx.
The report ends with the simulator's prediction for the stack's settings at the same rate, beside
the measurement.

With a kubeconfig, `hitless.verify_kube` reads the Deployment's pods and endpoints once a second
(and may start the rollout); their summary joins the same per-second timeline.
"""

from __future__ import annotations

import asyncio
import random
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hitless.lab.load import MIB, client_cause, throttled_body
from hitless.lab.matrix import Prediction, simulated
from hitless.sim_inputs import SimInputs

MAX_RATE = 50.0
"""Most requests per second verify sends: enough to see a rollout, too few to load a chain."""
MAX_DURATION_SECONDS = 1800
"""Longest run (30 min): longer than any rollout the awaits allow for one tier's pods."""
MAX_UPLOAD_MIB = 100.0
"""Largest upload body."""
MAX_REDIRECTS = 3
"""Same-host redirects followed per request."""
OK = "ok"
"""Outcome of a request answered below 500."""
REDIRECT_OFF_HOST = "redirect-off-host"
"""Outcome of a redirect to another host (never followed)."""


class VerifyOptions(BaseModel):
    """What one verify run sends, where, and for how long (every number bounded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="GET target through the real edge (required, http or https).")
    upload_url: str | None = Field(
        default=None, description="POST target for uploads (same host as `url`)."
    )
    tier: str = Field(pattern=r"^[abcd]$", description="The tier being rolled (a..d).")
    duration_seconds: float = Field(
        gt=0, le=MAX_DURATION_SECONDS, description="How long load is sent."
    )
    rate: float = Field(default=20.0, gt=0, le=MAX_RATE, description="Requests per second.")
    upload_share: float = Field(
        default=0.05, ge=0, le=1, description="Share of requests that are uploads."
    )
    upload_mib: float = Field(default=1.0, gt=0, le=MAX_UPLOAD_MIB, description="Upload body.")
    client_mib_per_second: float = Field(
        default=8.0, gt=0, le=10_000, description="Throttled upload rate (MiB/s)."
    )
    timeout_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="A request is given up after this."
    )
    seed: int = Field(default=1, ge=0, le=2**31, description="Seed of arrivals and kinds.")

    @field_validator("url", "upload_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not an http(s) URL with a host: verify would not know where to "
                "send load. Fix: give the edge's full URL, e.g. https://edge.example.com/health"
            )
        return value


@dataclass
class Outcome:
    """One request's outcome."""

    second: int
    """Whole seconds from the start when it was sent."""
    kind: str
    """`get` or `upload`."""
    outcome: str
    """`ok`, `http-<status>` for a 5xx, `refused`/`cut`/`timeout`/`other`, or off-host."""
    detail: str = ""
    """The error's text or the redirect's Location."""


@dataclass
class Measurement:
    """Every request of a run, and the seconds it covered."""

    outcomes: list[Outcome] = field(default_factory=list)
    """One per request, in send order."""
    seconds: int = 0
    """Seconds of load sent."""

    def failures(self) -> Counter[str]:
        """Failed requests per outcome."""
        return Counter(o.outcome for o in self.outcomes if o.outcome != OK)

    def timeline(self) -> list[tuple[int, int, Counter[str]]]:
        """Per second: requests sent, and failures per outcome."""
        sent: Counter[int] = Counter(o.second for o in self.outcomes)
        failed: dict[int, Counter[str]] = {}
        for o in self.outcomes:
            if o.outcome != OK:
                failed.setdefault(o.second, Counter())[o.outcome] += 1
        last = max([self.seconds, *sent])
        return [(s, sent[s], failed.get(s, Counter())) for s in range(last + 1)]


def classify_status(status: int) -> str:
    """Outcome of an HTTP answer: ok below 500, else `http-<status>`."""
    return OK if status < 500 else f"http-{status}"


def redirect_target(current: str, location: str) -> tuple[str, bool]:
    """The absolute URL a Location leads to, and whether it stays on `current`'s host."""
    target = urllib.parse.urljoin(current, location)
    here, there = urllib.parse.urlsplit(current), urllib.parse.urlsplit(target)
    same = (here.scheme, here.hostname, here.port) == (there.scheme, there.hostname, there.port)
    return target, same


async def _one(
    session: aiohttp.ClientSession, options: VerifyOptions, *, upload: bool, second: int
) -> Outcome:
    kind = "upload" if upload else "get"
    url = options.upload_url if upload and options.upload_url else options.url
    timeout = aiohttp.ClientTimeout(total=options.timeout_seconds)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            if upload:
                size = round(options.upload_mib * MIB)
                request = session.post(
                    url,
                    data=throttled_body(size, options.client_mib_per_second * MIB),
                    headers={"Content-Length": str(size)},
                    timeout=timeout,
                    allow_redirects=False,
                )
            else:
                request = session.get(url, timeout=timeout, allow_redirects=False)
            async with request as response:
                await response.read()
                location = response.headers.get("Location")
                if 300 <= response.status < 400 and location:
                    url, same = redirect_target(url, location)
                    if not same:
                        return Outcome(second, kind, REDIRECT_OFF_HOST, url)
                    continue
                return Outcome(second, kind, classify_status(response.status))
        return Outcome(second, kind, "other", f"more than {MAX_REDIRECTS} redirects")
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        cause, text = client_cause(error)
        return Outcome(second, kind, cause, text)


async def run_verify(options: VerifyOptions, stop: asyncio.Event | None = None) -> Measurement:
    """Send Poisson load for `duration_seconds` (or until `stop`); wait for what is in flight.

    Every request is bounded by `timeout_seconds`, so the run ends by itself.
    """
    rng = random.Random(options.seed)  # noqa: S311 - reproducible arrivals, not security
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    pending: list[asyncio.Task[Outcome]] = []
    began = time.monotonic()
    measurement = Measurement()
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        next_at = began
        max_requests = int(options.rate * options.duration_seconds * 2) + 10
        for _ in range(max_requests):
            next_at += rng.expovariate(options.rate)
            upload = rng.random() < options.upload_share
            if next_at - began >= options.duration_seconds:
                break
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if stop is not None and stop.is_set():
                break
            second = int(time.monotonic() - began)
            pending.append(
                asyncio.ensure_future(_one(session, options, upload=upload, second=second))
            )
        measurement.seconds = int(time.monotonic() - began)
        measurement.outcomes = list(await asyncio.gather(*pending))
    return measurement


def predict(inputs: SimInputs, options: VerifyOptions, runtime: str | None = None) -> Prediction:
    """The simulator's prediction for rolling `options.tier` of the facts at the verify rate.

    `runtime` names the runtime Deployment tier d rolls (default: the first by namespace and name).
    """
    return simulated(
        inputs, options.tier, rate=options.rate, share=options.upload_share, runtime=runtime
    )


def report_lines(
    measurement: Measurement,
    options: VerifyOptions,
    prediction: Prediction | None,
    kube: dict[int, str] | None = None,
) -> list[str]:
    """The report: per second the requests, failures (and the cluster's state), totals, prediction.

    `kube` maps a second to the Deployment's pods/endpoints summary (`--kubeconfig`).
    """
    lines = [f"verify {options.url}: tier {options.tier}, {options.rate:g} req/s"]
    lines.append("second  sent  failures" + ("  | kubernetes" if kube else ""))
    for second, sent, failed in measurement.timeline():
        shown = ", ".join(f"{k} {v}" for k, v in sorted(failed.items())) or "-"
        state = f"  | {kube[second]}" if kube and second in kube else ""
        lines.append(f"{second:>6}  {sent:>4}  {shown}{state}")
    failures = measurement.failures()
    total = len(measurement.outcomes)
    lines.append(
        f"measured: {total} requests, {sum(failures.values())} failed"
        + (": " + ", ".join(f"{k} {v}" for k, v in sorted(failures.items())) if failures else "")
    )
    if prediction is not None:
        causes = ", ".join(f"{k} {v:g}" for k, v in prediction.by_cause.items() if v)
        lines.append(
            f"predicted (hitless simulate, seeds 1-3): {prediction.failed:g} failed"
            + (f": {causes}" if causes else "")
        )
    return lines
