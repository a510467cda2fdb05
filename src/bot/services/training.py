"""Enrolment, lessons and quizzes: the trainee's path through a course.

Every method runs inside the update's transaction (the connection it is given), returns the
steps the conversation takes next, and changes nothing when it refuses.

A service lives for one update. What it reads of a trainee's enrolment and answers is kept for
that update (a step often needs them twice: to check, then to show), and updated by its own
writes; the update's transaction and the chat's lock mean nobody else changes them meanwhile.
"""

from __future__ import annotations

from dataclasses import replace

from trainingbot.content import Catalog, Course, Lesson
from trainingbot.db.attempts import QuizAttemptRepository
from trainingbot.db.enrollments import EnrollmentRecord, EnrollmentRepository
from trainingbot.db.polls import QuizPollRepository
from trainingbot.db.progress import LessonProgressRepository
from trainingbot.db.reviews import ReviewRepository
from trainingbot.db.types import Connection
from trainingbot.metrics import BotMetrics
from trainingbot.services import spaced
from trainingbot.services.clock import Clock
from trainingbot.services.progress import (
    CourseProgress,
    course_progress,
    resolve_resume,
    score_of,
    unanswered,
)
from trainingbot.services.steps import (
    Answered,
    AskQuestion,
    CourseDone,
    LessonDone,
    LessonMoved,
    Refused,
    Say,
    ShowLesson,
    Step,
)
from trainingbot.texts import training as t


