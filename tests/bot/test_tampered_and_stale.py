"""Tampered or stale input changes nothing; removed lessons and invalid content are handled."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trainingbot.content import SAMPLE_CONTENT_DIR, ContentError, QuestionKind
from trainingbot.keyboards import labels
from trainingbot.keyboards.callbacks import (
    AnswerCallback,
    CourseAction,
    CourseCallback,
    LessonAction,
    LessonCallback,
)

from tests.bot.conftest import TOKEN, bot_settings, next_containing, next_matching
from tests.bot.driving import answer_question, lesson_shown, right, take_lesson

pytestmark = pytest.mark.services

COURSE = "on-call-101"


async def enrolled(harness, name="Ada"):
    trainee = harness.trainee(first_name=name)
    course = harness.app.catalog.course(COURSE)
    await trainee.send(f"/start course_{COURSE}")
    await lesson_shown(trainee, course.lessons[0])
    return trainee, course


async def test_tampered_callbacks_get_a_short_answer_and_change_nothing(harness):
    ada, course = await enrolled(harness)
    first_question = course.questions[0]
    before = await harness.counts()
    cases = {
        "garbage": "out of date",
        "a:on-call-101": "out of date",
        "l:zz:on-call-101:severity-levels": "out of date",
        CourseCallback(action=CourseAction.ENROLL, course="no-such-course").pack(): "not available",
        LessonCallback(action=LessonAction.NEXT, course="nope", lesson="x").pack(): "not available",
        AnswerCallback(
            course=COURSE, question="no-such-question", option=0
        ).pack(): "no longer part",
        AnswerCallback(
            course=COURSE, question=first_question.id, option=9
        ).pack(): "not one of the options",
    }
    for data, expected in cases.items():
        toast = await ada.press_data(data)
        assert expected in toast, (data, toast)
    await ada.expect_no_message(0.2)
    assert await harness.counts() == before


async def test_an_answer_from_someone_not_enrolled_is_refused(harness):
    await enrolled(harness)
    eve = harness.trainee(first_name="Eve")
    await eve.send("/help")
    await next_containing(eve, "How this works")
    before = await harness.counts()
    question = harness.app.catalog.course(COURSE).questions[0]
    toast = await eve.press_data(
        AnswerCallback(course=COURSE, question=question.id, option=question.correct).pack()
    )
    assert "not enrolled" in toast
    assert await harness.counts() == before


async def test_a_question_answered_twice_counts_once(harness):
    ada, course = await enrolled(harness)
    lesson = course.lessons[0]
    kinds = {q.kind for q in lesson.questions}
    assert kinds == {QuestionKind.POLL, QuestionKind.BUTTONS}, "lesson 1 has both kinds"
    await ada.press(labels.QUIZ)
    replays = []
    for question in lesson.questions:
        if question.kind is QuestionKind.BUTTONS:
            asked = await next_matching(
                ada, lambda m, q=question: m.has_button(q.options[0]), "buttons question"
            )
            data = asked.callback_data(question.options[question.correct])
            await ada.press_data(data, message=asked)
            replays.append(("button", data, asked))
        else:
            poll = await next_matching(ada, lambda m: m.poll is not None, "poll")
            await ada.answer_poll([question.correct], message=poll)
            replays.append(("poll", poll.poll.id, poll))
        await next_containing(ada, "Right!")
    await next_containing(ada, "done.")
    before = await harness.counts()

    for kind, key, message in replays:
        if kind == "button":
            assert "already answered" in await ada.press_data(key, message=message)
        else:
            # Telegram lets nobody answer a quiz twice; a forged repeat is ignored.
            harness.emulator.push_update(
                "poll_answer",
                {
                    "poll_id": key,
                    "user": ada.user,
                    "option_ids": [0],
                    "option_persistent_ids": ["0"],
                },
            )
    await ada.expect_no_message(0.3)
    assert await harness.counts() == before
    assert before["quiz_attempts"] == len(lesson.questions)


def content_without(tmp_path: Path, lesson_id: str) -> Path:
    content = tmp_path / "content"
    shutil.copytree(SAMPLE_CONTENT_DIR, content)
    course_yaml = content / COURSE / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace(f"      - {lesson_id}\n", ""))
    (content / COURSE / "lessons" / f"{lesson_id}.md").unlink()
    return content


async def test_a_lesson_removed_since_does_not_break_the_session(make_bot, tmp_path):
    async with make_bot() as first_run:
        ada, course = await enrolled(first_run)
        done = await take_lesson(ada, course, course.lessons[0], right)
        await ada.press(labels.NEXT_LESSON, message=done)
        removed = await lesson_shown(ada, course.lessons[1])
        user_id = ada.user_id
        stale_next = removed.callback_data(
            labels.QUIZ if course.lessons[1].questions else labels.NEXT
        )

    removed_id = course.lessons[1].id
    async with make_bot(content_dir=content_without(tmp_path, removed_id)) as second_run:
        new_course = second_run.app.catalog.course(COURSE)
        assert new_course.lesson(removed_id) is None
        ada = second_run.trainee(user_id, "Ada")
        await ada.send("/continue")
        moved = await next_containing(ada, "has been removed from the course")
        assert moved.has_button(labels.CONTINUE) and moved.has_button(labels.RESTART)
        await ada.press(labels.CONTINUE, message=moved)
        await lesson_shown(ada, new_course.lessons[1])

        toast = await ada.press_data(stale_next)
        assert "no longer part" in toast
        await next_containing(ada, "has been removed from the course")

        await ada.send("/progress")
        progress = await next_containing(ada, "Your progress")
        assert f"Lessons: 1 of {len(new_course.lessons)}" in progress.text


async def test_restart_reads_the_course_again(harness):
    ada, course = await enrolled(harness)
    await take_lesson(ada, course, course.lessons[0], right)
    await ada.press_data(CourseCallback(action=CourseAction.RESTART, course=COURSE).pack())
    first = await lesson_shown(ada, course.lessons[0])
    # Its questions were answered: the lesson moves on instead of asking them again.
    assert first.has_button(labels.NEXT)


async def test_invalid_content_is_refused_at_start(tmp_path, database_url):
    from trainingbot.factory import create_app

    content = tmp_path / "content"
    shutil.copytree(SAMPLE_CONTENT_DIR, content)
    course_yaml = content / COURSE / "course.yaml"
    course_yaml.write_text(course_yaml.read_text() + "      - no-such-lesson\n")
    settings = bot_settings("http://127.0.0.1:9", database_url, content_dir=content)
    with pytest.raises(ContentError) as refused:
        await create_app(settings)
    assert "course.yaml" in str(refused.value)
    assert TOKEN not in str(refused.value)


async def test_a_poll_question_answered_through_the_emulator_round_trip(harness):
    ada, course = await enrolled(harness)
    await ada.press(labels.QUIZ)
    question = course.lessons[0].questions[0]
    feedback = await answer_question(ada, question, question.correct)
    assert "Right!" in feedback.text
    poll = await harness.fetch("SELECT * FROM quiz_polls WHERE user_id = $1", ada.user_id)
    assert len(poll) == 1 and poll[0]["answered_at"] is not None
