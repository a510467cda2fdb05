"""Conversation state through Redis Sentinel: the master dies mid-quiz, nothing is lost."""

from __future__ import annotations

import asyncio

import pytest

from tests.bot.conftest import next_containing
from tests.bot.driving import answer_question, lesson_shown, take_lesson, wrong
from tests.support.waiting import eventually

pytestmark = pytest.mark.services


def _offset(group, port: int) -> int:
    info = group._redis_cli(port, "info", "replication", password=group.password)
    fields = dict(line.split(":", 1) for line in info.split() if ":" in line)
    return int(fields.get("slave_repl_offset") or fields["master_repl_offset"])


async def test_a_review_survives_the_master_being_killed(make_bot, sentinel_group):
    async with make_bot(redis=sentinel_group.env()) as harness:
        assert harness.app.redis is not None
        await harness.app.check_redis()
        course = harness.app.catalog.course("on-call-101")
        lesson = course.lessons[0]
        assert len(lesson.questions) >= 2
        ada = harness.trainee()
        await ada.send(f"/start course_{course.id}")
        await lesson_shown(ada, course.lessons[0])
        await take_lesson(ada, course, lesson, wrong)

        harness.clock.advance(days=1, minutes=1)
        await ada.send("/review")
        await next_containing(ada, f"{len(lesson.questions)} questions to review")
        first, *rest = lesson.questions
        await answer_question(ada, first, first.correct)
        await harness.settle()

        # The review session (which questions, the running score) is in Redis now; let
        # the replica catch up, as it does within milliseconds, then kill the master.
        group = sentinel_group
        master_port = group.current_master_port()
        await eventually(
            lambda: _offset(group, group.replica.port) >= _offset(group, master_port), within=10
        )
        new_master = await asyncio.to_thread(group.kill_master)
        assert new_master != master_port

        for question in rest:
            await answer_question(ada, question, question.correct)
        done = await next_containing(ada, "Review done", wait=15)
        # Both answers are in the session's score: the one before the failover too.
        total = len(lesson.questions)
        assert f"{total} of {total} right" in done.text
        assert harness.metric("bot_redis_connected") == 1
        assert harness.metric("bot_redis_operations_total", result="ok") > 0
        await harness.app.check_redis()
