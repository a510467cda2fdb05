"""Pure parts of the runtime: secrets, limits, redaction, classification, numbers."""

from __future__ import annotations

import io
import json
import logging

import asyncpg
import pytest
import redis.exceptions
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.methods import SendMessage
from aiogram.types import Update
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from trainingbot.db.errors import UpdateNotRecorded
from trainingbot.logs import (
    JsonFormatter,
    Redactor,
    TextFormatter,
    configure_logging,
    update_context,
    url_password,
)
from trainingbot.runtime.backoff import Backoff
from trainingbot.runtime.polling import group_by_chat, next_offset
from trainingbot.runtime.updates import is_smoke_payload, is_transient, subject_of
from trainingbot.runtime.webhook import (
    MAX_BODY_BYTES,
    RejectedRequest,
    parse_update_payload,
    read_body,
    secret_matches,
)
from trainingbot.smoke import (
    REQUIRED_METRICS,
    SMOKE_USER_ID,
    CheckResult,
    metric_families,
    resolve_target,
    smoke_update,
)

from bench.stats import Summary, parse_duration, percentile

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


# -- webhook secret and body --------------------------------------------------------------


def test_secret_matches_only_the_exact_secret():
    assert secret_matches("s3cret-token", "s3cret-token")
    assert not secret_matches("s3cret-toke", "s3cret-token")
    assert not secret_matches("s3cret-token ", "s3cret-token")
    assert not secret_matches("", "s3cret-token")
    assert not secret_matches(None, "s3cret-token")


def test_secret_comparison_is_constant_time(monkeypatch):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    secret_matches("abc", "abd")
    assert calls == [(b"abc", b"abd")]


def test_update_payload_must_be_a_json_object_with_an_integer_update_id():
    assert parse_update_payload(b'{"update_id": 5}') == {"update_id": 5}
    for body, reason in [
        (b"not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[1, 2]", "invalid_update"),
        (b'{"message": {}}', "invalid_update"),
        (b'{"update_id": "5"}', "invalid_update"),
        (b'{"update_id": true}', "invalid_update"),
    ]:
        with pytest.raises(RejectedRequest) as caught:
            parse_update_payload(body)
        assert caught.value.reason == reason, body


async def _body_server() -> TestClient:
    async def echo_size(request: web.Request) -> web.Response:
        try:
            body = await read_body(request)
        except RejectedRequest as exc:
            return web.Response(status=400, text=exc.reason)
        return web.Response(text=str(len(body)))

    app = web.Application()
    app.router.add_post("/", echo_size)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_body_limit_is_one_mebibyte_with_and_without_content_length():
    client = await _body_server()
    try:
        exact = await client.post("/", data=b"x" * MAX_BODY_BYTES)
        assert (exact.status, await exact.text()) == (200, str(MAX_BODY_BYTES))
        over = await client.post("/", data=b"x" * (MAX_BODY_BYTES + 1))
        assert (over.status, await over.text()) == (400, "too_large")

        async def chunks():  # chunked: no Content-Length, the limit applies while reading
            for _ in range(MAX_BODY_BYTES // 65536 + 1):
                yield b"y" * 65536

        streamed = await client.post("/", data=chunks())
        assert (streamed.status, await streamed.text()) == (400, "too_large")
    finally:
        await client.close()


# -- classification ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        UpdateNotRecorded(1, "database unavailable (ConnectionRefusedError)"),
        asyncpg.ConnectionDoesNotExistError("closed"),
        asyncpg.CannotConnectNowError("starting up"),
        redis.exceptions.ConnectionError("Connection refused"),
        redis.exceptions.ReadOnlyError("You can't write against a read only replica."),
        TelegramNetworkError(SendMessage(chat_id=1, text="x"), "timeout"),
        ConnectionResetError(),
    ],
)
def test_dependency_outages_are_transient(exc):
    assert is_transient(exc)


def test_a_wrapped_outage_is_transient_and_a_bug_is_not():
    try:
        try:
            raise redis.exceptions.ConnectionError("gone")
        except redis.exceptions.ConnectionError as inner:
            raise RuntimeError("state lost") from inner
    except RuntimeError as outer:
        assert is_transient(outer)
    assert not is_transient(ValueError("bug"))
    assert not is_transient(KeyError("lesson"))
    assert not is_transient(TelegramBadRequest(SendMessage(chat_id=1, text="x"), "too long"))


