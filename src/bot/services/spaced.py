"""Spaced repetition: a question answered wrong comes back after 1, 3, 7 and 14 days.

A right answer in review moves the question to the next interval, and after the last one it
is learned and leaves the schedule; a wrong answer starts it over at the first interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

REVIEW_INTERVALS: tuple[timedelta, ...] = tuple(timedelta(days=d) for d in (1, 3, 7, 14))


@dataclass(frozen=True)
class ReviewStep:
    step: int  # index into REVIEW_INTERVALS
    due_at: datetime


def first_review(now: datetime) -> ReviewStep:
    """The schedule of a question just answered wrong."""
    return ReviewStep(0, now + REVIEW_INTERVALS[0])


def after_review(step: int, correct: bool, now: datetime) -> ReviewStep | None:
    """The next review after answering at `step`; None once the question is learned."""
    if not correct:
        return first_review(now)
    following = step + 1
    if following >= len(REVIEW_INTERVALS):
        return None
    return ReviewStep(following, now + REVIEW_INTERVALS[following])
