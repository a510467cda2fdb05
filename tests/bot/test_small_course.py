"""A course of our own: lessons without questions, finishing, and the course list."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainingbot.keyboards import labels

from tests.bot.conftest import next_containing, next_matching
from tests.bot.driving import lesson_shown

pytestmark = pytest.mark.services

COURSE = """\
id: tiny
title: Tiny course
description: Three lessons, one question.
modules:
  - id: only
    title: Only module
    lessons: [intro, check, outro]
"""

LESSONS = {
    "intro": "---\ntitle: Intro\n---\nJust reading.\n",
    "check": """\
---
title: Check
questions:
  - id: q1
    kind: buttons
    text: Two plus two?
    options:
      - "3"
      - text: "4"
        correct: true
    explanation: Arithmetic.
---
Count carefully.
""",
    "outro": "---\ntitle: Outro\n---\nThat is all.\n",
}


def write_course(root: Path) -> Path:
    course = root / "tiny"
    (course / "lessons").mkdir(parents=True)
    (course / "course.yaml").write_text(COURSE)
    for lesson_id, text in LESSONS.items():
        (course / "lessons" / f"{lesson_id}.md").write_text(text)
    return root


async def test_lessons_without_questions_move_straight_on(make_bot, tmp_path):
    async with make_bot(content_dir=write_course(tmp_path / "content")) as harness:
        course = harness.app.catalog.course("tiny")
        intro, check, outro = course.lessons
        ada = harness.trainee()
        await ada.send("/start course_tiny")
        first = await lesson_shown(ada, intro)
        assert first.buttons == [[labels.NEXT]]

        await ada.press(labels.NEXT, message=first)
        second = await lesson_shown(ada, check)
        assert second.message_id == first.message_id and second.edited
        assert second.buttons == [[labels.BACK, labels.QUIZ]]

        await ada.press(labels.QUIZ, message=second)
        asked = await next_matching(ada, lambda m: m.has_button("4"), "the question")
        assert "Question 1 of 1" in asked.text
        assert await ada.press("3", message=asked) == "❌ Not quite."
        feedback = await next_matching(ada, lambda m: m.message_id == asked.message_id, "feedback")
        assert "The answer is: 4" in feedback.text and "Arithmetic." in feedback.text
        done = await next_containing(ada, "done.")
        assert "0 of 1 right" in done.text

        await ada.press(labels.NEXT_LESSON, message=done)
        last = await lesson_shown(ada, outro)
        assert last.buttons == [[labels.BACK, labels.FINISH]]
        await ada.press(labels.FINISH, message=last)
        congrats = await next_containing(ada, "Congratulations")
        assert "0 of 1 right (0%)" in congrats.text
        assert congrats.has_button(labels.RESTART)

        # Finished: /continue says so, and the course list marks it.
        await ada.send("/continue")
        await next_containing(ada, "You have finished")
        await ada.send("/start")
        listing = await next_containing(ada, "Courses")
        assert listing.buttons[0][0].startswith("✅")
        assert (await harness.counts())["lesson_progress"] == 3