class TrainingService:
    def __init__(
        self, conn: Connection, catalog: Catalog, clock: Clock, metrics: BotMetrics
    ) -> None:
        self.catalog = catalog
        self.clock = clock
        self.metrics = metrics
        self.enrollments = EnrollmentRepository(conn)
        self.progress_repo = LessonProgressRepository(conn)
        self.attempts = QuizAttemptRepository(conn)
        self.polls = QuizPollRepository(conn)
        self.reviews = ReviewRepository(conn)
        self._enrollments: dict[tuple[int, str], EnrollmentRecord | None] = {}
        self._answers: dict[tuple[int, str], dict[str, bool]] = {}

    # -- courses and enrolment -----------------------------------------------------------

    async def enrolled_courses(self, user_id: int) -> dict[str, bool]:
        """course id -> completed, for the courses the trainee is enrolled in."""
        return {
            e.course_id: e.completed_at is not None
            for e in await self.enrollments.for_user(user_id)
        }

    async def enrollment(self, user_id: int, course_id: str) -> EnrollmentRecord | None:
        key = (user_id, course_id)
        if key not in self._enrollments:
            if key in self._answers:
                self._enrollments[key] = await self.enrollments.get(user_id, course_id)
            else:
                await self._load(user_id, course_id)
        return self._enrollments[key]

    async def _first_answers(self, user_id: int, course_id: str) -> dict[str, bool]:
        """question id -> answered right (a copy: callers may keep it past later answers)."""
        key = (user_id, course_id)
        if key not in self._answers:
            if key in self._enrollments:
                self._answers[key] = await self.attempts.first_answers(user_id, course_id)
            else:
                await self._load(user_id, course_id)
        return dict(self._answers[key])

    async def _load(self, user_id: int, course_id: str) -> None:
        key = (user_id, course_id)
        self._enrollments[key], self._answers[key] = await self.enrollments.get_with_answers(
            user_id, course_id
        )

    async def _set_current_lesson(self, user_id: int, course_id: str, lesson_id: str) -> None:
        await self.enrollments.set_current_lesson(user_id, course_id, lesson_id)
        known = self._enrollments.get((user_id, course_id))
        if known is not None:
            self._enrollments[(user_id, course_id)] = replace(known, current_lesson_id=lesson_id)

    async def enroll(self, user_id: int, course_id: str) -> list[Step]:
        """Enroll (once) and show where to start; enrolling again just resumes."""
        course = self.catalog.course(course_id)
        if course is None:
            return [Refused(t.callback_unknown_course())]
        created = await self.enrollments.create(
            user_id, course.id, course.lessons[0].id, self.clock()
        )
        self._enrollments.pop((user_id, course.id), None)
        if created:
            self.metrics.enrollments.labels(course=course.id).inc()
            return [await self._show(user_id, course, course.lessons[0], t.enrolled(course))]
        return await self._resume_course(user_id, course, t.already_enrolled(course))

    async def restart(self, user_id: int, course_id: str) -> list[Step]:
        """Read the course again from its first lesson. Answers given stay given (and scored)."""
        course = self.catalog.course(course_id)
        if course is None:
            return [Refused(t.callback_unknown_course())]
        if await self.enrollment(user_id, course.id) is None:
            return await self.enroll(user_id, course.id)
        first = course.lessons[0]
        await self.enrollments.reopen(user_id, course.id, first.id)
        self._enrollments.pop((user_id, course.id), None)
        return [await self._show(user_id, course, first)]

    # -- lessons ---------------------------------------------------------------------------

    async def open_lesson(self, user_id: int, course_id: str, lesson_id: str) -> list[Step]:
        course, lesson, refused = await self._locate(user_id, course_id, lesson_id)
        if refused:
            return refused
        await self._note_reached(user_id, course, lesson)
        return [await self._show(user_id, course, lesson)]

    async def back(self, user_id: int, course_id: str, lesson_id: str) -> list[Step]:
        course, lesson, refused = await self._locate(user_id, course_id, lesson_id)
        if refused:
            return refused
        previous = course.previous_lesson(lesson.id)
        if previous is None:
            return [Refused(t.callback_first_lesson())]
        return [await self._show(user_id, course, previous)]

    async def next(self, user_id: int, course_id: str, lesson_id: str) -> list[Step]:
        """The lesson's quiz if any question is unanswered, else the lesson is done and the
        next one (or the end of the course) follows."""
        course, lesson, refused = await self._locate(user_id, course_id, lesson_id)
        if refused:
            return refused
        answers = await self._first_answers(user_id, course.id)
        pending = unanswered(lesson, answers)
        if pending:
            return [self._ask(course, lesson, pending[0])]
        await self._complete_lesson(user_id, course, lesson)
        following = course.next_lesson(lesson.id)
        if following is not None:
            await self._note_reached(user_id, course, following)
            return [await self._show(user_id, course, following)]
        return await self._finish_course(user_id, course, lesson, answers, quiz=False)

    async def resume(self, user_id: int) -> list[Step]:
        """/continue: the course worked on last, at the lesson to do next."""
        enrollment = await self.enrollments.latest_for_user(user_id)
        if enrollment is None:
            return [Say(t.nothing_to_continue())]
        course = self.catalog.course(enrollment.course_id)
        if course is None:
            # The course was withdrawn: fall back to another one the trainee is taking.
            for other in await self.enrollments.for_user(user_id):
                if (found := self.catalog.course(other.course_id)) and other.completed_at is None:
                    return await self._resume_course(user_id, found)
            return [Say(t.all_courses_done())]
        return await self._resume_course(user_id, course)

    async def _resume_course(
        self, user_id: int, course: Course, intro: str | None = None
    ) -> list[Step]:
        enrollment = await self.enrollment(user_id, course.id)
        completed = await self.progress_repo.completed(user_id, course.id)
        resume = resolve_resume(
            course, enrollment.current_lesson_id if enrollment else None, completed
        )
        if resume.moved:
            return [LessonMoved(course, resume.lesson)]
        if resume.lesson is None:
            return [Say(t.course_already_done(course))]
        await self._set_current_lesson(user_id, course.id, resume.lesson.id)
        return [await self._show(user_id, course, resume.lesson, intro)]

    # -- quizzes ---------------------------------------------------------------------------

    async def answer(
        self, user_id: int, course_id: str, question_id: str, option: int
    ) -> list[Step]:
        """The first answer to a lesson question: scored, fed back, and the quiz goes on."""
        course = self.catalog.course(course_id)
        if course is None:
            return [Refused(t.callback_unknown_course())]
        question, lesson = course.question(question_id), course.lesson_of(question_id)
        if question is None or lesson is None:
            return [Refused(t.callback_unknown_question())]
        if not 0 <= option < len(question.options):
            return [Refused(t.callback_bad_option())]
        if await self.enrollment(user_id, course.id) is None:
            return [Refused(t.callback_not_enrolled())]
        now = self.clock()
        correct = option == question.correct
        if not await self.attempts.record_first(
            user_id, course.id, question.id, option, correct, now
        ):
            return [Refused(t.callback_already_answered())]
        known = self._answers.get((user_id, course.id))
        if known is not None:  # read before this answer: it is the one answer new since
            known[question.id] = correct
        self.metrics.quiz_answers.labels(course=course.id, correct=str(correct).lower()).inc()
        if not correct:
            first = spaced.first_review(now)
            await self.reviews.put(user_id, course.id, question.id, first.step, first.due_at)
        steps: list[Step] = [Answered(course, question, option, correct)]
        answers = await self._first_answers(user_id, course.id)
        pending = unanswered(lesson, answers)
        if pending:
            steps.append(self._ask(course, lesson, pending[0]))
            return steps
        await self._complete_lesson(user_id, course, lesson)
        steps += await self._after_lesson(user_id, course, lesson, answers)
        return steps

    async def remember_poll(
        self,
        poll_id: str,
        user_id: int,
        chat_id: int,
        message_id: int,
        course_id: str,
        question_id: str,
        review: bool,
    ) -> None:
        await self.polls.add(
            poll_id, user_id, chat_id, message_id, course_id, question_id, review, self.clock()
        )

    async def claim_poll(self, poll_id: str, user_id: int):
        """The quiz poll this answer is for, marked answered; None for unknown or repeated."""
        return await self.polls.claim(poll_id, user_id, self.clock())

    async def progress(self, user_id: int) -> list[CourseProgress]:
        items = []
        for enrollment in await self.enrollments.for_user(user_id):
            course = self.catalog.course(enrollment.course_id)
            if course is None:
                continue
            items.append(
                course_progress(
                    course,
                    await self.progress_repo.completed(user_id, course.id),
                    await self._first_answers(user_id, course.id),
                    completed=enrollment.completed_at is not None,
                )
            )
        return items

    # -- helpers ---------------------------------------------------------------------------

    async def _locate(
        self, user_id: int, course_id: str, lesson_id: str
    ) -> tuple[Course | None, Lesson | None, list[Step]]:
        course = self.catalog.course(course_id)
        if course is None:
            return None, None, [Refused(t.callback_unknown_course())]
        enrollment = await self.enrollment(user_id, course.id)
        if enrollment is None:
            return course, None, [Refused(t.callback_not_enrolled())]
        lesson = course.lesson(lesson_id)
        if lesson is None:
            completed = await self.progress_repo.completed(user_id, course.id)
            resume = resolve_resume(course, enrollment.current_lesson_id, completed)
            return (
                course,
                None,
                [Refused(t.callback_unknown_lesson()), LessonMoved(course, resume.lesson)],
            )
        return course, lesson, []

    async def _show(
        self, user_id: int, course: Course, lesson: Lesson, intro: str | None = None
    ) -> ShowLesson:
        answers = await self._first_answers(user_id, course.id)
        return ShowLesson(
            course, lesson, quiz_pending=bool(unanswered(lesson, answers)), intro=intro
        )

    @staticmethod
    def _ask(course: Course, lesson: Lesson, question) -> AskQuestion:
        position = lesson.questions.index(question) + 1
        return AskQuestion(course, question, position, len(lesson.questions))

    async def _note_reached(self, user_id: int, course: Course, lesson: Lesson) -> None:
        """Move the bookmark forward (never back: rereading an old lesson keeps the place)."""
        enrollment = await self.enrollment(user_id, course.id)
        current = course.lesson_position(enrollment.current_lesson_id or "") if enrollment else None
        position = course.lesson_position(lesson.id) or 0
        if current is None or position > current:
            await self._set_current_lesson(user_id, course.id, lesson.id)

    async def _complete_lesson(self, user_id: int, course: Course, lesson: Lesson) -> None:
        if await self.progress_repo.mark_completed(user_id, course.id, lesson.id, self.clock()):
            self.metrics.lessons_completed.labels(course=course.id).inc()

    async def _after_lesson(
        self, user_id: int, course: Course, lesson: Lesson, answers: dict[str, bool]
    ) -> list[Step]:
        following = course.next_lesson(lesson.id)
        if following is not None:
            await self._note_reached(user_id, course, following)
            return [LessonDone(course, lesson, score_of(lesson.questions, answers), following)]
        return await self._finish_course(user_id, course, lesson, answers, quiz=True)

    async def _finish_course(
        self, user_id: int, course: Course, last: Lesson, answers: dict[str, bool], quiz: bool
    ) -> list[Step]:
        completed = await self.progress_repo.completed(user_id, course.id)
        steps: list[Step] = []
        missing = [lesson for lesson in course.lessons if lesson.id not in completed]
        if missing:
            # Lessons added to the course since, or skipped: the course is not done yet.
            steps.append(LessonDone(course, last, score_of(last.questions, answers), missing[0]))
            return steps
        if quiz:
            steps.append(LessonDone(course, last, score_of(last.questions, answers), None))
        await self.enrollments.mark_completed(user_id, course.id, self.clock())
        self._enrollments.pop((user_id, course.id), None)
        steps.append(CourseDone(course_progress(course, completed, answers, completed=True)))
        return steps
