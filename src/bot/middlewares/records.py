"""Exactly-once effects: each update's id is recorded in the same transaction as its effects.

For every update: take a connection, open a transaction, insert the `update_id` into
`processed_updates`. If it was there already the update is a duplicate (Telegram delivered
it again, or another replica got it too): count it and skip the handlers. Otherwise the
handlers run with the connection (services write through it), and the record commits
together with their effects.

If the database cannot be reached, `UpdateNotRecorded` is raised: the webhook answers 503
and the polling loop does not confirm the update, so Telegram delivers it again.

A handler that raises is a bug, not an outage: its effects are rolled back (a savepoint),
the update stays recorded so the bug is not replayed forever, the trainee gets a short
apology, and the error is logged with the update id and counted.

Trade-off: messages are sent from inside the handler, before the commit. If the commit
then fails (the database went away at that instant), the redelivered update sends those
messages again. Sending after the commit would lose them instead when the process dies in
between; a duplicate message is the kinder failure for a trainee.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import asyncpg
from aiogram import BaseMiddleware, Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Update, User
from trainingbot.content import Catalog
from trainingbot.db.errors import DATABASE_UNAVAILABLE_ERRORS, UpdateNotRecorded
from trainingbot.db.pool import CONNECT_TIMEOUT, update_pool_metrics
from trainingbot.db.updates import ProcessedUpdateRepository
from trainingbot.db.users import UserRecord, UserRepository
from trainingbot.metrics import BotMetrics
from trainingbot.services.clock import Clock
from trainingbot.services.review import ReviewService
from trainingbot.services.trainer import TrainerService
from trainingbot.services.training import TrainingService
from trainingbot.texts import common
from trainingbot.views import Conversation

log = logging.getLogger(__name__)


class UpdateRecordMiddleware(BaseMiddleware):
    def __init__(
        self,
        pool: asyncpg.Pool,
        catalog: Catalog,
        clock: Clock,
        metrics: BotMetrics,
        admin_ids: Iterable[int],
    ) -> None:
        self.pool = pool
        self.catalog = catalog
        self.clock = clock
        self.metrics = metrics
        self.admin_ids = frozenset(admin_ids)

    async def __call__(
        self,
        handler: Callable[[Update, dict[str, Any]], Awaitable[Any]],
        event: Update,
        data: dict[str, Any],
    ) -> Any:
        update_id = event.update_id
        after_commit: list[Callable[[], Any]] = []
        try:
            conn = await self.pool.acquire(timeout=CONNECT_TIMEOUT)
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            raise UpdateNotRecorded(update_id, _reason(exc)) from exc
        try:
            update_pool_metrics(self.pool, self.metrics)
            transaction = conn.transaction()
            await transaction.start()
            try:
                if not await ProcessedUpdateRepository(conn).record(update_id):
                    self.metrics.duplicate_updates.inc()
                    log.info("update %s was processed before; skipped", update_id)
                    await transaction.rollback()
                    return None
                user = await self._user(conn, data.get("event_from_user"))
                self._provide(data, conn, user, after_commit)
                result = await self._handle(handler, event, data, conn)
                await transaction.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    await transaction.rollback()
                raise
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            raise UpdateNotRecorded(update_id, _reason(exc)) from exc
        finally:
            with contextlib.suppress(Exception):
                await self.pool.release(conn)
            update_pool_metrics(self.pool, self.metrics)
        for callback in after_commit:
            try:
                outcome = callback()
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("after-commit action of update %s failed", update_id)
        return result

    async def _user(self, conn, tg_user: User | None) -> UserRecord | None:
        if tg_user is None:
            return None
        return await UserRepository(conn).upsert(
            tg_user.id, tg_user.first_name, tg_user.username, tg_user.language_code
        )

    def _provide(
        self, data: dict[str, Any], conn, user: UserRecord | None, after_commit: list
    ) -> None:
        training = TrainingService(conn, self.catalog, self.clock, self.metrics)
        data.update(
            conn=conn,
            user=user,
            after_commit=after_commit,
            training=training,
            reviews=ReviewService(conn, self.catalog, self.clock, self.metrics),
            trainer=TrainerService(conn, self.catalog, self.admin_ids),
        )
        chat = data.get("event_chat")
        chat_id = chat.id if chat is not None else (user.id if user else None)
        if chat_id is not None and user is not None:
            state: FSMContext | None = data.get("state")
            data["conversation"] = Conversation(data["bot"], chat_id, user.id, training, state)

    async def _handle(self, handler, event: Update, data: dict[str, Any], conn) -> Any:
        savepoint = conn.transaction()
        await savepoint.start()
        try:
            result = await handler(event, data)
        except DATABASE_UNAVAILABLE_ERRORS:
            raise
        except Exception as exc:
            with contextlib.suppress(Exception):
                await savepoint.rollback()
            if _connection_lost(conn):
                raise
            self.metrics.errors.labels(type=type(exc).__name__).inc()
            log.exception(
                "handler failed on update %s", event.update_id, extra={"update_id": event.update_id}
            )
            await _apologize(data["bot"], event)
            return None
        await savepoint.commit()
        return result


def _connection_lost(conn) -> bool:
    with contextlib.suppress(Exception):
        return conn.is_closed()
    return True


def _reason(exc: BaseException) -> str:
    return f"database unavailable ({type(exc).__name__})"


async def _apologize(bot: Bot, update: Update) -> None:
    """Best effort: the trainee learns something went wrong instead of waiting forever."""
    with contextlib.suppress(Exception):
        if update.callback_query is not None:
            await bot.answer_callback_query(update.callback_query.id, common.apology_short())
            return
        chat_id = None
        if update.message is not None:
            chat_id = update.message.chat.id
        elif update.poll_answer is not None and update.poll_answer.user is not None:
            chat_id = update.poll_answer.user.id
        if chat_id is not None:
            await bot.send_message(chat_id, common.apology())
