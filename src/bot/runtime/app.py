"""`training-bot run`: the bot as a process, from settings to a clean exit.

1. Settings from the environment (`ConfigError`: one message, exit 2), then logging.
2. The operations server on HTTP_PORT, so that probes answer from the first second.
3. The bot (`trainingbot.factory.create_app`), retried with back-off while PostgreSQL or Redis
   cannot be reached (readiness says why meanwhile); invalid content exits 2.
4. Webhook listener and `setWebhook`, or the poller. Readiness turns true.
5. SIGTERM or SIGINT: readiness false at once; stop accepting (listener closed / polling
   stopped); updates in flight finish within SHUTDOWN_TIMEOUT (default 20 s, below
   Kubernetes' 30 s grace period) or are cancelled unconfirmed; pools closed; exit 0.

Exit codes: 0 after a requested stop, 1 on an unexpected error, 2 when the configuration is
refused (environment, course content, or the token or webhook URL by the Bot API).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import platform
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any

import aiogram
from aiogram.utils.token import TokenValidationError
from prometheus_client import disable_created_metrics

from trainingbot.config import BotMode, ConfigError, Settings, load_settings
from trainingbot.content import ContentError
from trainingbot.logs import Redactor, configure_logging, install_handler_context, secrets_of
from trainingbot.metrics import BotMetrics
from trainingbot.runtime.backoff import Backoff, sleep_unless
from trainingbot.runtime.ops import OpsServer, RuntimeState
from trainingbot.runtime.polling import Poller
from trainingbot.runtime.responses import pin_response_models
from trainingbot.runtime.updates import (
    FatalConfigurationError,
    UpdateProcessor,
    describe_error,
    is_transient,
)
from trainingbot.runtime.webhook import WebhookServer

log = logging.getLogger("trainingbot.runtime")

# Builds the bot from the settings (`trainingbot.factory.create_app`, or a variant of it such as
# the benchmark's, which switches the outgoing rate limits off).
AppFactory = Callable[[Settings, BotMetrics], Awaitable[Any]]


def _version() -> str:
    try:
        return metadata.version("telegram-training-bot")
    except metadata.PackageNotFoundError:  # a source tree without an install
        return "0.0.0"


# How often old `processed_updates` rows are deleted (they are kept 48 h by default).
PURGE_INTERVAL = 3600.0

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2


def _is_config_error(exc: BaseException) -> bool:
    """Errors that mean "fix the configuration": invalid course content, a malformed token."""
    return isinstance(exc, ContentError | TokenValidationError | ConfigError)


def freeze_startup_objects() -> None:
    """Exempt what exists after start-up from the garbage collector's full passes.

    aiogram's models, the course catalog and the rest of what start-up builds are about 200 000
    objects that live as long as the process. A full collection walks all of them: about
    190 ms on this project's machine, a pause of every update in flight and the largest part
    of the bot's P99 latency (`bench/`). Frozen, they are skipped; what updates allocate is
    collected as before.
    """
    gc.collect()
    gc.freeze()
    log.debug("froze %d start-up objects", gc.get_freeze_count())


class Runtime:
    """One run of the bot process; `run()` returns the exit code."""

    def __init__(
        self,
        settings: Settings,
        redactor: Redactor | None = None,
        *,
        metrics: BotMetrics | None = None,
        install_signal_handlers: bool = True,
        host: str = "0.0.0.0",
        app_factory: AppFactory | None = None,
        poller_options: dict[str, Any] | None = None,
        freeze_startup: bool = True,
    ) -> None:
        self.settings = settings
        self.redactor = redactor or Redactor(secrets_of(settings))
        self.metrics = metrics or BotMetrics()
        self.state = RuntimeState()
        self.install_signal_handlers = install_signal_handlers
        self.host = host
        self.app_factory = app_factory or _create_app
        self.poller_options = poller_options or {}
        # Off when the runtime shares its process with other code (tests): a freeze is global.
        self.freeze_startup = freeze_startup
        self.app: Any = None
        self.ops: OpsServer | None = None
        self.webhook: WebhookServer | None = None
        self.poller: Poller | None = None
        self.started = asyncio.Event()
        self._stop = asyncio.Event()
        self._stop_requested_at: float | None = None

    def request_stop(self, reason: str = "requested") -> None:
        """Begin a graceful shutdown (signal handlers and tests call this)."""
        if self._stop.is_set():
            log.warning("shutdown already in progress (%s)", reason)
            return
        self._stop_requested_at = time.monotonic()
        self.state.phase = RuntimeState.STOPPING  # readiness false from this moment
        log.info("shutdown requested (%s)", reason)
        self._stop.set()

    async def run(self) -> int:
        if self.install_signal_handlers:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop, sig.name)
        service = self.settings.service
        # `_created` samples would double the series of every counter for no use here.
        disable_created_metrics()
        self._set_build_info()
        self.ops = OpsServer(
            self.metrics, self.state, port=service.http_port, host=self.host, redactor=self.redactor
        )
        try:
            await self.ops.start()
        except OSError as exc:
            log.error("cannot listen on HTTP_PORT %s: %s", service.http_port, describe_error(exc))
            return EXIT_ERROR
        try:
            return await self._run_bot()
        finally:
            await self.ops.stop()

    def _set_build_info(self) -> None:
        self.metrics.build_info.info(
            {
                "version": _version(),
                "mode": self.settings.telegram.bot_mode.value,
                "python": platform.python_version(),
                "aiogram": aiogram.__version__,
            }
        )

    async def _run_bot(self) -> int:
        try:
            self.app = await self._create_app()
        except Exception as exc:
            if _is_config_error(exc):
                log.error("the bot cannot start: %s", self.redactor(str(exc)))
                return EXIT_CONFIG
            log.error("the bot cannot start: %s", describe_error(exc), exc_info=exc)
            return EXIT_ERROR
        if self.app is None:  # stopped before it could be built
            return EXIT_OK
        self._set_build_info()  # the factory may have set a version of its own
        if self.ops is not None:
            self.ops.app = self.app
        try:
            return await self._serve()
        finally:
            try:
                await self.app.close()
            except Exception as exc:
                log.warning("closing the bot's connections failed: %s", describe_error(exc))
            log.info("stopped")

    async def _create_app(self) -> Any:
        """The bot, retried while a dependency is unreachable; None if stopped meanwhile."""
        backoff = Backoff(1, 30)
        while not self._stop.is_set():
            try:
                return await self.app_factory(self.settings, self.metrics)
            except Exception as exc:
                if _is_config_error(exc) or not (is_transient(exc) or isinstance(exc, OSError)):
                    raise
                delay = backoff.next()
                reason = self.redactor(describe_error(exc))
                self.state.startup_problem = reason
                log.warning("cannot build the bot yet (%s); retrying in %.0f s", reason, delay)
                await sleep_unless(self._stop, delay)
        return None

    async def _serve(self) -> int:
        app, settings = self.app, self.settings
        install_handler_context(app.dispatcher)
        pin_response_models(app.bot)
        if self.freeze_startup:
            freeze_startup_objects()
        processor = UpdateProcessor(app)
        telegram = settings.telegram
        if telegram.bot_mode is BotMode.WEBHOOK:
            self.webhook = WebhookServer(
                app,
                processor,
                self.state,
                self.metrics,
                url=telegram.webhook_url,
                secret=telegram.webhook_secret.get_secret_value(),
                port=telegram.webhook_port,
                host=self.host,
                max_connections=telegram.webhook_max_connections,
                redactor=self.redactor,
            )
            try:
                await self.webhook.start()
            except OSError as exc:
                log.error(
                    "cannot listen on WEBHOOK_PORT %s: %s",
                    telegram.webhook_port,
                    describe_error(exc),
                )
                return EXIT_ERROR
            serving = asyncio.ensure_future(self.webhook.register())
        else:
            self.poller = Poller(app, processor, self.state, self.metrics, **self.poller_options)
            serving = asyncio.ensure_future(self.poller.run())
        if not self._stop.is_set():
            self.state.phase = RuntimeState.SERVING
        log.info(
            "bot started",
            extra={
                "mode": telegram.bot_mode.value,
                "version": _version(),
                "http_port": self.ops.port if self.ops else None,
            },
        )
        self.started.set()
        purging = asyncio.ensure_future(self._purge_processed_updates())
        try:
            exit_code = await self._wait_for_stop(serving)
        finally:
            purging.cancel()
        await self._shut_down(serving, processor)
        return exit_code

    async def _purge_processed_updates(self) -> None:
        """Forget update records older than Telegram's redelivery window, once an hour.

        Every replica does it; the DELETE is idempotent and cheap with the index on the time.
        """
        purge = getattr(self.app, "purge_processed_updates", None)
        if purge is None:
            return
        while not await sleep_unless(self._stop, PURGE_INTERVAL):
            try:
                purged = await purge()
            except Exception as exc:
                log.warning("purging old update records failed: %s", describe_error(exc))
            else:
                log.info("purged old update records", extra={"purged": purged})

    async def _wait_for_stop(self, serving: asyncio.Future[None]) -> int:
        """Until a stop is requested, or serving fails for good (then: its exit code)."""
        stopping = asyncio.ensure_future(self._stop.wait())
        while True:
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.done():
                return EXIT_OK
            error = serving.exception() if not serving.cancelled() else None
            if error is None:  # webhook registered: keep serving until told to stop
                serving = stopping
                continue
            stopping.cancel()
            if isinstance(error, FatalConfigurationError):
                log.error("%s", self.redactor(str(error)))
                code = EXIT_CONFIG
            else:
                log.error("serving failed: %s", describe_error(error), exc_info=error)
                code = EXIT_ERROR
            self.request_stop("fatal error")
            return code

    def _remaining(self) -> float:
        started = self._stop_requested_at or time.monotonic()
        return max(0.0, started + self.settings.service.shutdown_timeout - time.monotonic())

    async def _shut_down(self, serving: asyncio.Future[None], processor: UpdateProcessor) -> None:
        in_flight = processor.in_flight.count
        log.info(
            "stopping: %d updates in flight, %.0f s to finish them", in_flight, self._remaining()
        )
        if self.webhook is not None:
            serving.cancel()  # a setWebhook still being retried
            await self.webhook.stop(self._remaining())
        if self.poller is not None:
            self.poller.stop()
            try:
                await asyncio.wait_for(asyncio.shield(serving), self._remaining())
            except TimeoutError:
                log.warning(
                    "shutdown timeout: %d updates still in progress are cancelled and will be "
                    "fetched again by the next poller",
                    processor.in_flight.count,
                )
                serving.cancel()
            except Exception:
                pass  # already reported by _wait_for_stop
        if not serving.done():
            serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


async def _create_app(settings: Settings, metrics: BotMetrics) -> Any:
    from trainingbot.factory import create_app

    return await create_app(settings, metrics=metrics)


def main(app_factory: AppFactory | None = None) -> int:
    """`training-bot run`."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"training-bot run: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    redactor = configure_logging(
        settings.service.log_level, settings.service.log_format.value, secrets_of(settings)
    )
    return asyncio.run(Runtime(settings, redactor, app_factory=app_factory).run())
