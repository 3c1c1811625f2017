"""Why each failed lab request failed: the client's view joined with the tiers' logs.

A and the Kong stand-in (C) log HTTP errors with the request line, whose path carries the
request id; B (nginx stream) logs sessions without one, so its refused connects are joined to
A's errors by time (one-second log resolution), as one would on real machines.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any


class Cause(StrEnum):
    """A failed request's cause."""

    refused = "refused"
    """A connect was refused (the backend had closed its listener) and no try was left."""
    cut = "cut"
    """The connection carrying the request was closed or reset before the response."""
    timeout = "timeout"
    """A timeout fired (client, A, Kong or the RT's request timeout)."""
    too_large = "413"
    """A tier refused the body as too large."""
    other = "other"
    """Any other failure."""


_LINE = re.compile(
    r"^(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>\w+)\] [^*]*(?:\*\d+ )?(?P<msg>.*)$"
)
_REQUEST = re.compile(r'request: "(?:GET|POST) /[ru]/(?P<id>\d+) ')
REFUSED = "(111: Connection refused)"
"""errno 111 as nginx logs a refused connect."""
CLOSED = ("prematurely closed", "(104: Connection reset by peer)", "(32: Broken pipe)")
"""How nginx logs an upstream connection that went away."""


@dataclass(frozen=True)
class LogLine:
    """One nginx error log line."""

    tier: str
    """The tier that logged it."""
    second: datetime
    """Its time (one-second resolution)."""
    message: str
    """The message after the connection number."""


def _parse(path: Path, tier: str) -> list[tuple[int | None, LogLine]]:
    out: list[tuple[int | None, LogLine]] = []
    if not path.exists():
        return out
    for raw in path.read_text(errors="replace").splitlines():
        match = _LINE.match(raw)
        if match is None or match["level"] not in ("error", "crit", "alert", "emerg"):
            continue
        request = _REQUEST.search(raw)
        line = LogLine(tier, datetime.strptime(match["time"], "%Y/%m/%d %H:%M:%S"), match["msg"])
        out.append((int(request["id"]) if request else None, line))
    return out


@dataclass
class Logs:
    """The error logs of one run, by request id (A, C) and B's refused connects by second."""

    by_request: dict[int, list[LogLine]]
    """A's and C's error lines naming a request, in log order per tier."""
    b_refused: Counter[datetime]
    """B's refused connects to C per second."""

    @classmethod
    def read(cls, directories: dict[str, list[str]]) -> Logs:
        """Read every backend's error.log."""
        by_request: dict[int, list[LogLine]] = defaultdict(list)
        b_refused: Counter[datetime] = Counter()
        for tier in ("a", "c", "b"):
            for directory in directories.get(tier, []):
                for rid, line in _parse(Path(directory) / "error.log", tier):
                    if tier == "b":
                        if REFUSED in line.message:
                            b_refused[line.second] += 1
                    elif rid is not None:
                        by_request[rid].append(line)
        return cls(by_request=dict(by_request), b_refused=b_refused)

    def take_b_refusal(self, around: datetime) -> bool:
        """Consume one of B's refused connects logged within a second of `around`."""
        for second in sorted(self.b_refused, key=lambda s: abs((s - around).total_seconds())):
            if abs((second - around).total_seconds()) <= 1 and self.b_refused[second] > 0:
                self.b_refused[second] -= 1
                return True
        return False


def _from_line(line: LogLine) -> tuple[Cause, str] | None:
    where = {"a": "A -> B", "c": "Kong -> RT"}[line.tier]
    if REFUSED in line.message:
        return Cause.refused, f"{where}: connect() failed (111: Connection refused), no try left"
    if "timed out" in line.message:
        return Cause.timeout, f"{where}: {line.message[:120]}"
    if any(mark in line.message for mark in CLOSED):
        return Cause.cut, f"{where}: {line.message[:120]}"
    return None


def attribute(record: dict[str, Any], logs: Logs) -> tuple[Cause, str] | None:
    """The cause of a request's failure and where it shows; None when it succeeded."""
    status, client = record.get("status"), record.get("client_cause")
    if client is None and status == 200:
        return None
    if status == 413:
        return Cause.too_large, "a tier answered 413 Request Entity Too Large"
    if client == "refused":
        return Cause.refused, f"client -> A: {record['error']}"
    if client == "timeout":
        return Cause.timeout, f"client gave up (external LB timeoutSec): {record['error']}"
    if client == "cut":
        return Cause.cut, f"client -> A: {record['error']}"
    if client is not None:
        return Cause.other, record["error"]
    lines = logs.by_request.get(record["id"], [])
    kong = [line for line in lines if line.tier == "c"]
    edge = [line for line in lines if line.tier == "a"]
    if kong and status in (502, 504):
        found = _from_line(kong[-1])
        if found:
            return found
    if edge:
        last = edge[-1]
        found = _from_line(last)
        if found and found[0] is Cause.cut and logs.take_b_refusal(last.second):
            return Cause.refused, "B -> Kong: connect() refused (B's stream log, joined by time)"
        if found:
            return found
    if status == 503:
        return Cause.timeout, "the RT answered 503 (its request timeout)"
    if status == 504:
        return Cause.timeout, "an outer tier answered 504 (gateway timeout)"
    return Cause.other, f"HTTP {status} with no tier log line"
