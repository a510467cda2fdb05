"""Telegram's limits on what the bot sends, and helpers that keep texts inside them."""

from __future__ import annotations

from html import escape

MESSAGE_LIMIT = 4096  # characters of a message text after entity parsing
CALLBACK_ANSWER_LIMIT = 200  # characters of answerCallbackQuery text
POLL_EXPLANATION_LIMIT = 200
CAPTION_LIMIT = 1024
# A name, a title or a broadcast is shown inside a longer message; these bounds keep the
# whole message under MESSAGE_LIMIT whatever a person typed.
NAME_LIMIT = 64
BROADCAST_LIMIT = 3500


def utf16_len(text: str) -> int:
    """Telegram counts UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 units, with an ellipsis when cut."""
    if utf16_len(text) <= limit:
        return text
    out = []
    used = 0
    for char in text:
        size = utf16_len(char)
        if used + size > limit - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + "…"


def name(text: str | None) -> str:
    """A person's name or a title typed by someone, safe in HTML and bounded."""
    return escape(clip(text or "", NAME_LIMIT))


def join_within(lines: list[str], limit: int = MESSAGE_LIMIT, more: str = "…") -> str:
    """Join lines; drop the tail (ending in `more`) rather than exceed `limit`.

    Lines are HTML; the visible length is at most the raw length, so measuring the raw text
    is on the safe side.
    """
    text = "\n".join(lines)
    if utf16_len(text) <= limit:
        return text
    kept: list[str] = []
    for line in lines:
        candidate = "\n".join([*kept, line, more])
        if utf16_len(candidate) > limit:
            break
        kept.append(line)
    return "\n".join([*kept, more])
