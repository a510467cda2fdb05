"""`training-bot backup`: the URL split for libpq (unit), and a real dump of the test PostgreSQL
whose password appears on no command line (services)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from trainingbot.backup import (
    BackupError,
    Connection,
    backup,
    child_environment,
    passfile_line,
    pg_dump_command,
    split_password,
)

# --- unit ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://bot:s3cret@db:5432/bot",
            Connection("postgresql://bot@db:5432/bot", "s3cret"),
        ),
        (
            "postgres://bot:p%40ss%3Aw%2Frd@db/bot?sslmode=require",
            Connection("postgres://bot@db/bot?sslmode=require", "p@ss:w/rd"),
        ),
        ("postgresql://bot@db/bot", Connection("postgresql://bot@db/bot", None)),
        ("postgresql://db/bot", Connection("postgresql://db/bot", None)),
        (
            "postgresql://bot@db/bot?sslmode=verify-full&password=a%2Bb&application_name=x+y",
            Connection("postgresql://bot@db/bot?sslmode=verify-full&application_name=x+y", "a+b"),
        ),
        (
            "postgresql://bot:pw@db-1:5432,db-2:5433/bot?target_session_attrs=read-write",
            Connection(
                "postgresql://bot@db-1:5432,db-2:5433/bot?target_session_attrs=read-write", "pw"
            ),
        ),
        ("postgresql://bot:@db/bot", Connection("postgresql://bot@db/bot", None)),
        ("postgresql://:pw@db", Connection("postgresql://db", "pw")),
    ],
)
def test_only_the_password_leaves_the_url(url, expected):
    assert split_password(url) == expected


@pytest.mark.parametrize("url", ["host=db password=x", "mysql://bot:pw@db/bot", ""])
def test_what_is_not_a_postgresql_url_is_refused_without_echoing_it(url):
    with pytest.raises(BackupError) as refused:
        split_password(url)
    assert "postgresql://" in str(refused.value)
    assert "password=x" not in str(refused.value) and "pw" not in str(refused.value)


def test_the_password_file_escapes_colons_and_backslashes():
    assert passfile_line("a:b\\c") == "*:*:*:*:a\\:b\\\\c\n"
    with pytest.raises(BackupError, match="line break"):
        passfile_line("a\nb")


def test_pg_dump_gets_the_url_without_its_password():
    command = pg_dump_command(
        "pg_dump", split_password("postgresql://bot:s3cret@db/bot"), Path("/backups/x.dump")
    )
    assert command == [
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--no-password",
        "--file=/backups/x.dump",
        "--dbname=postgresql://bot@db/bot",
    ]
    assert not any("s3cret" in arg for arg in command)


def test_the_child_gets_the_password_file_and_not_the_url():
    base = {"PATH": "/bin", "DATABASE_URL": "postgresql://u:p@h/d", "PGPASSWORD": "old"}
    base["PGSSLROOTCERT"] = "/etc/ca.pem"
    env = child_environment(base, Path("/tmp/x/pgpass"))
    assert env == {"PATH": "/bin", "PGSSLROOTCERT": "/etc/ca.pem", "PGPASSFILE": "/tmp/x/pgpass"}
    assert child_environment(base, None)["PGPASSWORD"] == "old"  # the URL had no password


def test_the_command_line_has_the_subcommand():
    from trainingbot.cli import build_parser

    args = build_parser().parse_args(["backup", "--file", "/backups/x.dump"])
    assert args.file == Path("/backups/x.dump") and args.func.__name__ == "_backup"


# --- services: the test PostgreSQL --------------------------------------------------------------


@pytest.fixture
def recording_pg_dump(tmp_path) -> tuple[Path, Path]:
    """A pg_dump that writes its arguments and its password file's mode down, then runs."""
    real = shutil.which("pg_dump")
    assert real, "pg_dump is missing: install Debian's postgresql-client"
    record = tmp_path / "pg_dump.args"
    wrapper = tmp_path / "pg_dump"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{record}"\n'
        f'stat -c "%a" "$PGPASSFILE" >> "{record}"\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper, record


@pytest.mark.services
def test_a_backup_of_the_test_database_restores_and_its_password_is_on_no_command_line(
    postgres_server, database_url, recording_pg_dump, tmp_path
):
    postgres_server.psql(
        "INSERT INTO users (id, first_name) VALUES (4242, 'Ada')",
        db=database_url.rsplit("/", 1)[1],
    )
    wrapper, record = recording_pg_dump
    dump = tmp_path / "backups" / "oncall-20261127T093005Z-bot_1.3.0.dump"
    dump.parent.mkdir()

    size = backup(database_url, dump, pg_dump=str(wrapper))

    assert size == dump.stat().st_size > 0
    assert [p.name for p in dump.parent.iterdir()] == [dump.name]  # no partial file left
    arguments = record.read_text().splitlines()
    assert postgres_server.password not in "\n".join(arguments)
    assert arguments[-1] == "600"  # the password file is the user's alone
    assert "--no-password" in arguments

    listing = subprocess.run(
        ["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True
    ).stdout
    assert "TABLE public users" in listing
    restored = postgres_server.create_database()
    subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={restored.rsplit('/', 1)[1]}", str(dump)],
        env={
            **os.environ,
            "PGHOST": str(postgres_server.root),
            "PGPORT": str(postgres_server.port),
            "PGUSER": postgres_server.superuser,
        },
        check=True,
    )
    assert (
        postgres_server.psql(
            "SELECT first_name FROM users WHERE id = 4242", db=restored.rsplit("/", 1)[1]
        ).strip()
        == "Ada"
    )


def run_backup_command(database_url: str, dump: Path) -> subprocess.CompletedProcess:
    """`training-bot backup --file DUMP` as the migration Job runs it: the URL in the
    environment."""
    return subprocess.run(
        [sys.executable, "-m", "trainingbot", "backup", "--file", str(dump)],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
    )


@pytest.mark.services
def test_the_command_fails_clearly_and_leaves_no_file(postgres_server, database_url, tmp_path):
    wrong = database_url.replace(postgres_server.password, "not-the-password")
    dump = tmp_path / "x.dump"
    result = run_backup_command(wrong, dump)
    assert result.returncode == 1
    assert "training-bot backup: pg_dump of 127.0.0.1" in result.stderr
    assert "password authentication failed" in result.stderr
    assert "not-the-password" not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.services
def test_the_command_dumps_with_the_url_from_the_environment(database_url, tmp_path):
    dump = tmp_path / "x.dump"
    result = run_backup_command(database_url, dump)
    assert result.returncode == 0, result.stderr
    assert f"dumped to {dump}" in result.stdout
    assert dump.stat().st_size > 0
