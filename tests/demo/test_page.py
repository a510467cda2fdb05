"""The demo's web page in a real browser: the sample course to the end through the page,
time travel to a review, live reload of broken and fixed course files, several trainees,
the trainer's report, and an accessibility check.

The demo runs as `training-bot demo --serve --content DIR` (its embedded PostgreSQL, the
emulator, the real bot); the browser only clicks and types, as a person would.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from trainingbot.content import SAMPLE_CONTENT_DIR, Question, QuestionKind, load_catalog
from trainingbot.keyboards import labels

pytestmark = pytest.mark.services

COURSE = next(iter(load_catalog(SAMPLE_CONTENT_DIR)))


def bot_message(page, text: str):
    """The latest message of the bot showing `text`."""
    return page.locator("article.msg.bot").filter(has_text=text).last


def lesson_message(page, title: str):
    """The lesson's own message: it starts with the title (which other lessons may mention)."""
    starts = re.compile(r"^\s*" + re.escape(title))
    return page.locator("article.msg.bot").filter(has_text=starts).last


def send(page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_label("Message").press("Enter")


def press(message, label: str) -> None:
    message.get_by_role("button", name=label, exact=True).click()


def answer(page, question: Question, option: int) -> None:
    """Answer `question` (a native quiz poll or inline buttons) with `option`."""
    text = question.options[option]
    if question.kind is QuestionKind.POLL:
        poll = (
            page.locator("article.msg.bot")
            .filter(has=page.locator("legend", has_text=question.text))
            .last
        )
        press(poll, text)
        poll.locator(".result").first.wait_for()  # the answer is revealed in place
        return
    asked = bot_message(page, question.text)
    message_id = asked.get_attribute("data-id")
    press(asked, text)
    page.locator(f'article[data-id="{message_id}"] .meta', has_text="edited").wait_for()


def run_axe(page, axe_source: str) -> list[dict]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_the_sample_course_to_the_end_then_a_review_a_day_later(page, axe_source, artefacts):
    send(page, "/start")
    press(bot_message(page, "Tap a course"), COURSE.title)
    press(bot_message(page, f"{len(COURSE.lessons)} lessons"), labels.ENROLL)
    first_wrong = COURSE.lessons[0].questions[0]
    assert first_wrong.kind is QuestionKind.POLL  # the sample course starts with a quiz poll
    for number, lesson in enumerate(COURSE.lessons):
        press(lesson_message(page, lesson.title), labels.QUIZ)
        for question in lesson.questions:
            wrong = question is first_wrong
            option = (question.correct + 1) % len(question.options) if wrong else question.correct
            answer(page, question, option)
            if wrong:
                poll = page.locator("fieldset.poll").filter(has_text=question.text).last
                # Answered wrong: marked so, the right answer shown, and the explanation.
                assert poll.locator(".result.wrong").inner_text().find(question.options[option])
                right = poll.locator(".result.right")
                assert question.options[question.correct] in right.inner_text()
                assert poll.locator(".explanation").is_visible()
                page.screenshot(path=str(artefacts / "demo-quiz-explained.png"))
        done = bot_message(page, f"Lesson {lesson.title} done.")
        if number + 1 < len(COURSE.lessons):
            press(done, labels.NEXT_LESSON)
    total = len(COURSE.questions)
    congratulations = bot_message(page, "Congratulations")
    congratulations.wait_for()
    assert f"{total - 1} of {total} right" in congratulations.inner_text()
    assert congratulations.locator("b").first.is_visible()  # Telegram's HTML, rendered
    page.screenshot(path=str(artefacts / "demo-course-finished.png"))

    send(page, "/progress")
    progress = bot_message(page, f"Lessons: {len(COURSE.lessons)} of {len(COURSE.lessons)}")
    progress.wait_for()

    send(page, "/review")
    bot_message(page, "Nothing to review right now").wait_for()
    before = page.locator("#clock").inner_text()
    page.get_by_role("button", name="+1 day").click()
    page.wait_for_function(f"document.getElementById('clock').textContent !== {before!r}")
    send(page, "/review")
    bot_message(page, "1 question").wait_for()
    answer(page, first_wrong, first_wrong.correct)
    bot_message(page, "Review done").wait_for()

    violations = run_axe(page, axe_source)
    assert violations == [], [(v["id"], v["help"], len(v["nodes"])) for v in violations]


def test_the_trainer_downloads_the_report(page):
    send(page, f"/report {COURSE.id}")
    link = page.locator("article.msg.bot a.document").last
    link.wait_for()
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) >= 2, rows  # a header and Ada's row
    assert any(str(1001) in row or "Ada" in " ".join(row) for row in rows[1:]), rows


