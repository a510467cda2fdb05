"""Alembic environment: async, SQLAlchemy's `postgresql+asyncpg` dialect, URL from DATABASE_URL.

The bot itself talks to PostgreSQL through asyncpg directly; SQLAlchemy is here only because
alembic runs on it. Migrations are hand-written (`op.*`), so there is no metadata to compare.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def database_url() -> str:
    """The URL given by `trainingbot.db.migrate` (attributes) or the DATABASE_URL variable."""
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set: point it at the bot's PostgreSQL database")
    return url


def async_url(url: str):
    """`postgresql://…` as SQLAlchemy's asyncpg dialect wants it, password kept out of reprs."""
    return make_url(url).set(drivername="postgresql+asyncpg")


def run_migrations_offline() -> None:
    context.configure(
        url=async_url(database_url()), literal_binds=True, dialect_opts={"paramstyle": "named"}
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    # One transaction per run: PostgreSQL has transactional DDL, so a failed revision leaves
    # the schema exactly as it was.
    context.configure(connection=connection, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    # A bounded connect: a migration Job must fail with a reason, not hang on a dead host.
    engine = create_async_engine(
        async_url(database_url()), poolclass=pool.NullPool, connect_args={"timeout": 10}
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
