"""Telegram's limits and the content's own rules, as pure functions over plain values.

Both the loader (which knows files and lines) and the public model (which guards any course
built in code) call these, so a rule is written once. Each check returns findings: a location
relative to the value checked, and a message that says what is wrong and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Loc = tuple[str | int, ...]
Finding = tuple[Loc, str]

# Telegram's limits (Bot API: sendMessage, sendPoll, answerCallbackQuery, deep links).
MESSAGE_LIMIT = 4096  # message text, counted after entity parsing
POLL_QUESTION_LIMIT = 300
OPTION_LIMIT = 100  # a poll option; we hold button labels to the same so a question can be either
OPTIONS_MIN, OPTIONS_MAX = 2, 10
EXPLANATION_LIMIT = 200  # quiz explanation; also what answerCallbackQuery can show
EXPLANATION_LINE_FEEDS = 2  # a quiz poll's explanation allows at most 2 line feeds
START_PAYLOAD_LIMIT = 64  # /start deep-link parameter
START_PAYLOAD_PREFIX = "course_"  # t.me/<bot>?start=course_<id> enrolls directly
# Ours, not Telegram's: titles go on buttons and in headers, where long ones get cut off.
TITLE_LIMIT = 100

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
START_PAYLOAD_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (most emoji count as 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def suggest_id(value: str) -> str:
    """A valid id close to what the trainer wrote, to offer in a message."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", value.strip().lower()).strip("-_")
    return slug or "my-id"


def id_problem(value: str, what: str) -> str | None:
    if ID_PATTERN.fullmatch(value):
        return None
    return (
        f"{what} `{value}` is not a valid id: use lowercase letters, digits, `-` and `_`, "
        f"starting with a letter or digit (for example `{suggest_id(value)}`)"
    )


def title_findings(title: str, what: str) -> list[Finding]:
    if not title.strip():
        return [((), f"the {what} title is empty — write a short title")]
    length = telegram_length(title)
    if length > TITLE_LIMIT:
        return [
            (
                (),
                f"the {what} title is {length} characters; keep it to {TITLE_LIMIT} "
                "(it is shown on buttons and in headers) — shorten it",
            )
        ]
    return []


def question_findings(
    kind: str,
    text: str,
    options: Sequence[str],
    correct: Sequence[int],
    explanation: str | None,
) -> list[Finding]:
    """Every problem of one question. `correct` holds the 0-based indices marked correct."""
    findings: list[Finding] = []
    findings += _text_findings(kind, text)
    findings += _options_findings(options)
    findings += _correct_findings(correct, len(options))
    if explanation is not None:
        findings += _explanation_findings(kind, explanation)
    return findings


def _text_findings(kind: str, text: str) -> list[Finding]:
    length = telegram_length(text)
    if not text.strip():
        return [(("text",), "the question text is empty — write the question")]
    if kind == "poll" and length > POLL_QUESTION_LIMIT:
        return [
            (
                ("text",),
                f"poll question is {length} characters; Telegram allows {POLL_QUESTION_LIMIT} "
                "— shorten it or use `kind: buttons`",
            )
        ]
    if length > MESSAGE_LIMIT:
        return [
            (
                ("text",),
                f"question text is {length} characters; a Telegram message allows "
                f"{MESSAGE_LIMIT} — shorten it",
            )
        ]
    return []


def _options_findings(options: Sequence[str]) -> list[Finding]:
    findings: list[Finding] = []
    if not OPTIONS_MIN <= len(options) <= OPTIONS_MAX:
        findings.append(
            (
                ("options",),
                f"the question has {len(options)} option{'s' if len(options) != 1 else ''}; "
                f"Telegram allows {OPTIONS_MIN} to {OPTIONS_MAX} — "
                + ("add options" if len(options) < OPTIONS_MIN else "remove some"),
            )
        )
    first_seen: dict[str, int] = {}
    for index, option in enumerate(options):
        number = index + 1
        length = telegram_length(option)
        if not option.strip():
            findings.append(
                (("options", index), f"option {number} is empty — write its text or remove it")
            )
            continue
        if length > OPTION_LIMIT:
            findings.append(
                (
                    ("options", index),
                    f"option {number} is {length} characters; Telegram allows {OPTION_LIMIT} "
                    "— shorten it (the explanation can carry the detail)",
                )
            )
        key = option.strip().casefold()
        if key in first_seen:
            findings.append(
                (
                    ("options", index),
                    f"options {first_seen[key] + 1} and {number} are both “{option.strip()}” "
                    "— make every option different",
                )
            )
        else:
            first_seen[key] = index
    return findings


def _correct_findings(correct: Sequence[int], option_count: int) -> list[Finding]:
    out_of_range = [i for i in correct if not 0 <= i < option_count]
    if out_of_range:
        return [
            (
                ("correct",),
                f"correct answer {out_of_range[0]} does not exist: the options are numbered "
                f"0 to {option_count - 1} — point at one of them",
            )
        ]
    if not correct:
        return [
            (
                ("options",),
                "no option is marked `correct: true` — mark the one right answer",
            )
        ]
    if len(correct) > 1:
        numbers = ", ".join(str(i + 1) for i in correct[:-1]) + f" and {correct[-1] + 1}"
        return [
            (
                ("options",),
                f"options {numbers} are all marked `correct: true`; a quiz has exactly one "
                "correct answer — keep one",
            )
        ]
    return []


def _explanation_findings(kind: str, explanation: str) -> list[Finding]:
    findings: list[Finding] = []
    if not explanation.strip():
        return [(("explanation",), "the explanation is empty — write one or remove the key")]
    length = telegram_length(explanation)
    if length > EXPLANATION_LIMIT:
        findings.append(
            (
                ("explanation",),
                f"explanation is {length} characters; Telegram allows {EXPLANATION_LIMIT} "
                "— shorten it (the lesson text can carry the detail)",
            )
        )
    line_feeds = explanation.strip().count("\n")
    if kind == "poll" and line_feeds > EXPLANATION_LINE_FEEDS:
        findings.append(
            (
                ("explanation",),
                f"explanation has {line_feeds} line breaks; a quiz poll allows at most "
                f"{EXPLANATION_LINE_FEEDS} — join some lines (a `>` folded block helps)",
            )
        )
    return findings


def message_length_problem(length: int, what: str) -> str | None:
    if length <= MESSAGE_LIMIT:
        return None
    return (
        f"{what} is {length} characters after formatting; a Telegram message allows "
        f"{MESSAGE_LIMIT} — shorten it by {length - MESSAGE_LIMIT} or split it in two"
    )


def start_payload_problem(course_id: str) -> str | None:
    """The deep link `?start=course_<id>` must fit Telegram's 64-character start parameter."""
    payload = START_PAYLOAD_PREFIX + course_id
    if not START_PAYLOAD_PATTERN.fullmatch(payload):
        return None  # an invalid id is reported by `id_problem`
    over = len(payload) - START_PAYLOAD_LIMIT
    if over <= 0:
        return None
    return (
        f"course id `{course_id}` makes the deep link `start={payload}` {len(payload)} "
        f"characters; Telegram allows {START_PAYLOAD_LIMIT} — shorten the id by {over}"
    )