def test_backoff_grows_to_its_maximum_and_resets():
    backoff = Backoff(1, 5)
    assert [backoff.next() for _ in range(5)] == [1, 2, 4, 5, 5]
    backoff.reset()
    assert backoff.next() == 1


# -- polling offsets and ordering ---------------------------------------------------------


def _message(update_id: int, chat_id: int) -> Update:
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "text": "hi",
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "T"},
            },
        }
    )


def test_offset_moves_past_the_batch_or_stays_at_the_first_update_to_retry():
    batch = [_message(10, 1), _message(11, 2), _message(12, 1)]
    assert next_offset(batch, None) == 13
    assert next_offset(batch, 11) == 11


def test_updates_of_a_chat_stay_together_and_in_order():
    batch = [_message(10, 1), _message(11, 2), _message(12, 1), _message(13, 3)]
    groups = group_by_chat(batch)
    assert [[u.update_id for u in g] for g in groups] == [[10, 12], [11], [13]]
    assert subject_of(batch[0]).ordering_key == 1


def test_smoke_updates_are_recognised_on_the_raw_payload():
    payload = smoke_update()
    assert payload["update_id"] < 0
    assert is_smoke_payload(payload)
    assert not is_smoke_payload(json.loads(_message(1, 5).model_dump_json()))
    assert not is_smoke_payload({"update_id": 1, "message": {"from": {"id": SMOKE_USER_ID - 1}}})


# -- logs --------------------------------------------------------------------------------


def test_redactor_scrubs_known_secrets_token_shapes_and_url_passwords():
    redact = Redactor(["hunter2-secret", "webhook-secret-value"])
    text = (
        f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed; "
        "db postgresql://bot:p%40ss@db:5432/bot redis://:hunter2-secret@r:6379/0 "
        "header webhook-secret-value"
    )
    out = redact(text)
    for secret in (TOKEN, "p%40ss", "hunter2-secret", "webhook-secret-value"):
        assert secret not in out
    assert "postgresql://bot:***@db:5432/bot" in out
    assert "bot***" in out  # the URL keeps its shape, the token is gone
    assert redact("nothing to hide") == "nothing to hide"


def test_url_password():
    assert url_password("postgresql://bot:pw-123@db/bot") == "pw-123"
    assert url_password("redis://localhost:6379/0") is None
    assert url_password(None) is None


def _record(msg: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.getLogger("t").makeRecord(
        "t", logging.ERROR, __file__, 1, msg, args, exc_info, extra=extra or None
    )
    return record


def test_json_lines_carry_the_update_context_extras_and_a_redacted_traceback():
    formatter = JsonFormatter(Redactor(["topsecret-pw"]))
    try:
        raise ConnectionError("cannot reach postgresql://u:topsecret-pw@h/db")
    except ConnectionError:
        import sys

        record = _record("failed %s", "topsecret-pw", exc_info=sys.exc_info(), outcome="failed")
    record.update_id, record.chat_id, record.handler = 42, 7, "lessons.show"
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed ***"
    assert (entry["update_id"], entry["chat_id"], entry["handler"]) == (42, 7, "lessons.show")
    assert entry["outcome"] == "failed"
    assert entry["level"] == "ERROR" and entry["time"].endswith("Z")
    assert "topsecret-pw" not in line and "ConnectionError" in entry["traceback"]


def test_text_lines_are_redacted_too():
    record = _record("token %s", TOKEN)
    record.update_id, record.handler = 5, "start.cmd"
    line = TextFormatter(Redactor([TOKEN])).format(record)
    assert TOKEN not in line and "token ***" in line
    assert "[update=5 handler=start.cmd]" in line


def test_configured_logging_adds_the_update_context_and_redacts():
    stream = io.StringIO()
    configure_logging("INFO", "json", [TOKEN], stream=stream)
    try:
        with update_context(update_id=9, chat_id=3):
            logging.getLogger("aiogram.test").info("calling bot%s/getMe", TOKEN)
        logging.getLogger("x").info("outside")
    finally:
        logging.getLogger().handlers.clear()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["update_id"], first["chat_id"]) == (9, 3)
    assert TOKEN not in stream.getvalue()
    assert "update_id" not in second


# -- smoke helpers -----------------------------------------------------------------------


