"""Bot API calls are counted by method and status (HTTP code, or "error")."""

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from trainingbot.metrics import BotMetrics
from trainingbot.telegram_session import ApiMetricsMiddleware, status_of

METHOD = SendMessage(chat_id=1, text="x")


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (TelegramBadRequest(METHOD, "Bad Request: message is too long"), "400"),
        (TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user"), "403"),
        (TelegramRetryAfter(METHOD, "Too Many Requests", 3), "429"),
        (TelegramServerError(METHOD, "Internal Server Error"), "500"),
        (TelegramNetworkError(METHOD, "connection reset"), "error"),
        (RuntimeError("anything else"), "error"),
    ],
)
def test_status_of_errors(exc, status):
    assert status_of(exc) == status


async def test_middleware_counts_successes_and_failures():
    metrics = BotMetrics()
    middleware = ApiMetricsMiddleware(metrics)

    async def ok(bot, method):
        return "ok"

    async def blocked(bot, method):
        raise TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")

    await middleware(ok, None, METHOD)
    with pytest.raises(TelegramForbiddenError):
        await middleware(blocked, None, METHOD)
    sample = metrics.registry.get_sample_value
    assert (
        sample("bot_telegram_api_requests_total", {"method": "sendMessage", "status": "200"}) == 1
    )
    assert (
        sample("bot_telegram_api_requests_total", {"method": "sendMessage", "status": "403"}) == 1
    )
