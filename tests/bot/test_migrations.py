"""The schema exists only through alembic: down to base and up again, and the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from trainingbot.db import migrate

from tests.support.processes import free_port

pytestmark = pytest.mark.services

TABLES = {
    "users",
    "enrollments",
    "lesson_progress",
    "quiz_attempts",
    "quiz_polls",
    "review_schedule",
    "processed_updates",
}


def tables(postgres_server, url: str) -> set[str]:
    db = url.rsplit("/", 1)[1]
    out = postgres_server.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", db)
    return set(out.split()) - {"alembic_version"}


async def test_downgrade_to_base_then_upgrade_to_head(postgres_server, database_url):
    assert tables(postgres_server, database_url) == TABLES
    await asyncio.to_thread(migrate.downgrade, database_url, "base")
    assert tables(postgres_server, database_url) == set()
    await asyncio.to_thread(migrate.upgrade, database_url, "head")
    assert tables(postgres_server, database_url) == TABLES
    db = database_url.rsplit("/", 1)[1]
    indexes = postgres_server.psql(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'", db
    ).split()
    for index in (
        "ix_review_schedule_due",
        "ux_quiz_attempts_first",
        "ix_enrollments_course",
        "ix_processed_updates_at",
    ):
        assert index in indexes


def run_cli(database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("BOT_TOKEN", None)  # the migration Job needs only the database
    return subprocess.run(
        [sys.executable, "-m", "trainingbot", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )


def test_migrate_command_against_a_real_database(postgres_server):
    url = postgres_server.create_database()
    done = run_cli(url)
    assert done.returncode == 0, done.stderr
    assert "is at revision 0001" in done.stdout
    assert tables(postgres_server, url) == TABLES
    again = run_cli(url)  # idempotent
    assert again.returncode == 0


def test_migrate_command_against_a_stopped_database_says_what_to_do(postgres_server):
    url = f"postgresql://postgres:{postgres_server.password}@127.0.0.1:{free_port()}/bot"
    done = run_cli(url)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "cannot connect to the database at 127.0.0.1:" in lines[0]
    assert "connection refused" in lines[0] and "DATABASE_URL" in lines[0]
    assert postgres_server.password not in done.stderr + done.stdout
