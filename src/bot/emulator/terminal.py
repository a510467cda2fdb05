"""A chat with the bot in a terminal, for `training-bot demo`.

The bot's messages are printed readably: formatting as ANSI bold, italic and coloured code
on a terminal, or as light emphasis (*bold*, _italic_, `code`) elsewhere, links with their
URL, buttons as a numbered list ("[1] Next ▶  [2] ◀ Back"), polls as numbered options
with a note when it is a quiz, documents as "📎 report.csv (1.2 kB)". The person types a
number to press that button or pick that poll option; anything else (commands included)
is sent as a message; `/quit` or end of input ends.

It reads from the terminal or from a scripted list of lines, and never blocks on the bot:
after each line it waits for the bot to finish answering (when the bot confirms updates only
once handled, as this project's poller does) or for its replies to settle, then prompts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import IO

from trainingbot.emulator.formatting import Entity, utf16_slices
from trainingbot.emulator.models import EmulatedMessage
from trainingbot.emulator.trainee import Trainee

QUIT_COMMANDS = frozenset({"/quit", "/exit"})

_EMPHASIS = {
    "bold": ("*", "*"),
    "italic": ("_", "_"),
    "code": ("`", "`"),
    "strikethrough": ("~", "~"),
}
# SGR codes; each span ends by resetting only its own attribute, so nested spans survive.
_ANSI = {
    "bold": ("\x1b[1m", "\x1b[22m"),
    "italic": ("\x1b[3m", "\x1b[23m"),
    "underline": ("\x1b[4m", "\x1b[24m"),
    "strikethrough": ("\x1b[9m", "\x1b[29m"),
    "code": ("\x1b[36m", "\x1b[39m"),
    "pre": ("\x1b[36m", "\x1b[39m"),
}


@dataclass(frozen=True)
class _Choice:
    """What typing a number does."""

    kind: str  # "button", "url" or "poll"
    label: str
    message: EmulatedMessage
    option: int = 0  # for a poll: the option's index
    url: str | None = None


def human_size(size: int) -> str:
    """File sizes as people read them: 512 B, 1.2 kB, 3.4 MB (decimal units)."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


def emphasize(text: str, entities: list[Entity], *, ansi: bool = False) -> str:
    """Text with its entities shown: ANSI attributes on a terminal (`ansi=True`), else light
    markers (*bold*, _italic_, `code`). Links get their URL after them either way."""
    marks = _ANSI if ansi else _EMPHASIS
    if not entities:
        return text
    index = utf16_slices(text)
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    for entity in entities:  # sorted by offset, longest first: outer marks open first
        start = index.get(entity["offset"])
        end = index.get(entity["offset"] + entity["length"])
        if start is None or end is None:
            continue
        kind = entity["type"]
        if kind in marks:
            before, after = marks[kind]
        elif kind == "text_link":
            before, after = "", f" ({entity['url']})"
        else:
            continue
        opens.setdefault(start, []).append(before)
        closes.setdefault(end, []).insert(0, after)
    parts = []
    for position in range(len(text) + 1):
        parts.extend(closes.get(position, ()))
        parts.extend(opens.get(position, ()))
        if position < len(text):
            parts.append(text[position])
    return "".join(parts)


def render_message(message: EmulatedMessage, *, ansi: bool = False) -> tuple[str, list[_Choice]]:
    """The message as terminal text, and the numbered choices it offers (if any)."""
    lines = []
    choices: list[_Choice] = []
    marker = "🤖 (edited)" if message.edited else "🤖"
    poll = message.poll
    if poll is not None:
        kind = "Quiz" if poll.is_quiz else "Poll"
        lines.append(f"{marker} 📊 {kind}: {poll.question}")
        for number, option in enumerate(poll.options, start=1):
            votes = f"  ({poll.voter_counts[number - 1]})" if poll.is_closed else ""
            lines.append(f"   [{number}] {option}{votes}")
            if not poll.is_closed:
                choices.append(_Choice("poll", option, message, option=number - 1))
        if poll.is_closed:
            lines.append("   (this poll is closed)")
        elif poll.is_quiz:
            lines.append("   (a quiz: one answer is right; type its number)")
        else:
            lines.append("   (type the number of your answer)")
    elif message.document is not None:
        document = message.document
        lines.append(f"{marker} 📎 {document.filename} ({human_size(document.size)})")
        if message.text:
            lines.append(emphasize(message.text, message.entities, ansi=ansi))
    else:
        text = emphasize(message.text, message.entities, ansi=ansi)
        lines.append(f"{marker} {text}")
    button_rows = []
    for row in message.inline_keyboard:
        cells = []
        for button in row:
            number = len(choices) + 1
            if "callback_data" in button:
                choices.append(_Choice("button", button["text"], message))
                cells.append(f"[{number}] {button['text']}")
            elif "url" in button:
                choices.append(_Choice("url", button["text"], message, url=button["url"]))
                cells.append(f"[{number}] {button['text']} ↗")
        if cells:
            button_rows.append("   " + "  ".join(cells))
    lines.extend(button_rows)
    return "\n".join(lines), choices


