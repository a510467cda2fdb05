"""A local Telegram Bot API for tests and `training-bot demo`: no token, no network.

It serves the Bot API's HTTP shape for the methods the bot uses, enforces Telegram's limits
with Telegram's error texts, delivers updates by getUpdates or webhook, and lets tests act
as the people the bot talks to.

Starting it and pointing a bot at it::

    from trainingbot.emulator import BotApiEmulator, BotApiLimits

    async with BotApiEmulator(token="123456:TEST", port=0, limits=BotApiLimits()) as emu:
        emu.base_url        # "http://127.0.0.1:PORT": the bot's BOT_API_BASE_URL
        emu.token
        # aiogram: Bot(emu.token, session=AiohttpSession(
        #     api=TelegramAPIServer.from_base(emu.base_url)))

Acting as a trainee (the private chat id is the user id)::

    t = emu.trainee(user_id=1001, first_name="Ada", username="ada", language_code="en")
    await t.send("/start course_on-call-101")   # -> update id; commands get entities
    m = await t.next_message(timeout=5.0)       # next message or edit the bot sent here
    m.text          # plain text as read (a document's caption, a poll's question)
    m.html          # the text exactly as the bot sent it; m.parse_mode says in which mode
    m.entities, m.buttons (list[list[str]]), m.callback_data("Next ▶"), m.message_id
    m.poll          # EmulatedPoll: question, options, type, correct_option_id,
                    # is_anonymous, explanation, voter_counts, is_closed; or None
    m.document      # EmulatedDocument: filename, data (also .bytes), caption, mime_type
    m.edited        # True when this is an edit (editMessageText/ReplyMarkup/Caption,
                    # stopPoll) of an earlier message: same message_id, new content
    await t.press("Next ▶")             # on the latest message with that button (or
                                        # message=m); returns the answerCallbackQuery text
    await t.press_data("l:n:x:y", message=m)   # raw callback data (tampering tests)
    await t.answer_poll([1])            # vote in the latest open poll (or message=m)
    await t.expect_no_message(within=0.5)
    t.messages      # the bot's messages in this chat, oldest first, edits applied,
                    # deleted ones gone
    t.drain()       # whatever is queued now, without waiting
    t.block_bot(); t.unblock_bot()      # 403 "Forbidden: bot was blocked by the user"

Every send and every edit is queued per chat as a snapshot, in order: a test never misses
one, and `next_message` returns an edit as an `EmulatedMessage` with `edited=True`.

Group chats (for per-group rate limits)::

    g = emu.group(-1001234, "On-call team")
    ada = g.member(1001, "Ada")
    await ada.send("/stats"); m = await g.next_message()

Updates and faults::

    await emu.redeliver(update_id)      # the same update again (duplicate delivery)
    emu.push_update("message", {...})   # a hand-made update
    emu.fail_next("sendMessage", 429, retry_after=1)   # or 500, 502, times=K
    emu.limits = BotApiLimits(flood_control=True)      # 1/s per chat, 20/min per group,
                                                       # 30/s overall -> 429 retry_after
    emu.pending_update_count, emu.webhook_url, emu.webhook_last_error
    await emu.wait_until_delivered(timeout=5)
    emu.requests    # deque of ApiCall(method, params), newest last (bounded;
                    # BotApiEmulator(record_requests=False) turns it off)
    emu.calls("sendMessage")            # params of each logged sendMessage
    emu.method_counts                   # Counter of calls per method (always on)
    await emu.call("sendMessage", {"chat_id": 1001, "text": "hi"})  # in-process

What is faithful to Telegram, deliberately:

* a poll is anonymous unless `is_anonymous=false`, and an anonymous poll never yields a
  `poll_answer` (only `poll` updates with counts);
* while a webhook is set, getUpdates is a 409; a second concurrent getUpdates terminates
  the first with a 409; webhook deliveries carry `X-Telegram-Bot-Api-Secret-Token`, are
  retried with backoff on non-2xx, timeouts and refused connections (visible in
  getWebhookInfo's pending_update_count and last_error_message), run at most
  `max_connections` at a time, and keep each chat's updates in order;
* text limits count UTF-16 units after entity parsing; HTML, MarkdownV2 and Markdown are
  parsed with TDLib's rules and error texts; callback data is 1-64 bytes.

Deliberate differences: webhooks may be plain HTTP on any port (Telegram needs HTTPS on
443/80/88/8443); retries come after tens of milliseconds, not minutes; inline mode,
media other than documents, and channels are not emulated.

Load driving: `t.send_and_wait(text)` and `t.press_and_wait(label)` return the bot's reply
and the round trip in seconds. For benchmarks use `record_requests=False` and a
`history_limit` (it bounds each chat's kept messages and unread queue), so that memory stays
flat however long the run.

`trainingbot.emulator.terminal.run_terminal_chat(trainee)` is the terminal chat of
`training-bot demo`, and `trainingbot.emulator.web.ChatPage(emu, people)` its web page: both
are views of the same chats (`emu.state.watch_chats(callback)` follows every change).
"""

from trainingbot.emulator.errors import ApiError
from trainingbot.emulator.limits import BotApiLimits
from trainingbot.emulator.models import EmulatedDocument, EmulatedMessage, EmulatedPoll
from trainingbot.emulator.server import ApiCall, BotApiEmulator
from trainingbot.emulator.state import CallbackAnswer
from trainingbot.emulator.trainee import Group, Trainee

__all__ = [
    "ApiCall",
    "ApiError",
    "BotApiEmulator",
    "BotApiLimits",
    "CallbackAnswer",
    "EmulatedDocument",
    "EmulatedMessage",
    "EmulatedPoll",
    "Group",
    "Trainee",
]
