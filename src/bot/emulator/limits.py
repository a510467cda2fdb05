"""Telegram's limits, and its flood control as sliding windows.

The size limits are always enforced (a too-long message is a 400 as on Telegram). Flood
control is off by default, so that tests of the trainee flow are not paced by it, and on
with `BotApiLimits(flood_control=True)` for tests of the bot's own rate limiting.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from trainingbot.emulator.errors import too_many_requests


@dataclass(frozen=True)
class BotApiLimits:
    """What the emulator enforces. The defaults are Telegram's documented limits."""

    # Message text after entity parsing, in UTF-16 code units (how Telegram counts).
    max_message_length: int = 4096
    max_caption_length: int = 1024
    # InlineKeyboardButton.callback_data, in bytes of UTF-8.
    max_callback_data_bytes: int = 64
    # Telegram answers "reply markup is too long" well before this many buttons matter to us.
    max_inline_buttons: int = 100
    # answerCallbackQuery text, in characters.
    max_callback_answer_length: int = 200
    # How long a callback query can be answered; Telegram's clients give up after about 15 s.
    callback_answer_seconds: float = 15.0
    max_poll_question_length: int = 300
    # The limits the project's content is validated against. Bot API 9.x accepts 1-12
    # options; a stricter emulator makes sure the bot never relies on the newer range.
    min_poll_options: int = 2
    max_poll_options: int = 10
    max_poll_option_length: int = 100
    max_poll_explanation_length: int = 200
    max_poll_explanation_line_feeds: int = 2
    # Bots may upload documents of up to 50 MB.
    max_upload_bytes: int = 50 * 1024 * 1024

    # Counts sendMessage, sendPoll and sendDocument (edits, answers and chat actions are not
    # messages); a send over a limit is refused with 429 and not counted.
    flood_control: bool = False
    # Telegram: "avoid sending more than one message per second in a particular chat".
    private_chat_messages_per_second: int = 1
    # Telegram: "bots are not be able to send more than 20 messages per minute to the same group".
    group_chat_messages_per_minute: int = 20
    # Telegram: "the API will not allow bulk notifications to more than ~30 users per second".
    messages_per_second: int = 30


class _Window:
    """Timestamps of accepted sends within the last `seconds`, at most `limit` of them."""

    __slots__ = ("limit", "seconds", "stamps")

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.stamps: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        """Seconds until one more send fits; 0 when it fits now."""
        stamps = self.stamps
        while stamps and stamps[0] <= now - self.seconds:
            stamps.popleft()
        if len(stamps) < self.limit:
            return 0.0
        return stamps[0] + self.seconds - now


class FloodControl:
    """Counts sends per chat and overall; raises Telegram's 429 when a window is full."""

    def __init__(self, limits: BotApiLimits) -> None:
        self._limits = limits
        self._overall = _Window(limits.messages_per_second, 1.0)
        self._chats: dict[int, _Window] = {}

    def admit(self, chat_id: int, *, group: bool, now: float) -> None:
        """Record one send to `chat_id`, or raise `ApiError(429)` with `retry_after`."""
        chat = self._chats.get(chat_id)
        if chat is None:
            if group:
                chat = _Window(self._limits.group_chat_messages_per_minute, 60.0)
            else:
                chat = _Window(self._limits.private_chat_messages_per_second, 1.0)
            self._chats[chat_id] = chat
        wait = max(self._overall.wait_needed(now), chat.wait_needed(now))
        if wait > 0:
            # Telegram's retry_after is whole seconds and never zero.
            raise too_many_requests(max(1, math.ceil(wait)))
        self._overall.stamps.append(now)
        chat.stamps.append(now)
