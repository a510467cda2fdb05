"""/start (with `course_<id>` deep links), /help, the course list and enrolling."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message

from trainingbot.content import Catalog, render
from trainingbot.db.users import UserRecord
from trainingbot.keyboards import courses as kb
from trainingbot.keyboards.callbacks import CourseAction, CourseCallback
from trainingbot.services.trainer import TrainerService
from trainingbot.services.training import TrainingService
from trainingbot.texts import common
from trainingbot.texts import training as t
from trainingbot.views import Conversation, answer_press

DEEP_LINK_PREFIX = "course_"


async def on_start(
    message: Message,
    command: CommandObject,
    user: UserRecord,
    training: TrainingService,
    conversation: Conversation,
    catalog: Catalog,
) -> None:
    payload = (command.args or "").strip()
    if payload.startswith(DEEP_LINK_PREFIX):
        await conversation.present(
            await training.enroll(user.id, payload.removeprefix(DEEP_LINK_PREFIX))
        )
        return
    await message.answer(common.welcome(user.first_name))
    await message.answer(
        t.course_list(len(catalog) > 0),
        reply_markup=kb.course_list(catalog, await training.enrolled_courses(user.id)),
    )


async def on_help(message: Message, trainer: TrainerService, user: UserRecord) -> None:
    await message.answer(common.help_text(trainer.is_trainer(user.id)))


async def on_course_list(
    query: CallbackQuery,
    user: UserRecord,
    training: TrainingService,
    catalog: Catalog,
    conversation: Conversation,
) -> None:
    await conversation.replace(
        query,
        t.course_list(len(catalog) > 0),
        kb.course_list(catalog, await training.enrolled_courses(user.id)),
    )


async def on_open_course(
    query: CallbackQuery,
    callback_data: CourseCallback,
    user: UserRecord,
    training: TrainingService,
    catalog: Catalog,
    conversation: Conversation,
) -> None:
    course = catalog.course(callback_data.course)
    if course is None:
        await answer_press(query, t.callback_unknown_course())
        return
    enrollment = await training.enrollment(user.id, course.id)
    await conversation.replace(
        query,
        render.course_card(course),
        kb.course_card(
            course, enrollment is not None, bool(enrollment and enrollment.completed_at)
        ),
    )


async def on_enroll(
    query: CallbackQuery,
    callback_data: CourseCallback,
    user: UserRecord,
    training: TrainingService,
    conversation: Conversation,
) -> None:
    await conversation.reply_to_press(query, await training.enroll(user.id, callback_data.course))


async def on_restart(
    query: CallbackQuery,
    callback_data: CourseCallback,
    user: UserRecord,
    training: TrainingService,
    conversation: Conversation,
) -> None:
    await conversation.reply_to_press(query, await training.restart(user.id, callback_data.course))


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(on_start, CommandStart())
    router.message.register(on_help, Command("help"))
    router.callback_query.register(
        on_course_list, CourseCallback.filter(F.action == CourseAction.LIST)
    )
    router.callback_query.register(
        on_open_course, CourseCallback.filter(F.action == CourseAction.OPEN)
    )
    router.callback_query.register(
        on_enroll, CourseCallback.filter(F.action == CourseAction.ENROLL)
    )
    router.callback_query.register(
        on_restart, CourseCallback.filter(F.action == CourseAction.RESTART)
    )
    return router
