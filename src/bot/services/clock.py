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


class ShiftedClock:
    """The system's time moved ahead by however much `advance` added: the demo's time travel.

    Time keeps running (messages and logs stay in order); the shift only ever grows, as
    going back would undo due dates the bot already wrote.
    """

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return system_clock() + self.offset

    def advance(self, **delta: float) -> datetime:
        step = timedelta(**delta)
        if step < timedelta():
            raise ValueError("the demo's clock only moves forward")
        self.offset += step
        return self()
