"""Emulated trainees over HTTP, for a bot and an emulator that run elsewhere.

`training-bot emulator` serves these routes beside the Bot API, so that a test or a person
outside the process (the kind tier's e2e suite through `kubectl port-forward`, or a platform
engineer with curl) can act as a trainee of a bot in a cluster:

    POST /_trainees/{user_id}/send   {"text": "/start"}          -> {"update_id": 12}
    POST /_trainees/{user_id}/press  {"label": "Next"}           -> {"answer": "…" | null}
    POST /_trainees/{user_id}/poll   {"options": [1]}            -> {"update_id": 13}
    GET  /_trainees/{user_id}/messages                           -> {"messages": [...]}

Each message is the bot's message as it is now (edits applied): its id, kind, text, the
labels of its inline buttons, and for a poll its options. These routes speak for people,
not for the bot: they need no token, so the emulator must stay inside the test's network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from trainingbot.emulator.models import EmulatedMessage
    from trainingbot.emulator.server import BotApiEmulator

PREFIX = "/_trainees"


def message_view(message: EmulatedMessage) -> dict[str, Any]:
    """What a person sees of one message, as JSON."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    view: dict[str, Any] = {
        "message_id": message.message_id,
        "kind": message.kind,
        "text": message.text,
        "buttons": [button["text"] for row in rows for button in row],
        "edited": message.edited,
    }
    if message.poll is not None:
        view["poll"] = {"question": message.poll.question, "options": message.poll.options}
    return view


def add_trainee_routes(router: web.UrlDispatcher, emulator: BotApiEmulator) -> None:
    """Register the routes above on `router`, acting on `emulator`'s trainees."""

    def trainee(request: web.Request):
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            raise web.HTTPBadRequest(text="the user id must be a positive integer") from None
        if user_id <= 0:
            raise web.HTTPBadRequest(text="the user id must be a positive integer")
        return emulator.trainee(user_id, first_name=f"Trainee {user_id}")

    async def body(request: web.Request, field: str) -> Any:
        try:
            data = await request.json()
            return data[field]
        except (ValueError, KeyError, TypeError):
            raise web.HTTPBadRequest(text=f'send a JSON object with "{field}"') from None

    async def send(request: web.Request) -> web.Response:
        text = await body(request, "text")
        return web.json_response({"update_id": await trainee(request).send(str(text))})

    async def press(request: web.Request) -> web.Response:
        label = await body(request, "label")
        try:
            answer = await trainee(request).press(str(label))
        except (LookupError, TimeoutError) as error:
            raise web.HTTPConflict(text=str(error)) from None
        return web.json_response({"answer": answer})

    async def poll(request: web.Request) -> web.Response:
        options = await body(request, "options")
        try:
            update_id = await trainee(request).answer_poll([int(o) for o in options])
        except LookupError as error:
            raise web.HTTPConflict(text=str(error)) from None
        return web.json_response({"update_id": update_id})

    async def messages(request: web.Request) -> web.Response:
        return web.json_response({"messages": [message_view(m) for m in trainee(request).messages]})

    router.add_post(PREFIX + "/{user_id}/send", send)
    router.add_post(PREFIX + "/{user_id}/press", press)
    router.add_post(PREFIX + "/{user_id}/poll", poll)
    router.add_get(PREFIX + "/{user_id}/messages", messages)
