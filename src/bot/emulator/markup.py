"""Validation of `reply_markup`, with Telegram's error texts.

An inline keyboard is where Telegram is strictest and where bots most often break: callback
data must be 1-64 bytes ("BUTTON_DATA_INVALID"), a button needs exactly one action, a URL
button needs a URL Telegram accepts ("BUTTON_URL_INVALID").
"""

from __future__ import annotations

from typing import Any

from trainingbot.emulator.errors import bad_request
from trainingbot.emulator.formatting import checked_link
from trainingbot.emulator.limits import BotApiLimits

_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON = "can't parse inline keyboard button"


def validate_reply_markup(markup: Any, limits: BotApiLimits) -> dict[str, Any] | None:
    """The markup as stored, or a 400 naming what Telegram would reject."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return {"inline_keyboard": _inline_keyboard(markup["inline_keyboard"], limits)}
    if "keyboard" in markup or "remove_keyboard" in markup or "force_reply" in markup:
        # Reply keyboards are shown by clients, never pressed through the Bot API: keep them.
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_keyboard(rows: Any, limits: BotApiLimits) -> list[list[dict[str, Any]]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    if sum(len(row) for row in rows) > limits.max_inline_buttons:
        raise bad_request("reply markup is too long")
    return [[_button(button, limits) for button in row] for row in rows]


def _button(button: Any, limits: BotApiLimits) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise bad_request(f"{_BUTTON}: InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(f'{_BUTTON}: Field "text" must be of type String')
    actions = [name for name in _BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise bad_request(f"{_BUTTON}: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str):
            raise bad_request(f'{_BUTTON}: Field "callback_data" must be of type String')
        if not 1 <= len(data.encode("utf-8")) <= limits.max_callback_data_bytes:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in actions:
        url = button["url"]
        if not isinstance(url, str) or checked_link(url) is None:
            raise bad_request("BUTTON_URL_INVALID")
    kept = {"text": text}
    kept.update({name: button[name] for name in actions})
    return kept
