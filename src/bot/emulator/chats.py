"""The chats the bot can write to, and what it wrote there.

Each chat keeps the bot's messages (live, edits applied in place) and a mailbox of
snapshots in the order they happened, which `Trainee.next_message` reads: a test never
misses a message, however late it starts waiting.
"""

# Waits take `timeout=` seconds: the documented interface of the emulator's test API.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from trainingbot.emulator.models import EmulatedMessage

T = TypeVar("T")

# Told of every change in a chat, as (what, chat, subject): "message" and "changed" with the
# live message, "deleted" with its id, "sent" with the person's Bot API message. Views (the
# demo's web page) follow the chats this way without taking from the mailbox tests read.
ChatWatcher = Callable[[str, "ChatState", Any], None]


class Mailbox(Generic[T]):
    """A FIFO that readers await with a timeout; putting never blocks."""

    def __init__(self, maxlen: int | None = None) -> None:
        self._items: deque[T] = deque(maxlen=maxlen)
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        self._items.append(item)
        self._changed.set()

    def get_nowait(self) -> T | None:
        return self._items.popleft() if self._items else None

    async def get(self, timeout: float | None) -> T:
        """The oldest item, waiting up to `timeout` seconds; `TimeoutError` after that.

        Cancelling a waiting `get` takes nothing out of the mailbox.
        """
        if self._items:
            return self._items.popleft()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self._items:
            self._changed.clear()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                await self._changed.wait()
        return self._items.popleft()


class ChatState:
    """One chat as the emulator knows it: who is in it and what the bot sent there."""

    def __init__(self, chat: dict[str, Any], history_limit: int | None = None) -> None:
        self.chat = chat  # the Bot API Chat object
        self.id: int = chat["id"]
        self.is_group = chat["type"] != "private"
        self.blocked = False  # the person blocked the bot (private chats)
        self.last_message_id = 0
        self.history_limit = history_limit
        self.messages: OrderedDict[int, EmulatedMessage] = OrderedDict()
        self.deleted_ids: set[int] = set()
        # A history limit bounds the unread queue too: load tests that do not read every
        # reply must not grow memory without end.
        self.mailbox: Mailbox[EmulatedMessage] = Mailbox(history_limit)
        self.chat_actions: deque[str] = deque(maxlen=32)
        self.watchers: list[ChatWatcher] = []

    def tell(self, what: str, subject: Any) -> None:
        for watcher in self.watchers:
            watcher(what, self, subject)

    def next_message_id(self) -> int:
        # Telegram numbers messages per private chat or group, people's and the bot's alike.
        self.last_message_id += 1
        return self.last_message_id

    def add(self, message: EmulatedMessage) -> None:
        """A new message of the bot: keep it and tell whoever waits on this chat."""
        self.messages[message.message_id] = message
        if self.history_limit is not None and len(self.messages) > self.history_limit:
            self.messages.popitem(last=False)
        self.mailbox.put(message.snapshot())
        self.tell("message", message)

    def edited(self, message: EmulatedMessage) -> None:
        """The live `message` was just edited in place."""
        message.edited = True
        message.edit_date = int(time.time())
        self.mailbox.put(message.snapshot())
        self.tell("changed", message)

    def delete(self, message_id: int) -> bool:
        """Delete a message (the bot's or the person's); False if there is none to delete."""
        if message_id in self.messages:
            del self.messages[message_id]
        elif not 0 < message_id <= self.last_message_id or message_id in self.deleted_ids:
            return False
        self.deleted_ids.add(message_id)
        self.tell("deleted", message_id)
        return True

    def latest_with_button(self, label: str) -> EmulatedMessage | None:
        for message in reversed(self.messages.values()):
            if message.has_button(label):
                return message
        return None

    def latest_with_keyboard(self) -> EmulatedMessage | None:
        for message in reversed(self.messages.values()):
            if message.inline_keyboard:
                return message
        return None

    def latest_poll(self) -> EmulatedMessage | None:
        for message in reversed(self.messages.values()):
            if message.poll is not None and not message.poll.is_closed:
                return message
        return None

    def button_labels(self, last: int = 3) -> list[list[list[str]]]:
        """Labels on the last few messages with a keyboard, for error messages."""
        found = []
        for message in reversed(self.messages.values()):
            if message.inline_keyboard:
                found.append(message.buttons)
                if len(found) == last:
                    break
        return found
