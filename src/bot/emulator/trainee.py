"""Emulated people: a `Trainee` writes to the bot, presses its buttons, answers its polls and
reads what it sends back; a `Group` is a group chat where several of them write.
"""

# Waits take `timeout=` seconds: the documented interface of the emulator's test API.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from trainingbot.emulator.chats import ChatState
from trainingbot.emulator.formatting import bot_command_entities
from trainingbot.emulator.methods.polls import record_vote
from trainingbot.emulator.models import EmulatedMessage
from trainingbot.emulator.state import CallbackAnswer, EmulatorState

if TYPE_CHECKING:
    from trainingbot.emulator.server import BotApiEmulator


def make_user(
    user_id: int,
    first_name: str,
    username: str | None = None,
    language_code: str | None = "en",
    last_name: str | None = None,
) -> dict[str, Any]:
    """The Bot API `User` object of an emulated person."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


class Trainee:
    """One person in one chat with the bot (their private chat, or a group)."""

    def __init__(self, state: EmulatorState, user: dict[str, Any], chat: ChatState) -> None:
        self._state = state
        self.user = user
        self.chat = chat
        self.last_answer: CallbackAnswer | None = None
        # Telegram gives each (person, chat) pair an opaque, stable chat_instance.
        self._chat_instance = str(abs(hash((user["id"], chat.id))) % 10**18)

    def __repr__(self) -> str:
        return f"Trainee(user_id={self.user_id}, chat_id={self.chat_id})"

    @property
    def user_id(self) -> int:
        return self.user["id"]

    @property
    def chat_id(self) -> int:
        return self.chat.id

    @property
    def messages(self) -> list[EmulatedMessage]:
        """The bot's messages in this chat, oldest first, as they are now (edits applied)."""
        return list(self.chat.messages.values())

    # --- writing -----------------------------------------------------------------------

    async def send(self, text: str) -> int | None:
        """Send a text message to the bot; commands get `bot_command` entities as on
        Telegram. Returns the update id (None if the bot's allowed_updates exclude it)."""
        if not text:
            raise ValueError("Telegram clients do not send empty messages")
        message: dict[str, Any] = {
            "message_id": self.chat.next_message_id(),
            "from": self.user,
            "chat": self.chat.chat,
            "date": self._state.now(),
            "text": text,
        }
        entities = bot_command_entities(text)
        if entities:
            message["entities"] = entities
        self.chat.tell("sent", message)
        return self._state.updates.publish("message", message)

    # --- reading -----------------------------------------------------------------------

    async def next_message(self, timeout: float = 5.0) -> EmulatedMessage:
        """The next message the bot sent to this chat, or an edit of one (`edited=True`).

        Every send and every edit is queued in order, so none is missed however late a
        test starts waiting. `TimeoutError` if nothing comes within `timeout` seconds."""
        try:
            return await self.chat.mailbox.get(timeout)
        except TimeoutError:
            latest = self.messages[-1] if self.messages else None
            raise TimeoutError(
                f"the bot sent nothing to chat {self.chat_id} within {timeout:g}s "
                f"(its latest message there: {latest!r})"
            ) from None

    async def wait_handled(self, timeout: float = 30.0) -> None:
        """Wait until the bot has confirmed every update so far: a bot that confirms an
        update only once it is handled (this project's poller) has then finished answering.
        `TimeoutError` if it has not within `timeout` seconds."""
        async with asyncio.timeout(timeout):
            # Rare and short (one wait per line typed in the demo): polling is simplest.
            while self._state.pending_update_count:  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    def drain(self) -> list[EmulatedMessage]:
        """Everything queued for this chat right now, without waiting."""
        drained = []
        while (message := self.chat.mailbox.get_nowait()) is not None:
            drained.append(message)
        return drained

    async def expect_no_message(self, within: float = 0.5) -> None:
        """Assert that the bot sends nothing more to this chat within `within` seconds."""
        try:
            message = await self.chat.mailbox.get(within)
        except TimeoutError:
            return
        raise AssertionError(f"expected no message in chat {self.chat_id}, got {message!r}")

    # --- buttons -----------------------------------------------------------------------

    async def press(
        self,
        label: str,
        *,
        message: EmulatedMessage | None = None,
        timeout: float = 5.0,
        wait: bool = True,
    ) -> str | None:
        """Press the inline button labelled `label` on `message`, or on the latest message
        that has one. Waits until the bot answers the callback query and returns the
        answer's text (None if it answered without text); `wait=False` returns at once."""
        target = self._live(message) if message is not None else self.chat.latest_with_button(label)
        if target is None:
            raise LookupError(
                f"no message of the bot in chat {self.chat_id} has a button {label!r}; "
                f"buttons on its latest messages: {self.chat.button_labels()}"
            )
        button = target.button(label)
        if "callback_data" not in button:
            where = button.get("url", "somewhere else")
            raise ValueError(f"button {label!r} opens {where}; it sends the bot nothing")
        return await self._press(target, button["callback_data"], repr(label), timeout, wait)

    async def press_data(
        self,
        data: str,
        *,
        message: EmulatedMessage | None = None,
        timeout: float = 5.0,
        wait: bool = True,
    ) -> str | None:
        """Send a callback query with raw `data` from `message` (default: the latest message
        with a keyboard, else the latest message): a tampered or stale button."""
        if message is not None:
            target = self._live(message)
        else:
            target = self.chat.latest_with_keyboard() or (
                self.messages[-1] if self.messages else None
            )
        if target is None:
            raise LookupError(f"the bot has sent nothing to chat {self.chat_id} to press on")
        return await self._press(target, data, repr(data), timeout, wait)

    def _live(self, message: EmulatedMessage) -> EmulatedMessage:
        live = self.chat.messages.get(message.message_id)
        if live is None:
            raise LookupError(f"message {message.message_id} is no longer in chat {self.chat_id}")
        return live

    async def _press(
        self, target: EmulatedMessage, data: str, what: str, timeout: float, wait: bool
    ) -> str | None:
        state = self._state
        pending = state.open_callback()
        update_id = state.updates.publish(
            "callback_query",
            {
                "id": pending.id,
                "from": self.user,
                "message": target.to_api(self.chat.chat, state.bot_user),
                "chat_instance": self._chat_instance,
                "data": data,
            },
        )
        if update_id is None:
            raise RuntimeError("the bot's allowed_updates exclude callback_query updates")
        if not wait:
            return None
        try:
            async with asyncio.timeout(timeout):
                # Shielded: giving up waiting must not make a late answer fail.
                answer = await asyncio.shield(pending.answer)
        except TimeoutError:
            raise TimeoutError(
                f"the bot did not answer the press of {what} in chat {self.chat_id} "
                f"within {timeout:g}s (answerCallbackQuery); Telegram clients keep "
                "spinning until it does"
            ) from None
        self.last_answer = answer
        return answer.text

    # --- polls -------------------------------------------------------------------------

    async def answer_poll(
        self, option_ids: list[int], *, message: EmulatedMessage | None = None
    ) -> int | None:
        """Vote in `message`'s poll (default: the latest open poll in this chat).

        For a non-anonymous poll the bot gets a `poll_answer` naming this person (its update
        id is returned); for an anonymous one it gets only new counts (None is returned)."""
        target = self._live(message) if message is not None else self.chat.latest_poll()
        if target is None:
            raise LookupError(f"there is no open poll in chat {self.chat_id}")
        update_id = record_vote(self._state, target, self.user, list(option_ids))
        self.chat.tell("changed", target)
        return update_id

    # --- load driving ------------------------------------------------------------------

    async def send_and_wait(self, text: str, timeout: float = 5.0) -> tuple[EmulatedMessage, float]:
        """Send `text`, wait for the bot's next message; return it and the round trip in
        seconds (what a person waits, emulator overhead included)."""
        started = time.perf_counter()
        await self.send(text)
        message = await self.next_message(timeout)
        return message, time.perf_counter() - started

    async def press_and_wait(
        self, label: str, *, message: EmulatedMessage | None = None, timeout: float = 5.0
    ) -> tuple[EmulatedMessage, float]:
        """Press a button and wait for the bot's next message or edit; return it and the
        round trip in seconds. The callback answer is not awaited separately."""
        started = time.perf_counter()
        await self.press(label, message=message, timeout=timeout, wait=False)
        reply = await self.next_message(timeout)
        return reply, time.perf_counter() - started

    # --- blocking ----------------------------------------------------------------------

    def block_bot(self) -> None:
        """Block the bot: it gets a `my_chat_member` update and 403s on every send here."""
        self._set_member_status("kicked")

    def unblock_bot(self) -> None:
        self._set_member_status("member")

    def _set_member_status(self, status: str) -> None:
        if self.chat.is_group:
            raise ValueError("people block bots in private chats; this trainee is in a group")
        was = "kicked" if self.chat.blocked else "member"
        if was == status:
            return
        self.chat.blocked = status == "kicked"
        new: dict[str, Any] = {"user": self._state.bot_user, "status": status}
        if status == "kicked":
            new["until_date"] = 0
        self._state.updates.publish(
            "my_chat_member",
            {
                "chat": self.chat.chat,
                "from": self.user,
                "date": self._state.now(),
                "old_chat_member": {
                    "user": self._state.bot_user,
                    "status": was,
                    **({"until_date": 0} if was == "kicked" else {}),
                },
                "new_chat_member": new,
            },
        )


class Group:
    """A group chat with the bot; its members share the chat's message queue."""

    def __init__(self, emulator: BotApiEmulator, chat: ChatState) -> None:
        self._emulator = emulator
        self.chat = chat

    @property
    def chat_id(self) -> int:
        return self.chat.id

    @property
    def title(self) -> str:
        return self.chat.chat["title"]

    def member(
        self,
        user_id: int,
        first_name: str = "Member",
        username: str | None = None,
        language_code: str | None = "en",
    ) -> Trainee:
        """A person writing in this group (`send`, `press`, `answer_poll` as a trainee)."""
        user = make_user(user_id, first_name, username, language_code)
        return self._emulator._member(self.chat, user)

    @property
    def messages(self) -> list[EmulatedMessage]:
        return list(self.chat.messages.values())

    async def next_message(self, timeout: float = 5.0) -> EmulatedMessage:
        try:
            return await self.chat.mailbox.get(timeout)
        except TimeoutError:
            raise TimeoutError(
                f"the bot sent nothing to group {self.chat_id} within {timeout:g}s"
            ) from None
