"""Trainer commands, for ADMIN_IDS only: /stats, /report <course>, /broadcast <course> <text>.

Anyone else gets a polite refusal, and the attempt is logged (user id and command only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import BufferedInputFile, Message

from trainingbot.db.users import UserRecord
from trainingbot.services.broadcast import Broadcaster
from trainingbot.services.trainer import TrainerService
from trainingbot.texts import trainer as t
from trainingbot.texts.limits import BROADCAST_LIMIT

log = logging.getLogger(__name__)

TRAINER_COMMANDS = ("stats", "report", "broadcast")


class IsTrainer(Filter):
    async def __call__(self, message: Message, trainer: TrainerService, user: UserRecord) -> bool:
        return trainer.is_trainer(user.id)


async def on_stats(message: Message, trainer: TrainerService) -> None:
    await message.answer(t.stats(await trainer.stats()))


async def on_report(message: Message, command: CommandObject, trainer: TrainerService) -> None:
    course_id = (command.args or "").strip()
    if not course_id:
        await message.answer(t.usage_report(trainer.course_ids()))
        return
    course = trainer.course(course_id)
    if course is None:
        await message.answer(t.unknown_course(course_id, trainer.course_ids()))
        return
    report = await trainer.report(course)
    await message.answer_document(
        BufferedInputFile(report.content, filename=report.filename),
        caption=t.report_caption(course.title, report.trainees),
    )


async def on_broadcast(
    message: Message,
    command: CommandObject,
    trainer: TrainerService,
    broadcaster: Broadcaster,
    after_commit: list[Callable[[], object]],
) -> None:
    course_id, _, text = (command.args or "").strip().partition(" ")
    text = text.strip()
    if not course_id or not text:
        await message.answer(t.usage_broadcast(trainer.course_ids()))
        return
    course = trainer.course(course_id)
    if course is None:
        await message.answer(t.unknown_course(course_id, trainer.course_ids()))
        return
    if len(text) > BROADCAST_LIMIT:
        await message.answer(t.broadcast_too_long(BROADCAST_LIMIT))
        return
    recipients = await trainer.recipients(course)
    await message.answer(t.broadcast_started(course.title, len(recipients)))
    # Started once this update is committed: a redelivered /broadcast is a duplicate and
    # never reaches here, and the broadcast itself runs outside the update's transaction.
    after_commit.append(lambda: broadcaster.start(message.chat.id, course.title, text, recipients))


async def on_refused(message: Message, command: CommandObject, user: UserRecord) -> None:
    log.warning(
        "refused trainer command /%s from user %s",
        command.command,
        user.id,
        extra={"user_id": user.id, "command": command.command},
    )
    await message.answer(t.refusal())


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(on_stats, Command("stats"), IsTrainer())
    router.message.register(on_report, Command("report"), IsTrainer())
    router.message.register(on_broadcast, Command("broadcast"), IsTrainer())
    router.message.register(on_refused, Command(*TRAINER_COMMANDS))
    return router