def test_each_trainee_has_a_chat_of_their_own(page):
    page.get_by_role("button", name=re.compile("^Ben")).click()
    assert page.locator("#chat-title").inner_text() == "Chat with the bot as Ben"
    send(page, "/start")
    bot_message(page, "Hi Ben!").wait_for()
    page.get_by_role("button", name=re.compile("^Ada")).click()
    assert page.locator("#chat-title").inner_text() == "Chat with the bot as Ada"
    assert page.locator("article.msg").filter(has_text="Hi Ben!").count() == 0
    assert page.locator("article.msg").filter(has_text="Hi Ada!").count() >= 1


def test_a_broken_course_file_shows_on_the_page_until_fixed(page, demo):
    course_file = demo.content / COURSE.id / "course.yaml"
    good = course_file.read_text(encoding="utf-8")
    problems = page.locator("#problems")
    try:
        course_file.write_text(re.sub("^title:", "titel:", good, flags=re.M), encoding="utf-8")
        problems.wait_for(state="visible")
        assert f"{COURSE.id}/course.yaml:" in problems.inner_text()
        # The bot keeps answering on the last good version meanwhile.
        page.get_by_role("button", name=re.compile("^Chloe")).click()
        send(page, "/start")
        press(bot_message(page, "Tap a course"), COURSE.title)
        bot_message(page, f"{len(COURSE.lessons)} lessons").wait_for()
    finally:
        draft = re.sub("^title: .*$", f"title: {COURSE.title} (draft)", good, flags=re.M)
        course_file.write_text(draft, encoding="utf-8")
    problems.wait_for(state="hidden")
    # The fixed save is what the bot serves now.
    send(page, "/start")
    bot_message(page, f"{COURSE.title} (draft)").wait_for()


def tab_to(page, name: str, limit: int = 200) -> None:
    """Press Tab until the focused button's text starts with `name` (or, for "#id", the
    element with that id has the focus), as a person would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "[document.activeElement.tagName, document.activeElement.id,"
            " (document.activeElement.innerText || '').trim()]"
        )
        tag, element_id, text = focused
        if name == f"#{element_id}" or (tag == "BUTTON" and text.startswith(name)):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {name!r}")


def test_the_page_works_by_keyboard_alone(page):
    tab_to(page, "Ben")
    page.keyboard.press("Enter")
    assert page.locator("#chat-title").inner_text() == "Chat with the bot as Ben"
    tab_to(page, "#text")  # past the chat's buttons to the message box
    page.keyboard.type("/start")
    page.keyboard.press("Enter")
    bot_message(page, "Tap a course").wait_for()
    tab_to(page, COURSE.title)  # a course button in the bot's answer
    page.keyboard.press("Enter")
    bot_message(page, f"{len(COURSE.lessons)} lessons").wait_for()


def test_a_narrow_window_has_no_serious_accessibility_problems(page, axe_source):
    page.set_viewport_size({"width": 380, "height": 760})
    send(page, "/help")
    page.locator("article.msg.bot").last.wait_for()
    violations = run_axe(page, axe_source)
    assert violations == [], [(v["id"], v["help"], len(v["nodes"])) for v in violations]
    # Nothing wider than the window: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
