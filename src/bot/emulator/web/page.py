"""`ChatPage`: the emulator's private chats as a web page, live, for `training-bot demo`.

The page is a view of the emulator (it watches the chats, see `ChatWatcher`) and acts as the
people in them through the same `Trainee` handles tests and the terminal chat use: what is
typed in the terminal shows here at once, and the other way round. Changes reach the browser
as server-sent events. Demo controls that belong to the bot, not to Telegram (moving the
bot's clock), come in as callables; course problems are pushed with `show_problems`.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

from trainingbot.emulator.chats import ChatState
from trainingbot.emulator.server import BotApiEmulator
from trainingbot.emulator.trainee import Trainee
from trainingbot.emulator.web.render import bot_message_view, person_message_view

# The browser's EventSource reconnects by itself; a comment this often keeps proxies and idle
# timeouts from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0
_STATIC = {
    "app.css": "text/css",
    "app.js": "text/javascript",
}


@dataclass(frozen=True)
class Person:
    """Someone whose private chat with the bot the page shows."""

    user_id: int
    name: str
    role: str = "trainee"  # or "trainer": shown beside the name


def _static(name: str) -> bytes:
    return resources.files("trainingbot.emulator.web").joinpath("static", name).read_bytes()


class ChatPage:
    """The page and its API on `host:port`; `await start()`, `await stop()`."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        people: list[Person],
        *,
        advance_clock: Callable[[float], str] | None = None,
        clock_now: Callable[[], str] | None = None,
        title: str = "Training bot",
    ) -> None:
        if not people:
            raise ValueError("the page needs at least one person to chat as")
        self.emulator = emulator
        self.people = people
        self.title = title
        self.advance_clock = advance_clock
        self.clock_now = clock_now
        self.trainees: dict[int, Trainee] = {
            person.user_id: emulator.trainee(person.user_id, person.name) for person in people
        }
        # What the people wrote, per chat (the emulator keeps only the bot's messages).
        self.sent: dict[int, dict[int, dict[str, Any]]] = {chat: {} for chat in self.trainees}
        self.problems: list[dict[str, Any]] = []
        self.version: str | None = None
        self._listeners: set[asyncio.Queue[tuple[str, dict[str, Any]]]] = set()
        self._runner: web.AppRunner | None = None
        self.url: str | None = None
        emulator.state.watch_chats(self._on_chat_change)

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/events", self._events)
        app.router.add_post("/chats/{chat}/send", self._send)
        app.router.add_post("/chats/{chat}/press", self._press)
        app.router.add_post("/chats/{chat}/vote", self._vote)
        app.router.add_get("/chats/{chat}/documents/{message}", self._document)
        app.router.add_post("/clock", self._clock)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound}/"
        return self.url

    async def stop(self) -> None:
        for queue in list(self._listeners):
            queue.put_nowait(("close", {}))
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- what the demo tells the page --------------------------------------------------

    def show_problems(self, problems: list[dict[str, Any]], version: str | None = None) -> None:
        """The course files' problems now (`[]` when they are valid again): each a dict
        with `where` ("file:line") and `message`, and `warning` (bool)."""
        self.problems = list(problems)
        if version is not None:
            self.version = version
        self._publish("problems", {"problems": self.problems, "version": self.version})

    # --- the chats ---------------------------------------------------------------------

    def _on_chat_change(self, what: str, chat: ChatState, subject: Any) -> None:
        if chat.id not in self.trainees:
            return
        if what == "sent":
            self.sent[chat.id][subject["message_id"]] = subject
            self._publish("item", {"chat": chat.id, "item": person_message_view(subject)})
        elif what == "deleted":
            self.sent[chat.id].pop(subject, None)
            self._publish("deleted", {"chat": chat.id, "id": subject})
        else:
            self._publish("item", {"chat": chat.id, "item": bot_message_view(subject, chat.id)})

    def _history(self, chat_id: int) -> list[dict[str, Any]]:
        chat = self.trainees[chat_id].chat
        items = [bot_message_view(message, chat_id) for message in chat.messages.values()]
        items += [person_message_view(message) for message in self.sent[chat_id].values()]
        return sorted(items, key=lambda item: item["id"])

    def snapshot(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "people": [
                {"id": p.user_id, "name": p.name, "role": p.role, "items": self._history(p.user_id)}
                for p in self.people
            ],
            "problems": self.problems,
            "version": self.version,
            "clock": self.clock_now() if self.clock_now else None,
            "time_travel": self.advance_clock is not None,
        }

    def _publish(self, event: str, data: dict[str, Any]) -> None:
        for queue in self._listeners:
            queue.put_nowait((event, data))

    # --- HTTP --------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        page = _static("index.html").decode().replace("{{title}}", html.escape(self.title))
        return web.Response(text=page, content_type="text/html", headers=_NO_STORE)

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _STATIC:
            raise web.HTTPNotFound()
        return web.Response(body=_static(name), content_type=_STATIC[name], headers=_NO_STORE)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._listeners.add(queue)
        try:
            await _write_event(response, "snapshot", self.snapshot())
            async for event, data in _with_keepalive(queue):
                if event == "close":
                    break
                if event == "keepalive":
                    await response.write(b": keepalive\n\n")
                else:
                    await _write_event(response, event, data)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._listeners.discard(queue)
        return response

    def _trainee(self, request: web.Request) -> Trainee:
        try:
            return self.trainees[int(request.match_info["chat"])]
        except (ValueError, KeyError):
            raise web.HTTPNotFound(text="no such chat on this page") from None

    async def _send(self, request: web.Request) -> web.Response:
        trainee = self._trainee(request)
        body = await _json_body(request)
        text = str(body.get("text", "")).strip()
        if not text:
            return _error(400, "type a message first")
        await trainee.send(text)
        return web.json_response({"ok": True})

    async def _press(self, request: web.Request) -> web.Response:
        trainee = self._trainee(request)
        body = await _json_body(request)
        message = trainee.chat.messages.get(_int(body, "message_id"))
        try:
            if message is None:
                raise LookupError
            button = message.inline_keyboard[_int(body, "row")][_int(body, "col")]
        except (LookupError, TypeError):
            return _error(409, "that button is no longer there")
        try:
            answer = await trainee.press(button["text"], message=message, timeout=10)
        except (LookupError, ValueError) as exc:
            return _error(409, str(exc))
        except TimeoutError:
            return _error(504, "the bot did not answer that button")
        return web.json_response({"ok": True, "answer": answer})

    async def _vote(self, request: web.Request) -> web.Response:
        trainee = self._trainee(request)
        body = await _json_body(request)
        message = trainee.chat.messages.get(_int(body, "message_id"))
        if message is None or message.poll is None:
            return _error(409, "that poll is no longer there")
        try:
            await trainee.answer_poll([_int(body, "option")], message=message)
        except (LookupError, ValueError) as exc:
            return _error(409, str(exc))
        return web.json_response({"ok": True})

    async def _document(self, request: web.Request) -> web.Response:
        trainee = self._trainee(request)
        try:
            message = trainee.chat.messages.get(int(request.match_info["message"]))
        except ValueError:
            message = None
        if message is None or message.document is None:
            raise web.HTTPNotFound(text="no such document in this chat")
        document = message.document
        safe_name = document.filename.replace('"', "").replace("\\", "")
        return web.Response(
            body=document.data,
            content_type=document.mime_type or "application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{safe_name}"'},
        )

    async def _clock(self, request: web.Request) -> web.Response:
        if self.advance_clock is None:
            return _error(404, "this demo has no clock to move")
        body = await _json_body(request)
        try:
            hours = float(body.get("hours", 0))
        except (TypeError, ValueError):
            hours = -1
        if not 0 < hours <= 24 * 366:
            return _error(400, "move the clock forward by 0 to 8784 hours")
        now = self.advance_clock(hours)
        self._publish("clock", {"clock": now})
        return web.json_response({"ok": True, "clock": now})


_NO_STORE = {"Cache-Control": "no-store"}


async def _write_event(response: web.StreamResponse, event: str, data: dict[str, Any]) -> None:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    await response.write(f"event: {event}\ndata: {payload}\n\n".encode())


async def _with_keepalive(
    queue: asyncio.Queue[tuple[str, dict[str, Any]]],
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
        except TimeoutError:
            item = ("keepalive", {})
        yield item


async def _json_body(request: web.Request) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        body = await request.json()
        if isinstance(body, dict):
            return body
    raise web.HTTPBadRequest(text="send a JSON object")


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise web.HTTPBadRequest(text=f"{key} must be a whole number")
    return value


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)
