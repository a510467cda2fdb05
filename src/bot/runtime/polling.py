"""Polling mode: one process fetches updates with `getUpdates` and confirms them only when done.

Telegram forgets an update when a later `getUpdates` asks for an `offset` past it. aiogram's
own polling moves the offset as soon as an update is fetched, so an update whose handling
failed because the database was down is lost. Here each batch is handled first:

- the updates of one chat are handled one after the other, in order; different chats at once;
- when every update of the batch is `DONE` or `FAILED`, the next offset is past the batch;
- when some are `RETRY` (not recorded: the database or Redis is away), the offset stays at the
  first of them, the poller backs off, and fetches them again. Updates of the batch that did
  succeed come back too and are skipped as duplicates by the bot's update record; the later
  updates of a chat whose update must be retried are not handled before it.

A handler that runs long holds the next batch back: polling is meant for development and small
deployments (one replica); webhook mode scales out.

A second process polling the same token makes the Bot API answer 409 Conflict (the newer
request wins, the waiting one is terminated). The poller then logs one ERROR line naming the
problem, reports it in `/ready` (503, check "telegram"), and polls again only after a back-off
of 5 s growing to 60 s, so that the two processes do not race each other for every update.
Further conflicts while it lasts are not logged again. Once no conflict has been seen for
`conflict_clear_after` seconds (90, longer than the longest back-off, so that another
instance that is merely sleeping does not count as gone), it logs that polling resumed and
readiness recovers by itself.
It does not exit: under Kubernetes an exit would turn into a crash loop (and, during a rollout,
into a rollback of an image that is not at fault), and the conflict usually ends on its own
(an old pod finishing its shutdown, a developer stopping a local run).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlsplit

from aiogram.exceptions import TelegramConflictError, TelegramUnauthorizedError
from aiogram.methods import GetUpdates
from aiogram.types import Update

from trainingbot.metrics import BotMetrics
from trainingbot.runtime.backoff import Backoff, sleep_unless
from trainingbot.runtime.ops import RuntimeState
from trainingbot.runtime.updates import (
    AppLike,
    FatalConfigurationError,
    Outcome,
    UpdateProcessor,
    describe_error,
    subject_of,
)

log = logging.getLogger("trainingbot.polling")

# Telegram holds a long poll open up to this many seconds when there is nothing to deliver.
POLL_TIMEOUT = 30
# Telegram's maximum batch.
BATCH_LIMIT = 100
# Seconds without a 409 before a conflict counts as over: above the longest back-off (60 s).
CONFLICT_CLEAR_AFTER = 90.0


def next_offset(batch: Sequence[Update], retry_from: int | None) -> int:
    """The offset that confirms what is done: past the batch, or at the first update to retry."""
    if retry_from is not None:
        return retry_from
    return max(update.update_id for update in batch) + 1


def group_by_chat(batch: Sequence[Update]) -> list[list[Update]]:
    """Updates of the same chat (or user) together, in order; others each on their own."""
    groups: dict[object, list[Update]] = {}
    for update in batch:
        key = subject_of(update).ordering_key
        groups.setdefault(key if key is not None else ("update", update.update_id), []).append(
            update
        )
    return list(groups.values())


class Poller:
    """Fetches, handles and confirms updates until `stop()`."""

    def __init__(
        self,
        app: AppLike,
        processor: UpdateProcessor,
        state: RuntimeState,
        metrics: BotMetrics,
        *,
        poll_timeout: int = POLL_TIMEOUT,
        limit: int = BATCH_LIMIT,
        conflict_clear_after: float = CONFLICT_CLEAR_AFTER,
    ) -> None:
        self.app = app
        self.processor = processor
        self.state = state
        self.metrics = metrics
        self.poll_timeout = poll_timeout
        self.limit = limit
        self.offset: int | None = None
        self.conflict_clear_after = conflict_clear_after
        self.in_conflict = False
        self._last_conflict = 0.0
        self._confirmed_offset: int | None = None
        self._stopping = asyncio.Event()
        for error_type in ("polling", "polling_conflict"):
            metrics.errors.labels(type=error_type)

    def stop(self) -> None:
        """Stop fetching; the batch in progress finishes and is confirmed."""
        self._stopping.set()

    async def delete_webhook(self) -> None:
        """Telegram refuses `getUpdates` while a webhook is set: delete any, and say so."""
        bot = self.app.bot
        backoff = Backoff(1, 30)
        while not self._stopping.is_set():
            try:
                info = await bot.get_webhook_info()
                await bot.delete_webhook(drop_pending_updates=False)
            except TelegramUnauthorizedError as exc:
                raise FatalConfigurationError(
                    f"the Bot API refused the token ({describe_error(exc)}): check BOT_TOKEN"
                ) from None
            except Exception as exc:
                delay = backoff.next()
                self.metrics.errors.labels(type="polling").inc()
                log.warning(
                    "deleteWebhook failed, retrying in %.0f s: %s", delay, describe_error(exc)
                )
                await sleep_unless(self._stopping, delay)
                continue
            if info.url:
                log.info(
                    "polling mode: deleted the webhook that was set for this token (host %s; "
                    "Telegram refuses getUpdates while a webhook is set)",
                    urlsplit(info.url).hostname,
                    extra={"pending_update_count": info.pending_update_count},
                )
            else:
                log.info("polling mode: called deleteWebhook (no webhook was set)")
            return

    async def run(self) -> None:
        """Poll until `stop()`; raises `FatalConfigurationError` when the token is refused."""
        await self.delete_webhook()
        allowed = self.app.dispatcher.resolve_used_update_types()
        log.info("polling started", extra={"allowed_updates": allowed})
        errors = Backoff(1, 30)
        conflicts = Backoff(5, 60)
        retries = Backoff(0.5, 10)
        try:
            while not self._stopping.is_set():
                try:
                    batch = await self._fetch(allowed)
                except TelegramConflictError as exc:
                    self._enter_conflict(exc)
                    await sleep_unless(self._stopping, conflicts.next())
                    continue
                except TelegramUnauthorizedError as exc:
                    raise FatalConfigurationError(
                        f"the Bot API refused the token ({describe_error(exc)}): check BOT_TOKEN"
                    ) from None
                except Exception as exc:
                    delay = errors.next()
                    self.metrics.errors.labels(type="polling").inc()
                    log.warning(
                        "getUpdates failed, retrying in %.1f s: %s", delay, describe_error(exc)
                    )
                    await sleep_unless(self._stopping, delay)
                    continue
                if batch is None:  # stopped while waiting
                    break
                if self._leave_conflict():
                    conflicts.reset()
                errors.reset()
                if not batch:
                    continue
                retry_from = await self._handle(batch)
                self.offset = next_offset(batch, retry_from)
                if retry_from is not None:
                    delay = retries.next()
                    log.warning(
                        "update %d was not recorded; fetching it again in %.1f s",
                        retry_from,
                        delay,
                    )
                    await sleep_unless(self._stopping, delay)
                else:
                    retries.reset()
        finally:
            self.state.problems.pop("telegram", None)
        await self._confirm()

    async def _fetch(self, allowed: list[str]) -> list[Update] | None:
        """One `getUpdates` (a long poll), or None when `stop()` came first."""
        method = GetUpdates(
            offset=self.offset,
            limit=self.limit,
            timeout=self.poll_timeout,
            allowed_updates=allowed,
        )
        # The request must outlive the long poll, or every quiet period would be a timeout.
        fetch = asyncio.ensure_future(self.app.bot(method, request_timeout=self.poll_timeout + 15))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()
                with contextlib.suppress(BaseException):
                    await fetch
        if fetch.cancelled():
            return None
        self._confirmed_offset = self.offset
        return fetch.result()

    async def _handle(self, batch: list[Update]) -> int | None:
        """Handle a batch; the id of the first update to fetch again, or None."""

        async def handle_in_order(updates: list[Update]) -> int | None:
            for update in updates:
                if await self.processor.process(update) is Outcome.RETRY:
                    return update.update_id  # later updates of this chat wait for it
            return None

        results = await asyncio.gather(*(handle_in_order(g) for g in group_by_chat(batch)))
        to_retry = [update_id for update_id in results if update_id is not None]
        return min(to_retry) if to_retry else None

    async def _confirm(self) -> None:
        """Tell Telegram what is done before exiting, so that a restart does not redo it."""
        if self.offset is None or self.offset == self._confirmed_offset:
            return
        try:
            await asyncio.wait_for(
                self.app.bot(GetUpdates(offset=self.offset, limit=1, timeout=0), request_timeout=5),
                6,
            )
        except Exception as exc:
            log.warning(
                "could not confirm the handled updates before exiting (%s); they will be "
                "delivered again and skipped as duplicates",
                describe_error(exc),
            )
        else:
            self._confirmed_offset = self.offset
            log.info("confirmed the handled updates", extra={"offset": self.offset})

    def _enter_conflict(self, exc: Exception) -> None:
        self.metrics.errors.labels(type="polling_conflict").inc()
        if "webhook" in str(exc).lower():
            problem = "conflict: a webhook is set for this token (an instance in webhook mode?)"
        else:
            problem = "conflict: another instance polls this token"
        self.state.problems["telegram"] = problem
        self._last_conflict = time.monotonic()
        if self.in_conflict:
            log.debug("still in conflict: %s", describe_error(exc))
            return
        self.in_conflict = True
        log.error(
            "%s: the Bot API answered 409 Conflict (%s). Only one process may poll a token: "
            "stop the other one, or run replicas with BOT_MODE=webhook. This process probes "
            "again every 5-60 s and is not ready meanwhile.",
            problem,
            describe_error(exc),
        )

    def _leave_conflict(self) -> bool:
        """After a successful poll: True when a conflict has just been declared over."""
        if not self.in_conflict:
            return False
        if time.monotonic() - self._last_conflict < self.conflict_clear_after:
            return False
        self.in_conflict = False
        self.state.problems.pop("telegram", None)
        log.info(
            "polling resumed: no conflict for %.0f s, no other instance polls this token",
            self.conflict_clear_after,
        )
        return True


@contextlib.asynccontextmanager
async def run_polling(app: AppLike, *, poll_timeout: int = 10) -> AsyncIterator[Poller]:
    """The runtime's poller for the duration of the block (for the demo and tests).

    `app` is a `BotApp` (its `metrics` are used). On exit the poller stops, the batch in
    progress finishes and is confirmed.
    """
    metrics = getattr(app, "metrics", None) or BotMetrics()
    poller = Poller(app, UpdateProcessor(app), RuntimeState(), metrics, poll_timeout=poll_timeout)
    task = asyncio.ensure_future(poller.run())
    try:
        yield poller
    finally:
        poller.stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), poll_timeout + 15)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
