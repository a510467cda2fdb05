"""Trainer commands: statistics, the CSV report, broadcasts; a polite no for everyone else."""

from __future__ import annotations

import csv
import io
import logging

import pytest

from trainingbot.keyboards import labels
from trainingbot.ratelimit import RateLimits
from trainingbot.services.trainer import REPORT_COLUMNS

from tests.bot.conftest import next_containing, next_matching
from tests.bot.driving import lesson_shown, right, take_lesson, wrong

pytestmark = pytest.mark.services


async def enrolled_trainee(harness, name, lessons=1, choose=right):
    trainee = harness.trainee(first_name=name, username=name.lower())
    course = harness.app.catalog.course("on-call-101")
    await trainee.send(f"/start course_{course.id}")
    await lesson_shown(trainee, course.lessons[0])
    for lesson in course.lessons[:lessons]:
        done = await take_lesson(trainee, course, lesson, choose)
        if done is not None and course.next_lesson(lesson.id):
            await trainee.press(labels.NEXT_LESSON, message=done)
            await lesson_shown(trainee, course.next_lesson(lesson.id))
    return trainee


async def test_stats_and_report_for_trainers(harness):
    course = harness.app.catalog.course("on-call-101")
    ada = await enrolled_trainee(harness, "Ada", lessons=1, choose=right)
    bob = await enrolled_trainee(harness, "Bob", lessons=1, choose=wrong)
    trainer = harness.trainer()

    await trainer.send("/stats")
    stats = await next_containing(trainer, "Course statistics")
    assert "Enrolled: 2 · Completed: 0 (0%)" in stats.text
    assert "Average score: 50%" in stats.text  # Ada 100%, Bob 0%

    await trainer.send(f"/report {course.id}")
    report = await next_matching(trainer, lambda m: m.document is not None, "the report")
    assert report.document.filename == f"report-{course.id}.csv"
    rows = list(csv.DictReader(io.StringIO(report.document.bytes.decode())))
    assert tuple(rows[0]) == REPORT_COLUMNS
    by_user = {int(r["user_id"]): r for r in rows}
    first = course.lessons[0]
    assert by_user[ada.user_id]["username"] == "ada"
    assert by_user[ada.user_id]["lessons_done"] == "1"
    assert by_user[ada.user_id]["questions_right"] == str(len(first.questions))
    assert by_user[ada.user_id]["score_percent"] == "100"
    assert by_user[bob.user_id]["questions_right"] == "0"
    assert by_user[bob.user_id]["lessons_total"] == str(len(course.lessons))
    assert "2 trainees" in report.text

    await trainer.send("/report")
    await next_containing(trainer, "Usage: /report")
    await trainer.send("/report no-such-course")
    await next_containing(trainer, "There is no course")


async def test_trainer_commands_refused_for_trainees_and_logged(harness, caplog):
    eve = harness.trainee(first_name="Eve")
    before = await harness.counts()
    with caplog.at_level(logging.WARNING, logger="trainingbot.routers.trainer"):
        for command in ("/stats", "/report on-call-101", "/broadcast on-call-101 hi all"):
            await eve.send(command)
            reply = await next_containing(eve, "for trainers only")
            assert reply.document is None
    refused = [r for r in caplog.records if "refused trainer command" in r.getMessage()]
    assert len(refused) == 3
    assert all(r.user_id == eve.user_id for r in refused)
    assert "hi all" not in caplog.text
    after = await harness.counts()
    assert after["enrollments"] == before["enrollments"]


async def test_broadcast_reaches_the_enrolled_and_reports_back(make_bot):
    # Production rate limits here: the broadcast goes through the real limiter.
    async with make_bot(rate_limits=RateLimits()) as harness:
        course = harness.app.catalog.course("on-call-101")
        trainees = [harness.trainee(first_name=f"T{i}") for i in range(3)]
        for trainee in trainees:
            await trainee.send(f"/start course_{course.id}")
            await lesson_shown(trainee, course.lessons[0])
        blocked = trainees[2]
        blocked.block_bot()
        outsider = harness.trainee(first_name="Out")

        trainer = harness.trainer()
        await trainer.send(f"/broadcast {course.id} Drill <tomorrow> at 10:00!")
        await next_containing(trainer, "Sending your message to 3 trainees")
        summary = await next_containing(trainer, "Broadcast to", wait=15)
        assert "2 sent, 0 failed, 1 blocked" in summary.text
        for trainee in trainees[:2]:
            message = await next_containing(trainee, "Drill <tomorrow> at 10:00!")
            assert course.title in message.text
        await outsider.expect_no_message(0.2)
        sent = harness.metric("bot_telegram_api_requests_total", method="sendMessage", status="403")
        assert sent == 1


async def test_broadcast_usage(harness):
    trainer = harness.trainer()
    await trainer.send("/broadcast")
    await next_containing(trainer, "Usage: /broadcast")
    await trainer.send("/broadcast nope hello")
    await next_containing(trainer, "There is no course")
    await trainer.send("/help")
    assert "/broadcast" in (await next_containing(trainer, "How this works")).text
