"""The emulator's chats as the web page shows them: pure functions from messages to JSON.

A message's HTML is built from its plain text and entities (what a Telegram client renders),
never from what the bot sent: every character is escaped and only the tags of Telegram's
subset are written, so the page can insert it as HTML safely.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit

from trainingbot.emulator.formatting import Entity, utf16_slices
from trainingbot.emulator.models import EmulatedMessage, EmulatedPoll

_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote>", "</blockquote>"),
}
# Schemes a link may open; anything else (javascript:, data:) is shown as text only.
_SAFE_SCHEMES = frozenset({"http", "https", "tg", "mailto"})


def safe_url(url: str) -> str | None:
    scheme = urlsplit(url).scheme.lower()
    return url if scheme in _SAFE_SCHEMES else None


def _link(url: str | None) -> tuple[str, str]:
    if url is None:
        return "", ""
    href = html.escape(url, quote=True)
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer">', "</a>"


def entities_to_html(text: str, entities: list[Entity]) -> str:
    """`text` as HTML with Telegram's formatting entities; line breaks as <br>."""
    index = utf16_slices(text)
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    for entity in entities:  # sorted by offset, longest first: outer tags open first
        start = index.get(entity["offset"])
        end = index.get(entity["offset"] + entity["length"])
        if start is None or end is None or start >= end:
            continue
        kind = entity["type"]
        if kind in _TAGS:
            before, after = _TAGS[kind]
        elif kind == "text_link":
            before, after = _link(safe_url(entity.get("url", "")))
        elif kind == "url":
            before, after = _link(safe_url(text[start:end]))
        else:
            continue
        opens.setdefault(start, []).append(before)
        closes.setdefault(end, []).insert(0, after)
    parts: list[str] = []
    for position in range(len(text) + 1):
        parts.extend(closes.get(position, ()))
        parts.extend(opens.get(position, ()))
        if position < len(text):
            char = text[position]
            parts.append("<br>" if char == "\n" else html.escape(char))
    return "".join(parts)


def poll_view(poll: EmulatedPoll, voter_id: int) -> dict[str, Any]:
    """A poll as one person sees it: the right answer and the explanation of a quiz only
    once they have answered (or it is closed), as Telegram reveals them."""
    chosen = poll.answers.get(voter_id, [])
    revealed = bool(chosen) or poll.is_closed
    view: dict[str, Any] = {
        "question": html.escape(poll.question),
        "options": [html.escape(option) for option in poll.options],
        "counts": list(poll.voter_counts),
        "quiz": poll.is_quiz,
        "closed": poll.is_closed,
        "chosen": list(chosen),
        "correct": list(poll.correct_option_ids) if poll.is_quiz and revealed else [],
        "explanation": None,
    }
    if revealed and poll.explanation:
        view["explanation"] = entities_to_html(poll.explanation, poll.explanation_entities)
    return view


def bot_message_view(message: EmulatedMessage, voter_id: int) -> dict[str, Any]:
    """One message of the bot, for the page (`voter_id`: whose poll answers to show)."""
    keyboard = []
    for row_number, row in enumerate(message.inline_keyboard):
        cells = []
        for column, button in enumerate(row):
            cell: dict[str, Any] = {"text": button["text"], "row": row_number, "col": column}
            if "url" in button:
                cell["url"] = safe_url(button["url"])
            cells.append(cell)
        keyboard.append(cells)
    view: dict[str, Any] = {
        "id": message.message_id,
        "from": "bot",
        "kind": message.kind,
        "html": entities_to_html(message.text, message.entities) if message.text else "",
        "edited": message.edited,
        "keyboard": keyboard,
    }
    if message.poll is not None:
        view["html"] = ""
        view["poll"] = poll_view(message.poll, voter_id)
    if message.document is not None:
        view["document"] = {"name": message.document.filename, "size": message.document.size}
    return view


def person_message_view(message: dict[str, Any]) -> dict[str, Any]:
    """A message the person sent (a Bot API `Message`), for the page."""
    return {
        "id": message["message_id"],
        "from": "person",
        "kind": "text",
        "html": html.escape(message.get("text", "")).replace("\n", "<br>"),
        "edited": False,
        "keyboard": [],
    }
