"""answerCallbackQuery: the bot's answer to a button press."""

from __future__ import annotations

import asyncio

from trainingbot.emulator.errors import QUERY_TOO_OLD, bad_request
from trainingbot.emulator.methods.registry import method
from trainingbot.emulator.params import Params
from trainingbot.emulator.state import CallbackAnswer, EmulatorState


@method("answerCallbackQuery")
async def answer_callback_query(state: EmulatorState, params: Params) -> bool:
    text = params.text("text")
    if text and len(text) > state.limits.max_callback_answer_length:
        raise bad_request("MESSAGE_TOO_LONG")
    pending = state.callbacks.get(params.text("callback_query_id") or "")
    now = asyncio.get_running_loop().time()
    # Each query is answered at most once, and only while the person's client still waits.
    if (
        pending is None
        or pending.answer.done()
        or now - pending.created > state.limits.callback_answer_seconds
    ):
        raise bad_request(QUERY_TOO_OLD)
    pending.answer.set_result(
        CallbackAnswer(text or None, params.flag("show_alert"), params.text("url"))
    )
    return True
