"""What the bot sent, as a test sees it: messages, polls and documents.

An `EmulatedMessage` is one message of the bot in one chat. The chat keeps the live version
(edits change it in place); the queue a test reads with `next_message` holds snapshots, so a
message taken from the queue shows what the bot sent at that moment, and an edit arrives as
a snapshot of its own with `edited=True`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from trainingbot.emulator.formatting import Entity


@dataclass(eq=False)
class EmulatedPoll:
    """A poll the bot sent, with the answers the emulated people gave."""

    id: str
    question: str
    options: list[str]
    type: str  # "regular" or "quiz"
    is_anonymous: bool
    allows_multiple_answers: bool = False
    # Telegram's default: a vote in a quiz is final, a vote in a regular poll can change.
    allows_revoting: bool = False
    # Bot API 9.6 lets a quiz have several right options; correct_option_id is the first.
    correct_option_ids: list[int] = field(default_factory=list)
    explanation: str | None = None
    explanation_entities: list[Entity] = field(default_factory=list)
    is_closed: bool = False
    voter_counts: list[int] = field(default_factory=list)
    # user id -> chosen option ids; anonymous polls keep this too, Telegram only hides it.
    answers: dict[int, list[int]] = field(default_factory=dict)

    @property
    def is_quiz(self) -> bool:
        return self.type == "quiz"

    @property
    def correct_option_id(self) -> int | None:
        return self.correct_option_ids[0] if self.correct_option_ids else None

    @property
    def total_voter_count(self) -> int:
        return sum(1 for chosen in self.answers.values() if chosen)

    def to_api(self) -> dict[str, Any]:
        """The Bot API `Poll` object (as the bot, its creator, sees it)."""
        poll: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "options": [
                {"persistent_id": str(number), "text": text, "voter_count": count}
                for number, (text, count) in enumerate(
                    zip(self.options, self.voter_counts, strict=True)
                )
            ],
            "total_voter_count": self.total_voter_count,
            "is_closed": self.is_closed,
            "is_anonymous": self.is_anonymous,
            "type": self.type,
            "allows_multiple_answers": self.allows_multiple_answers,
            "allows_revoting": self.allows_revoting,
            "members_only": False,
        }
        if self.correct_option_ids:
            poll["correct_option_ids"] = list(self.correct_option_ids)
            # Deprecated since Bot API 9.6, still sent for clients that read it.
            poll["correct_option_id"] = self.correct_option_ids[0]
        if self.explanation:
            poll["explanation"] = self.explanation
            if self.explanation_entities:
                poll["explanation_entities"] = self.explanation_entities
        return poll


@dataclass(eq=False)
class EmulatedDocument:
    """A document the bot uploaded: the file name and bytes exactly as received."""

    filename: str
    data: bytes
    mime_type: str | None
    file_id: str
    file_unique_id: str
    caption: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def bytes(self) -> bytes:
        """The file's content (the same as `data`)."""
        return self.data

    def to_api(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.filename,
            "file_size": self.size,
        }
        if self.mime_type:
            document["mime_type"] = self.mime_type
        return document


@dataclass(eq=False)
class EmulatedMessage:
    """One message of the bot in one chat.

    `text` is the plain text a person reads (entities parsed away); for a document it is the
    caption, for a poll the question, so that `"…" in m.text` works for every kind. `html`
    is the text exactly as the bot sent it (with its markup, see `parse_mode`).
    """

    chat_id: int
    message_id: int
    date: int
    method: str  # sendMessage, sendPoll or sendDocument: what created it
    text: str = ""
    html: str = ""
    parse_mode: str | None = None
    entities: list[Entity] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    link_preview_options: dict[str, Any] | None = None
    poll: EmulatedPoll | None = None
    document: EmulatedDocument | None = None
    edited: bool = False
    edit_date: int | None = None

    @property
    def kind(self) -> str:
        if self.poll is not None:
            return "poll"
        if self.document is not None:
            return "document"
        return "text"

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        if not self.reply_markup:
            return []
        return self.reply_markup.get("inline_keyboard") or []

    @property
    def buttons(self) -> list[list[str]]:
        """The labels of the inline keyboard, row by row."""
        return [[button["text"] for button in row] for row in self.inline_keyboard]

    def button(self, label: str) -> dict[str, Any]:
        """The inline button with this label; `LookupError` naming the labels there are."""
        for row in self.inline_keyboard:
            for button in row:
                if button["text"] == label:
                    return button
        raise LookupError(
            f"message {self.message_id} has no button {label!r}; its buttons are {self.buttons}"
        )

    def has_button(self, label: str) -> bool:
        return any(button["text"] == label for row in self.inline_keyboard for button in row)

    def callback_data(self, label: str) -> str:
        """The callback data of the button with this label."""
        button = self.button(label)
        if "callback_data" not in button:
            raise LookupError(f"button {label!r} of message {self.message_id} has no callback data")
        return button["callback_data"]

    def snapshot(self) -> EmulatedMessage:
        """A copy that later edits of the live message do not change.

        Shallow on purpose (this runs for every message the bot sends): edits replace the
        text, entities and markup rather than mutate them; only a poll changes in place.
        """
        clone = copy.copy(self)
        if self.poll is not None:
            clone.poll = copy.copy(self.poll)
            clone.poll.voter_counts = list(self.poll.voter_counts)
            clone.poll.answers = dict(self.poll.answers)
        return clone

    def to_api(self, chat: dict[str, Any], bot_user: dict[str, Any]) -> dict[str, Any]:
        """The Bot API `Message` object of this message."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": bot_user,
            "chat": chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.poll is not None:
            message["poll"] = self.poll.to_api()
        elif self.document is not None:
            message["document"] = self.document.to_api()
            if self.text:
                message["caption"] = self.text
                if self.entities:
                    message["caption_entities"] = self.entities
        else:
            message["text"] = self.text
            if self.entities:
                message["entities"] = self.entities
            if self.link_preview_options:
                message["link_preview_options"] = self.link_preview_options
        if self.reply_markup and self.reply_markup.get("inline_keyboard"):
            message["reply_markup"] = {"inline_keyboard": self.reply_markup["inline_keyboard"]}
        return message

    def __repr__(self) -> str:
        state = ", edited" if self.edited else ""
        buttons = f", buttons={self.buttons}" if self.inline_keyboard else ""
        return (
            f"EmulatedMessage(chat={self.chat_id}, id={self.message_id}, {self.kind}{state}, "
            f"text={self.text[:60]!r}{buttons})"
        )
