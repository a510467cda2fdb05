"""The sample course end to end, as a trainee takes it through the emulator."""

from __future__ import annotations

import pytest

from trainingbot.content import QuestionKind
from trainingbot.keyboards import labels

from tests.bot.conftest import next_containing
from tests.bot.driving import lesson_shown, right, take_lesson, wrong

pytestmark = pytest.mark.services


async def test_whole_sample_course(harness):
    course = harness.app.catalog.course("on-call-101")
    kinds = {q.kind for q in course.questions}
    assert kinds == {QuestionKind.POLL, QuestionKind.BUTTONS}
    ada = harness.trainee(first_name="Ada")

    await ada.send(f"/start course_{course.id}")
    await next_containing(ada, "You're enrolled")
    await lesson_shown(ada, course.lessons[0])

    # Every question right except the first of each lesson, to see both kinds of feedback.
    missed = set()
    for lesson in course.lessons:

        def choose(q, lesson=lesson):
            if q is lesson.questions[0]:
                missed.add(q.id)
                return wrong(q)
            return right(q)

        done = await take_lesson(ada, course, lesson, choose)
        following = course.next_lesson(lesson.id)
        if following is None:
            break
        if done is not None:
            assert done.has_button(labels.NEXT_LESSON)
            await ada.press(labels.NEXT_LESSON, message=done)
        await lesson_shown(ada, following)

    total = len(course.questions)
    congrats = await next_containing(ada, "Congratulations")
    assert f"{total - len(missed)} of {total} right" in congrats.text

    rows = await harness.counts()
    assert rows["lesson_progress"] == len(course.lessons)
    assert rows["quiz_attempts"] == total
    assert rows["review_schedule"] == len(missed)
    assert await harness.fetchval(
        "SELECT completed_at IS NOT NULL FROM enrollments WHERE user_id = $1", ada.user_id
    )
    assert harness.metric("bot_enrollments_total", course=course.id) == 1
    assert harness.metric("bot_lessons_completed_total", course=course.id) == len(course.lessons)
    assert harness.metric("bot_quiz_answers_total", course=course.id, correct="false") == len(
        missed
    )

    await ada.send("/progress")
    progress = await next_containing(ada, "Your progress")
    assert f"Lessons: {len(course.lessons)} of {len(course.lessons)}" in progress.text
    assert f"{total - len(missed)} of {total} right" in progress.text
