"""Greetings, help and the words for things that went wrong."""

from __future__ import annotations

from trainingbot.texts.limits import name


def welcome(first_name: str | None) -> str:
    hello = f"Hi {name(first_name)}! 👋" if first_name else "Hi! 👋"
    return (
        f"{hello}\n"
        "I'm your training bot. Pick a course below: I'll walk you through it lesson by "
        "lesson, with a few questions at the end of each.\n\n"
        "/help shows everything I can do."
    )


def help_text(is_trainer: bool = False) -> str:
    lines = [
        "<b>How this works</b>",
        "Read a lesson, press <b>Next</b>, answer its questions. Wrong answers come back "
        "in /review after a day, then after 3, 7 and 14 days until they stick.",
        "",
        "/start — the courses",
        "/continue — pick up where you left off",
        "/progress — lessons done and your score",
        "/review — questions due for another try",
        "/help — this message",
    ]
    if is_trainer:
        lines += [
            "",
            "<b>Trainer commands</b>",
            "/stats — enrolments, completion and average score per course",
            "/report &lt;course&gt; — a CSV of every trainee's progress",
            "/broadcast &lt;course&gt; &lt;text&gt; — a message to everyone enrolled",
        ]
    return "\n".join(lines)


def not_understood() -> str:
    return "I didn't catch that. 🙂 Here is what I can do:\n\n" + help_text()


def apology() -> str:
    return "Sorry, something went wrong on my side. 😔 Please try again in a moment."


def apology_short() -> str:
    return "Sorry, something went wrong. Please try again."


def stale_button() -> str:
    return "This button is out of date. Send /continue to pick up where you are."


def answer_in_quiz() -> str:
    return "Please answer the question above — tap one of its options. ☝️"
