"""`training-bot smoke --target URL`: is a running bot healthy, ready, measured and answering?

One line per check and exit code 0 when every check passes, 1 otherwise:

    PASS health 200 in 3 ms
    PASS ready 200 in 12 ms (database: ok, redis: ok)
    FAIL ready 503 in 2004 ms: database: connection refused
    PASS metrics 200 in 9 ms (13 metric families)
    PASS webhook 200 in 41 ms (/help handled, the bot answered with sendMessage)

The webhook check posts one synthetic update, `/help` from the reserved user `SMOKE_USER_ID`,
with the secret. The bot handles it like any other (secret check, parsing, the update record
in PostgreSQL, conversation state in Redis, the handler), except that the Bot API calls it
makes are answered inside the bot: no message goes to Telegram, and its request counters are
untouched. Its `update_id` is negative, so it can never shadow a real update's record.

`--target` is a URL, or a name (`production`, `staging`) resolved from the environment:
`SMOKE_<NAME>_URL`, `SMOKE_<NAME>_WEBHOOK_URL`, `SMOKE_<NAME>_WEBHOOK_SECRET` (the last two
also as `SMOKE_WEBHOOK_URL` / `SMOKE_WEBHOOK_SECRET`). A name without a URL means
http://localhost:8080, where the runbook's own `curl` commands look (a port-forward or the
host itself); the resolved URL is printed first so that nobody checks the wrong bot unawares.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from trainingbot.config import WEBHOOK_PATH

DEFAULT_TARGET = "http://localhost:8080"
DEFAULT_WEBHOOK_PORT = 8081
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# The synthetic trainee: 2**52 - 1, the largest id the Bot API promises to represent (user ids
# have "at most 52 significant bits"). Real ids are handed out from the bottom of that range.
SMOKE_USER_ID = 2**52 - 1

# The metric families of the design (DESIGN.md, "Metrics") and the ones the alerts read
# (monitoring/alerts.yml); the runbook greps the first ones.
REQUIRED_METRICS = (
    "bot_errors_total",
    "bot_memory_usage_bytes",
    "bot_updates_total",
    "bot_update_duration_seconds",
    "bot_telegram_api_requests_total",
    "bot_db_pool_connections",
    "bot_database_connected",
    "bot_redis_connected",
    "bot_redis_operations_total",
    "bot_duplicate_updates_total",
    "bot_webhook_rejected_requests_total",
    "bot_build_info",
    "bot_enrollments_total",
    "bot_lessons_completed_total",
    "bot_quiz_answers_total",
)


@dataclass(frozen=True)
class Target:
    """Where a bot answers: its operations URL and, optionally, its webhook."""

    name: str
    url: str
    webhook_url: str
    webhook_secret: str | None = None


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    status: int | None
    duration_ms: float
    detail: str = ""
    skipped: bool = False

    def line(self) -> str:
        if self.skipped:
            return f"SKIP {self.name}: {self.detail}"
        verdict = "PASS" if self.ok else "FAIL"
        status = str(self.status) if self.status is not None else "no answer"
        text = f"{verdict} {self.name} {status} in {self.duration_ms:.0f} ms"
        if self.detail:
            text += f" ({self.detail})" if self.ok else f": {self.detail}"
        return text


def _env_name(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def default_webhook_url(ops_url: str) -> str:
    """The webhook listener next to an operations URL: same host, port 8081."""
    parts = urlsplit(ops_url)
    host = parts.hostname or "localhost"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return urlunsplit(
        (parts.scheme or "http", f"{host}:{DEFAULT_WEBHOOK_PORT}", WEBHOOK_PATH, "", "")
    )


def resolve_target(
    target: str,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    environ: dict[str, str] | None = None,
) -> Target:
    """A `Target` from a URL or a name (see the module's docstring for the variables)."""
    env = os.environ if environ is None else environ
    if re.match(r"^https?://", target):
        name, url, prefix = target, target, None
    else:
        prefix = f"SMOKE_{_env_name(target)}_"
        name, url = target, env.get(f"{prefix}URL") or DEFAULT_TARGET

    def setting(key: str) -> str | None:
        return (env.get(f"{prefix}{key}") if prefix else None) or env.get(f"SMOKE_{key}")

    url = url.rstrip("/")
    return Target(
        name=name,
        url=url,
        webhook_url=listener_url(webhook_url or setting("WEBHOOK_URL") or default_webhook_url(url)),
        webhook_secret=webhook_secret or setting("WEBHOOK_SECRET"),
    )


def listener_url(url: str) -> str:
    """A webhook URL given as the listener only (`http://bot-webhook:8081`) gets the path."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return urlunsplit((parts.scheme, parts.netloc, WEBHOOK_PATH, parts.query, ""))
    return url


def _request(
    url: str, timeout: float, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int | None, bytes, float, str]:
    """(status, body, milliseconds, error) of one HTTP request; never raises."""
    request = urllib.request.Request(
        url, data=data, headers=headers or {}, method="POST" if data is not None else "GET"
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, b"", (time.perf_counter() - started) * 1000, str(reason)
    return status, body, (time.perf_counter() - started) * 1000, ""


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def check_health(target: Target, timeout: float = 10.0) -> CheckResult:
    status, _, ms, error = _request(f"{target.url}/health", timeout)
    return CheckResult("health", status == 200, status, ms, error)


def check_ready(target: Target, timeout: float = 10.0) -> CheckResult:
    status, body, ms, error = _request(f"{target.url}/ready", timeout)
    report = _json(body) if status is not None else None
    checks = report.get("checks", {}) if isinstance(report, dict) else {}
    if status == 200 and isinstance(report, dict) and report.get("ready") is True:
        return CheckResult(
            "ready",
            True,
            status,
            ms,
            ", ".join(f"{name}: {value}" for name, value in checks.items()),
        )
    failing = [f"{name}: {value}" for name, value in checks.items() if value != "ok"]
    detail = "; ".join(failing) or error or "not ready (no JSON report)"
    return CheckResult("ready", False, status, ms, detail)


def metric_families(text: str) -> set[str]:
    """Names declared by `# TYPE` lines, with the `_total` a counter's samples carry."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = [*line.split(), ""][:4]
            names.add(name)
            if kind == "counter" and not name.endswith("_total"):
                names.add(f"{name}_total")
            if kind == "info":
                names.add(f"{name}_info")
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def check_metrics(target: Target, timeout: float = 10.0) -> CheckResult:
    status, body, ms, error = _request(f"{target.url}/metrics", timeout)
    if status != 200:
        return CheckResult("metrics", False, status, ms, error or "not 200")
    present = metric_families(body.decode("utf-8", "replace"))
    missing = [name for name in REQUIRED_METRICS if name not in present]
    if missing:
        return CheckResult("metrics", False, status, ms, "missing " + ", ".join(missing))
    return CheckResult(
        "metrics", True, status, ms, f"all {len(REQUIRED_METRICS)} metric families of the design"
    )


def smoke_update(update_id: int | None = None) -> dict[str, Any]:
    """`/help` from the reserved synthetic trainee, with a negative (never real) update id."""
    user = {"id": SMOKE_USER_ID, "is_bot": False, "first_name": "Smoke check"}
    return {
        # Telegram's update ids are positive; the bot's records may be int4 or int8.
        "update_id": update_id if update_id is not None else -random.randint(1, 2**31 - 1),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": SMOKE_USER_ID, "type": "private", "first_name": "Smoke check"},
            "from": user,
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


def check_webhook(target: Target, timeout: float = 10.0) -> CheckResult:
    if not target.webhook_secret:
        return CheckResult("webhook", True, None, 0, "no webhook secret given", skipped=True)
    status, body, ms, error = _request(
        target.webhook_url,
        timeout,
        data=json.dumps(smoke_update()).encode(),
        headers={"Content-Type": "application/json", SECRET_HEADER: target.webhook_secret},
    )
    if status != 200:
        answer = _json(body)
        detail = (answer.get("error") if isinstance(answer, dict) else None) or error
        return CheckResult(
            "webhook", False, status, ms, detail or f"expected 200 from {target.webhook_url}"
        )
    smoke = (_json(body) or {}).get("smoke") if body else None
    if not isinstance(smoke, dict):
        return CheckResult(
            "webhook",
            False,
            status,
            ms,
            "200 but the bot did not say how it handled the synthetic update "
            "(is this the training bot's webhook?)",
        )
    if smoke.get("outcome") != "done":
        return CheckResult(
            "webhook",
            False,
            status,
            ms,
            f"the synthetic /help {smoke.get('outcome')} (see the bot's log)",
        )
    calls = smoke.get("calls") or []
    if not calls:
        return CheckResult("webhook", False, status, ms, "/help handled but the bot said nothing")
    return CheckResult(
        "webhook", True, status, ms, f"/help handled, the bot answered with {', '.join(calls)}"
    )


CHECKS = (check_health, check_ready, check_metrics, check_webhook)


def run_checks(target: Target, timeout: float = 10.0) -> list[CheckResult]:
    return [check(target, timeout) for check in CHECKS]


def main(args: argparse.Namespace) -> int:
    target = resolve_target(args.target, args.webhook_url, args.webhook_secret)
    print(
        f"smoke checks against {target.url}"
        + (f" (target {target.name})" if target.name != target.url else ""),
        flush=True,
    )
    ok = True
    for check in CHECKS:
        result = check(target, args.timeout)
        print(result.line(), flush=True)
        ok = ok and result.ok
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    from trainingbot.cli import main as cli_main

    sys.exit(cli_main(["smoke", *sys.argv[1:]]))
