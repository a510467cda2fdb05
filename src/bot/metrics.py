"""The bot's Prometheus metrics. Names and labels are contracts (DESIGN.md, docs/RUNBOOK.md,
the alert rules): change them only together with those.

Metrics live in a registry of their own so that tests can build several bots in one process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

# Buckets dense between 5 ms and 1 s, where P95/P99 of an update are expected to fall; the
# SLO of 1 s and Telegram's webhook timeout (about 60 s) bound the tail.
UPDATE_DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


class BotMetrics:
    """Every metric the bot exports, bound to one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.updates = Counter(
            "bot_updates", "Updates received, by update type.", ["type"], registry=r
        )
        self.errors = Counter(
            "bot_errors",
            "Errors while handling updates or talking to dependencies, by type.",
            ["type"],
            registry=r,
        )
        self.update_duration = Histogram(
            "bot_update_duration_seconds",
            "Time from receiving an update to finishing its handling.",
            buckets=UPDATE_DURATION_BUCKETS,
            registry=r,
        )
        self.telegram_requests = Counter(
            "bot_telegram_api_requests",
            "Requests to the Bot API, by method and result status (HTTP code or 'error').",
            ["method", "status"],
            registry=r,
        )
        self.memory = Gauge(
            "bot_memory_usage_bytes", "Resident memory of the bot process.", registry=r
        )
        self.db_pool = Gauge(
            "bot_db_pool_connections",
            "Database pool connections by state (idle, in_use, max).",
            ["state"],
            registry=r,
        )
        self.redis_connected = Gauge(
            "bot_redis_connected", "1 when the last Redis operation succeeded.", registry=r
        )
        self.database_connected = Gauge(
            "bot_database_connected",
            "1 when the last readiness check reached PostgreSQL with the schema at this bot's "
            "head; 0 when it did not, and until the first check.",
            registry=r,
        )
        self.redis_operations = Counter(
            "bot_redis_operations",
            "Redis operations by result (ok, error).",
            ["result"],
            registry=r,
        )
        self.duplicate_updates = Counter(
            "bot_duplicate_updates",
            "Updates delivered again after they had been processed, and skipped.",
            registry=r,
        )
        self.webhook_rejected = Counter(
            "bot_webhook_rejected_requests",
            "Webhook requests refused before processing, by reason.",
            ["reason"],
            registry=r,
        )
        self.build_info = Info("bot_build", "Version of the running bot.", registry=r)
        self.enrollments = Counter(
            "bot_enrollments", "Trainees enrolled in a course.", ["course"], registry=r
        )
        self.lessons_completed = Counter(
            "bot_lessons_completed", "Lessons completed.", ["course"], registry=r
        )
        self.quiz_answers = Counter(
            "bot_quiz_answers",
            "Quiz answers by correctness.",
            ["course", "correct"],
            registry=r,
        )
