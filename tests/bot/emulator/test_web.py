"""The demo's web page as an HTTP API over the emulator (the browser tests are in
tests/demo/): what it renders, the events it streams, and the actions it takes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram.types import BufferedInputFile

from trainingbot.emulator import BotApiEmulator
from trainingbot.emulator.formatting import parse_text
from trainingbot.emulator.web import ChatPage, Person
from trainingbot.emulator.web.render import entities_to_html
from trainingbot.services.clock import ShiftedClock, system_clock

from tests.support.waiting import eventually


def html_of(source: str) -> str:
    return entities_to_html(*parse_text(source, "HTML", None))


def test_telegram_html_is_rebuilt_from_entities_and_escaped():
    assert html_of("<b>bold <i>both</i></b> &lt;script&gt;") == (
        "<b>bold <i>both</i></b> &lt;script&gt;"
    )
    assert html_of("<code>a&amp;b</code>\nnext") == "<code>a&amp;b</code><br>next"
    assert html_of('<a href="https://example.org/?a=1&amp;b=2">x</a>') == (
        '<a href="https://example.org/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">x</a>'
    )
    # A link to anything but http(s), tg or mailto is shown as its text only.
    assert (
        entities_to_html(
            "x", [{"type": "text_link", "offset": 0, "length": 1, "url": "javascript:alert(1)"}]
        )
        == "x"
    )


def test_the_shifted_clock_only_moves_forward():
    clock = ShiftedClock()
    moved = clock.advance(days=1)
    assert moved - system_clock() > clock.offset * 0.99
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(hours=-1)


class EventStream:
    """The page's server-sent events, read as (event, data) pairs."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def __aiter__(self) -> AsyncIterator[tuple[str, dict]]:
        event = None
        async for raw in self.response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event:
                yield event, json.loads(line[6:])


async def next_event(stream, kind: str) -> dict:
    async for event, data in stream:
        if event == kind:
            return data
    raise AssertionError(f"the stream ended before a {kind!r} event")


async def _post_json(http: aiohttp.ClientSession, url: str, body: dict) -> dict:
    async with http.post(url, json=body) as response:
        return await response.json()


@pytest.fixture
async def page(emu: BotApiEmulator) -> AsyncIterator[ChatPage]:
    moved = []
    page = ChatPage(
        emu,
        [Person(1001, "Ada", "trainer"), Person(1002, "Ben")],
        advance_clock=lambda hours: moved.append(hours) or f"+{sum(moved)}h",
        clock_now=lambda: "now",
    )
    await page.start()
    yield page
    await page.stop()


async def test_the_page_streams_the_chats_and_acts_in_them(emu, page):
    async with (
        aiohttp.ClientSession() as http,
        http.get(page.url + "events") as events,
    ):
        stream = EventStream(events).__aiter__()
        snapshot = await next_event(stream, "snapshot")
        assert [p["name"] for p in snapshot["people"]] == ["Ada", "Ben"]
        assert snapshot["clock"] == "now"

        async with http.post(page.url + "chats/1002/send", json={"text": "/start"}) as r:
            assert r.status == 200
        sent = await next_event(stream, "item")
        assert sent == {"chat": 1002, "item": sent["item"]}
        assert sent["item"]["from"] == "person" and sent["item"]["html"] == "/start"

        markup = {"inline_keyboard": [[{"text": "Next ▶", "callback_data": "n"}]]}
        await emu.call(
            "sendMessage",
            {"chat_id": 1002, "text": "<b>Hi</b> &lt;script&gt;", "parse_mode": "HTML",
             "reply_markup": json.dumps(markup)},
        )  # fmt: skip
        item = (await next_event(stream, "item"))["item"]
        assert item["html"] == "<b>Hi</b> &lt;script&gt;"
        assert item["keyboard"] == [[{"text": "Next ▶", "row": 0, "col": 0}]]

        press = {"message_id": item["id"], "row": 0, "col": 0}
        pressing = asyncio.create_task(_post_json(http, page.url + "chats/1002/press", press))
        # The bot answers the callback query; the page returns its text.
        await eventually(lambda: emu.state.callbacks, what="the callback query")
        query_id = next(iter(emu.state.callbacks))
        await emu.call("answerCallbackQuery", {"callback_query_id": query_id, "text": "ok"})
        assert (await pressing) == {"ok": True, "answer": "ok"}

        await emu.call(
            "editMessageText", {"chat_id": 1002, "message_id": item["id"], "text": "Edited"}
        )
        edited = (await next_event(stream, "item"))["item"]
        assert (edited["id"], edited["html"], edited["edited"]) == (item["id"], "Edited", True)

        async with http.post(page.url + "clock", json={"hours": 24}) as r:
            assert (await r.json())["clock"] == "+24.0h"
        assert (await next_event(stream, "clock")) == {"clock": "+24.0h"}

        page.show_problems([{"where": "c/course.yaml:3", "message": "bad", "warning": False}])
        problems = await next_event(stream, "problems")
        assert problems["problems"][0]["where"] == "c/course.yaml:3"

        # What the terminal's trainee types shows on the page at once: one emulator.
        await emu.trainee(1001).send("typed in the terminal")
        typed = await next_event(stream, "item")
        assert (typed["chat"], typed["item"]["html"]) == (1001, "typed in the terminal")


async def test_quiz_answers_are_revealed_after_voting_and_documents_download(emu, bot, page):
    await bot.send_poll(
        1001, "Which?", ["a", "b"], type="quiz", correct_option_id=1, is_anonymous=False,
        explanation="<i>b</i> it is", explanation_parse_mode="HTML",
    )  # fmt: skip
    await bot.send_document(1001, BufferedInputFile(b"a,b\n1,2\n", filename="report.csv"))
    snapshot = page.snapshot()
    poll, document = snapshot["people"][0]["items"]
    assert poll["poll"]["correct"] == [] and poll["poll"]["explanation"] is None
    async with aiohttp.ClientSession() as http:
        vote = {"message_id": poll["id"], "option": 0}
        async with http.post(page.url + "chats/1001/vote", json=vote) as r:
            assert r.status == 200
        async with http.post(page.url + "chats/1001/vote", json=vote) as r:
            assert r.status == 409  # a quiz takes one answer
            assert "does not allow changing a vote" in (await r.json())["error"]
        async with http.get(page.url + f"chats/1001/documents/{document['id']}") as r:
            assert r.headers["Content-Disposition"] == 'attachment; filename="report.csv"'
            assert await r.read() == b"a,b\n1,2\n"
        async with http.get(page.url + "chats/1001/documents/999") as r:
            assert r.status == 404
    revealed = page.snapshot()["people"][0]["items"][0]["poll"]
    assert revealed["chosen"] == [0] and revealed["correct"] == [1]
    assert revealed["explanation"] == "<i>b</i> it is"
