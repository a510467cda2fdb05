"""Every text the bot sends stays inside Telegram's limits, whatever people typed."""

from datetime import UTC, datetime, timedelta

import pytest

from trainingbot.content import SAMPLE_CONTENT_DIR, load_catalog
from trainingbot.services.progress import CourseProgress, Score, course_progress
from trainingbot.texts import common, trainer, training
from trainingbot.texts.limits import (
    BROADCAST_LIMIT,
    CALLBACK_ANSWER_LIMIT,
    MESSAGE_LIMIT,
    clip,
    join_within,
    utf16_len,
)

NOW = datetime(2024, 11, 27, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def course():
    return load_catalog(SAMPLE_CONTENT_DIR).course("on-call-101")


def test_utf16_length_counts_emoji_as_two():
    assert utf16_len("a😀") == 3


def test_clip_respects_the_limit_in_utf16_units():
    text = "😀" * 300
    clipped = clip(text, CALLBACK_ANSWER_LIMIT)
    assert utf16_len(clipped) <= CALLBACK_ANSWER_LIMIT
    assert clipped.endswith("…")
    assert clip("short", 10) == "short"


def test_join_within_drops_the_tail_instead_of_overflowing():
    lines = [f"line {i} " + "x" * 100 for i in range(200)]
    text = join_within(lines)
    assert utf16_len(text) <= MESSAGE_LIMIT
    assert text.endswith("…")


def test_names_are_escaped_and_bounded():
    text = common.welcome("<b>" + "A" * 5000)
    assert "&lt;b&gt;" in text
    assert utf16_len(text) < 1000


def test_help_mentions_every_trainee_command_and_trainer_commands_only_for_trainers():
    text = common.help_text()
    for command in ("/start", "/continue", "/progress", "/review", "/help"):
        assert command in text
    assert "/broadcast" not in text
    assert "/broadcast" in common.help_text(is_trainer=True)


def test_progress_of_many_courses_fits_one_message(course):
    items = [course_progress(course, set(), {}) for _ in range(500)]
    assert utf16_len(training.progress(items)) <= MESSAGE_LIMIT


def test_progress_shows_lessons_and_score(course):
    p = CourseProgress(course, 3, 11, Score(4, 5), 25, False)
    text = training.progress([p])
    assert "Lessons: 3 of 11" in text and "4 of 5 right (80%)" in text


def test_every_callback_answer_fits():
    for fn in (
        training.callback_unknown_course,
        training.callback_unknown_lesson,
        training.callback_unknown_question,
        training.callback_bad_option,
        training.callback_already_answered,
        training.callback_not_due,
        training.callback_not_enrolled,
        training.callback_first_lesson,
        common.stale_button,
    ):
        assert 0 < utf16_len(fn()) <= CALLBACK_ANSWER_LIMIT


def test_feedback_on_every_sample_question_fits(course):
    for question in course.questions:
        for option in range(len(question.options)):
            correct = option == question.correct
            assert utf16_len(training.answered_question(question, correct, option)) <= MESSAGE_LIMIT
            text = training.feedback(question, correct)
            assert ("Right!" in text) == correct


def test_when_reads_naturally():
    assert training.when(NOW + timedelta(minutes=5), NOW) == "in 5 minutes"
    assert training.when(NOW + timedelta(hours=3), NOW) == "in 3 hours"
    assert training.when(NOW + timedelta(days=3), NOW).startswith("in 3 days (")
    assert training.when(NOW - timedelta(days=1), NOW) == "now"


def test_nothing_to_review_says_when_the_next_one_is():
    assert "in 2 days" in training.nothing_to_review(NOW + timedelta(days=2), NOW)
    assert "Nothing to review" in training.nothing_to_review(None, NOW)


def test_a_longest_broadcast_fits():
    text = trainer.broadcast_message("T" * 200, "<" * BROADCAST_LIMIT)
    # Escaping turns each < into &lt;, which Telegram shows as one character again.
    assert utf16_len(text.replace("&lt;", "<")) <= MESSAGE_LIMIT


def test_stats_of_many_courses_fit():
    rows = [trainer.CourseStats(f"c{i}", "Course " * 10, 10, 5, 80) for i in range(500)]
    assert utf16_len(trainer.stats(rows)) <= MESSAGE_LIMIT
    one = trainer.stats([trainer.CourseStats("c", "C", 4, 1, None)])
    assert "Enrolled: 4 · Completed: 1 (25%)" in one and "Average score: —" in one


def test_course_done_congratulates_with_the_score(course):
    p = course_progress(
        course, {lx.id for lx in course.lessons}, {q.id: True for q in course.questions}
    )
    text = training.course_done(p)
    assert "Congratulations" in text and f"{len(course.questions)} of" in text
