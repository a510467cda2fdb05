"""`training-bot backup --file PATH`: `pg_dump` of `DATABASE_URL`, the password on no command line.

The migration Job's backup step runs this before `training-bot migrate`. Given the URL as
`pg_dump --dbname=…`, the password would be in the process's arguments, which anyone who can
list processes on the node reads (`ps`, `/proc/PID/cmdline`). Here only the password leaves the
URL: it goes into a password file of this run alone (mode 0600, `PGPASSFILE`, removed after),
and `pg_dump` gets the rest of the URL, which libpq parses itself (several hosts, `sslmode` and
any other parameter work as they do for the bot).

The dump is written next to PATH under a temporary name and renamed on success, so a dump that
failed half-way never looks like a backup. `pg_dump`'s own messages name host, port and user,
never the password.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from trainingbot.db.migrate import database_url_from_environment, describe_target

SCHEMES = ("postgresql://", "postgres://")
# Custom format: compressed, and `pg_restore` can restore it selectively (docs/RUNBOOK.md).
# --no-password: never prompt (there is no terminal); a missing password is an error at once.
PG_DUMP_OPTIONS = ("--format=custom", "--no-owner", "--no-password")


class BackupError(Exception):
    """A problem a person can fix; the message says which, without the password."""


@dataclass(frozen=True)
class Connection:
    """`DATABASE_URL` split for libpq: the URL without its password, and the password."""

    url: str
    password: str | None


def split_password(database_url: str) -> Connection:
    """The URL without its password (in the user part or the `password` parameter)."""
    scheme = next((s for s in SCHEMES if database_url.startswith(s)), None)
    if scheme is None:
        raise BackupError("DATABASE_URL must be a postgresql:// URL")
    rest = database_url[len(scheme) :]
    # The authority ends at the first "/" or "?" (a URI's userinfo has them percent-encoded);
    # several hosts (`h1:5432,h2:5432`) stay as they are, for libpq.
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hosts = authority.rpartition("@")
    password = None
    if at:
        user, colon, encoded = userinfo.partition(":")
        if colon:
            password = unquote(encoded)
        authority = f"{user}@{hosts}" if user else hosts
    path, question, query = tail.partition("?")
    if question:
        # Split by hand: libpq takes "+" literally, where parse_qsl would make it a space.
        kept = []
        for pair in query.split("&"):
            key, _, value = pair.partition("=")
            if unquote(key) == "password":
                password = unquote(value)
            elif pair:
                kept.append(pair)
        tail = path + ("?" + "&".join(kept) if kept else "")
    return Connection(url=f"{scheme}{authority}{tail}", password=password or None)


def passfile_line(password: str) -> str:
    """A `.pgpass` line that gives `password` for any host, port, database and user."""
    if "\n" in password or "\r" in password:
        raise BackupError("the password in DATABASE_URL has a line break: pg_dump cannot use it")
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:*:{escaped}\n"


def pg_dump_command(pg_dump: str, connection: Connection, output: Path) -> list[str]:
    return [pg_dump, *PG_DUMP_OPTIONS, f"--file={output}", f"--dbname={connection.url}"]


def child_environment(base: dict[str, str], passfile: Path | None) -> dict[str, str]:
    """The environment of `pg_dump`: this one without the URL, with the password file.

    A password in the environment (`PGPASSWORD`) would win over the file: it goes when the URL
    has one. Other `PG*` settings (e.g. `PGSSLROOTCERT`) stay.
    """
    env = {key: value for key, value in base.items() if key != "DATABASE_URL"}
    if passfile is not None:
        env.pop("PGPASSWORD", None)
        env["PGPASSFILE"] = str(passfile)
    return env


def backup(database_url: str, output: Path, *, pg_dump: str | None = None) -> int:
    """Dump the database to `output`; the size in bytes. Raises `BackupError`."""
    connection = split_password(database_url)
    program = pg_dump or shutil.which("pg_dump")
    if program is None:
        raise BackupError("pg_dump is not installed (the image carries it: docs/IMAGE.md)")
    if not output.parent.is_dir():
        raise BackupError(f"{output.parent} is not a directory (is the backup volume mounted?)")
    partial = output.with_name(f".{output.name}.partial")
    with tempfile.TemporaryDirectory(prefix="training-bot-backup-") as private:
        passfile = None
        if connection.password is not None:
            passfile = Path(private) / "pgpass"
            descriptor = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as stream:
                stream.write(passfile_line(connection.password))
        result = subprocess.run(
            pg_dump_command(program, connection, partial),
            env=child_environment(dict(os.environ), passfile),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(
            f"pg_dump of {where(database_url)} failed (exit code {result.returncode}); "
            "its message is above"
        )
    os.replace(partial, output)
    return output.stat().st_size


def where(database_url: str) -> str:
    """host:port/db of the URL for messages; never the user's password."""
    try:
        return describe_target(database_url)
    except ValueError:  # several hosts: urllib cannot read the port
        return "the database of DATABASE_URL"


def main(output: Path) -> int:
    database_url = database_url_from_environment("training-bot backup")
    if database_url is None:
        return 2
    try:
        size = backup(database_url, output)
    except BackupError as exc:
        print(f"training-bot backup: {exc}", file=sys.stderr)
        return 1
    print(
        f"training-bot backup: {where(database_url)} dumped to {output} "
        f"({size / 1024 / 1024:.1f} MiB)",
        flush=True,
    )
    return 0