class _TerminalChat:
    def __init__(
        self,
        trainee: Trainee,
        out: IO[str],
        settle: float,
        reply_timeout: float,
        scripted: bool,
        confirms_when_handled: bool,
    ) -> None:
        self.trainee = trainee
        self.out = out
        self.settle = settle
        self.reply_timeout = reply_timeout
        self.scripted = scripted
        self.confirms_when_handled = confirms_when_handled
        isatty = getattr(out, "isatty", None)
        self.ansi = bool(isatty and isatty())
        self.choices: list[_Choice] = []

    def write(self, text: str = "", end: str = "\n") -> None:
        # A closed terminal (SIGHUP, EIO) or pipe must not turn the way out into a traceback:
        # the end of input that comes with it ends the chat.
        with contextlib.suppress(OSError, ValueError):
            self.out.write(text + end)
            self.out.flush()

    def show(self, message: EmulatedMessage) -> None:
        text, choices = render_message(message, ansi=self.ansi)
        self.write()
        self.write(text)
        if choices:
            self.choices = choices

    async def settle_replies(self, first_wait: float) -> None:
        """Print what the bot sends: wait up to `first_wait` for a first message, then keep
        printing until it has been quiet for `settle` seconds."""
        wait = first_wait
        while True:
            try:
                message = await self.trainee.next_message(timeout=wait)
            except TimeoutError:
                return
            self.show(message)
            wait = self.settle

    async def await_answer(self) -> None:
        """Print the bot's answer to what the person just did, all of it before the prompt."""
        if not self.confirms_when_handled:
            await self.settle_replies(self.reply_timeout)
            return
        try:
            await self.trainee.wait_handled(self.reply_timeout)
        except TimeoutError:
            self.write(f"(the bot is still working on it after {self.reply_timeout:g}s)")
        # Handled: what it sent is queued already; the quiet wait catches stragglers.
        await self.settle_replies(self.settle)

    async def next_line(self, lines: AsyncIterator[str]) -> str | None:
        """The person's next line (None at the end), printing bot messages meanwhile."""
        if self.scripted:
            line = await anext(lines, None)
            if line is not None:
                self.write(f"> {line.rstrip()}")
            return line
        self.write("> ", end="")
        reading = asyncio.ensure_future(anext(lines, None))
        try:
            while True:
                incoming = asyncio.ensure_future(self.trainee.next_message(timeout=None))
                done, _ = await asyncio.wait(
                    {reading, incoming}, return_when=asyncio.FIRST_COMPLETED
                )
                if incoming in done:
                    self.show(incoming.result())
                    self.write("> ", end="")
                else:
                    incoming.cancel()
                if reading in done:
                    return reading.result()
        finally:
            if not reading.done():
                reading.cancel()

    async def act(self, line: str) -> bool:
        """Do what the line says; False when it stayed in the terminal (nothing to await)."""
        if line.isdigit() and self.choices:
            number = int(line)
            if not 1 <= number <= len(self.choices):
                self.write(f"(there is no option {number}: choose 1–{len(self.choices)})")
                return False
            return await self.choose(self.choices[number - 1])
        await self.trainee.send(line)
        return True

    async def choose(self, choice: _Choice) -> bool:
        if choice.kind == "url":
            self.write(f"(🔗 {choice.url})")
            return False
        if choice.kind == "poll":
            try:
                await self.trainee.answer_poll([choice.option], message=choice.message)
            except (ValueError, LookupError) as exc:
                self.write(f"({exc})")
                return False
            self.write(f"(you answered: {choice.label})")
            return True
        try:
            answer = await self.trainee.press(
                choice.label, message=choice.message, timeout=self.reply_timeout
            )
        except LookupError:
            self.write("(that button is no longer there)")
            return False
        except TimeoutError:
            self.write("(the bot did not answer that button)")
            return False
        if answer:
            self.write(f"💬 {answer}")
        return True

    async def run(self, lines: AsyncIterator[str]) -> None:
        self.write(
            "You are chatting with the bot. Type a message (try /start); a number presses "
            "that button or picks that answer; /quit ends."
        )
        await self.settle_replies(self.settle)
        while True:
            line = await self.next_line(lines)
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            if line.lower() in QUIT_COMMANDS:
                break
            if await self.act(line):
                await self.await_answer()
        self.write()
        self.write("Bye.")


async def scripted_lines(lines: Iterable[str]) -> AsyncIterator[str]:
    """Lines for `run_terminal_chat` from a list (or a file object)."""
    for line in lines:
        yield line


async def stdin_lines(stream: IO[str] | None = None) -> AsyncIterator[str]:
    """Lines typed in the terminal, read by a daemon thread so the event loop never blocks
    and an interrupted demo exits without waiting for Enter."""
    source = stream if stream is not None else sys.stdin
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        try:
            for line in source:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:
            pass  # the loop closed while the person was still typing

    threading.Thread(target=read, name="terminal-chat-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


async def run_terminal_chat(
    trainee: Trainee,
    *,
    input_lines: AsyncIterator[str] | None = None,
    out: IO[str] = sys.stdout,
    settle: float = 0.3,
    reply_timeout: float = 5.0,
    interactive: bool | None = None,
    confirms_when_handled: bool = False,
) -> None:
    """Chat with the bot as `trainee` until `/quit` or the end of input.

    :param input_lines: the person's lines; None reads the terminal (stdin).
    :param settle: seconds of quiet after which the bot's replies count as complete.
    :param reply_timeout: how long to wait for the first reply to a line or a press.
    :param interactive: True (the default for stdin) prints a prompt and shows what the bot
        sends while the person is typing; False (the default for scripted lines) echoes each
        line after "> " so that the transcript reads like a session, and is deterministic.
    :param confirms_when_handled: the bot confirms an update only once it has handled it
        (this project's poller): the prompt then comes back when the bot has finished
        answering, however long that takes (up to `reply_timeout`), instead of after the
        first `settle` seconds of quiet.
    """
    if interactive is None:
        interactive = input_lines is None
    chat = _TerminalChat(
        trainee,
        out,
        settle,
        reply_timeout,
        scripted=not interactive,
        confirms_when_handled=confirms_when_handled,
    )
    await chat.run(input_lines if input_lines is not None else stdin_lines())


__all__ = [
    "human_size",
    "render_message",
    "run_terminal_chat",
    "scripted_lines",
    "stdin_lines",
]
