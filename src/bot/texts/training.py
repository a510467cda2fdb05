"""Texts of the trainee's flow: courses, lessons, answers, progress and review."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from trainingbot.content import Course, Lesson, Question
from trainingbot.services.progress import CourseProgress, Score
from trainingbot.texts.limits import CALLBACK_ANSWER_LIMIT, MESSAGE_LIMIT, clip, join_within


def course_list(has_courses: bool) -> str:
    if not has_courses:
        return "There are no courses yet. Please check back later."
    return "<b>Courses</b>\nTap a course to see what it covers."


def enrolled(course: Course) -> str:
    return f"You're enrolled in <b>{escape(course.title)}</b>. Let's begin! 🚀"


def already_enrolled(course: Course) -> str:
    return f"Welcome back to <b>{escape(course.title)}</b>. Here is where you left off."


def score_line(score: Score) -> str:
    if not score.answered:
        return "no questions answered yet"
    return f"{score.right} of {score.answered} right ({score.percent}%)"


def feedback(question: Question, correct: bool, chosen: int | None = None) -> str:
    """Shown right after an answer: right or wrong, the right option, the explanation."""
    right = escape(question.options[question.correct])
    if correct:
        text = f"✅ <b>Right!</b> {right}"
    else:
        text = f"❌ <b>Not quite.</b> The answer is: {right}"
    if question.explanation:
        text += f"\n\n{escape(question.explanation)}"
    return text


def answered_question(question: Question, correct: bool, chosen: int) -> str:
    """An inline-button question once answered (its message is edited into this)."""
    picked = escape(question.options[chosen]) if 0 <= chosen < len(question.options) else "?"
    return clip(
        f"{escape(question.text)}\n\nYour answer: {picked}\n\n{feedback(question, correct)}",
        MESSAGE_LIMIT,
    )


def question_header(position: int, total: int, review: bool) -> str:
    return (
        f"🔁 Review question {position} of {total}"
        if review
        else f"❓ Question {position} of {total}"
    )


def lesson_done(lesson: Lesson, score: Score, has_next: bool) -> str:
    text = f"🎉 Lesson <b>{escape(lesson.title)}</b> done."
    if score.answered:
        text += f" You got {score_line(score)}."
    if has_next:
        text += "\nReady for the next one?"
    return text


def course_done(progress: CourseProgress) -> str:
    return (
        f"🏆 <b>Congratulations!</b> You finished <b>{escape(progress.course.title)}</b>.\n"
        f"Your score: {score_line(progress.score)}.\n\n"
        "Questions you missed will come back in /review to help them stick."
    )


def course_already_done(course: Course) -> str:
    return (
        f"You have finished <b>{escape(course.title)}</b>. 🎓 You can read any lesson "
        "again, or restart the course."
    )


def lesson_moved(lesson: Lesson | None) -> str:
    if lesson is None:
        return (
            "The lesson you were on has been removed from the course, and you have done "
            "all the others. 🎓"
        )
    return (
        f"The lesson you were on has been removed from the course. You can continue at "
        f"<b>{escape(lesson.title)}</b>, or start the course again."
    )


def progress(items: list[CourseProgress]) -> str:
    if not items:
        return "You haven't started a course yet. Send /start to pick one."
    lines = ["<b>Your progress</b>"]
    for p in items:
        mark = "✅" if p.completed else "📘"
        lines += [
            "",
            f"{mark} <b>{escape(p.course.title)}</b>",
            f"Lessons: {p.lessons_done} of {p.lessons_total}",
            f"Score: {score_line(p.score)}"
            + (
                f" · {p.questions_total - p.score.answered} to go"
                if p.score.answered < p.questions_total
                else ""
            ),
        ]
    return join_within(lines)


def nothing_to_continue() -> str:
    return "You're not enrolled in any course yet. Send /start to pick one."


def all_courses_done() -> str:
    return "You've finished every course you enrolled in. 🎓 Send /start to see the courses."


def review_intro(count: int) -> str:
    return f"🔁 {count} question{'s' if count != 1 else ''} to review. Let's go!"


def when(moment: datetime, now: datetime) -> str:
    """A short, friendly distance in time: "in 3 days (Fri 29 Nov)"."""
    delta = moment - now
    day = moment.strftime("%a %d %b")
    if delta <= timedelta(0):
        return "now"
    if delta < timedelta(hours=1):
        minutes = max(1, int(delta.total_seconds() // 60))
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    if delta < timedelta(days=1):
        hours = int(delta.total_seconds() // 3600)
        return f"in {hours} hour{'s' if hours != 1 else ''}"
    days = delta.days + (1 if delta.seconds else 0)
    return f"in {days} day{'s' if days != 1 else ''} ({day})"


def nothing_to_review(next_due: datetime | None, now: datetime) -> str:
    if next_due is None:
        return "Nothing to review. 🌟 Questions you answer wrong come back here after a day."
    return f"Nothing to review right now. 🌟 Your next review is {when(next_due, now)}."


def review_done(score: Score, next_due: datetime | None, now: datetime) -> str:
    text = f"🔁 Review done: {score_line(score)}."
    if next_due is not None:
        text += f" Next review {when(next_due, now)}."
    else:
        text += " Nothing left to review. 🌟"
    return text


# Short answers to a button press (answerCallbackQuery, at most 200 characters).


def _short(text: str) -> str:
    return clip(text, CALLBACK_ANSWER_LIMIT)


def callback_unknown_course() -> str:
    return _short("That course is not available any more. Send /start to see the courses.")


def callback_unknown_lesson() -> str:
    return _short("That lesson is no longer part of the course.")


def callback_unknown_question() -> str:
    return _short("That question is no longer part of the course.")


def callback_bad_option() -> str:
    return _short("That is not one of the options.")


def callback_already_answered() -> str:
    return _short("You already answered this one. ✅")


def callback_not_due() -> str:
    return _short("This review question is not due now — you already answered it.")


def callback_not_enrolled() -> str:
    return _short("You're not enrolled in this course. Send /start to enroll.")


def callback_first_lesson() -> str:
    return _short("This is the first lesson.")


def callback_right() -> str:
    return _short("✅ Right!")


def callback_wrong() -> str:
    return _short("❌ Not quite.")
