"""`training-bot migrate` failure lines: what failed, what to check, never the password."""

import socket

import asyncpg
import pytest

from trainingbot.db import migrate

URL = "postgresql://bot:s3cr3t-pw@db.example:6543/training"


def test_target_names_host_port_and_database_without_credentials():
    assert migrate.describe_target(URL) == "db.example:6543/training"
    assert migrate.describe_target("postgresql://localhost") == "localhost:5432"


def wrapped(exc: BaseException) -> Exception:
    outer = RuntimeError("sqlalchemy wrapper")
    outer.__cause__ = exc
    return outer


def test_connection_refused():
    line = migrate.explain_failure(wrapped(ConnectionRefusedError(111, "refused")), URL)
    assert line.startswith(
        "cannot connect to the database at db.example:6543/training: connection refused"
    )
    assert "DATABASE_URL" in line and "s3cr3t" not in line


def test_unknown_host():
    line = migrate.explain_failure(socket.gaierror(-2, "Name or service not known"), URL)
    assert "unknown host" in line


def test_bad_password_names_the_user_not_the_password():
    line = migrate.explain_failure(
        asyncpg.InvalidPasswordError("password authentication failed for user bot"), URL
    )
    assert "'bot'" in line and "authentication failed" in line and "s3cr3t" not in line


def test_missing_database():
    line = migrate.explain_failure(asyncpg.InvalidCatalogNameError("no db"), URL)
    assert "does not exist" in line


def test_other_failures_never_show_the_password():
    line = migrate.explain_failure(ValueError(f"bad thing in {URL}"), URL)
    assert "s3cr3t" not in line and "***" in line
    assert "\n" not in line


def test_main_without_database_url_says_so(monkeypatch, capsys):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert migrate.main() == 2
    assert "DATABASE_URL is not set" in capsys.readouterr().err


def test_head_revision_is_known():
    assert migrate.head_revision() == "0001"


@pytest.mark.parametrize(
    ("current", "ready"),
    [
        ("0003", True),  # this build's head
        ("0004", True),  # a newer release's: expand/contract keeps this build working
        ("0002", False),  # behind this build: its queries would fail
        ("0001", False),
        (None, False),  # never migrated
    ],
)
def test_schema_problem_serves_on_head_or_newer(current, ready):
    problem = migrate.schema_problem(current, "0003", frozenset({"0001", "0002", "0003"}))
    assert (problem is None) == ready
    if not ready:
        assert "this bot needs 0003" in problem and "run training-bot migrate" in problem


def test_known_revisions_include_the_head():
    assert migrate.head_revision() in migrate.known_revisions()
