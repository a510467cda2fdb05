"""Webhook delivery as Telegram does it.

Updates are POSTed as JSON with the `X-Telegram-Bot-Api-Secret-Token` header. A 2xx answer
confirms an update; anything else, a refused connection or a timeout leaves it pending and
it is sent again after a growing pause, while `getWebhookInfo` shows the pending count and
the last error. At most `max_connections` requests are in flight, and updates of one chat
go one at a time and in order (Telegram's own Bot API server queues them per chat), so a
conversation is never reordered by parallel delivery.

A 2xx answer may carry a method call for Telegram to make ("reply to the webhook"), as
aiogram's request handler does; the emulator makes it, as Telegram would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from trainingbot.emulator.params import Params, UploadedFile
from trainingbot.emulator.updates import Update, UpdateQueue

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

ReplyExecutor = Callable[[str, Params], Awaitable[Any]]


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How the emulator retries a failed delivery. Telegram waits far longer between tries;
    tests want the same behaviour in a fraction of a second."""

    timeout: float = 10.0
    first_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, failures: int) -> float:
        return min(self.max_delay, self.first_delay * 2 ** max(failures - 1, 0))


def _queue_key(update: Update) -> Any:
    """Which updates must stay in order relative to each other: those of one chat."""
    body = next(value for key, value in update.items() if key != "update_id")
    chat = body.get("chat") or (body.get("message") or {}).get("chat")
    if chat is not None:
        return chat["id"]
    user = body.get("from") or body.get("user")
    if user is not None:
        return user["id"]
    return body.get("id") or body.get("poll_id")


class WebhookDelivery:
    """Delivers the update queue to one webhook URL until it is stopped."""

    def __init__(
        self,
        settings: WebhookSettings,
        queue: UpdateQueue,
        execute_reply: ReplyExecutor,
        retry: RetryPolicy,
    ) -> None:
        self.settings = settings
        self._queue = queue
        self._execute_reply = execute_reply
        self._retry = retry
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.delivered_count = 0
        self._per_key: dict[Any, deque[Update]] = {}
        self._ready: deque[Any] = deque()  # keys with an update to send and none in flight
        self._scheduled: set[Any] = set()  # keys that are ready or in flight
        self._outstanding = 0
        self._wake = asyncio.Event()
        self._failures = 0
        self._retry_at = 0.0
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._reply_tasks: set[asyncio.Task[Any]] = set()

    @property
    def outstanding(self) -> int:
        """Updates queued or in flight, duplicates included."""
        return self._outstanding

    def start(self, backlog: list[Update]) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.settings.max_connections),
            timeout=aiohttp.ClientTimeout(total=self._retry.timeout),
        )
        for update in backlog:
            self.schedule(update)
        self._workers = [
            asyncio.create_task(self._work(), name=f"webhook-delivery-{n}")
            for n in range(self.settings.max_connections)
        ]

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, *self._reply_tasks, return_exceptions=True)
        self._workers.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def schedule(self, update: Update) -> None:
        key = _queue_key(update)
        self._per_key.setdefault(key, deque()).append(update)
        self._outstanding += 1
        if key not in self._scheduled:
            self._scheduled.add(key)
            self._ready.append(key)
            self._wake.set()

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._ready:
                self._wake.clear()
                await self._wake.wait()
            pause = self._retry_at - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            key = self._ready.popleft()
            updates = self._per_key[key]
            update = updates.popleft()
            error = await self._post(update)
            if error is None:
                self._failures = 0
                self._outstanding -= 1
                self.delivered_count += 1
                self._queue.acknowledge(update["update_id"])
                if updates:
                    self._ready.append(key)
                    self._wake.set()
                else:
                    del self._per_key[key]
                    self._scheduled.discard(key)
            else:
                # Keep it first in line for its chat and back off, as Telegram does.
                updates.appendleft(update)
                self._ready.appendleft(key)
                self._failures += 1
                self._retry_at = loop.time() + self._retry.delay(self._failures)
                self.last_error_date = int(time.time())
                self.last_error_message = error
                self._wake.set()

    async def _post(self, update: Update) -> str | None:
        """POST one update; None when the webhook accepted it, else Telegram's error text."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if self.settings.secret_token:
            headers[SECRET_HEADER] = self.settings.secret_token
        body = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            async with self._session.post(self.settings.url, data=body, headers=headers) as resp:
                if not 200 <= resp.status < 300:
                    await resp.read()
                    return f"Wrong response from the webhook: {resp.status} {resp.reason}"
                reply = await _read_reply(resp)
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except aiohttp.ServerDisconnectedError:
            return "Connection reset by peer"
        except aiohttp.ClientError as exc:
            return f"Connection error: {exc}"
        if reply is not None:
            task = asyncio.create_task(self._run_reply(*reply))
            self._reply_tasks.add(task)
            task.add_done_callback(self._reply_tasks.discard)
        return None

    async def _run_reply(self, method: str, params: Params) -> None:
        try:
            await self._execute_reply(method, params)
        except Exception:
            log.debug("the webhook reply %s failed", method, exc_info=True)


async def _read_reply(resp: aiohttp.ClientResponse) -> tuple[str, Params] | None:
    """A method call in the webhook's answer (JSON or multipart), if there is one."""
    if resp.content_type == "multipart/form-data":
        values: dict[str, Any] = {}
        files: dict[str, UploadedFile] = {}
        reader = aiohttp.MultipartReader(resp.headers, resp.content)
        while (part := await reader.next()) is not None:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                data = await part.read(decode=False)
                files[part.name] = UploadedFile(part.filename, bytes(data))
            else:
                values[part.name] = await part.text()
    else:
        raw = await resp.read()
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            return None  # Telegram ignores an answer that is not a method call
        if not isinstance(parsed, dict):
            return None
        values, files = parsed, {}
    method = values.pop("method", None)
    if not isinstance(method, str) or not method:
        return None
    return method, Params(values, files)
