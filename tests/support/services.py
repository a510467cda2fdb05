"""Real PostgreSQL, Redis and Redis Sentinel on loopback, started and stopped by the tests.

Each server lives in a temporary directory of its own and listens on a free port, so a test
run never touches a developer's databases and leaves nothing behind. PostgreSQL refuses to
run as root, so when the tests run as root its processes run as the `postgres` user.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .processes import free_port, port_open, spawn, stop_process, wait_until

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _require(path: str | Path, package: str) -> None:
    if not Path(path).exists():
        raise RuntimeError(
            f"{path} is missing: install Debian's {package} (scripts/bootstrap.sh services)"
        )


class PostgresServer:
    """A throwaway PostgreSQL cluster. `url(db)` gives a password-authenticated URL."""

    superuser = "postgres"

    def __init__(self) -> None:
        _require(PG_BIN / "initdb", "postgresql")
        self.root = Path(tempfile.mkdtemp(prefix="ttb-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.password = secrets.token_hex(12)
        self._run_as = None
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            self._run_as = (user.pw_uid, user.pw_gid)
            os.chown(self.root, *self._run_as)

    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        user = {"user": self._run_as[0], "group": self._run_as[1]} if self._run_as else {}
        return subprocess.run(
            list(args), check=check, capture_output=True, text=True, cwd=self.root, **user
        )

    def init(self) -> PostgresServer:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        if self._run_as:
            os.chown(pwfile, *self._run_as)
        self._cmd(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.superuser,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        pwfile.unlink()
        return self

    def start(self) -> PostgresServer:
        # fsync off: a test cluster trades durability across power loss for speed.
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._cmd(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )
        wait_until(lambda: port_open(self.port), 30, "PostgreSQL to listen")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate` is a crash: no checkpoint, clients cut off)."""
        self._cmd(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = self._cmd(
            str(PG_BIN / "psql"),
            "-h",
            str(self.root),
            "-p",
            str(self.port),
            "-U",
            self.superuser,
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        )
        return out.stdout

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """Create a database, empty or a copy of `template`, and return its URL."""
        name = name or f"t_{secrets.token_hex(6)}"
        self.psql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{self.superuser}:{self.password}@127.0.0.1:{self.port}/{db}"

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class RedisServer:
    """One redis-server (optionally a replica of another), or a sentinel when `sentinel_of`."""

    password: str | None = None
    replica_of: RedisServer | None = None
    sentinel_of: RedisServer | None = None
    sentinel_password: str | None = None
    master_name: str = "mymaster"
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ttb-redis-")))
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def _config(self) -> str:
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {self.root}",
            "save ''",
            "appendonly no",
            "protected-mode no",
        ]
        if self.sentinel_of:
            master = self.sentinel_of
            lines += [
                f"sentinel monitor {self.master_name} 127.0.0.1 {master.port} 2",
                # 1 s to call a master down: failover in about 2 s, as measured on this machine.
                f"sentinel down-after-milliseconds {self.master_name} 1000",
                f"sentinel failover-timeout {self.master_name} 5000",
                f"sentinel parallel-syncs {self.master_name} 1",
                "sentinel resolve-hostnames no",
            ]
            if master.password:
                lines.append(f"sentinel auth-pass {self.master_name} {master.password}")
            if self.sentinel_password:
                lines.append(f"requirepass {self.sentinel_password}")
        else:
            if self.password:
                lines += [f"requirepass {self.password}", f"masterauth {self.password}"]
            if self.replica_of:
                lines.append(f"replicaof 127.0.0.1 {self.replica_of.port}")
        return "\n".join(lines) + "\n"

    def start(self) -> RedisServer:
        _require(REDIS_SERVER, "redis-server")
        conf = self.root / ("sentinel.conf" if self.sentinel_of else "redis.conf")
        conf.write_text(self._config())
        args = [REDIS_SERVER, str(conf)] + (["--sentinel"] if self.sentinel_of else [])
        self.proc = spawn(args, self.root / "log")
        wait_until(lambda: port_open(self.port), 15, f"redis on {self.port}")
        return self

    def kill(self) -> None:
        """Kill the server outright (SIGKILL), as a crashed master would die."""
        if self.proc:
            stop_process(self.proc, sig=signal.SIGKILL)

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class SentinelGroup:
    """A master, a replica and three sentinels: the smallest group that can fail over."""

    password: str = field(default_factory=lambda: secrets.token_hex(8))
    sentinel_password: str = field(default_factory=lambda: secrets.token_hex(8))
    master_name: str = "mymaster"
    master: RedisServer | None = None
    replica: RedisServer | None = None
    sentinels: list[RedisServer] = field(default_factory=list)

    def start(self) -> SentinelGroup:
        self.master = RedisServer(password=self.password).start()
        self.replica = RedisServer(password=self.password, replica_of=self.master).start()
        self.sentinels = [
            RedisServer(
                sentinel_of=self.master,
                sentinel_password=self.sentinel_password,
                master_name=self.master_name,
            ).start()
            for _ in range(3)
        ]
        wait_until(self._replica_in_sync, 30, "the replica to sync with the master")
        return self

    @property
    def hosts(self) -> str:
        """The `REDIS_SENTINELS` value: host:port,host:port,…"""
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def env(self) -> dict[str, str]:
        """The bot's environment for this group."""
        return {
            "REDIS_SENTINELS": self.hosts,
            "REDIS_MASTER_NAME": self.master_name,
            "REDIS_PASSWORD": self.password,
            "REDIS_SENTINEL_PASSWORD": self.sentinel_password,
        }

    def _redis_cli(self, port: int, *args: str, password: str | None = None) -> str:
        cmd = ["redis-cli", "-p", str(port), "--no-auth-warning"]
        if password:
            cmd += ["-a", password]
        return subprocess.run(cmd + list(args), capture_output=True, text=True).stdout

    def _replica_in_sync(self) -> bool:
        info = self._redis_cli(self.replica.port, "info", "replication", password=self.password)
        return "master_link_status:up" in info

    def current_master_port(self) -> int:
        out = self._redis_cli(
            self.sentinels[0].port,
            "sentinel",
            "get-master-addr-by-name",
            self.master_name,
            password=self.sentinel_password,
        )
        return int(out.split()[1])

    def kill_master(self, timeout: float = 30) -> int:
        """Kill the current master and wait until the sentinels promote the replica."""
        old = self.current_master_port()
        victim = self.master if self.master.port == old else self.replica
        victim.kill()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.current_master_port() != old:
                    return self.current_master_port()
            except (IndexError, ValueError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"no failover within {timeout}s after killing the master on {old}")

    def destroy(self) -> None:
        for server in [*self.sentinels, self.replica, self.master]:
            if server:
                server.destroy()
