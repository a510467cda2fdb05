"""Webhook mode: Telegram POSTs each update to `WEBHOOK_PORT` at `/telegram/webhook`.

The answer is Telegram's only signal, so it means exactly one thing: 200 = "this update is
durably recorded (or was handled and must not come again)", anything else = "send it again".

- wrong or missing `X-Telegram-Bot-Api-Secret-Token`: 403, nothing read, nothing processed,
  counted in `bot_webhook_rejected_requests_total{reason}` (constant-time comparison);
- a body over 1 MiB, not JSON, or not an Update: 400 (Telegram never sends those; a retry
  would not help), counted the same way;
- the update is handled before the answer: 200 on `DONE` and `FAILED` (see `updates`),
  503 on `RETRY` (the database or another dependency is away: Telegram redelivers later);
  a 200 carries the first call the handlers left for after the update (answering a button
  press: `trainingbot.telegram_session.defer`), for Telegram to make, as the Bot API offers;
- while shutting down: 503 for requests that still arrive on open connections (another
  replica, or this one after its restart, gets the redelivery).

`register()` calls `setWebhook` with the URL, the secret, the update types the dispatcher
handles, and the connection limit; it retries while the Bot API is unreachable and gives up
only on an answer that says the configuration is wrong. Until it has succeeded the instance is
not ready (`/ready` names the check "webhook"): Telegram sends nothing to a webhook it does
not know, so a replica that counted as ready before would only look like it serves.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramUnauthorizedError
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from trainingbot.config import WEBHOOK_PATH
from trainingbot.logs import Redactor
from trainingbot.metrics import BotMetrics
from trainingbot.runtime.ops import RuntimeState
from trainingbot.runtime.updates import (
    AppLike,
    FatalConfigurationError,
    Outcome,
    UpdateProcessor,
    describe_error,
    dry_run_bot,
    is_smoke_payload,
)

log = logging.getLogger("trainingbot.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a few kilobytes; Telegram's own payloads stay far below this. The limit keeps a
# hostile client from making the bot buffer megabytes before the secret check has any effect.
MAX_BODY_BYTES = 1024 * 1024

# The readiness check that stays false until `setWebhook` has succeeded.
READINESS_CHECK = "webhook"

REJECTION_REASONS = (
    "missing_secret",
    "wrong_secret",
    "too_large",
    "invalid_json",
    "invalid_update",
    "shutting_down",
)


class RejectedRequest(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def secret_matches(received: str | None, expected: str) -> bool:
    """Constant-time comparison of the secret header with the configured secret."""
    if received is None:
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


async def read_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, or `RejectedRequest("too_large")` as soon as it passes `limit`."""
    if request.content_length is not None and request.content_length > limit:
        raise RejectedRequest("too_large", f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise RejectedRequest("too_large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_update_payload(body: bytes) -> dict[str, Any]:
    """The JSON object of an update, or `RejectedRequest` saying why it is not one."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RejectedRequest("invalid_json", "the body is not JSON") from None
    update_id = payload.get("update_id") if isinstance(payload, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise RejectedRequest(
            "invalid_update", "the body is not a Telegram Update (no integer update_id)"
        )
    return payload


class WebhookServer:
    """The webhook listener of one bot process."""

    def __init__(
        self,
        app: AppLike,
        processor: UpdateProcessor,
        state: RuntimeState,
        metrics: BotMetrics,
        *,
        url: str,
        secret: str,
        port: int,
        host: str = "0.0.0.0",
        max_connections: int = 40,
        redactor: Redactor | None = None,
    ) -> None:
        self.app = app
        self.processor = processor
        self.state = state
        self.metrics = metrics
        self.url = url
        self.secret = secret
        self.port = port
        self.host = host
        self.max_connections = max_connections
        self.redact = redactor or Redactor([secret])
        self._runner: web.AppRunner | None = None
        for reason in REJECTION_REASONS:
            metrics.webhook_rejected.labels(reason=reason)

    def web_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(WEBHOOK_PATH, self.handle)
        return app

    async def start(self) -> None:
        # The requests still open after the in-flight updates finished are only writing
        # their answers: a second is plenty (see `stop`).
        self._runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        self.state.problems[READINESS_CHECK] = "setWebhook not done yet"
        log.info("webhook listener started", extra={"port": self.port, "path": WEBHOOK_PATH})

    async def stop(self, grace: float) -> None:
        """Stop listening, let the updates in progress finish within `grace` s, then close.

        Requests that arrive meanwhile on connections that were already open get 503 (the
        phase is STOPPING). Updates still running at the deadline are cancelled: their
        transactions roll back and Telegram, seeing no answer, delivers them again.
        """
        if self._runner is None:
            return
        for site in list(self._runner.sites):
            await site.stop()
        if not await self.processor.in_flight.wait_idle(grace):
            log.warning(
                "shutdown timeout: %d updates still in progress are cancelled and will be "
                "delivered again",
                self.processor.in_flight.count,
            )
        await self._runner.cleanup()
        self._runner = None

    def _reject(self, status: int, reason: str, message: str) -> web.Response:
        self.metrics.webhook_rejected.labels(reason=reason).inc()
        log.warning(
            "webhook request rejected: %s", message, extra={"reason": reason, "status": status}
        )
        return web.json_response({"ok": False, "error": message}, status=status)

    async def handle(self, request: web.Request) -> web.Response:
        received = request.headers.get(SECRET_HEADER)
        if not secret_matches(received, self.secret):
            reason = "missing_secret" if received is None else "wrong_secret"
            return self._reject(403, reason, f"{SECRET_HEADER} is {reason.split('_')[0]}")
        if self.state.phase == RuntimeState.STOPPING:
            return self._reject(503, "shutting_down", "shutting down; deliver it again")
        try:
            payload = parse_update_payload(await read_body(request))
        except RejectedRequest as exc:
            return self._reject(400, exc.reason, str(exc))
        smoke = is_smoke_payload(payload)
        bot, session = dry_run_bot(self.app.bot) if smoke else (self.app.bot, None)
        try:
            update = Update.model_validate(payload, context={"bot": bot})
        except ValidationError as exc:
            problem = exc.errors(include_input=False, include_url=False)[0]
            where = ".".join(str(part) for part in problem["loc"])
            return self._reject(
                400,
                "invalid_update",
                f"the body is not a Telegram Update ({where}: {problem['msg']})",
            )
        # The smoke update's calls are made (locally, by the dry-run bot) and listed instead.
        replies: list[TelegramMethod[Any]] | None = None if smoke else []
        outcome = await self.processor.process(update, bot=bot, replies=replies)
        if outcome is Outcome.RETRY:
            return web.json_response(
                {"ok": False, "error": "not recorded; deliver it again"}, status=503
            )
        if session is not None:
            return web.json_response(
                {"ok": True, "smoke": {"outcome": outcome.value, "calls": session.calls}}
            )
        if replies:
            return await self._answer_with(bot, replies)
        return web.Response(status=200)

    async def _answer_with(self, bot: Bot, calls: list[TelegramMethod[Any]]) -> web.Response:
        """200 with the first call as Telegram's to make ("reply to the webhook"); the others,
        and one that cannot go as JSON, are made here first."""
        reply_of = getattr(bot.session, "webhook_reply", None)
        body = reply_of(bot, calls[0]) if reply_of is not None else None
        rest = calls[1:] if body is not None else calls
        await self.processor.make_calls(bot, rest)
        if body is None:
            return web.Response(status=200)
        return web.Response(status=200, body=body, content_type="application/json")

    async def register(self, *, max_delay: float = 60.0) -> None:
        """`setWebhook`, retried with back-off until the Bot API answers.

        Raises `FatalConfigurationError` when the Bot API refuses the token or the URL.
        """
        allowed = self.app.dispatcher.resolve_used_update_types()
        delay = 1.0
        attempt = 0
        while True:
            attempt += 1
            try:
                await self.app.bot.set_webhook(
                    url=self.url,
                    secret_token=self.secret,
                    allowed_updates=allowed,
                    max_connections=self.max_connections,
                    drop_pending_updates=False,
                )
            except (TelegramUnauthorizedError, TelegramBadRequest) as exc:
                raise FatalConfigurationError(
                    f"the Bot API refused setWebhook: {self.redact(describe_error(exc))}; check "
                    "BOT_TOKEN and WEBHOOK_URL (Telegram wants an https URL on port 443, 80, "
                    "88 or 8443)"
                ) from None
            except Exception as exc:
                self.metrics.errors.labels(type="set_webhook").inc()
                self.state.problems[READINESS_CHECK] = self.redact(
                    f"setWebhook failed (attempt {attempt}): {describe_error(exc)}"
                )
                log.error(
                    "setWebhook failed (attempt %d), retrying in %.0f s: %s",
                    attempt,
                    delay,
                    describe_error(exc),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_delay)
                continue
            self.state.problems.pop(READINESS_CHECK, None)
            log.info(
                "webhook registered with the Bot API",
                extra={
                    "url": self.url,
                    "allowed_updates": allowed,
                    "max_connections": self.max_connections,
                },
            )
            return
