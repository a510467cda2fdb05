"""Logging: JSON lines (or text), the current update's context on every record, secrets redacted.

Every record goes through one handler on the root logger:

- `UpdateContextFilter` copies the current update's fields (`update_id`, `chat_id`, `user_id`,
  `handler`) from a context variable onto the record, so that a line logged anywhere while an
  update is handled (a handler, a repository, aiogram itself) says which update it belongs to;
- the formatter renders JSON lines (`LOG_FORMAT=json`, the default in containers) or text;
- `Redactor` scrubs the formatted message and traceback: the token, the webhook secret and the
  database and Redis passwords never reach the output, and neither does anything shaped like a
  bot token or a password in a URL (aiogram and aiohttp put request URLs, which contain the
  token, into their messages and exceptions).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from aiogram import Dispatcher

    from trainingbot.config import Settings

REDACTED = "***"

# A bot token is `<bot id>:<35 characters>`; match the shape so that a token of another bot (or
# a rotated one) is scrubbed too, not only the configured one.
_TOKEN_SHAPE = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}")
# `scheme://user:password@host`: keep the user, drop the password.
_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#\s@]*:)[^@\s/]+@")

# Fields of the update being handled. One mutable dict per update task: `bind_update_context`
# adds to it (the handler's name is only known once aiogram has picked the handler), and the
# lines logged after the handler returned still carry it.
_update_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "trainingbot_update_context", default=None
)
CONTEXT_FIELDS = ("update_id", "update_type", "chat_id", "user_id", "handler")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_RECORD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName", *CONTEXT_FIELDS}
)


class Redactor:
    """Replaces known secrets and secret-shaped substrings with `***`."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        # Longest first, so that a secret containing another is replaced whole. Very short
        # values would scrub ordinary words; a real secret is never that short.
        values = set(self._secrets) | {s for s in secrets if s and len(s) >= 4}
        values |= {unquote(s) for s in values}
        self._secrets = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _TOKEN_SHAPE.sub(REDACTED, text)
        return _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)


def url_password(url: str | None) -> str | None:
    """The password part of a URL such as `postgresql://user:password@host/db`, if any."""
    if not url:
        return None
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return password or None


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings: what must never be logged."""

    def reveal(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    token = reveal(settings.telegram.bot_token)
    database_url = reveal(settings.database.database_url)
    redis_url = reveal(settings.redis.redis_url)
    return [
        s
        for s in (
            token,
            reveal(settings.telegram.webhook_secret),
            database_url,
            url_password(database_url),
            redis_url,
            url_password(redis_url),
            reveal(settings.redis.redis_password),
            reveal(settings.redis.redis_sentinel_password),
        )
        if s
    ]


class UpdateContextFilter(logging.Filter):
    """Puts the fields of the update being handled on each record (never filters anything)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _update_context.get()
        if context:
            for key, value in context.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


@contextlib.contextmanager
def update_context(**fields: Any) -> Iterator[dict[str, Any]]:
    """Records logged inside the block carry `fields` (and whatever is bound later)."""
    current = _update_context.get() or {}
    context = {**current, **{k: v for k, v in fields.items() if v is not None}}
    token = _update_context.set(context)
    try:
        yield context
    finally:
        _update_context.reset(token)


def bind_update_context(**fields: Any) -> None:
    """Add fields to the current update's context (no-op outside an update)."""
    context = _update_context.get()
    if context is not None:
        context.update({k: v for k, v in fields.items() if v is not None})


def current_update_context() -> dict[str, Any]:
    return dict(_update_context.get() or {})


def handler_name(callback: Callable[..., Any]) -> str:
    """`lessons.show_lesson` for `trainingbot.routers.lessons.show_lesson`."""
    module = getattr(callback, "__module__", "") or ""
    name = getattr(callback, "__qualname__", None) or type(callback).__name__
    return f"{module.rsplit('.', 1)[-1]}.{name}" if module else name


class HandlerContextMiddleware:
    """aiogram inner middleware: names the handler aiogram chose in the update's log context."""

    async def __call__(
        self,
        handler: Callable[[Any, dict[str, Any]], Awaitable[Any]],
        event: Any,
        data: dict[str, Any],
    ) -> Any:
        chosen = data.get("handler")
        if chosen is not None:
            bind_update_context(handler=handler_name(chosen.callback))
        return await handler(event, data)


def install_handler_context(dispatcher: Dispatcher) -> None:
    """Register `HandlerContextMiddleware` for every event type of every router.

    Inner middlewares of the root router's observers apply to the handlers of all nested
    routers (aiogram resolves them along the chain of parents), so the dispatcher is enough.
    """
    middleware = HandlerContextMiddleware()
    for name, observer in dispatcher.observers.items():
        if name in {"update", "error"}:  # the update's own handler and error handlers: not it
            continue
        if not any(isinstance(m, HandlerContextMiddleware) for m in observer.middleware):
            observer.middleware(middleware)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _jsonable(value: Any, redact: Redactor) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v, redact) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, redact) for k, v in value.items()}
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, update context, extras, error."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = _jsonable(value, self.redact)
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                entry[key] = _jsonable(value, self.redact)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = self.redact(f"{record.exc_info[0].__name__}: {record.exc_info[1]}")
            entry["traceback"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["traceback"] = self.redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [update=… chat=… handler=…] message key=value…` for people."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(
            f"{key.removesuffix('_id')}={getattr(record, key)}"
            for key in ("update_id", "chat_id", "handler")
            if getattr(record, key, None) is not None
        )
        extras = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _RECORD_ATTRS and not key.startswith("_")
        )
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}"
        if context:
            line += f" [{context}]"
        line += f" {record.getMessage()}"
        if extras:
            line += f" {extras}"
        if record.exc_info and record.exc_info[0] is not None:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return self.redact(line)


# Libraries that log one line per request or per update at INFO: our own per-update line
# replaces aiogram's, and access logs of probes and webhook calls are noise.
_QUIET_LOGGERS = ("aiogram.event", "aiohttp.access")


def configure_logging(
    level: str = "INFO",
    fmt: str = "json",
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> Redactor:
    """Send every record to `stream` (stderr) through the context filter, formatter, redactor.

    Returns the redactor so that other outputs (readiness reasons, error replies) use the same.
    """
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(UpdateContextFilter())
    handler.setFormatter(
        TextFormatter(redactor) if str(fmt).lower() == "text" else JsonFormatter(redactor)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    logging.captureWarnings(True)
    return redactor
