"""Progress, score and where to resume, as pure functions of content and records."""

import pytest

from trainingbot.content import SAMPLE_CONTENT_DIR, load_catalog
from trainingbot.services.progress import (
    Score,
    course_progress,
    resolve_resume,
    score_of,
    unanswered,
)


@pytest.fixture(scope="module")
def course():
    return load_catalog(SAMPLE_CONTENT_DIR).course("on-call-101")


def test_score_percent_rounds_and_handles_nothing_answered():
    assert Score(2, 3).percent == 67
    assert Score(0, 0).percent == 0


def test_score_counts_only_questions_still_in_the_course(course):
    first = course.questions[0]
    answers = {first.id: True, "removed-question": True}
    assert score_of(course.questions, answers) == Score(1, 1)


def test_progress_counts_existing_lessons_only(course):
    done = {course.lessons[0].id, course.lessons[1].id, "removed-lesson"}
    progress = course_progress(course, done, {})
    assert progress.lessons_done == 2
    assert progress.lessons_total == len(course.lessons)
    assert not progress.completed
    assert progress.started


def test_progress_is_complete_when_every_lesson_is_done(course):
    progress = course_progress(course, {lesson.id for lesson in course.lessons}, {})
    assert progress.completed


def test_unanswered_questions_of_a_lesson(course):
    lesson = next(lesson for lesson in course.lessons if len(lesson.questions) >= 2)
    answers = {lesson.questions[0].id: False}
    assert unanswered(lesson, answers) == list(lesson.questions[1:])


def test_resume_at_the_current_lesson_while_unfinished(course):
    lesson = course.lessons[3]
    resume = resolve_resume(course, lesson.id, {course.lessons[0].id})
    assert resume.lesson == lesson and not resume.moved


def test_resume_after_a_finished_current_lesson_at_the_first_unfinished(course):
    done = {lesson.id for lesson in course.lessons[:4]}
    resume = resolve_resume(course, course.lessons[3].id, done)
    assert resume.lesson == course.lessons[4]


def test_a_removed_lesson_resumes_at_the_first_unfinished_and_says_so(course):
    done = {course.lessons[0].id}
    resume = resolve_resume(course, "lesson-that-was-removed", done)
    assert resume.lesson == course.lessons[1]
    assert resume.moved


def test_nothing_to_resume_when_all_is_done(course):
    resume = resolve_resume(course, course.lessons[-1].id, {lx.id for lx in course.lessons})
    assert resume.lesson is None and not resume.moved
