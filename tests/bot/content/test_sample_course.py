"""The sample course On-call 101: big enough to teach, and every message within limits."""

from __future__ import annotations

import pytest

from trainingbot.content import SAMPLE_CONTENT_DIR, Catalog, QuestionKind, load_catalog
from trainingbot.content.render import course_card, course_lesson_message, visible_length
from trainingbot.content.rules import MESSAGE_LIMIT


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(SAMPLE_CONTENT_DIR)


def test_sample_dir_holds_on_call_101():
    assert (SAMPLE_CONTENT_DIR / "on-call-101" / "course.yaml").is_file()


def test_size_and_mix(catalog: Catalog):
    course = catalog.course("on-call-101")
    assert course is not None and course.title == "On-call 101"
    assert len(course.modules) >= 3
    assert len(course.lessons) >= 9
    assert len(course.questions) >= 15
    assert {q.kind for q in course.questions} == {QuestionKind.POLL, QuestionKind.BUTTONS}


def test_no_warnings(catalog: Catalog):
    assert catalog.warnings == ()


def test_every_question_explains_its_answer(catalog: Catalog):
    assert all(q.explanation for q in catalog.course("on-call-101").questions)


def test_it_teaches_the_runbook(catalog: Catalog):
    course = catalog.course("on-call-101")
    text = " ".join(lesson.body_html for lesson in course.lessons)
    for topic in (
        "P1",
        "P2",
        "P3",
        "/health",
        "5%",
        "OOM",
        "Sentinel",
        "Monitor for 15 minutes",
        "kubectl rollout undo",
        "Back up the database first",
        "alembic upgrade head",
        "rejectedImage",
        "runbook_url",
    ):
        assert topic in text, topic


def test_every_message_fits(catalog: Catalog):
    course = catalog.course("on-call-101")
    assert visible_length(course_card(course)) <= MESSAGE_LIMIT
    for lesson in course.lessons:
        assert visible_length(course_lesson_message(course, lesson)) <= MESSAGE_LIMIT
