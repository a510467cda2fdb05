"""The Bot API session: the server from BOT_API_BASE_URL, request metrics and rate limits.

Every Bot API call is counted in `bot_telegram_api_requests_total{method,status}`: status is
the HTTP code Telegram answered (200 on success) or "error" when no answer came (network).
The rate limiter is the outer middleware (it retries 429s), the counter the inner one, so
each attempt is counted.

Calls a handler makes only to acknowledge something (answering a button press) can be left
for after the update (`defer`): the runtime makes them once the update's effects are
committed, and in webhook mode the first of them rides on the webhook's HTTP answer, as the
Bot API allows ("reply to the webhook"), which saves a request of its own.

Two things make a call cheaper than with aiogram's own session (`BotApiSession`), each about
a fifth of the CPU a call costs here (`docs/PERFORMANCE.md`):

- parameters go as a JSON body, which the Bot API accepts as well as a form: aiogram
  URL-encodes every keyboard's JSON byte by byte into a form; an upload still goes as a
  multipart form;
- a message the bot sent comes back without the parts it never reads (its keyboard and text
  entities: `UNREAD_MESSAGE_FIELDS`) before it is validated; validating a keyboard button by
  button was half of the cost of reading an answer. Everything else, errors included, is
  aiogram's.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError
from pydantic import ValidationError

from trainingbot.metrics import BotMetrics
from trainingbot.ratelimit import RateLimiter, RateLimitMiddleware

# aiogram raises one exception class per Telegram status; this maps them back.
_STATUS_OF = (
    (TelegramRetryAfter, "429"),
    (TelegramMigrateToChat, "400"),
    (TelegramBadRequest, "400"),
    (TelegramUnauthorizedError, "401"),
    (TelegramForbiddenError, "403"),
    (TelegramNotFound, "404"),
    (TelegramConflictError, "409"),
    (TelegramEntityTooLarge, "413"),
    (TelegramServerError, "500"),
    (TelegramNetworkError, "error"),
)


def status_of(exc: BaseException) -> str:
    for cls, status in _STATUS_OF:
        if isinstance(exc, cls):
            return status
    return "error"


class ApiMetricsMiddleware(BaseRequestMiddleware):
    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics
        self._succeeded: dict[str, Any] = {}  # method -> its status="200" counter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        try:
            response = await make_request(bot, method)
        except Exception as exc:
            self.metrics.telegram_requests.labels(method=name, status=status_of(exc)).inc()
            raise
        counter = self._succeeded.get(name)
        if counter is None:
            counter = self._succeeded[name] = self.metrics.telegram_requests.labels(
                method=name, status="200"
            )
        counter.inc()
        return response


# Fields of a Message the bot never reads in the answer to a message it sent or edited.
UNREAD_MESSAGE_FIELDS = ("reply_markup", "entities", "caption_entities", "link_preview_options")
_JSON_HEADERS = {"Content-Type": "application/json"}


class BotApiSession(AiohttpSession):
    """aiogram's aiohttp session, with JSON bodies and lighter answers (see the module)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # One class per result type, built once and kept (pydantic would rebuild them).
        self._response_types: dict[Any, type[Response[Any]]] = {}

    def json_params(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any] | None:
        """The method's parameters for a JSON body, or None when it uploads a file."""
        files: dict[str, InputFile] = {}
        params: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":  # what aiogram's form leaves out too
                continue
            params[key] = prepared
        return None if files else params

    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> str | None:
        """The method's parameters as JSON, or None when it uploads a file."""
        params = self.json_params(bot, method)
        return None if params is None else self.json_dumps(params)

    def webhook_reply(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        """`method` as the JSON answer to a webhook request, or None if it cannot be one."""
        params = self.json_params(bot, method)
        if params is None:
            return None
        return self.json_dumps({"method": method.__api_method__, **params}).encode()

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=body.encode(),
                headers=_JSON_HEADERS,
                timeout=self.timeout if timeout is None else timeout,
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw_result
        )
        return cast(TelegramType, response.result)

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        if not HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            return super().check_response(bot, method, status_code, content)
        try:
            data = self.json_loads(content)
        except Exception:  # aiogram's own path raises the right ClientDecodeError
            return super().check_response(bot, method, status_code, content)
        if not isinstance(data, dict) or data.get("ok") is not True:
            return super().check_response(bot, method, status_code, content)
        result = data.get("result")
        if isinstance(result, dict) and "message_id" in result:
            for name in UNREAD_MESSAGE_FIELDS:
                result.pop(name, None)
        returning = method.__returning__
        response_type = self._response_types.get(returning)
        if response_type is None:
            response_type = self._response_types[returning] = Response[returning]
        try:
            return response_type.model_validate(data, context={"bot": bot})
        except ValidationError as e:
            raise ClientDecodeError("Failed to deserialize object", e, data) from e


# The calls left for after the update being handled (None outside `deferred_calls`).
_deferred: contextvars.ContextVar[list[TelegramMethod[Any]] | None] = contextvars.ContextVar(
    "trainingbot_deferred_calls", default=None
)


@contextlib.contextmanager
def deferred_calls() -> Iterator[list[TelegramMethod[Any]]]:
    """Collect the calls that `defer` leaves for after the update handled in the block."""
    calls: list[TelegramMethod[Any]] = []
    token = _deferred.set(calls)
    try:
        yield calls
    finally:
        _deferred.reset(token)


def defer(method: TelegramMethod[Any]) -> bool:
    """Leave `method` for after the update; False when nobody collects (call it now)."""
    calls = _deferred.get()
    if calls is None:
        return False
    calls.append(method)
    return True


def drop_deferred_calls() -> None:
    """Forget the calls left for after this update (it failed; they no longer apply)."""
    calls = _deferred.get()
    if calls is not None:
        calls.clear()


def build_session(base_url: str, metrics: BotMetrics, limiter: RateLimiter) -> AiohttpSession:
    session = BotApiSession(api=TelegramAPIServer.from_base(base_url.rstrip("/")))
    session.middleware(RateLimitMiddleware(limiter))  # outer: paces and retries
    session.middleware(ApiMetricsMiddleware(metrics))  # inner: counts every attempt
    return session
