"""The update queue: sequential update ids, `allowed_updates`, and getUpdates long polling.

Updates wait in `pending` until they are confirmed: by a getUpdates call with a higher
`offset` (polling) or by a 2xx answer of the webhook. Only one getUpdates may wait at a
time; a second one terminates the first with Telegram's 409, which is how two pollers on
one token find out about each other.
"""

# Waits take `timeout=` seconds: the documented interface of the emulator's test API.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from trainingbot.emulator.errors import (
    CONFLICT_OTHER_POLLER,
    CONFLICT_WEBHOOK_ACTIVE,
    bad_request,
    conflict,
)

Update = dict[str, Any]

ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# What Telegram sends when allowed_updates is empty or was never given.
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}


def update_type(update: Update) -> str:
    return next(key for key in update if key != "update_id")


class _Waiter:
    """One getUpdates call waiting for updates."""

    __slots__ = ("conflict", "event")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.conflict: str | None = None


class UpdateQueue:
    """Every update the emulated people cause, until the bot confirms it."""

    def __init__(self, first_update_id: int = 1, history_size: int = 10_000) -> None:
        self._ids = itertools.count(first_update_id)
        self.pending: OrderedDict[int, Update] = OrderedDict()
        # Recent updates by id, so that a test can have one delivered again.
        self._history: OrderedDict[int, Update] = OrderedDict()
        self._history_size = history_size
        # Duplicates for the next getUpdates, served before the pending ones.
        self._redeliveries: deque[Update] = deque()
        self.allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._waiter: _Waiter | None = None
        # Set while a webhook is active: it takes every new update instead of getUpdates.
        self.on_publish: Callable[[Update], None] | None = None
        self.filtered_count = 0

    def set_allowed(self, types: Any) -> None:
        """Apply an `allowed_updates` parameter (None keeps the previous setting)."""
        if types is None:
            return
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise bad_request("can't parse allowed_updates JSON array")
        self.allowed = frozenset(types) & ALL_UPDATE_TYPES or DEFAULT_UPDATE_TYPES

    def publish(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue a new update; its id, or None when allowed_updates filters it out."""
        if kind not in self.allowed:
            # Telegram does not even create updates of types the bot did not ask for.
            self.filtered_count += 1
            return None
        update_id = next(self._ids)
        update = {"update_id": update_id, kind: payload}
        self.pending[update_id] = update
        self._history[update_id] = update
        if len(self._history) > self._history_size:
            self._history.popitem(last=False)
        if self.on_publish is not None:
            self.on_publish(update)
        elif self._waiter is not None:
            self._waiter.event.set()
        return update_id

    def find(self, update_id: int) -> Update:
        update = self._history.get(update_id)
        if update is None:
            raise KeyError(f"update {update_id} is not among the last {self._history_size}")
        return update

    def redeliver(self, update_id: int) -> Update:
        """Deliver update `update_id` once more, as Telegram sometimes does."""
        update = self.find(update_id)
        if self.on_publish is not None:
            self.on_publish(update)
        else:
            self._redeliveries.append(update)
            if self._waiter is not None:
                self._waiter.event.set()
        return update

    def acknowledge(self, update_id: int) -> None:
        self.pending.pop(update_id, None)

    def drop_pending(self) -> None:
        self.pending.clear()
        self._redeliveries.clear()

    @property
    def pending_count(self) -> int:
        return len(self.pending)

    def _confirm_below(self, offset: int) -> None:
        pending = self.pending
        if offset < 0:
            # A negative offset keeps only the last -offset updates, forgetting the rest.
            while len(pending) > -offset:
                pending.popitem(last=False)
            return
        while pending:
            first = next(iter(pending))
            if first >= offset:
                break
            del pending[first]

    def _take(self, limit: int) -> list[Update]:
        batch: list[Update] = []
        while self._redeliveries and len(batch) < limit:
            batch.append(self._redeliveries.popleft())
        if len(batch) < limit:
            batch.extend(itertools.islice(self.pending.values(), limit - len(batch)))
        return batch

    def terminate_poller(self, reason: str) -> None:
        """End a waiting getUpdates with a 409 conflict (`reason` is its description)."""
        waiter = self._waiter
        if waiter is not None:
            waiter.conflict = reason
            waiter.event.set()
            self._waiter = None

    def release_poller(self) -> None:
        """End a waiting getUpdates with whatever there is (the emulator is stopping)."""
        if self._waiter is not None:
            self._waiter.event.set()

    async def get_updates(self, offset: int | None, limit: int, timeout: float) -> list[Update]:
        """getUpdates: confirm below `offset`, then return up to `limit` updates, waiting
        up to `timeout` seconds for the first one."""
        if self.on_publish is not None:
            raise conflict(CONFLICT_WEBHOOK_ACTIVE)
        # A newer request always wins; the one still waiting learns it was terminated.
        self.terminate_poller(CONFLICT_OTHER_POLLER)
        if offset is not None:
            self._confirm_below(offset)
        batch = self._take(limit)
        if batch or timeout <= 0:
            return batch
        waiter = self._waiter = _Waiter()
        try:
            async with asyncio.timeout(timeout):
                await waiter.event.wait()
        except TimeoutError:
            pass
        finally:
            if self._waiter is waiter:
                self._waiter = None
        if waiter.conflict is not None:
            raise conflict(waiter.conflict)
        return self._take(limit)


def check_limit(limit: int | None) -> int:
    """getUpdates' limit: 1-100, default 100 (Telegram clamps rather than refuses)."""
    if limit is None or limit <= 0:
        return 100
    return min(limit, 100)
