"""The time services see. Injected, so that tests move days ahead without sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class FakeClock:
    """A clock that stands still until moved: `clock.advance(days=1)`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2024, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
