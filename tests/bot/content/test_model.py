"""The course model's navigation and its own guards (for courses built in code)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from trainingbot.content import Catalog, Course, Lesson, Module, Question, QuestionKind


def question(id: str, **changes) -> Question:
    values = {"id": id, "text": "Q?", "options": ("a", "b"), "correct": 0} | changes
    return Question(**values)


def lesson(id: str, *questions: Question) -> Lesson:
    return Lesson(id=id, title=id.title(), body_html=f"about {id}", questions=questions)


@pytest.fixture
def course() -> Course:
    return Course(
        id="c",
        title="C",
        description="D",
        modules=(
            Module(id="m1", title="One", lessons=(lesson("a", question("q1")), lesson("b"))),
            Module(id="m2", title="Two", lessons=(lesson("c", question("q2"), question("q3")),)),
        ),
    )


def test_navigation(course: Course):
    assert [x.id for x in course.lessons] == ["a", "b", "c"]
    assert [q.id for q in course.questions] == ["q1", "q2", "q3"]
    assert course.lesson("b").title == "B" and course.lesson("zz") is None
    assert course.lesson_position("c") == 3 and course.lesson_position("zz") is None
    assert course.module_of("c").id == "m2"
    assert course.question("q2").id == "q2" and course.question("zz") is None
    assert course.lesson_of("q3").id == "c" and course.lesson_of("zz") is None


def test_next_and_previous_cross_modules(course: Course):
    assert course.next_lesson("b").id == "c"
    assert course.previous_lesson("c").id == "b"
    assert course.next_lesson("c") is None
    assert course.previous_lesson("a") is None
    assert course.next_lesson("removed-since") is None


def test_models_are_frozen(course: Course):
    with pytest.raises(ValidationError):
        course.title = "changed"


def test_catalog(course: Course):
    catalog = Catalog(courses={"c": course})
    assert len(catalog) == 1 and list(catalog) == [course] and "c" in catalog
    assert catalog.course("c") is course and catalog.course("x") is None
    with pytest.raises(ValidationError, match="keys must be course ids"):
        Catalog(courses={"other": course})


def test_kind_defaults_to_poll():
    assert question("q").kind is QuestionKind.POLL


@pytest.mark.parametrize("correct", [-1, 2])
def test_correct_out_of_range(correct: int):
    with pytest.raises(ValidationError, match=f"correct answer {correct} does not exist"):
        question("q", correct=correct)


def test_question_checks_telegram_limits():
    with pytest.raises(ValidationError, match="poll question is 301 characters"):
        question("q", text="x" * 301)
    with pytest.raises(ValidationError, match="Telegram allows 2 to 10"):
        question("q", options=("only",))


def test_ids_are_checked():
    with pytest.raises(ValidationError, match="not a valid id"):
        question("a:b")


def test_module_needs_a_lesson():
    with pytest.raises(ValidationError):
        Module(id="m", title="M", lessons=())


def test_lesson_needs_text():
    with pytest.raises(ValidationError, match="has no text"):
        Lesson(id="l", title="L", body_html="<b> </b>")


def test_course_refuses_duplicate_question_ids():
    with pytest.raises(ValidationError, match="question id `q` is used more than once"):
        Course(
            id="c",
            title="C",
            description="D",
            modules=(
                Module(id="m", title="M", lessons=(lesson("a", question("q"), question("q")),)),
            ),
        )


def test_course_refuses_buttons_over_64_bytes():
    with pytest.raises(ValidationError, match="too long for the answer buttons"):
        Course(
            id="c" * 40,
            title="C",
            description="D",
            modules=(Module(id="m", title="M", lessons=(lesson("a", question("q" * 30)),)),),
        )
