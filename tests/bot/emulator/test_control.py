"""Trainees over HTTP (`/_trainees/`), as the kind tier's tests and a person with curl use a
standalone emulator: a real aiogram bot polls the emulator, the trainee acts through HTTP."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Dispatcher, F
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from trainingbot.emulator import BotApiEmulator

from tests.bot.emulator.conftest import TOKEN, make_bot, polling

USER = 4242


def quiz_bot() -> Dispatcher:
    dispatcher = Dispatcher()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Next ▶", callback_data="next")]]
    )

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Lesson 1", reply_markup=keyboard)

    @dispatcher.callback_query(F.data == "next")
    async def next_lesson(query: CallbackQuery) -> None:
        await query.answer("on to lesson 2")
        await query.message.answer_poll(
            "Which severity wakes someone up?", ["P1", "P3"], type="quiz", correct_option_id=0,
            is_anonymous=False,
        )  # fmt: skip

    @dispatcher.poll_answer()
    async def answered(answer) -> None:
        await answer.bot.send_message(answer.user.id, f"you chose {answer.option_ids}")

    return dispatcher


@pytest.fixture
async def served() -> BotApiEmulator:
    async with BotApiEmulator(token=TOKEN, serve_trainees=True) as emulator:
        yield emulator


async def test_a_trainee_sends_presses_and_answers_over_http(served: BotApiEmulator):
    bot = make_bot(served)
    base = f"{served.base_url}/_trainees/{USER}"
    async with polling(quiz_bot(), bot), aiohttp.ClientSession() as http:

        async def messages() -> list[dict]:
            async with http.get(f"{base}/messages") as response:
                assert response.status == 200
                return (await response.json())["messages"]

        async def post(verb: str, body: dict) -> dict:
            async with http.post(f"{base}/{verb}", json=body) as response:
                assert response.status == 200, await response.text()
                return await response.json()

        assert (await post("send", {"text": "/start"}))["update_id"] >= 1
        lesson = await served.trainee(USER).next_message()
        assert (await messages())[-1] == {
            "message_id": lesson.message_id,
            "kind": "text",
            "text": "Lesson 1",
            "buttons": ["Next ▶"],
            "edited": False,
        }

        assert (await post("press", {"label": "Next ▶"})) == {"answer": "on to lesson 2"}
        await served.trainee(USER).next_message()
        poll = (await messages())[-1]
        assert poll["kind"] == "poll"
        assert poll["poll"]["options"] == ["P1", "P3"]

        await post("poll", {"options": [1]})
        reply = await served.trainee(USER).next_message()
        assert reply.text == "you chose [1]"
    await bot.session.close()


async def test_bad_requests_say_what_was_wrong(served: BotApiEmulator):
    async with aiohttp.ClientSession() as http:
        base = f"{served.base_url}/_trainees"
        async with http.post(f"{base}/abc/send", json={"text": "hi"}) as response:
            assert response.status == 400
            assert "positive integer" in await response.text()
        async with http.post(f"{base}/{USER}/send", json={"txt": "hi"}) as response:
            assert response.status == 400
            assert '"text"' in await response.text()
        async with http.post(f"{base}/{USER}/press", json={"label": "Nope"}) as response:
            assert response.status == 409


async def test_the_routes_are_served_only_when_asked(emu: BotApiEmulator):
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{emu.base_url}/_trainees/{USER}/messages") as response,
    ):
        assert response.status == 404
