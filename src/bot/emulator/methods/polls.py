"""sendPoll and stopPoll, and what happens when a person votes.

Telegram's rule that matters most to a quiz bot: a poll is anonymous unless the bot says
`is_anonymous=false`, and for an anonymous poll the bot never learns who voted: it gets
`poll` updates with counts, never a `poll_answer`.
"""

from __future__ import annotations

from typing import Any

from trainingbot.emulator.errors import bad_request
from trainingbot.emulator.formatting import EntityParseError, parse_text
from trainingbot.emulator.methods.messages import reply_markup
from trainingbot.emulator.methods.registry import method
from trainingbot.emulator.models import EmulatedMessage, EmulatedPoll
from trainingbot.emulator.params import Params
from trainingbot.emulator.state import EmulatorState


def _plain(source: str, parse_mode: str | None) -> str:
    try:
        return parse_text(source, parse_mode)[0].strip()
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    except ValueError:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}") from None


def _options(state: EmulatorState, params: Params) -> list[str]:
    raw = params.json("options", "can't parse options JSON object")
    if not isinstance(raw, list):
        raise bad_request("poll must have at least 2 option")
    limits = state.limits
    options = []
    for item in raw:
        # A string, or an InputPollOption object (what aiogram sends).
        if isinstance(item, dict):
            source, mode = item.get("text"), item.get("text_parse_mode")
        else:
            source, mode = item, None
        if not isinstance(source, str) or not _plain(source, mode):
            raise bad_request("poll options must be non-empty")
        text = _plain(source, mode)
        if len(text) > limits.max_poll_option_length:
            raise bad_request(
                f"poll options length must not exceed {limits.max_poll_option_length}"
            )
        options.append(text)
    if len(options) < limits.min_poll_options:
        raise bad_request(f"poll must have at least {limits.min_poll_options} option")
    if len(options) > limits.max_poll_options:
        raise bad_request(f"poll can't have more than {limits.max_poll_options} options")
    return options


def _correct_options(params: Params, count: int) -> list[int]:
    """A quiz's right options: correct_option_ids (Bot API 9.6) or correct_option_id."""
    raw = params.json("correct_option_ids", "can't parse correct_option_ids JSON array")
    if raw is None:
        single = params.integer("correct_option_id")
        raw = [] if single is None else [single]
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(i, int) and 0 <= i < count for i in raw)
        or sorted(set(raw)) != raw
    ):
        raise bad_request("wrong correct option ID specified")
    return raw


@method("sendPoll")
async def send_poll(state: EmulatorState, params: Params) -> dict[str, Any]:
    chat = state.chat_for(params)
    limits = state.limits
    source = params.text("question") or ""
    question = _plain(source, params.text("question_parse_mode"))
    if not question:
        raise bad_request("poll question must be non-empty")
    if len(question) > limits.max_poll_question_length:
        raise bad_request(f"poll question length must not exceed {limits.max_poll_question_length}")
    options = _options(state, params)
    poll_type = params.text("type") or "regular"
    if poll_type not in ("regular", "quiz"):
        raise bad_request("wrong poll type specified")
    is_quiz = poll_type == "quiz"
    correct = _correct_options(params, len(options)) if is_quiz else []
    explanation = None
    if is_quiz:
        explanation = state.format(
            params,
            "explanation",
            "explanation_parse_mode",
            "explanation_entities",
            required=False,
            empty_error="",
            max_length=limits.max_poll_explanation_length,
            too_long_error=(
                f"poll explanation length must not exceed {limits.max_poll_explanation_length}"
            ),
        )
        if explanation and explanation.text.count("\n") > limits.max_poll_explanation_line_feeds:
            raise bad_request(
                "poll explanation can't have more than "
                f"{limits.max_poll_explanation_line_feeds} line feeds"
            )
    markup = reply_markup(state, params)
    state.admit_send(chat)
    poll = EmulatedPoll(
        id=state.new_poll_id(),
        question=question,
        options=options,
        type=poll_type,
        # Telegram's default, and the trap: anonymous unless the bot says otherwise.
        is_anonymous=params.flag("is_anonymous", True),
        allows_multiple_answers=params.flag("allows_multiple_answers"),
        allows_revoting=params.flag("allows_revoting", not is_quiz),
        correct_option_ids=correct,
        explanation=explanation.text if explanation else None,
        explanation_entities=explanation.entities if explanation else [],
        is_closed=params.flag("is_closed"),
        voter_counts=[0] * len(options),
    )
    message = EmulatedMessage(
        chat_id=chat.id,
        message_id=chat.next_message_id(),
        date=state.now(),
        method="sendPoll",
        text=question,
        html=source,
        parse_mode=params.text("question_parse_mode"),
        reply_markup=markup,
        poll=poll,
    )
    chat.add(message)
    return message.to_api(chat.chat, state.bot_user)


@method("stopPoll")
async def stop_poll(state: EmulatorState, params: Params) -> dict[str, Any]:
    chat = state.chat_for(params, sending=False)
    message = state.message_for(chat, params, "message with poll to stop not found")
    poll = message.poll
    if poll is None:
        raise bad_request("message is not a poll")
    if poll.is_closed:
        raise bad_request("poll has already been closed")
    markup = reply_markup(state, params)
    poll.is_closed = True
    message.reply_markup = markup
    chat.edited(message)
    state.updates.publish("poll", poll.to_api())
    return poll.to_api()


def record_vote(
    state: EmulatorState, message: EmulatedMessage, user: dict[str, Any], option_ids: list[int]
) -> int | None:
    """A person votes in a poll of the bot. Returns the id of the `poll_answer` update, or
    None for an anonymous poll (which yields only a `poll` update with the new counts)."""
    poll = message.poll
    if poll is None:
        raise ValueError(f"message {message.message_id} is not a poll")
    if poll.is_closed:
        raise ValueError(f"the poll {poll.question!r} is closed; Telegram takes no more votes")
    if any(not 0 <= option < len(poll.options) for option in option_ids):
        raise ValueError(f"options {option_ids} are not all among 0..{len(poll.options) - 1}")
    if len(set(option_ids)) != len(option_ids):
        raise ValueError(f"options {option_ids} repeat an option")
    if len(option_ids) > 1 and not poll.allows_multiple_answers:
        raise ValueError("this poll takes one answer")
    previous = poll.answers.get(user["id"])
    if previous and not poll.allows_revoting:
        raise ValueError("this poll does not allow changing a vote (a quiz never does)")
    if poll.is_quiz and not option_ids:
        raise ValueError("a quiz answer needs an option")
    for option in previous or ():
        poll.voter_counts[option] -= 1
    if option_ids:
        poll.answers[user["id"]] = list(option_ids)
        for option in option_ids:
            poll.voter_counts[option] += 1
    else:
        poll.answers.pop(user["id"], None)  # a retracted vote
    update_id = None
    if not poll.is_anonymous:
        update_id = state.updates.publish(
            "poll_answer",
            {
                "poll_id": poll.id,
                "user": user,
                "option_ids": list(option_ids),
                "option_persistent_ids": [str(option) for option in option_ids],
            },
        )
    state.updates.publish("poll", poll.to_api())
    return update_id
