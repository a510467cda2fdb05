"""`BotApiEmulator`: the emulated Bot API on a local HTTP port, and the handles tests use.

The server speaks the Bot API's HTTP shape: `/bot<token>/<method>` with GET or POST and a
query string, JSON, form or multipart body; replies are `{"ok": true, "result": …}` or
`{"ok": false, "error_code": …, "description": …}` with the HTTP status equal to the code.
"""

# Waits take `timeout=` seconds: the documented interface of the emulator's test API.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter, deque
from typing import Any, NamedTuple

from aiohttp import web

from trainingbot.emulator.chats import ChatState
from trainingbot.emulator.control import add_trainee_routes
from trainingbot.emulator.errors import ApiError, injected, not_found, unauthorized
from trainingbot.emulator.limits import BotApiLimits, FloodControl
from trainingbot.emulator.methods import Described, lookup
from trainingbot.emulator.params import Params, read_params
from trainingbot.emulator.state import EmulatorState
from trainingbot.emulator.trainee import Group, Trainee, make_user
from trainingbot.emulator.webhook import RetryPolicy

_PATH = re.compile(r"/bot([^/]+)/([A-Za-z0-9_]*)")


class ApiCall(NamedTuple):
    """One method call the bot made: `method` (canonical name) and its parameters."""

    method: str
    params: dict[str, Any]


class _InjectedFailure(NamedTuple):
    error_code: int
    description: str | None
    retry_after: int | None


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


