"""/review: questions answered wrong come back on a spaced schedule (see `spaced`).

A review session is conversation state: the questions picked when it started and the
running score live in the FSM storage (Redis), so a session survives a Redis failover and
is shared by every replica. Without a session (it expired, or the trainee answered an old
button) each answer still counts and the next due question follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trainingbot.content import Catalog
from trainingbot.db.attempts import QuizAttemptRepository
from trainingbot.db.reviews import ReviewItem, ReviewRepository
from trainingbot.db.types import Connection
from trainingbot.metrics import BotMetrics
from trainingbot.services import spaced
from trainingbot.services.clock import Clock
from trainingbot.services.progress import Score
from trainingbot.services.steps import Answered, AskQuestion, Refused, ReviewDone, Say, Step
from trainingbot.texts import training as t

# Questions per session: enough to be worth it, few enough to finish over a coffee.
SESSION_SIZE = 10


@dataclass
class ReviewSession:
    queue: list[tuple[str, str]] = field(default_factory=list)  # (course id, question id)
    total: int = 0
    right: int = 0
    asked: int = 0

    def to_data(self) -> dict[str, Any]:
        return {
            "queue": [list(item) for item in self.queue],
            "total": self.total,
            "right": self.right,
            "asked": self.asked,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> ReviewSession | None:
        if not data or "queue" not in data:
            return None
        try:
            return cls(
                [(str(c), str(q)) for c, q in data["queue"]],
                int(data["total"]),
                int(data["right"]),
                int(data["asked"]),
            )
        except (TypeError, ValueError, KeyError):
            return None  # state from an older release: start without it


@dataclass(frozen=True)
class ReviewOutcome:
    steps: list[Step]
    session: ReviewSession | None  # None: the session is over


class ReviewService:
    def __init__(
        self, conn: Connection, catalog: Catalog, clock: Clock, metrics: BotMetrics
    ) -> None:
        self.catalog = catalog
        self.clock = clock
        self.metrics = metrics
        self.reviews = ReviewRepository(conn)
        self.attempts = QuizAttemptRepository(conn)

    async def start(self, user_id: int) -> ReviewOutcome:
        now = self.clock()
        due = await self._due(user_id)
        if not due:
            return ReviewOutcome(
                [Say(t.nothing_to_review(await self.reviews.next_due(user_id), now))], None
            )
        session = ReviewSession([(i.course_id, i.question_id) for i in due], total=len(due))
        return ReviewOutcome([Say(t.review_intro(len(due))), self._ask(session)], session)

    async def answer(
        self,
        user_id: int,
        course_id: str,
        question_id: str,
        option: int,
        session: ReviewSession | None,
    ) -> ReviewOutcome:
        course = self.catalog.course(course_id)
        question = course.question(question_id) if course else None
        if course is None or question is None:
            return ReviewOutcome([Refused(t.callback_unknown_question())], session)
        if not 0 <= option < len(question.options):
            return ReviewOutcome([Refused(t.callback_bad_option())], session)
        now = self.clock()
        item = await self.reviews.get(user_id, course.id, question.id)
        if item is None or item.due_at > now:
            return ReviewOutcome([Refused(t.callback_not_due())], session)
        correct = option == question.correct
        await self.attempts.record_review(user_id, course.id, question.id, option, correct, now)
        self.metrics.quiz_answers.labels(course=course.id, correct=str(correct).lower()).inc()
        following = spaced.after_review(item.step, correct, now)
        if following is None:
            await self.reviews.remove(user_id, course.id, question.id)
        else:
            await self.reviews.put(
                user_id, course.id, question.id, following.step, following.due_at
            )
        steps: list[Step] = [Answered(course, question, option, correct, review=True)]

        if session is None:
            session = ReviewSession(
                [(i.course_id, i.question_id) for i in await self._due(user_id)]
            )
            session.total = session.asked + len(session.queue) + 1
        key = (course.id, question.id)
        if key in session.queue:
            session.queue.remove(key)
        session.asked += 1
        session.right += int(correct)
        session.total = max(session.total, session.asked + len(session.queue))
        # Drop questions that stopped being due (answered from another message meanwhile).
        session.queue = [k for k in session.queue if await self._still_due(user_id, k)]
        if session.queue:
            steps.append(self._ask(session))
            return ReviewOutcome(steps, session)
        steps.append(
            ReviewDone(
                Score(session.right, session.asked), await self.reviews.next_due(user_id), now
            )
        )
        return ReviewOutcome(steps, None)

    async def _due(self, user_id: int) -> list[ReviewItem]:
        """Due items whose question still exists; stale ones leave the schedule."""
        items = []
        for item in await self.reviews.due(user_id, self.clock(), SESSION_SIZE * 2):
            course = self.catalog.course(item.course_id)
            if course is None or course.question(item.question_id) is None:
                await self.reviews.remove(user_id, item.course_id, item.question_id)
                continue
            items.append(item)
        items = items[:SESSION_SIZE]
        # Asked in course order: the questions of a lesson come back as the lesson had them.
        return sorted(items, key=self._course_order)

    def _course_order(self, item: ReviewItem) -> tuple[str, int]:
        course = self.catalog.course(item.course_id)
        ids = [q.id for q in course.questions] if course else []
        return (item.course_id, ids.index(item.question_id) if item.question_id in ids else 0)

    async def _still_due(self, user_id: int, key: tuple[str, str]) -> bool:
        course = self.catalog.course(key[0])
        if course is None or course.question(key[1]) is None:
            return False  # content changed since the session started
        item = await self.reviews.get(user_id, *key)
        return item is not None and item.due_at <= self.clock()

    def _ask(self, session: ReviewSession) -> AskQuestion:
        course_id, question_id = session.queue[0]
        course = self.catalog.course(course_id)
        question = course.question(question_id)
        return AskQuestion(
            course, question, position=session.asked + 1, total=session.total, review=True
        )
