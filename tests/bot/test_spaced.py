"""The spaced-repetition schedule: 1, 3, 7, 14 days; right moves on, wrong starts over."""

from datetime import UTC, datetime, timedelta

from trainingbot.services.spaced import REVIEW_INTERVALS, after_review, first_review

NOW = datetime(2024, 11, 27, 9, tzinfo=UTC)


def test_intervals_are_1_3_7_14_days():
    assert [i.days for i in REVIEW_INTERVALS] == [1, 3, 7, 14]


def test_a_wrong_answer_comes_back_after_a_day():
    assert first_review(NOW).step == 0
    assert first_review(NOW).due_at == NOW + timedelta(days=1)


def test_right_answers_walk_the_intervals_then_leave_the_schedule():
    step = first_review(NOW)
    seen = []
    while step is not None:
        seen.append((step.due_at - NOW).days)
        step = after_review(step.step, correct=True, now=NOW)
    assert seen == [1, 3, 7, 14]


def test_a_wrong_answer_in_review_starts_over():
    assert after_review(2, correct=False, now=NOW) == first_review(NOW)
    assert after_review(3, correct=False, now=NOW).step == 0
