"""Texts of the trainer commands."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from trainingbot.texts.limits import join_within


@dataclass(frozen=True)
class CourseStats:
    course_id: str
    title: str
    enrolled: int
    completed: int
    average_percent: int | None  # None: nobody answered yet


def refusal() -> str:
    return "Sorry, that command is for trainers only. 🙂 Send /help to see what you can do."


def stats(rows: list[CourseStats]) -> str:
    if not rows:
        return "No courses are loaded."
    lines = ["<b>Course statistics</b>"]
    for r in rows:
        rate = round(100 * r.completed / r.enrolled) if r.enrolled else 0
        avg = f"{r.average_percent}%" if r.average_percent is not None else "—"
        lines += [
            "",
            f"<b>{escape(r.title)}</b> (<code>{escape(r.course_id)}</code>)",
            f"Enrolled: {r.enrolled} · Completed: {r.completed} ({rate}%)",
            f"Average score: {avg}",
        ]
    return join_within(lines)


def usage_report(course_ids: list[str]) -> str:
    return "Usage: /report &lt;course&gt;\nCourses: " + _ids(course_ids)


def usage_broadcast(course_ids: list[str]) -> str:
    return "Usage: /broadcast &lt;course&gt; &lt;text&gt;\nCourses: " + _ids(course_ids)


def unknown_course(course_id: str, course_ids: list[str]) -> str:
    return f"There is no course <code>{escape(course_id[:64])}</code>. Courses: " + _ids(course_ids)


def _ids(course_ids: list[str]) -> str:
    return ", ".join(f"<code>{escape(c)}</code>" for c in course_ids) or "none"


def report_caption(title: str, trainees: int) -> str:
    return f"📄 Progress report: <b>{escape(title)}</b> — {trainees} trainee" + (
        "s" if trainees != 1 else ""
    )


def broadcast_message(title: str, text: str) -> str:
    """What trainees receive: the trainer's text, escaped, under the course's name."""
    return f"📣 <b>{escape(title)}</b>\n\n{escape(text)}"


def broadcast_started(title: str, recipients: int) -> str:
    return (
        f"📣 Sending your message to {recipients} trainee"
        f"{'s' if recipients != 1 else ''} of <b>{escape(title)}</b>. "
        "I'll report back when it's done."
    )


def broadcast_too_long(limit: int) -> str:
    return f"That message is too long for a broadcast: keep it under {limit} characters."


def broadcast_summary(title: str, sent: int, failed: int, blocked: int) -> str:
    return (
        f"📣 Broadcast to <b>{escape(title)}</b> finished: {sent} sent, {failed} failed, "
        f"{blocked} blocked the bot."
    )
