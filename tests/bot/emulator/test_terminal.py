"""The terminal chat of `training-bot demo`, driven by scripted lines against an aiogram bot."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

from aiogram import Dispatcher, F
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    PollAnswer,
)

from trainingbot.emulator.models import EmulatedDocument, EmulatedMessage, EmulatedPoll
from trainingbot.emulator.terminal import (
    emphasize,
    human_size,
    render_message,
    run_terminal_chat,
    scripted_lines,
    stdin_lines,
)

from tests.bot.emulator.conftest import polling
from tests.support.waiting import eventually

NAVIGATION = InlineKeyboardMarkup(
    inline_keyboard=[
        [
            InlineKeyboardButton(text="Next ▶", callback_data="next"),
            InlineKeyboardButton(text="◀ Back", callback_data="back"),
        ]
    ]
)


def course_bot() -> Dispatcher:
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(
            "<b>On-call 101</b>: <i>severity levels</i>", parse_mode="HTML",
            reply_markup=NAVIGATION,
        )  # fmt: skip

    @dispatcher.callback_query(F.data)
    async def navigate(query: CallbackQuery) -> None:
        await query.answer(f"Going {query.data}")
        await query.message.edit_text(f"Lesson after {query.data}")

    @dispatcher.message(Command("quiz"))
    async def quiz(message: Message) -> None:
        await message.answer_poll(
            "Which is P1?", ["A typo", "The bot is down"], type="quiz",
            correct_option_id=1, is_anonymous=False,
        )  # fmt: skip

    @dispatcher.poll_answer()
    async def answered(answer: PollAnswer) -> None:
        verdict = "Right!" if answer.option_ids == [1] else "Not quite."
        await answer.bot.send_message(answer.user.id, verdict)

    @dispatcher.message(Command("report"))
    async def report(message: Message) -> None:
        await message.answer_document(
            BufferedInputFile(b"x" * 1200, filename="report.csv"), caption="Your progress"
        )

    @dispatcher.message()
    async def fallback(message: Message) -> None:
        await message.answer("Try /start")

    return dispatcher


async def chat(emu, bot, lines: list[str]) -> str:
    out = io.StringIO()
    trainee = emu.trainee(1001, "Ada")
    async with polling(course_bot(), bot):
        await run_terminal_chat(
            trainee, input_lines=scripted_lines(lines), out=out, settle=0.05, reply_timeout=5
        )
    return out.getvalue()


async def test_a_scripted_session(emu, bot):
    transcript = await chat(
        emu, bot, ["/start", "1", "/quiz", "2", "/report", "hello", "/quit", "/start"]
    )
    assert "🤖 *On-call 101*: _severity levels_" in transcript
    assert "[1] Next ▶  [2] ◀ Back" in transcript
    assert "💬 Going next" in transcript
    assert "🤖 (edited) Lesson after next" in transcript
    assert "📊 Quiz: Which is P1?" in transcript
    assert "[2] The bot is down" in transcript
    assert "(a quiz: one answer is right; type its number)" in transcript
    assert "(you answered: The bot is down)" in transcript
    assert "🤖 Right!" in transcript
    assert "📎 report.csv (1.2 kB)" in transcript
    assert "Your progress" in transcript
    assert "🤖 Try /start" in transcript
    assert transcript.rstrip().endswith("Bye.")
    # Nothing after /quit was sent.
    texts = [call["text"] for call in emu.calls("sendMessage")]
    assert texts.count("<b>On-call 101</b>: <i>severity levels</i>") == 1


async def test_end_of_input_ends_the_chat_and_bad_numbers_are_explained(emu, bot):
    transcript = await chat(emu, bot, ["/start", "7", "   "])
    assert "(there is no option 7: choose 1–2)" in transcript
    assert transcript.rstrip().endswith("Bye.")


async def test_a_number_without_choices_is_sent_as_text(emu, bot):
    transcript = await chat(emu, bot, ["42"])
    assert "🤖 Try /start" in transcript


async def test_lines_typed_in_a_terminal_are_read_without_blocking():
    lines = [line async for line in stdin_lines(io.StringIO("/start\n1\n"))]
    assert lines == ["/start\n", "1\n"]


def test_rendering():
    assert human_size(512) == "512 B"
    assert human_size(1234) == "1.2 kB"
    assert human_size(3_400_000) == "3.4 MB"
    assert emphasize("bold and link", [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "text_link", "offset": 9, "length": 4, "url": "https://a.b/"},
    ]) == "*bold* and link (https://a.b/)"  # fmt: skip
    poll = EmulatedPoll("1", "Q?", ["a", "b"], "regular", is_anonymous=True, voter_counts=[0, 0])
    text, choices = render_message(EmulatedMessage(1, 2, 0, "sendPoll", text="Q?", poll=poll))
    assert text.splitlines() == [
        "🤖 📊 Poll: Q?", "   [1] a", "   [2] b", "   (type the number of your answer)",
    ]  # fmt: skip
    assert [c.kind for c in choices] == ["poll", "poll"]
    document = EmulatedDocument("a.txt", b"hi", "text/plain", "f", "u")
    text, choices = render_message(
        EmulatedMessage(1, 3, 0, "sendDocument", document=document, edited=True)
    )
    assert text == "🤖 (edited) 📎 a.txt (2 B)"
    assert choices == []


async def test_interactive_mode_shows_messages_that_arrive_while_typing(emu, bot):
    trainee = emu.trainee(1001, "Ada")
    out = io.StringIO()
    typed = asyncio.Event()

    async def person() -> AsyncIterator[str]:
        await typed.wait()  # still typing when the bot writes
        yield "/quit\n"

    chat = asyncio.create_task(
        run_terminal_chat(trainee, input_lines=person(), out=out, settle=0.01, interactive=True)
    )
    await bot.send_message(1001, "Reminder: <b>review</b> is due", parse_mode="HTML")
    await eventually(lambda: "Reminder" in out.getvalue(), what="the reminder to be shown")
    typed.set()
    await asyncio.wait_for(chat, 5)
    transcript = out.getvalue()
    assert "🤖 Reminder: *review* is due\n> " in transcript
    assert "> /quit" not in transcript  # a terminal shows what was typed; no echo
    assert transcript.rstrip().endswith("Bye.")


def test_ansi_emphasis_on_a_terminal():
    entities = [
        {"type": "bold", "offset": 0, "length": 8},
        {"type": "italic", "offset": 5, "length": 3},
        {"type": "code", "offset": 9, "length": 4},
    ]
    shown = emphasize("bold ita code", entities, ansi=True)
    assert shown == "\x1b[1mbold \x1b[3mita\x1b[23m\x1b[22m \x1b[36mcode\x1b[39m"


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_a_terminal_gets_ansi_and_a_pipe_gets_markers(emu, bot):
    for out, expected in ((_TTY(), "\x1b[1mOn-call 101\x1b[22m"), (io.StringIO(), "*On-call 101*")):
        trainee = emu.trainee(1001, "Ada")
        async with polling(course_bot(), bot):
            await run_terminal_chat(
                trainee, input_lines=scripted_lines(["/start"]), out=out, settle=0.05
            )
        assert expected in out.getvalue()


async def test_the_prompt_waits_until_the_bot_has_finished_answering(emu):
    """A bot that confirms an update only once handled (as the project's poller does) and
    pauses between its replies longer than the quiet `settle` wait: both replies come before
    the next line is taken."""
    trainee = emu.trainee(1001, "Ada")
    out = io.StringIO()

    async def slow_bot() -> None:
        offset = None
        while True:
            params = {"timeout": 5} if offset is None else {"timeout": 5, "offset": offset}
            for update in await emu.call("getUpdates", params):
                await emu.call("sendMessage", {"chat_id": 1001, "text": "first part"})
                await asyncio.sleep(0.3)  # longer than settle: a chat paced at 1/s does this
                await emu.call("sendMessage", {"chat_id": 1001, "text": "second part"})
                offset = update["update_id"] + 1

    bot_task = asyncio.create_task(slow_bot())
    try:
        await run_terminal_chat(
            trainee,
            input_lines=scripted_lines(["/long", "/next"]),
            out=out,
            settle=0.05,
            confirms_when_handled=True,
        )
    finally:
        bot_task.cancel()
    transcript = out.getvalue()
    answer_to_long = transcript[transcript.index("> /long") : transcript.index("> /next")]
    assert "first part" in answer_to_long
    assert "second part" in answer_to_long


class _ClosedTerminal(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")  # what a closed terminal answers


async def test_a_closed_terminal_ends_the_chat_without_a_traceback(emu, bot):
    trainee = emu.trainee(1001, "Ada")
    async with polling(course_bot(), bot):
        await run_terminal_chat(
            trainee, input_lines=scripted_lines(["/start"]), out=_ClosedTerminal(), settle=0.05
        )
    assert emu.calls("sendMessage")[0]["text"].startswith("<b>On-call 101")
