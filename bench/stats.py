"""Numbers of a load run: durations, percentiles, a latency recorder and its summary."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds in `30s`, `5m`, `1h`, `250ms` or a bare number of seconds."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration (expected e.g. 30s, 5m, 1h)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0-100) by linear interpolation between closest ranks.

    The same definition as numpy's default, so numbers compare with other tools'.
    """
    if not values:
        return math.nan
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Recorder:
    """Latencies of answered actions and the count of those that were not answered."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def ok(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def summary(self, elapsed: float) -> Summary:
        return Summary.of(self.latencies, self.errors, elapsed, dict(self.error_kinds))


@dataclass(frozen=True)
class Summary:
    requests: int
    errors: int
    elapsed: float
    throughput: float  # answered actions per second
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    error_kinds: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        latencies: Sequence[float],
        errors: int,
        elapsed: float,
        error_kinds: dict[str, int] | None = None,
    ) -> Summary:
        ms = [value * 1000 for value in latencies]
        return cls(
            requests=len(ms) + errors,
            errors=errors,
            elapsed=elapsed,
            throughput=len(ms) / elapsed if elapsed > 0 else 0.0,
            p50_ms=percentile(ms, 50),
            p95_ms=percentile(ms, 95),
            p99_ms=percentile(ms, 99),
            max_ms=max(ms) if ms else math.nan,
            error_kinds=error_kinds or {},
        )

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(self.error_kinds.items()))
        return [
            f"requests    {self.requests} in {self.elapsed:.1f} s",
            f"throughput  {self.throughput:.1f} answered updates/s",
            f"errors      {self.errors} ({self.error_rate:.2%})" + (f" - {kinds}" if kinds else ""),
            f"latency     P50 {self.p50_ms:.1f} ms, P95 {self.p95_ms:.1f} ms, "
            f"P99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms (send to reply)",
        ]
