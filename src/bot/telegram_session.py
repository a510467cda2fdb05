"""The Bot API session: the server from BOT_API_BASE_URL, request metrics and rate limits.

Every Bot API call is counted in `bot_telegram_api_requests_total{method,status}`: status is
the HTTP code Telegram answered (200 on success) or "error" when no answer came (network).
The rate limiter is the outer middleware (it retries 429s), the counter the inner one, so
each attempt is counted.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
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
        self.metrics.telegram_requests.labels(method=name, status="200").inc()
        return response


def build_session(base_url: str, metrics: BotMetrics, limiter: RateLimiter) -> AiohttpSession:
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url.rstrip("/")))
    session.middleware(RateLimitMiddleware(limiter))  # outer: paces and retries
    session.middleware(ApiMetricsMiddleware(metrics))  # inner: counts every attempt
    return session
