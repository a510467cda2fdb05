"""Everything the emulated Telegram knows: the bot, the people, the chats, the updates.

The Bot API methods (`trainingbot.emulator.methods`) and the test-facing side (`Trainee`)
both work on one `EmulatorState`; the HTTP server only translates requests into method
calls on it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from trainingbot.emulator.chats import ChatState, ChatWatcher
from trainingbot.emulator.errors import bad_request, forbidden
from trainingbot.emulator.formatting import Entity, EntityParseError, parse_text, trim, utf16_len
from trainingbot.emulator.limits import BotApiLimits, FloodControl
from trainingbot.emulator.models import EmulatedDocument, EmulatedMessage
from trainingbot.emulator.params import Params
from trainingbot.emulator.updates import UpdateQueue
from trainingbot.emulator.webhook import ReplyExecutor, RetryPolicy, WebhookDelivery


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to a button press (answerCallbackQuery)."""

    text: str | None
    show_alert: bool = False
    url: str | None = None


@dataclass(eq=False)
class PendingCallback:
    """A callback query the bot has yet to answer."""

    id: str
    created: float  # loop time
    answer: asyncio.Future[CallbackAnswer]


@dataclass(eq=False)
class FormattedText:
    """A text after its parse mode: what people read, its entities, and what was sent."""

    text: str
    entities: list[Entity] = field(default_factory=list)
    source: str = ""
    parse_mode: str | None = None


KEPT_DOCUMENTS = 256


def bot_id_from_token(token: str) -> int:
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else 1


class EmulatorState:
    """The emulated Telegram, without HTTP."""

    def __init__(
        self,
        token: str,
        limits: BotApiLimits,
        *,
        bot_name: str,
        bot_username: str,
        history_limit: int | None,
        first_update_id: int,
        retry: RetryPolicy,
    ) -> None:
        self.token = token
        self.limits = limits
        self.bot_user: dict[str, Any] = {
            "id": bot_id_from_token(token),
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.history_limit = history_limit
        self.updates = UpdateQueue(first_update_id)
        self.retry = retry
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, ChatState] = {}
        self.flood = FloodControl(limits)
        self.callbacks: OrderedDict[str, PendingCallback] = OrderedDict()
        # Sent documents by file_id, for sending one again; the newest few, as they hold bytes.
        self.documents: OrderedDict[str, EmulatedDocument] = OrderedDict()
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.webhook: WebhookDelivery | None = None
        # Set by the emulator: runs a method named in a webhook's answer.
        self.execute_reply: ReplyExecutor | None = None
        self._ids = itertools.count(1)
        # Watchers of every chat, present and future (see `ChatWatcher`).
        self.chat_watchers: list[ChatWatcher] = []

    # --- ids ---------------------------------------------------------------------------

    def new_id(self) -> int:
        return next(self._ids)

    def new_callback_id(self) -> str:
        # Telegram's ids are long decimal strings; the bot must not parse them.
        return str(4_611_686_018_427_387_904 + self.new_id())

    def new_poll_id(self) -> str:
        return str(5_000_000_000_000_000_000 + self.new_id())

    @staticmethod
    def now() -> int:
        return int(time.time())

    # --- people and chats --------------------------------------------------------------

    def add_chat(self, chat: dict[str, Any]) -> ChatState:
        state = self.chats.get(chat["id"])
        if state is None:
            state = self.chats[chat["id"]] = ChatState(chat, self.history_limit)
            state.watchers = self.chat_watchers  # shared: a watcher added later sees it too
        return state

    def watch_chats(self, watcher: ChatWatcher) -> None:
        """Call `watcher` on every change in every chat (see `ChatWatcher`)."""
        self.chat_watchers.append(watcher)

    def chat_for(self, params: Params, *, sending: bool = True) -> ChatState:
        """The chat a method addresses by `chat_id`, failing as Telegram does."""
        raw = params.text("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except ValueError:
            # "@channelusername": the emulator has no public channels.
            raise bad_request("chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if sending and chat.blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def admit_send(self, chat: ChatState) -> None:
        """Flood control for one more message to `chat` (a no-op unless switched on)."""
        if self.limits.flood_control:
            self.flood.admit(chat.id, group=chat.is_group, now=time.monotonic())

    def message_for(self, chat: ChatState, params: Params, missing: str) -> EmulatedMessage:
        """The bot's message named by `message_id` in `chat`, or a 400 with `missing`."""
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise bad_request(missing)
        return message

    def remember_document(self, document: EmulatedDocument) -> None:
        self.documents[document.file_id] = document
        if len(self.documents) > KEPT_DOCUMENTS:
            self.documents.popitem(last=False)

    # --- text --------------------------------------------------------------------------

    def format(
        self,
        params: Params,
        text_field: str,
        mode_field: str,
        entities_field: str,
        *,
        required: bool,
        empty_error: str,
        max_length: int,
        too_long_error: str,
    ) -> FormattedText | None:
        """Parse one text parameter as Telegram does: parse mode, trimming, length limit."""
        source = params.text(text_field)
        if source is None or source == "":
            if required:
                raise bad_request(empty_error)
            return None
        parse_mode = params.text(mode_field) or None
        entities = params.json(entities_field, f"can't parse {entities_field} JSON object")
        try:
            text, parsed = parse_text(source, parse_mode, entities)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        except ValueError:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}") from None
        text, parsed = trim(text, parsed)
        if not text:
            if required:
                raise bad_request(empty_error)
            return None
        if utf16_len(text) > max_length:
            raise bad_request(too_long_error)
        return FormattedText(text, parsed, source, parse_mode)

    # --- callback queries --------------------------------------------------------------

    def open_callback(self) -> PendingCallback:
        loop = asyncio.get_running_loop()
        now = loop.time()
        # Forget queries that can no longer be answered, so the table stays small.
        horizon = now - self.limits.callback_answer_seconds
        while self.callbacks:
            first = next(iter(self.callbacks.values()))
            if first.created >= horizon:
                break
            self.callbacks.popitem(last=False)
            if not first.answer.done():
                first.answer.cancel()
        pending = PendingCallback(self.new_callback_id(), now, loop.create_future())
        self.callbacks[pending.id] = pending
        return pending

    # --- webhook -----------------------------------------------------------------------

    async def stop_webhook(self) -> None:
        delivery, self.webhook = self.webhook, None
        self.updates.on_publish = None
        if delivery is not None:
            await delivery.stop()

    @property
    def pending_update_count(self) -> int:
        if self.webhook is not None:
            return max(self.webhook.outstanding, self.updates.pending_count)
        return self.updates.pending_count
