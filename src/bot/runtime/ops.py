"""The operations server on HTTP_PORT: `/health`, `/ready`, `/metrics`.

- `/health` is liveness: it answers as long as the event loop does, and nothing else. A bot
  whose database is down is alive (restarting it would not bring the database back).
- `/ready` is readiness: PostgreSQL reachable with the schema at alembic head, Redis reachable,
  and nothing else known to stop this instance from serving (starting, shutting down, another
  instance polling the token, in webhook mode the webhook not registered yet). Each check is
  bounded in time; concurrent probes share one evaluation. 503 with a JSON body naming each
  check that is not "ok".
- `/metrics` is Prometheus' text format; resident memory and the database pool's connections
  are read at scrape time, and so are `bot_database_connected` and `bot_redis_connected` (each
  scrape evaluates readiness, shared with a concurrent probe, so that a bot nobody probes still
  reports its dependencies).

It starts before the bot is built, so that probes get an answer (and a reason) while the
database is still out of reach at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import psutil
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from trainingbot.logs import Redactor
from trainingbot.metrics import BotMetrics
from trainingbot.runtime.updates import describe_error

log = logging.getLogger("trainingbot.ops")

# A check that takes longer than this counts as failed: kubelet's default probe timeout is 1 s
# and a probe should not hang on a database that accepts connections but does not answer.
CHECK_TIMEOUT = 2.0

OK = "ok"


class CheckedApp(Protocol):
    """What readiness needs of `trainingbot.factory.BotApp`."""

    pool: Any

    async def check_database(self) -> None: ...
    async def check_redis(self) -> None: ...


class RuntimeState:
    """Where the process is in its life; readiness reads it."""

    STARTING = "starting"
    SERVING = "serving"
    STOPPING = "stopping"

    def __init__(self) -> None:
        self.phase = self.STARTING
        self.startup_problem: str | None = None
        # Named conditions that make this instance unready while they last (e.g. "telegram":
        # "conflict: another instance polls this token"); set and cleared by their owners.
        self.problems: dict[str, str] = {}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return describe_error(exc)


async def run_check(check: Callable[[], Any], within: float = CHECK_TIMEOUT) -> str:
    """`ok`, or a short reason why the check failed or did not answer `within` seconds."""
    try:
        await asyncio.wait_for(check(), within)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return _reason(exc)
    return OK


class OpsServer:
    """Health, readiness and metrics for one bot process."""

    def __init__(
        self,
        metrics: BotMetrics,
        state: RuntimeState,
        *,
        port: int,
        host: str = "0.0.0.0",
        redactor: Redactor | None = None,
        check_timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self.metrics = metrics
        self.state = state
        self.port = port
        self.host = host
        self.redact = redactor or Redactor()
        self.check_timeout = check_timeout
        self.app: CheckedApp | None = None
        self._process = psutil.Process()
        self._evaluation: asyncio.Task[dict[str, Any]] | None = None
        self._runner: web.AppRunner | None = None
        # Every series exists from the first scrape, so that alerts on them have data.
        for pool_state in ("idle", "in_use", "max"):
            metrics.db_pool.labels(state=pool_state).set(0)
        self.refresh_gauges()

    # -- HTTP -------------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_get("/ready", self.ready)
        app.router.add_get("/metrics", self.metrics_view)
        return app

    async def start(self) -> None:
        # No access log: probes every few seconds would drown the update lines.
        self._runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # tests ask for any free port
            self.port = self._runner.addresses[0][1]
        log.info("operations server listening", extra={"port": self.port})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "phase": self.state.phase})

    async def ready(self, request: web.Request) -> web.Response:
        report = await self.readiness()
        return web.json_response(report, status=200 if report["ready"] else 503)

    async def metrics_view(self, request: web.Request) -> web.Response:
        await self.readiness()  # sets the dependency gauges; bounded by check_timeout
        self.refresh_gauges()
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    # -- readiness ---------------------------------------------------------------------------

    async def readiness(self) -> dict[str, Any]:
        """The readiness report; probes that arrive during an evaluation share its result."""
        if self._evaluation is None or self._evaluation.done():
            self._evaluation = asyncio.ensure_future(self._evaluate())
        return await asyncio.shield(self._evaluation)

    async def _evaluate(self) -> dict[str, Any]:
        started = time.perf_counter()
        state = self.state
        checks: dict[str, str] = {}
        if state.phase == RuntimeState.STARTING or self.app is None:
            checks["startup"] = state.startup_problem or "in progress"
        elif state.phase == RuntimeState.STOPPING:
            checks["shutdown"] = "in progress"
        else:
            database, redis = await asyncio.gather(
                run_check(self.app.check_database, self.check_timeout),
                run_check(self.app.check_redis, self.check_timeout),
            )
            checks["database"] = database
            checks["redis"] = redis
            self.metrics.database_connected.set(1 if database == OK else 0)
            self.metrics.redis_connected.set(1 if redis == OK else 0)
        checks.update(state.problems)
        checks = {name: self.redact(value) for name, value in checks.items()}
        ready = all(value == OK for value in checks.values())
        report = {
            "ready": ready,
            "phase": state.phase,
            "checks": checks,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        if not ready:
            log.debug("not ready", extra={"checks": checks})
        return report

    # -- metrics -----------------------------------------------------------------------------

    def refresh_gauges(self) -> None:
        """Memory and database pool gauges: read now, so that a scrape sees the present."""
        with contextlib.suppress(psutil.Error):
            self.metrics.memory.set(self._process.memory_info().rss)
        pool = getattr(self.app, "pool", None)
        if pool is not None:
            with contextlib.suppress(Exception):  # a pool being closed has no sizes to give
                size, idle = pool.get_size(), pool.get_idle_size()
                self.metrics.db_pool.labels(state="idle").set(idle)
                self.metrics.db_pool.labels(state="in_use").set(size - idle)
                self.metrics.db_pool.labels(state="max").set(pool.get_max_size())
