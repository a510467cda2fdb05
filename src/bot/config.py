"""The bot's settings, read from the environment (names are contracts: see docs/CONFIGURATION.md).

One pydantic-settings class per concern; secrets are `SecretStr` so that they never show up
in a repr, a log line or an error message.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TELEGRAM_API_BASE_URL = "https://api.telegram.org"
WEBHOOK_PATH = "/telegram/webhook"


class BotMode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class _Section(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)


class TelegramSettings(_Section):
    """How the bot reaches the Bot API and how Telegram reaches the bot."""

    bot_token: SecretStr = Field(validation_alias="BOT_TOKEN")
    bot_mode: BotMode = Field(BotMode.POLLING, validation_alias="BOT_MODE")
    bot_api_base_url: str = Field(TELEGRAM_API_BASE_URL, validation_alias="BOT_API_BASE_URL")
    webhook_url: str | None = Field(None, validation_alias="WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(None, validation_alias="WEBHOOK_SECRET")
    webhook_port: int = Field(8081, ge=1, le=65535, validation_alias="WEBHOOK_PORT")
    # Telegram allows 1-100 parallel webhook connections; 40 is its default.
    webhook_max_connections: int = Field(
        40, ge=1, le=100, validation_alias="WEBHOOK_MAX_CONNECTIONS"
    )

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> TelegramSettings:
        if self.bot_mode is BotMode.WEBHOOK:
            missing = [
                name
                for name, value in (
                    ("WEBHOOK_URL", self.webhook_url),
                    ("WEBHOOK_SECRET", self.webhook_secret),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"BOT_MODE=webhook needs {' and '.join(missing)} to be set")
        return self


class DatabaseSettings(_Section):
    database_url: SecretStr = Field(validation_alias="DATABASE_URL")
    db_pool_min_size: int = Field(2, ge=0, validation_alias="DB_POOL_MIN_SIZE")
    db_pool_max_size: int = Field(10, ge=1, validation_alias="DB_POOL_MAX_SIZE")


class RedisSettings(_Section):
    """Conversation state: plain Redis (`REDIS_URL`) or Sentinel (`REDIS_SENTINELS`)."""

    redis_url: SecretStr | None = Field(None, validation_alias="REDIS_URL")
    redis_sentinels: Annotated[list[tuple[str, int]], NoDecode] = Field(
        default_factory=list, validation_alias="REDIS_SENTINELS"
    )
    redis_master_name: str = Field("mymaster", validation_alias="REDIS_MASTER_NAME")
    redis_password: SecretStr | None = Field(None, validation_alias="REDIS_PASSWORD")
    redis_sentinel_password: SecretStr | None = Field(
        None, validation_alias="REDIS_SENTINEL_PASSWORD"
    )

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _parse_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            hosts = []
            for item in filter(None, (part.strip() for part in value.split(","))):
                host, sep, port = item.rpartition(":")
                if not sep or not host or not port.isdigit():
                    raise ValueError(
                        f"REDIS_SENTINELS entry {item!r} is not host:port "
                        "(expected e.g. redis-sentinel:26379,redis-sentinel-2:26379)"
                    )
                hosts.append((host, int(port)))
            return hosts
        return value

    @property
    def configured(self) -> bool:
        return bool(self.redis_url or self.redis_sentinels)


class ServiceSettings(_Section):
    """Operations, content and logging."""

    http_port: int = Field(8080, ge=1, le=65535, validation_alias="HTTP_PORT")
    content_dir: Path | None = Field(None, validation_alias="CONTENT_DIR")
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        frozenset(), validation_alias="ADMIN_IDS"
    )
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    log_format: LogFormat = Field(LogFormat.JSON, validation_alias="LOG_FORMAT")
    # Below Kubernetes' default 30 s grace period, so that pools close before SIGKILL.
    shutdown_timeout: float = Field(20.0, gt=0, le=300, validation_alias="SHUTDOWN_TIMEOUT")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            bad = [p for p in parts if not p.lstrip("-").isdigit()]
            if bad:
                raise ValueError(f"ADMIN_IDS must be comma-separated Telegram user ids; got {bad}")
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level


class Settings:
    """All sections together; each reads the environment when constructed."""

    def __init__(
        self,
        telegram: TelegramSettings | None = None,
        database: DatabaseSettings | None = None,
        redis: RedisSettings | None = None,
        service: ServiceSettings | None = None,
    ) -> None:
        self.telegram = telegram or TelegramSettings()
        self.database = database or DatabaseSettings()
        self.redis = redis or RedisSettings()
        self.service = service or ServiceSettings()


class ConfigError(Exception):
    """The environment does not describe a runnable bot; the message says what to fix."""


def load_settings() -> Settings:
    """Read every section from the environment, or raise `ConfigError` naming each problem.

    pydantic's own message echoes the input, which holds the token and the passwords: the
    message here names the variables and the problems only.
    """
    from pydantic import ValidationError

    problems: list[str] = []
    sections = {}
    for name, cls in (
        ("telegram", TelegramSettings),
        ("database", DatabaseSettings),
        ("redis", RedisSettings),
        ("service", ServiceSettings),
    ):
        try:
            sections[name] = cls()
        except ValidationError as exc:
            variables = {n: f.validation_alias for n, f in cls.model_fields.items()}
            variables.update({v: v for v in variables.values()})
            for err in exc.errors(include_input=False, include_url=False):
                variable = variables.get(str(err["loc"][0])) if err["loc"] else None
                message = err["msg"].removeprefix("Value error, ")
                problems.append(f"{variable}: {message}" if variable else message)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return Settings(**sections)