def test_metric_families_and_the_designs_names():
    text = (
        "# HELP bot_errors_total x\n# TYPE bot_errors_total counter\n"
        '# TYPE bot_build_info gauge\nbot_build_info{version="1"} 1.0\n'
        "bot_memory_usage_bytes 5.0\n"
    )
    names = metric_families(text)
    assert {"bot_errors_total", "bot_build_info", "bot_memory_usage_bytes"} <= names
    assert "bot_errors_total" in REQUIRED_METRICS


def test_smoke_checks_every_bot_metric_the_alerts_read():
    """An image without a metric an alert reads would leave that alert silent: smoke says so."""
    from pathlib import Path

    from trainingbot.metrics import BotMetrics

    alerts = (Path(__file__).resolve().parents[2] / "monitoring" / "alerts.yml").read_text()
    families = {  # prometheus_client names a counter's family without its "_total"
        family.name + ("_total" if family.type == "counter" else "")
        for family in BotMetrics().registry.collect()
    }
    read_by_alerts = {name for name in families if name in alerts}
    assert "bot_database_connected" in read_by_alerts
    assert read_by_alerts <= set(REQUIRED_METRICS)


def test_named_targets_resolve_from_the_environment():
    env = {"SMOKE_PRODUCTION_URL": "http://bot.internal:8080/", "SMOKE_WEBHOOK_SECRET": "s"}
    target = resolve_target("production", environ=env)
    assert target.url == "http://bot.internal:8080"
    assert target.webhook_url == "http://bot.internal:8081/telegram/webhook"
    assert target.webhook_secret == "s"
    assert resolve_target("staging", environ={}).url == "http://localhost:8080"
    listener = resolve_target("http://bot-metrics:8080", "http://bot-webhook:8081", "x", {})
    assert listener.webhook_url == "http://bot-webhook:8081/telegram/webhook"
    explicit = resolve_target("http://127.0.0.1:9000", "http://w/telegram/webhook", "x", {})
    assert (explicit.url, explicit.webhook_url, explicit.webhook_secret) == (
        "http://127.0.0.1:9000",
        "http://w/telegram/webhook",
        "x",
    )


def test_check_lines():
    assert CheckResult("health", True, 200, 3.2).line() == "PASS health 200 in 3 ms"
    assert (
        CheckResult("ready", False, 503, 12, "database: connection refused").line()
        == "FAIL ready 503 in 12 ms: database: connection refused"
    )
    assert CheckResult("ready", False, None, 1, "refused").line().startswith("FAIL ready no answer")


# -- load test numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("250ms", 0.25),
        ("90", 90),
        (" 2m ", 120),
        ("1.5m", 90),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1s", "0s", "m5"])
def test_parse_duration_refuses_nonsense(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_percentiles_interpolate_like_numpy():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert percentile(values, 50) == 5.5
    assert percentile(values, 0) == 1 and percentile(values, 100) == 10
    assert percentile(values, 95) == pytest.approx(9.55)
    assert percentile([7], 99) == 7
    assert percentile(list(reversed(values)), 90) == pytest.approx(9.1)


def test_summary_error_rate():
    summary = Summary.of([0.010, 0.020], errors=1, elapsed=2.0)
    assert summary.requests == 3 and summary.throughput == 1.0
    assert summary.error_rate == pytest.approx(1 / 3)
    assert summary.p50_ms == pytest.approx(15)


def test_the_smoke_update_is_a_valid_telegram_update():
    update = Update.model_validate(json.loads(json.dumps(smoke_update())))
    assert update.message.text == "/help" and update.update_id < 0
    assert update.message.from_user.id == SMOKE_USER_ID


async def test_response_models_stay_built_across_garbage_collections():
    import gc

    from aiogram import Bot
    from aiogram.methods.base import Response
    from aiogram.types import Message

    from trainingbot.runtime.responses import PinResponseModels, pin_response_models
    from trainingbot.runtime.updates import DryRunSession

    bot = Bot(TOKEN, session=DryRunSession())
    pin_response_models(bot)
    pin_response_models(bot)
    assert sum(isinstance(m, PinResponseModels) for m in bot.session.middleware) == 1
    await bot.session.middleware[0](lambda b, m: _done(), bot, SendMessage(chat_id=1, text="x"))
    before = id(Response[Message])
    gc.collect()
    assert id(Response[Message]) == before


async def _done():
    return None
