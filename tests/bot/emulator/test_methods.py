"""Bot API methods through a real aiogram `Bot`: results aiogram can parse, and Telegram's
limits and error texts raised as aiogram's own exceptions."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from trainingbot.emulator import ApiError, BotApiEmulator, BotApiLimits

from tests.bot.emulator.conftest import make_bot


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
            for row in rows
        ]
    )


async def bad_request(call) -> str:
    with pytest.raises(TelegramBadRequest) as caught:
        await call
    return caught.value.message


async def test_get_me_is_the_bot_of_the_token(bot):
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "training_bot"


async def test_send_message_parses_html_and_reaches_the_trainee(emu, bot):
    trainee = emu.trainee(1001, "Ada")
    sent = await bot.send_message(
        1001, "<b>Welcome</b>, Ada!", parse_mode="HTML", reply_markup=keyboard([("Go", "g")])
    )
    assert sent.text == "Welcome, Ada!"
    assert sent.entities[0].type == "bold"
    assert sent.from_user.id == 123456
    message = await trainee.next_message()
    assert message.message_id == sent.message_id
    assert message.text == "Welcome, Ada!"
    assert message.html == "<b>Welcome</b>, Ada!"
    assert message.parse_mode == "HTML"
    assert message.buttons == [["Go"]]
    assert message.callback_data("Go") == "g"
    assert not message.edited


async def test_message_length_is_counted_after_entity_parsing_in_utf16(emu, bot):
    emu.trainee(1001)
    # The tags do not count: 4096 characters of text are allowed however they are marked up.
    await bot.send_message(1001, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    error = await bad_request(bot.send_message(1001, "x" * 4097))
    assert error == "Bad Request: message is too long"
    # An emoji outside the BMP is two UTF-16 units.
    await bot.send_message(1001, "😀" * 2048)
    assert await bad_request(bot.send_message(1001, "😀" * 2048 + "x")) == (
        "Bad Request: message is too long"
    )


@pytest.mark.parametrize("text", [" ", " \n ", "<b></b>", "<i> </i>"])
async def test_empty_text_after_parsing_is_refused(emu, bot, text):
    emu.trainee(1001)
    error = await bad_request(bot.send_message(1001, text, parse_mode="HTML"))
    assert error == "Bad Request: message text is empty"


async def test_unparsable_html_is_refused_with_telegrams_words(emu, bot):
    emu.trainee(1001)
    error = await bad_request(bot.send_message(1001, "<b>bold", parse_mode="HTML"))
    assert error == (
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
    )
    error = await bad_request(bot.send_message(1001, "Step 1.", parse_mode="MarkdownV2"))
    assert error.startswith("Bad Request: can't parse entities: Character '.' is reserved")


async def test_callback_data_is_one_to_64_bytes(emu, bot):
    emu.trainee(1001)
    await bot.send_message(1001, "ok", reply_markup=keyboard([("a", "x" * 64)]))
    # 33 two-byte characters are 66 bytes: too long although only 33 characters.
    for data in ("é" * 33, "x" * 65):
        error = await bad_request(
            bot.send_message(1001, "no", reply_markup=keyboard([("a", data)]))
        )
        assert error == "Bad Request: BUTTON_DATA_INVALID"


async def test_inline_buttons_need_an_action_and_a_valid_url(emu):
    emu.trainee(1001)
    with pytest.raises(ApiError) as caught:
        await emu.call(
            "sendMessage",
            {"chat_id": 1001, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "a"}]]}},
        )
    assert caught.value.description == (
        "Bad Request: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard"
    )
    with pytest.raises(ApiError) as caught:
        await emu.call(
            "sendMessage",
            {
                "chat_id": 1001,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "url": "ftp://x"}]]},
            },
        )
    assert caught.value.description == "Bad Request: BUTTON_URL_INVALID"


async def test_unknown_chat_and_blocked_user(emu, bot):
    assert await bad_request(bot.send_message(999, "hi")) == "Bad Request: chat not found"
    trainee = emu.trainee(1001)
    trainee.block_bot()
    with pytest.raises(TelegramForbiddenError) as caught:
        await bot.send_message(1001, "hi")
    assert caught.value.message == "Forbidden: bot was blocked by the user"
    (update,) = await bot.get_updates()
    assert update.my_chat_member.new_chat_member.status == "kicked"
    trainee.unblock_bot()
    await bot.send_message(1001, "welcome back")


async def test_wrong_token_is_unauthorized(emu):
    intruder = make_bot(emu, token="654321:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError) as caught:
            await intruder.get_me()
        assert caught.value.message == "Unauthorized"
    finally:
        await intruder.session.close()


async def test_a_method_the_emulator_does_not_serve_is_not_found(emu, bot):
    emu.trainee(1001)
    with pytest.raises(TelegramNotFound) as caught:
        await bot.send_sticker(1001, "CAACAgIAAxkBAAE")
    assert caught.value.message == "Not Found"


async def test_http_shapes_get_json_form_and_unknown_method(emu):
    emu.trainee(1001)
    base = f"{emu.base_url}/bot{emu.token}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/getMe") as resp:
            assert resp.status == 200
            assert (await resp.json())["result"]["id"] == 123456
        async with http.get(f"{base}/sendMessage", params={"chat_id": "1001", "text": "q"}) as r:
            assert (await r.json())["result"]["text"] == "q"
        markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
        async with http.post(
            f"{base}/sendmessage", json={"chat_id": 1001, "text": "j", "reply_markup": markup}
        ) as resp:
            body = await resp.json()
            assert body["ok"] is True
            assert body["result"]["reply_markup"] == markup
        async with http.post(
            f"{base}/sendMessage",
            data={"chat_id": "1001", "text": "f", "reply_markup": json.dumps(markup)},
        ) as resp:
            assert (await resp.json())["result"]["text"] == "f"
        async with http.post(f"{base}/sendMessage", json={"chat_id": 1001}) as resp:
            assert resp.status == 400
            assert await resp.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message text is empty",
            }
        async with http.post(f"{base}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
    assert [call.method for call in emu.requests][-3:] == ["sendMessage"] * 3


async def test_edits_arrive_as_edited_snapshots(emu, bot):
    trainee = emu.trainee(1001)
    sent = await bot.send_message(1001, "Lesson 1", reply_markup=keyboard([("Next ▶", "n")]))
    edited = await bot.edit_message_text(
        "Lesson 1 ✓", chat_id=1001, message_id=sent.message_id,
        reply_markup=keyboard([("Again", "a")]),
    )  # fmt: skip
    assert edited.edit_date is not None
    first, second = await trainee.next_message(), await trainee.next_message()
    assert (first.text, first.buttons, first.edited) == ("Lesson 1", [["Next ▶"]], False)
    assert (second.text, second.buttons, second.edited) == ("Lesson 1 ✓", [["Again"]], True)
    assert first.message_id == second.message_id
    # Without reply_markup an edit removes the keyboard, as on Telegram.
    await bot.edit_message_text("Lesson 1 done", chat_id=1001, message_id=sent.message_id)
    assert (await trainee.next_message()).buttons == []
    assert trainee.messages[-1].text == "Lesson 1 done"


async def test_edit_errors(emu, bot):
    emu.trainee(1001)
    sent = await bot.send_message(1001, "Same", reply_markup=keyboard([("A", "a")]))
    error = await bad_request(
        bot.edit_message_text(
            "Same", chat_id=1001, message_id=sent.message_id, reply_markup=keyboard([("A", "a")])
        )
    )
    assert error.startswith("Bad Request: message is not modified: specified new message")
    error = await bad_request(
        bot.edit_message_reply_markup(
            chat_id=1001, message_id=sent.message_id, reply_markup=keyboard([("A", "a")])
        )
    )
    assert error.startswith("Bad Request: message is not modified")
    await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id)
    error = await bad_request(bot.edit_message_text("x", chat_id=1001, message_id=4242))
    assert error == "Bad Request: message to edit not found"


async def test_delete_message(emu, bot):
    trainee = emu.trainee(1001)
    sent = await bot.send_message(1001, "temporary")
    assert await bot.delete_message(1001, sent.message_id)
    assert trainee.messages == []
    error = await bad_request(bot.delete_message(1001, sent.message_id))
    assert error == "Bad Request: message to delete not found"


async def test_answer_callback_query_once_and_within_limits(emu, bot):
    trainee = emu.trainee(1001)
    await bot.send_message(1001, "q", reply_markup=keyboard([("A", "a")]))
    await trainee.press("A", wait=False)
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert (query.data, query.from_user.id, query.message.chat.id) == ("a", 1001, 1001)
    error = await bad_request(bot.answer_callback_query(query.id, text="x" * 201))
    assert error == "Bad Request: MESSAGE_TOO_LONG"
    assert await bot.answer_callback_query(query.id, text="y" * 200)
    assert trainee.last_answer is None  # the press was not awaited
    error = await bad_request(bot.answer_callback_query(query.id))
    assert error == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    assert await bad_request(bot.answer_callback_query("12345")) == error


async def test_a_late_callback_answer_is_too_old():
    limits = BotApiLimits(callback_answer_seconds=0.0)
    async with BotApiEmulator(limits=limits) as emu:
        bot = make_bot(emu)
        trainee = emu.trainee(1001)
        await bot.send_message(1001, "q", reply_markup=keyboard([("A", "a")]))
        await trainee.press("A", wait=False)
        (update,) = await bot.get_updates()
        error = await bad_request(bot.answer_callback_query(update.callback_query.id))
        assert error.startswith("Bad Request: query is too old")
        await bot.session.close()


async def test_send_poll_defaults_to_anonymous_like_telegram(emu, bot):
    trainee = emu.trainee(1001)
    sent = await bot.send_poll(1001, "Which severity pages someone?", ["P1", "P3"])
    assert sent.poll.is_anonymous is True
    assert sent.poll.type == "regular"
    message = await trainee.next_message()
    assert message.poll.options == ["P1", "P3"]
    assert message.text == "Which severity pages someone?"


async def test_quiz_poll_fields(emu, bot):
    trainee = emu.trainee(1001)
    sent = await bot.send_poll(
        1001, "First check when the bot is silent?", ["Logs", "/health", "Reboot"],
        type="quiz", correct_option_id=1, is_anonymous=False, explanation="Liveness first.",
    )  # fmt: skip
    assert sent.poll.correct_option_ids == [1]
    poll = (await trainee.next_message()).poll
    assert (poll.type, poll.correct_option_id, poll.is_anonymous) == ("quiz", 1, False)
    assert poll.explanation == "Liveness first."


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"question": "q" * 301}, "poll question length must not exceed 300"),
        ({"question": " "}, "poll question must be non-empty"),
        ({"options": ["only"]}, "poll must have at least 2 option"),
        ({"options": [str(n) for n in range(11)]}, "poll can't have more than 10 options"),
        ({"options": ["a", "b" * 101]}, "poll options length must not exceed 100"),
        ({"options": ["a", " "]}, "poll options must be non-empty"),
        ({"type": "quiz"}, "wrong correct option ID specified"),
        ({"type": "quiz", "correct_option_id": 2}, "wrong correct option ID specified"),
        (
            {"type": "quiz", "correct_option_id": 0, "explanation": "e" * 201},
            "poll explanation length must not exceed 200",
        ),
        (
            {"type": "quiz", "correct_option_id": 0, "explanation": "a\nb\nc\nd"},
            "poll explanation can't have more than 2 line feeds",
        ),
    ],
)
async def test_poll_limits(emu, bot, kwargs, error):
    emu.trainee(1001)
    arguments = {"chat_id": 1001, "question": "Q?", "options": ["a", "b"], **kwargs}
    assert await bad_request(bot.send_poll(**arguments)) == f"Bad Request: {error}"


async def test_poll_at_the_limits_is_accepted(emu, bot):
    emu.trainee(1001)
    await bot.send_poll(
        1001, "q" * 300, [str(n) * 100 for n in range(10)],
        type="quiz", correct_option_id=9, explanation="e\n" * 2 + "e" * 196,
    )  # fmt: skip


async def test_stop_poll(emu, bot):
    trainee = emu.trainee(1001)
    sent = await bot.send_poll(1001, "Q?", ["a", "b"], is_anonymous=False)
    stopped = await bot.stop_poll(1001, sent.message_id)
    assert stopped.is_closed
    assert (await trainee.next_message()).poll.is_closed is False
    assert (await trainee.next_message()).poll.is_closed is True
    error = await bad_request(bot.stop_poll(1001, sent.message_id))
    assert error == "Bad Request: poll has already been closed"


async def test_send_document_keeps_name_and_bytes(emu, bot):
    trainee = emu.trainee(1001)
    data = b"trainee,score\nada,100\n" * 60
    sent = await bot.send_document(
        1001, BufferedInputFile(data, filename="report.csv"), caption="<b>Progress</b>",
        parse_mode="HTML",
    )  # fmt: skip
    assert sent.document.file_name == "report.csv"
    assert sent.document.file_size == len(data)
    assert sent.caption == "Progress"
    message = await trainee.next_message()
    assert message.document.filename == "report.csv"
    assert message.document.data == data == message.document.bytes
    assert message.document.mime_type == "text/csv"
    assert message.text == "Progress"
    again = await bot.send_document(1001, sent.document.file_id)
    assert again.document.file_name == "report.csv"
    error = await bad_request(
        bot.send_document(1001, BufferedInputFile(b"x", filename="a.txt"), caption="c" * 1025)
    )
    assert error == "Bad Request: message caption is too long"


async def test_chat_action_and_commands(emu, bot):
    trainee = emu.trainee(1001)
    assert await bot.send_chat_action(1001, "typing")
    assert list(trainee.chat.chat_actions) == ["typing"]
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(1001, "dancing")
    commands = [BotCommand(command="start", description="Begin"),
                BotCommand(command="progress", description="Your progress")]  # fmt: skip
    assert await bot.set_my_commands(commands)
    assert [c.command for c in await bot.get_my_commands()] == ["start", "progress"]
    error = await bad_request(
        bot.set_my_commands([BotCommand(command="Bad-Command", description="x")])
    )
    assert error == "Bad Request: BOT_COMMAND_INVALID"
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    assert await bot.close()
    assert await bot.log_out()
