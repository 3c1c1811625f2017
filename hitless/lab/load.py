"""The lab's load generator: Poisson GETs and throttled streamed uploads through A's address.

One fresh connection per request (as many clients behind the external LB); each request's id is
in its URL (`/r/<id>` for GETs, `/u/<id>` for uploads), so the tiers' logs join its outcome.
Arrivals stop when told, or at `MAX_REQUESTS`, or after `MAX_LOAD_SECONDS` (scaled); requests in
flight then get at most the client timeout to finish.
"""

from __future__ import annotations

import asyncio
import errno
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from hitless.lab.spec import LoadSpec

MAX_REQUESTS = 50_000
"""Most requests one run starts."""
MAX_LOAD_SECONDS = 900.0
"""Longest a run sends load (scenario seconds, before the scale)."""
CHUNK = 65_536
"""Bytes per upload write."""
MIB = 1_048_576
"""Bytes per MiB."""


@dataclass
class LoadResult:
    """Every request's record and whether arrivals hit a bound."""

    requests: list[dict[str, Any]]
    """One record per request: id, kind, start, end, status, error, client_cause."""
    truncated: bool
    """Arrivals stopped at `MAX_REQUESTS` or `MAX_LOAD_SECONDS` rather than when told."""


def client_cause(error: BaseException) -> tuple[str, str]:
    """The failure cause the client itself can tell, and the error's text."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return "timeout", text
    if (
        isinstance(error, aiohttp.ClientConnectorError)
        and error.os_error.errno == errno.ECONNREFUSED
    ):
        return "refused", text
    if isinstance(
        error,
        aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientOSError,
    ):
        return "cut", text
    return "other", text


async def throttled_body(size: int, rate: float) -> AsyncIterator[bytes]:
    """`size` bytes written at `rate` bytes/s."""
    chunk = b"x" * CHUNK
    sent, began = 0, time.monotonic()
    while sent < size:
        part = chunk[: min(CHUNK, size - sent)]
        yield part
        sent += len(part)
        ahead = sent / rate - (time.monotonic() - began)
        if ahead > 0:
            await asyncio.sleep(ahead)


async def _request(
    session: aiohttp.ClientSession,
    target: str,
    rid: int,
    *,
    upload: bool,
    spec: LoadSpec,
    scale: float,
    t0: float,
) -> dict[str, Any]:
    started = time.monotonic()
    record: dict[str, Any] = {
        "id": rid,
        "kind": "upload" if upload else "get",
        "start": round(started - t0, 3),
        "status": None,
        "error": "",
        "client_cause": None,
    }
    timeout = aiohttp.ClientTimeout(total=spec.client_timeout_seconds / scale)
    try:
        if upload:
            size = round(spec.body_mib * MIB / scale)
            async with session.post(
                f"{target}/u/{rid}",
                data=throttled_body(size, spec.client_mib_per_second * MIB),
                headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
                timeout=timeout,
            ) as response:
                await response.read()
                record["status"] = response.status
        else:
            async with session.get(f"{target}/r/{rid}", timeout=timeout) as response:
                await response.read()
                record["status"] = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        record["client_cause"], record["error"] = client_cause(error)
    record["end"] = round(time.monotonic() - t0, 3)
    return record


async def run_load(
    spec: LoadSpec, *, scale: float, target: str, t0: float, stop: asyncio.Event
) -> LoadResult:
    """Send Poisson traffic to `target` until `stop`; every request's record, in id order."""
    rng = random.Random(spec.seed)  # noqa: S311 - reproducible arrivals, not security
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    pending: list[asyncio.Task[dict[str, Any]]] = []
    truncated = False
    began = time.monotonic()
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        next_at = began
        for rid in range(MAX_REQUESTS):
            next_at += rng.expovariate(spec.rate)
            upload = rng.random() < spec.upload_share
            delay = next_at - time.monotonic()
            if delay > 0:
                with_stop = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait({with_stop}, timeout=delay)
                if not done:
                    with_stop.cancel()
            if stop.is_set():
                break
            if time.monotonic() - began > MAX_LOAD_SECONDS / scale:
                truncated = True
                break
            pending.append(
                asyncio.ensure_future(
                    _request(session, target, rid, upload=upload, spec=spec, scale=scale, t0=t0)
                )
            )
        else:
            truncated = True
        records = await asyncio.gather(*pending)
    return LoadResult(requests=sorted(records, key=lambda r: r["id"]), truncated=truncated)
