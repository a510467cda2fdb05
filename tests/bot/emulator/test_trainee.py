"""Acting as trainees against an aiogram bot: press a button by its label, answer polls
(anonymous ones never name the voter), write in a group, wait for the bot's messages."""

from __future__ import annotations

import re

import pytest
from aiogram import Dispatcher, F
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from trainingbot.emulator import BotApiEmulator

from tests.bot.emulator.conftest import make_bot, polling

LESSON_KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [
            InlineKeyboardButton(text="◀ Back", callback_data="l:b:oncall:intro"),
            InlineKeyboardButton(text="Next ▶", callback_data="l:n:oncall:intro"),
        ],
        [InlineKeyboardButton(text="Runbook ↗", url="https://example.com/runbook")],
    ]
)


def lesson_bot() -> Dispatcher:
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(
            f"<b>Lesson 1</b> for {message.from_user.first_name}",
            parse_mode="HTML",
            reply_markup=LESSON_KEYBOARD,
        )

    @dispatcher.callback_query(F.data.startswith("l:"))
    async def navigate(query: CallbackQuery) -> None:
        await query.answer(f"Moved {query.data.split(':')[1]}")
        action = query.data.split(":")[1]
        await query.message.edit_text(f"Lesson after {action}", reply_markup=LESSON_KEYBOARD)

    @dispatcher.message(Command("group"))
    async def in_group(message: Message) -> None:
        await message.answer(f"Hello {message.chat.title}")

    return dispatcher


async def test_press_a_button_by_its_label(emu, bot):
    trainee = emu.trainee(1001, "Ada", username="ada")
    async with polling(lesson_bot(), bot):
        await trainee.send("/start")
        lesson = await trainee.next_message()
        assert lesson.text == "Lesson 1 for Ada"
        assert lesson.buttons == [["◀ Back", "Next ▶"], ["Runbook ↗"]]
        assert await trainee.press("Next ▶") == "Moved n"
        edit = await trainee.next_message()
        assert (edit.message_id, edit.edited) == (lesson.message_id, True)
        assert edit.text == "Lesson after n"
        # The message taken earlier is a snapshot: it still shows what was sent then.
        assert lesson.text == "Lesson 1 for Ada"
        assert await trainee.press("◀ Back", message=edit) == "Moved b"
        assert trainee.last_answer.text == "Moved b"
        await trainee.next_message()
        assert await trainee.press_data("l:x:tampered") == "Moved x"


async def test_pressing_what_is_not_there(emu, bot):
    trainee = emu.trainee(1001)
    async with polling(lesson_bot(), bot):
        await trainee.send("/start")
        await trainee.next_message()
        with pytest.raises(LookupError, match=r"no message of the bot .* has a button 'Skip'"):
            await trainee.press("Skip")
        with pytest.raises(ValueError, match=re.escape("opens https://example.com/runbook")):
            await trainee.press("Runbook ↗")


async def test_an_unanswered_press_times_out_with_an_explanation(emu, bot):
    trainee = emu.trainee(1001)
    await bot.send_message(1001, "silent", reply_markup=LESSON_KEYBOARD)
    with pytest.raises(TimeoutError, match="did not answer the press of 'Next ▶'"):
        await trainee.press("Next ▶", timeout=0.05)


async def test_an_anonymous_poll_never_names_the_voter(emu, bot):
    trainee = emu.trainee(1001)
    await bot.send_poll(1001, "Anonymous by default?", ["Yes", "No"], type="quiz",
                        correct_option_id=0)  # fmt: skip
    assert await trainee.answer_poll([0]) is None
    updates = await bot.get_updates()
    assert [u.event_type for u in updates] == ["poll"]
    assert updates[0].poll.options[0].voter_count == 1
    assert updates[0].poll.total_voter_count == 1


async def test_a_non_anonymous_quiz_yields_a_poll_answer(emu, bot):
    trainee = emu.trainee(1001, "Ada")
    sent = await bot.send_poll(1001, "Which is P1?", ["Outage", "Typo"], type="quiz",
                               correct_option_id=0, is_anonymous=False)  # fmt: skip
    message = await trainee.next_message()
    update_id = await trainee.answer_poll([1], message=message)
    updates = await bot.get_updates()
    assert [u.event_type for u in updates] == ["poll_answer", "poll"]
    answer = updates[0].poll_answer
    assert answer.poll_id == sent.poll.id
    assert updates[0].update_id == update_id
    assert (answer.user.id, answer.option_ids) == (1001, [1])
    with pytest.raises(ValueError, match="does not allow changing a vote"):
        await trainee.answer_poll([0], message=message)


async def test_dispatcher_receives_poll_answers(emu, bot):
    dispatcher = Dispatcher()
    answers = []

    @dispatcher.poll_answer()
    async def on_answer(poll_answer) -> None:
        answers.append((poll_answer.user.id, poll_answer.option_ids))
        await bot.send_message(poll_answer.user.id, "Right!" if poll_answer.option_ids == [0]
                               else "Not quite.")  # fmt: skip

    trainee = emu.trainee(1001)
    await bot.send_poll(1001, "Q?", ["a", "b"], type="quiz", correct_option_id=0,
                        is_anonymous=False)  # fmt: skip
    async with polling(dispatcher, bot):
        await trainee.next_message()
        await trainee.answer_poll([0])
        assert (await trainee.next_message()).text == "Right!"
    assert answers == [(1001, [0])]


async def test_group_members_write_and_read_one_chat(emu, bot):
    group = emu.group(-1001234, "On-call team")
    ada, grace = group.member(1001, "Ada"), group.member(1002, "Grace")
    async with polling(lesson_bot(), bot):
        await ada.send("/group")
        assert (await group.next_message()).text == "Hello On-call team"
        await grace.send("/group@training_bot")
        assert (await grace.next_message()).text == "Hello On-call team"
    assert [m.text for m in group.messages] == ["Hello On-call team"] * 2


async def test_next_message_and_expect_no_message(emu, bot):
    trainee = emu.trainee(1001)
    await trainee.expect_no_message(within=0.01)
    await bot.send_message(1001, "unexpected")
    with pytest.raises(AssertionError, match="expected no message"):
        await trainee.expect_no_message(within=0.01)
    with pytest.raises(TimeoutError, match="sent nothing to chat 1001"):
        await trainee.next_message(timeout=0.01)
    await bot.send_message(1001, "a")
    await bot.send_message(1001, "b")
    assert [m.text for m in trainee.drain()] == ["a", "b"]


async def test_send_and_wait_measures_the_round_trip(emu, bot):
    trainee = emu.trainee(1001)
    async with polling(lesson_bot(), bot):
        reply, seconds = await trainee.send_and_wait("/start")
        assert reply.text.startswith("Lesson 1")
        assert seconds > 0
        edit, seconds = await trainee.press_and_wait("Next ▶")
        assert edit.edited
        assert seconds > 0


async def test_history_limit_and_request_log_keep_memory_flat():
    async with BotApiEmulator(history_limit=3, request_log_size=5) as emu:
        bot = make_bot(emu)
        trainee = emu.trainee(1001)
        for n in range(20):
            await bot.send_message(1001, f"m{n}")
            await trainee.send(f"u{n}")
        await bot.get_updates(offset=-1)
        assert [m.text for m in trainee.messages] == ["m17", "m18", "m19"]
        assert [m.text for m in trainee.drain()] == ["m17", "m18", "m19"]
        assert len(emu.requests) == 5
        assert emu.method_counts["sendMessage"] == 20
        assert emu.pending_update_count == 1
        await bot.session.close()
