"""Keyboards as pure functions: the right buttons, and callback data Telegram accepts."""

import pytest
from aiogram.types import InlineKeyboardMarkup

from trainingbot.content import SAMPLE_CONTENT_DIR, QuestionKind, load_catalog
from trainingbot.keyboards import courses, labels, lessons, quiz
from trainingbot.keyboards.callbacks import (
    CALLBACK_DATA_LIMIT,
    AnswerCallback,
    CourseAction,
    CourseCallback,
    LessonAction,
    LessonCallback,
    ReviewAnswerCallback,
)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(SAMPLE_CONTENT_DIR)


@pytest.fixture(scope="module")
def course(catalog):
    return catalog.course("on-call-101")


def labels_of(markup: InlineKeyboardMarkup | None) -> list[str]:
    return [b.text for row in (markup.inline_keyboard if markup else []) for b in row]


def data_of(markup: InlineKeyboardMarkup) -> list[str]:
    return [b.callback_data for row in markup.inline_keyboard for b in row]


def test_first_lesson_has_no_back_button(course):
    first = course.lessons[0]
    assert labels_of(lessons.lesson(course, first, quiz_pending=True)) == [labels.QUIZ]


def test_a_middle_lesson_has_back_and_next(course):
    middle = course.lessons[2]
    assert labels_of(lessons.lesson(course, middle, quiz_pending=False)) == [
        labels.BACK,
        labels.NEXT,
    ]


def test_the_last_lesson_finishes(course):
    assert (
        labels_of(lessons.lesson(course, course.lessons[-1], quiz_pending=False))[-1]
        == labels.FINISH
    )


def test_lesson_done_offers_the_next_lesson_or_nothing(course):
    markup = lessons.lesson_done(course, course.lessons[1])
    data = LessonCallback.unpack(data_of(markup)[0])
    assert data.action is LessonAction.SHOW and data.lesson == course.lessons[1].id
    assert lessons.lesson_done(course, None) is None


def test_course_list_marks_enrolled_and_finished(catalog, course):
    assert labels_of(courses.course_list(catalog, {})) == [course.title]
    assert labels_of(courses.course_list(catalog, {course.id: False}))[0].startswith("📘")
    assert labels_of(courses.course_list(catalog, {course.id: True}))[0].startswith("✅")


def test_course_card_buttons(course):
    assert labels_of(courses.course_card(course, False, False))[0] == labels.ENROLL
    assert labels_of(courses.course_card(course, True, False))[0] == labels.CONTINUE
    assert labels_of(courses.course_card(course, True, True))[0] == labels.RESTART


def test_answer_buttons_for_lesson_and_review(course):
    question = next(q for q in course.questions if q.kind is QuestionKind.BUTTONS)
    markup = quiz.answers(course, question)
    assert labels_of(markup) == list(question.options)
    first = AnswerCallback.unpack(data_of(markup)[0])
    assert (first.course, first.question, first.option) == (course.id, question.id, 0)
    review = ReviewAnswerCallback.unpack(data_of(quiz.answers(course, question, True))[1])
    assert review.option == 1


def test_every_button_of_the_sample_course_fits_64_bytes(catalog, course):
    markups = [
        courses.course_list(catalog, {}),
        courses.course_done(course),
        courses.course_card(course, True, False),
        courses.moved_lesson(course, "x"),
    ]
    for lesson in course.lessons:
        markups.append(lessons.lesson(course, lesson, True))
    for question in course.questions:
        markups += [quiz.answers(course, question), quiz.answers(course, question, True)]
    for markup in markups:
        for data in data_of(markup):
            assert len(data.encode()) <= CALLBACK_DATA_LIMIT


@pytest.mark.parametrize(
    "raw", ["", "garbage", "l:zz:c:l", "a:c:q:notanumber", "c:x:c", "a:c", "r:c:q"]
)
def test_tampered_data_does_not_parse(raw):
    for cls in (CourseCallback, LessonCallback, AnswerCallback, ReviewAnswerCallback):
        with pytest.raises((ValueError, TypeError)):
            cls.unpack(raw)


def test_course_actions_round_trip():
    for action in CourseAction:
        data = CourseCallback(action=action, course="on-call-101")
        assert CourseCallback.unpack(data.pack()) == data
