"""`training-bot migrate`: alembic upgrade against DATABASE_URL, with one clear line on failure.

The alembic configuration is built in code and points at the `trainingbot_migrations`
package directory, so the command works from any directory, in a wheel and in the image.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from trainingbot.causes import exception_chain

ALEMBIC_VERSION_TABLE = "alembic_version"


def migrations_dir() -> Path:
    import trainingbot_migrations

    # `__path__`, not `__file__`: an editable install may import the package as a namespace.
    return Path(next(iter(trainingbot_migrations.__path__)))


def alembic_config(database_url: str | None = None):
    from alembic.config import Config

    config = Config(str(migrations_dir() / "alembic.ini"))
    config.set_main_option("script_location", str(migrations_dir()))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


@functools.cache  # the scripts ship with the build: read them once, not on every probe
def head_revision() -> str:
    """The newest revision this build of the bot knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("no migrations found in the trainingbot_migrations package")
    return head


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every revision this build ships, the head and the ones before it."""
    from alembic.script import ScriptDirectory

    return frozenset(
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    )


def schema_problem(current: str | None, head: str, known: frozenset[str]) -> str | None:
    """Why a database at revision `current` cannot serve this build, or None when it can.

    A revision this build does not know is a newer release's: migrations keep the previous
    release working (expand first, remove a release later), so during a rollout or after a
    rollback the older pods serve on it. Only a schema behind this build, or none, is a reason
    not to serve: its queries would fail.
    """
    if current == head or (current is not None and current not in known):
        return None
    return (
        f"database schema at {current or 'no revision'}, this bot needs {head} "
        "— run training-bot migrate"
    )


async def current_revision(conn: asyncpg.Connection) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", ALEMBIC_VERSION_TABLE)
    if not exists:
        return None
    return await conn.fetchval(f"SELECT version_num FROM {ALEMBIC_VERSION_TABLE} LIMIT 1")


def database_url_from_environment(command: str) -> str | None:
    """DATABASE_URL, or None after telling the person running `command` to set it."""
    database_url = os.environ.get("DATABASE_URL", "").strip()
    if not database_url:
        print(
            f"{command}: DATABASE_URL is not set — point it at the bot's PostgreSQL database "
            "(postgresql://user:password@host:5432/db)",
            file=sys.stderr,
        )
        return None
    return database_url


def describe_target(database_url: str) -> str:
    """host:port/db of a URL, with neither user nor password."""
    parts = urlsplit(database_url)
    host = parts.hostname or "localhost"
    port = parts.port or 5432
    path = parts.path if parts.path not in ("", "/") else ""
    return f"{host}:{port}{path}"


def explain_failure(exc: BaseException, database_url: str) -> str:
    """One line a person can act on: what failed and what to check. Never the password."""
    import socket

    target = describe_target(database_url)
    user = urlsplit(database_url).username or "?"
    reason = None
    for err in exception_chain(exc):
        if isinstance(err, ConnectionRefusedError):
            reason = (
                f"cannot connect to the database at {target}: connection refused "
                "— is PostgreSQL running? check DATABASE_URL"
            )
        elif isinstance(err, socket.gaierror):
            reason = (
                f"cannot connect to the database at {target}: unknown host — check DATABASE_URL"
            )
        elif isinstance(err, TimeoutError):
            reason = (
                f"cannot connect to the database at {target}: timed out "
                "— check DATABASE_URL and the network"
            )
        elif isinstance(
            err, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
        ):
            reason = (
                f"the database at {target} refused user {user!r}: authentication failed "
                "— check the credentials in DATABASE_URL"
            )
        elif isinstance(err, asyncpg.InvalidCatalogNameError):
            reason = f"the database {target} does not exist — create it or fix DATABASE_URL"
        elif isinstance(err, asyncpg.CannotConnectNowError):
            reason = f"the database at {target} is starting or shutting down — retry shortly"
        elif isinstance(err, OSError) and reason is None:
            reason = (
                f"cannot connect to the database at {target}: {err.strerror or err} "
                "— check DATABASE_URL"
            )
        if reason:
            break
    if reason is None:
        reason = f"migration failed against {target}: {type(exc).__name__}: {exc}"
    password = urlsplit(database_url).password
    if password:
        reason = reason.replace(password, "***")
    return reason.replace("\n", " ")


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def main(revision: str = "head") -> int:
    database_url = database_url_from_environment("training-bot migrate")
    if database_url is None:
        return 2
    try:
        upgrade(database_url, revision)
    except Exception as exc:
        print(f"training-bot migrate: {explain_failure(exc, database_url)}", file=sys.stderr)
        return 1
    print(
        f"training-bot migrate: database at {describe_target(database_url)} is at "
        f"revision {revision if revision != 'head' else head_revision()}"
    )
    return 0
