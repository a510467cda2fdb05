"""/review after wrong answers (the clock moved, not slept), /continue, /progress midway."""

from __future__ import annotations

import pytest

from trainingbot.keyboards import labels

from tests.bot.conftest import next_containing, next_matching
from tests.bot.driving import answer_question, lesson_shown, right, take_lesson, wrong

pytestmark = pytest.mark.services


async def enroll(harness, trainee):
    course = harness.app.catalog.course("on-call-101")
    await trainee.send(f"/start course_{course.id}")
    await lesson_shown(trainee, course.lessons[0])
    return course


async def test_review_brings_back_wrong_answers_on_schedule(harness):
    ada = harness.trainee()
    course = await enroll(harness, ada)
    first = course.lessons[0]
    await take_lesson(ada, course, first, wrong)
    missed = len(first.questions)

    await ada.send("/review")
    nothing = await next_containing(ada, "Nothing to review right now")
    assert "in 1 day" in nothing.text

    harness.clock.advance(days=1, minutes=1)
    await ada.send("/review")
    await next_containing(ada, f"{missed} question")
    for question in first.questions:
        feedback = await answer_question(ada, question, question.correct)
        assert "Right!" in feedback.text
    done = await next_containing(ada, "Review done")
    assert f"{missed} of {missed} right" in done.text
    assert "in 3 days" in done.text

    steps = await harness.fetch("SELECT step FROM review_schedule WHERE user_id = $1", ada.user_id)
    assert [r["step"] for r in steps] == [1] * missed
    reviews = await harness.fetchval(
        "SELECT count(*) FROM quiz_attempts WHERE user_id = $1 AND is_review", ada.user_id
    )
    assert reviews == missed
    # The score of the course is the first answer's: review does not rewrite history.
    await ada.send("/progress")
    progress = await next_containing(ada, "Your progress")
    assert f"0 of {missed} right" in progress.text


async def test_a_wrong_review_answer_starts_the_question_over(harness):
    ada = harness.trainee()
    course = await enroll(harness, ada)
    lesson = course.lessons[0]
    await take_lesson(ada, course, lesson, wrong)
    harness.clock.advance(days=1, minutes=1)
    await ada.send("/review")
    for question in lesson.questions:
        await answer_question(ada, question, wrong(question))
    done = await next_containing(ada, "Review done")
    assert f"0 of {len(lesson.questions)} right" in done.text
    assert "in 1 day" in done.text
    steps = await harness.fetch("SELECT step FROM review_schedule WHERE user_id = $1", ada.user_id)
    assert {r["step"] for r in steps} == {0}


async def test_a_review_answer_given_twice_counts_once(harness):
    ada = harness.trainee()
    course = await enroll(harness, ada)
    lesson = next(
        lx for lx in course.lessons if lx.questions and lx.questions[0].kind.value == "buttons"
    )
    # Reach the lesson with a buttons question first, answering everything before it right.
    for earlier in course.lessons[: course.lessons.index(lesson)]:
        done = await take_lesson(ada, course, earlier, right)
        if done is not None:
            await ada.press(labels.NEXT_LESSON, message=done)
        await lesson_shown(ada, course.next_lesson(earlier.id))
    await take_lesson(ada, course, lesson, wrong)
    harness.clock.advance(days=1, minutes=1)
    await ada.send("/review")
    question = lesson.questions[0]
    asked = await next_matching(
        ada, lambda m: m.has_button(question.options[0]), "the review question"
    )
    await ada.press(question.options[question.correct], message=asked)
    before = await harness.counts()
    toast = await ada.press_data(
        asked.callback_data(question.options[question.correct]), message=asked
    )
    assert "not due" in toast
    assert await harness.counts() == before


async def test_continue_resumes_where_the_trainee_left_off(harness):
    ada = harness.trainee()
    course = await enroll(harness, ada)
    done = await take_lesson(ada, course, course.lessons[0], right)
    await ada.press(labels.NEXT_LESSON, message=done)
    second = course.lessons[1]
    await lesson_shown(ada, second)

    await ada.send("/continue")
    again = await lesson_shown(ada, second)
    assert again.has_button(labels.QUIZ if second.questions else labels.NEXT)

    await ada.send("/progress")
    progress = await next_containing(ada, "Your progress")
    assert f"Lessons: 1 of {len(course.lessons)}" in progress.text


async def test_back_shows_the_previous_lesson_without_losing_the_place(harness):
    ada = harness.trainee()
    course = await enroll(harness, ada)
    done = await take_lesson(ada, course, course.lessons[0], right)
    await ada.press(labels.NEXT_LESSON, message=done)
    shown = await lesson_shown(ada, course.lessons[1])
    await ada.press(labels.BACK, message=shown)
    back = await lesson_shown(ada, course.lessons[0])
    assert back.edited and back.message_id == shown.message_id
    await ada.send("/continue")
    await lesson_shown(ada, course.lessons[1])


async def test_continue_and_review_with_nothing_started(harness):
    bob = harness.trainee(first_name="Bob")
    await bob.send("/continue")
    await next_containing(bob, "not enrolled in any course")
    await bob.send("/review")
    await next_containing(bob, "Nothing to review")
    await bob.send("/progress")
    await next_containing(bob, "haven't started a course")


async def test_start_lists_courses_and_enrolls_through_the_card(harness):
    bob = harness.trainee(first_name="Bob")
    course = harness.app.catalog.course("on-call-101")
    await bob.send("/start")
    await next_containing(bob, "Hi Bob")
    listing = await next_containing(bob, "Courses")
    await bob.press(course.title, message=listing)
    card = await next_matching(bob, lambda m: m.has_button(labels.ENROLL), "course card")
    assert course.description.split()[0] in card.text
    await bob.press(labels.ALL_COURSES, message=card)
    listing = await next_containing(bob, "Courses")
    assert listing.edited and listing.message_id == card.message_id
    await bob.press(course.title, message=listing)
    card = await next_matching(bob, lambda m: m.has_button(labels.ENROLL), "course card")
    await bob.press(labels.ENROLL, message=card)
    await next_containing(bob, "You're enrolled")
    await lesson_shown(bob, course.lessons[0])
    await bob.send("/start")
    await next_containing(bob, "Hi Bob")
    listing = await next_containing(bob, "Courses")
    assert listing.buttons[0][0].startswith("📘")


async def test_free_text_and_unknown_commands_get_help(harness):
    bob = harness.trainee()
    await bob.send("hello there")
    reply = await next_containing(bob, "didn't catch that")
    assert "/progress" in reply.text
    await bob.send("/frobnicate")
    await next_containing(bob, "didn't catch that")
    await bob.send("/help")
    help_text = await next_containing(bob, "How this works")
    assert "/broadcast" not in help_text.text


async def test_text_during_a_quiz_is_pointed_at_the_question(harness):
    ada = harness.trainee()
    course = await enroll(harness, ada)
    await ada.press(labels.QUIZ)
    await next_matching(ada, lambda m: m.poll is not None or m.inline_keyboard, "a question")
    await ada.send("I think it is P1")
    await next_containing(ada, "Please answer the question above")
    assert course is not None
