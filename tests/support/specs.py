"""The parts every valid TrainingBot spec in the tests shares, written as a user would."""

from __future__ import annotations

from typing import Any

WEBHOOK_URL = "https://bot.example.org/telegram/webhook"


def webhook_connections(
    database_secret: str = "bot",
    redis_secret: str = "bot",
    database_key: str = "database-url",
    redis_key: str = "redis-url",
) -> dict[str, Any]:
    """`telegram` (webhook mode), `database` and `redis` of a spec, every credential from a
    Secret: the token and webhook secret from the Secret `bot`."""
    return {
        "telegram": {
            "tokenSecretRef": {"name": "bot", "key": "token"},
            "webhook": {
                "url": WEBHOOK_URL,
                "secretTokenSecretRef": {"name": "bot", "key": "webhook-secret"},
            },
        },
        "database": {"urlSecretRef": {"name": database_secret, "key": database_key}},
        "redis": {"urlSecretRef": {"name": redis_secret, "key": redis_key}},
    }
