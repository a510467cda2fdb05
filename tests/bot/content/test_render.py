"""Messages built from content, and the length Telegram measures."""

from __future__ import annotations

import pytest

from trainingbot.content import Course, Lesson, Module, Question, QuestionKind
from trainingbot.content.render import (
    course_card,
    course_lesson_message,
    lesson_message,
    question_message,
    visible_length,
    visible_text,
)


@pytest.fixture
def course() -> Course:
    question = Question(
        id="q", kind=QuestionKind.BUTTONS, text="Is 2 < 3?", options=("yes", "no"), correct=0
    )
    return Course(
        id="c",
        title="Care & feeding",
        description="Be <kind>.",
        modules=(
            Module(
                id="m",
                title="Basics",
                lessons=(
                    Lesson(id="a", title="First <1>", body_html="<b>Hi</b> &amp; welcome"),
                    Lesson(id="b", title="Second", body_html="Bye", questions=(question,)),
                ),
            ),
        ),
    )


def test_visible_length_ignores_tags_and_decodes_entities():
    assert visible_length('<b>a</b> &amp; <a href="https://x.y/?q=1&amp;r=2">b</a>') == 5
    assert visible_text("&lt;&gt;&quot;&#39;") == "<>\"'"


def test_visible_length_counts_utf16_units():
    assert visible_length("😀") == 2  # outside the Basic Multilingual Plane: a surrogate pair
    assert visible_length("é") == 1
    assert visible_length("<i>👩‍💻</i>") == 5  # woman, zero-width joiner, laptop


def test_lesson_message(course: Course):
    message = lesson_message(course, course.lesson("a"), 1, 2)
    assert message == (
        "<b>First &lt;1&gt;</b>\n<i>Care &amp; feeding · Basics · Lesson 1 of 2</i>\n\n"
        "<b>Hi</b> &amp; welcome"
    )


def test_course_lesson_message_knows_the_position(course: Course):
    assert "Lesson 2 of 2" in course_lesson_message(course, course.lesson("b"))
    stranger = Lesson(id="z", title="Z", body_html="z")
    with pytest.raises(KeyError):
        course_lesson_message(course, stranger)


def test_course_card(course: Course):
    assert course_card(course) == (
        "<b>Care &amp; feeding</b>\n<i>2 lessons · 1 question</i>\n\nBe &lt;kind&gt;."
    )


def test_question_message_is_escaped(course: Course):
    assert question_message(course.question("q")) == "Is 2 &lt; 3?"