class BotApiEmulator:
    """A local Telegram Bot API for one bot token, with emulated people to talk to it.

    Use it as `async with BotApiEmulator() as emu:` or with `start()`/`stop()`; point the
    bot's `BOT_API_BASE_URL` at `emu.base_url`.
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        host: str = "127.0.0.1",
        port: int = 0,
        limits: BotApiLimits | None = None,
        *,
        bot_name: str = "Training Bot",
        bot_username: str = "training_bot",
        record_requests: bool = True,
        request_log_size: int | None = 10_000,
        history_limit: int | None = None,
        first_update_id: int = 1,
        webhook_timeout: float = 10.0,
        webhook_retry_delay: float = 0.05,
        webhook_max_retry_delay: float = 2.0,
        serve_trainees: bool = False,
    ) -> None:
        """
        :param record_requests: keep `requests`, the log of the bot's calls (off for load).
        :param request_log_size: how many calls `requests` keeps (None: all).
        :param history_limit: how many of the bot's messages each chat keeps (None: all).
        :param webhook_timeout: seconds the bot's webhook has to answer before a retry.
        :param webhook_retry_delay: first pause after a failed delivery; it doubles up to
            `webhook_max_retry_delay` (Telegram waits much longer; tests should not).
        :param serve_trainees: also serve emulated trainees over HTTP (`control.py`), for a
            standalone emulator that people and tests outside this process act through.
        """
        self.host = host
        self._requested_port = port
        self._serve_trainees = serve_trainees
        self.state = EmulatorState(
            token,
            limits or BotApiLimits(),
            bot_name=bot_name,
            bot_username=bot_username,
            history_limit=history_limit,
            first_update_id=first_update_id,
            retry=RetryPolicy(webhook_timeout, webhook_retry_delay, webhook_max_retry_delay),
        )
        self.state.execute_reply = self.call
        self.record_requests = record_requests
        self.requests: deque[ApiCall] = deque(maxlen=request_log_size)
        self.method_counts: Counter[str] = Counter()
        self._failures: dict[str, deque[_InjectedFailure]] = {}
        self._trainees: dict[tuple[int, int], Trainee] = {}
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> BotApiEmulator:
        app = web.Application(client_max_size=self.limits.max_upload_bytes + 1024 * 1024)
        if self._serve_trainees:
            add_trainee_routes(app.router, self)
        app.router.add_route("*", "/{path:.*}", self._handle)
        # No access log: at benchmark rates it would cost more than the emulation itself.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self.state.updates.release_poller()
        await self.state.stop_webhook()
        for pending in self.state.callbacks.values():
            if not pending.answer.done():
                pending.answer.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- what the bot needs to know ----------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the emulator is not started yet: await emu.start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def bot_user(self) -> dict[str, Any]:
        return self.state.bot_user

    @property
    def limits(self) -> BotApiLimits:
        return self.state.limits

    @limits.setter
    def limits(self, limits: BotApiLimits) -> None:
        """Switch limits (e.g. flood control) on or off mid-test; flood counts start over."""
        self.state.limits = limits
        self.state.flood = FloodControl(limits)

    # --- emulated people ---------------------------------------------------------------

    def trainee(
        self,
        user_id: int,
        first_name: str = "Trainee",
        username: str | None = None,
        language_code: str | None = "en",
        last_name: str | None = None,
    ) -> Trainee:
        """A person in a private chat with the bot (the chat id is the user id)."""
        existing = self._trainees.get((user_id, user_id))
        if existing is not None:
            return existing
        user = make_user(user_id, first_name, username, language_code, last_name)
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            chat["last_name"] = last_name
        if username:
            chat["username"] = username
        trainee = Trainee(self.state, user, self.state.add_chat(chat))
        self._trainees[(user_id, user_id)] = trainee
        return trainee

    def group(self, chat_id: int, title: str = "Training group") -> Group:
        """A group chat with the bot in it; `group.member(...)` gives people who write there.

        An id starting with -100 is a supergroup, as on Telegram."""
        if chat_id >= 0:
            raise ValueError(f"group chat ids are negative on Telegram, got {chat_id}")
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat = self.state.add_chat({"id": chat_id, "type": kind, "title": title})
        return Group(self, chat)

    def _member(self, chat: ChatState, user: dict[str, Any]) -> Trainee:
        key = (user["id"], chat.id)
        if key not in self._trainees:
            self._trainees[key] = Trainee(self.state, user, chat)
        return self._trainees[key]

    def block(self, user_id: int) -> None:
        """The person blocks the bot: sends to them fail with 403 from now on."""
        self.trainee(user_id).block_bot()

    def unblock(self, user_id: int) -> None:
        self.trainee(user_id).unblock_bot()

    # --- updates -----------------------------------------------------------------------

    def push_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue a hand-made update (e.g. a malformed one); its id, or None if filtered."""
        return self.state.updates.publish(kind, payload)

    async def redeliver(self, update_id: int) -> None:
        """Deliver update `update_id` again (by getUpdates or webhook), as Telegram does
        when it did not see an acknowledgement: the bot must not act on it twice."""
        self.state.updates.redeliver(update_id)

    @property
    def pending_update_count(self) -> int:
        return self.state.pending_update_count

    @property
    def webhook_url(self) -> str | None:
        return self.state.webhook.settings.url if self.state.webhook else None

    @property
    def webhook_last_error(self) -> str | None:
        return self.state.webhook.last_error_message if self.state.webhook else None

    async def wait_until_delivered(self, timeout: float = 5.0) -> None:
        """Wait until no update is pending (all confirmed by getUpdates or the webhook)."""
        async with asyncio.timeout(timeout):
            # A test helper, not a hot path: polling keeps the queue free of bookkeeping.
            while self.pending_update_count:  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    # --- fault injection and inspection ------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int = 500,
        description: str | None = None,
        *,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail with this error instead of running.

        `fail_next("sendMessage", 429, retry_after=1)` answers "Too Many Requests: retry
        after 1" with `parameters.retry_after`; 500/502 answer "Internal Server Error" and
        "Bad Gateway" unless `description` says otherwise.
        """
        entry = lookup(method)
        if entry is None:
            raise ValueError(f"the emulator does not serve a method called {method!r}")
        queue = self._failures.setdefault(entry[0], deque())
        queue.extend([_InjectedFailure(error_code, description, retry_after)] * times)

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every logged call of `method`, oldest first."""
        entry = lookup(method)
        name = entry[0] if entry else method
        return [call.params for call in self.requests if call.method == name]

    async def call(self, method: str, params: dict[str, Any] | Params | None = None) -> Any:
        """Run a Bot API method in-process, as if the bot had called it over HTTP."""
        entry = lookup(method)
        if entry is None:
            raise not_found()
        if not isinstance(params, Params):
            params = Params(dict(params or {}))
        result = await self._invoke(entry[0], entry[1], params)
        return result.result if isinstance(result, Described) else result

    # --- HTTP --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        match = _PATH.fullmatch(request.path)
        if match is None:
            return _json_response(not_found().payload(), 404)
        token, name = match.groups()
        if token != self.state.token:
            return _json_response(unauthorized().payload(), 401)
        entry = lookup(name) if name else None
        if entry is None:
            return _json_response(not_found().payload(), 404)
        try:
            params = await read_params(request, self.limits.max_upload_bytes)
            result = await self._invoke(entry[0], entry[1], params)
        except ApiError as error:
            return _json_response(error.payload(), error.error_code)
        if isinstance(result, Described):
            return _json_response(
                {"ok": True, "result": result.result, "description": result.description}
            )
        return _json_response({"ok": True, "result": result})

    async def _invoke(self, name: str, handler: Any, params: Params) -> Any:
        self.method_counts[name] += 1
        if self.record_requests:
            self.requests.append(ApiCall(name, params.as_dict()))
        failures = self._failures.get(name)
        if failures:
            failure = failures.popleft()
            raise injected(failure.error_code, failure.description, failure.retry_after)
        return await handler(self.state, params)
