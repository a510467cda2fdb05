"""Fixtures of the image tests: the Docker engine, the image built by `make image`'s script,
and containers run the way Kubernetes runs the bot's pods (read-only root filesystem, a tmpfs
on /tmp, UID 10001, no capabilities, no privilege escalation).

The containers use the host's network, so that the bot inside reaches the test session's
PostgreSQL, Redis and Bot API emulator on 127.0.0.1, and the tests reach its ports there.
The engine is started when needed and stopped at the end only when these tests started it;
every container they start is removed, and the image stays for the next (warm) build.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from trainingbot.emulator import BotApiEmulator

from tests.runtime.support import bot_environment as runtime_environment
from tests.support.logs import parse_json_lines

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "image"
DOCKER = "/usr/bin/docker"  # Debian's client (BuildKit without buildx)
TOKEN = "777000222:AAimage-tests-token-image-tests-token"
UID = 10001
# How Kubernetes runs the pods (the restricted Pod Security Standard), in `docker run` terms.
HARDENED = [
    "--read-only",
    "--tmpfs",
    "/tmp:rw,nosuid,nodev,size=64m",
    "--user",
    f"{UID}:{UID}",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
]


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """`docker ARGS`, output captured as text; a failure shows docker's own message."""
    result = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)} exited with {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


async def adocker(*args: str, check: bool = True, limit: float = 120):
    """`docker` off the event loop: the emulator keeps serving the bot meanwhile."""
    return await asyncio.to_thread(docker, *args, check=check, timeout=limit)


def _last_value(output: str, key: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    if not lines or not lines[-1].startswith(f"{key}="):
        raise AssertionError(f"expected {key}=… as the last line, got:\n{output}")
    return lines[-1].split("=", 1)[1]


@pytest.fixture(scope="session")
def docker_engine():
    """The engine; started by scripts/image/engine.sh when none answers, stopped if so."""
    result = subprocess.run(
        [str(SCRIPTS / "engine.sh"), "start"], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, f"the Docker engine did not start:\n{result.stderr}"
    started = _last_value(result.stdout, "STARTED") == "1"
    yield
    if started:
        subprocess.run([str(SCRIPTS / "engine.sh"), "stop"], check=False, timeout=180)


@dataclass(frozen=True)
class BuiltImage:
    ref: str  # what build.sh printed
    id: str  # the image ID right after the build: later builds cannot change it under a test
    build_output: str


@pytest.fixture(scope="session")
def image(docker_engine) -> BuiltImage:
    """The image, built by scripts/image/build.sh (what `make image` runs)."""
    result = subprocess.run(
        [str(SCRIPTS / "build.sh")], capture_output=True, text=True, cwd=REPO, timeout=1200
    )
    assert result.returncode == 0, f"scripts/image/build.sh failed:\n{result.stderr}"
    ref = _last_value(result.stdout, "IMAGE")
    image_id = docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
    return BuiltImage(ref, image_id, result.stderr)


@pytest.fixture(scope="session")
def image_config(image) -> dict[str, Any]:
    return json.loads(docker("image", "inspect", image.id).stdout)[0]


@dataclass
class Container:
    """A detached container of the image; `logs()` is its stdout and stderr."""

    name: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def ops_url(self) -> str:
        return f"http://127.0.0.1:{self.env['HTTP_PORT']}"

    async def logs(self) -> str:
        result = await adocker("logs", self.name, check=False)
        return result.stdout + result.stderr

    async def state(self) -> dict[str, Any]:
        out = await adocker("inspect", "--format", "{{json .State}}", self.name)
        return json.loads(out.stdout)

    async def json_records(self) -> list[dict[str, Any]]:
        """Every log line, parsed: a line that is not JSON fails the test (LOG_FORMAT=json)."""
        return parse_json_lines(await self.logs())


class Containers:
    """Starts containers of the image under names of this session; removes them all at the end."""

    def __init__(self, image: BuiltImage) -> None:
        self.image = image
        self.prefix = f"ttb-image-test-{secrets.token_hex(3)}"
        self.names: list[str] = []

    def _name(self, what: str) -> str:
        name = f"{self.prefix}-{what}-{len(self.names)}"
        self.names.append(name)
        return name

    @staticmethod
    def _env_args(env: dict[str, str]) -> list[str]:
        return [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]

    async def run(
        self,
        *command: str,
        env: dict[str, str] | None = None,
        entrypoint: str | None = None,
        extra: list[str] | None = None,
        limit: float = 180,
    ) -> subprocess.CompletedProcess:
        """Run a command to completion (`docker run --rm`, hardened, host network)."""
        name = self._name("run")
        args = [
            "run",
            "--rm",
            "--name",
            name,
            "--network",
            "host",
            *HARDENED,
            *self._env_args(env or {}),
            *(extra or []),
        ]
        if entrypoint:
            args += ["--entrypoint", entrypoint]
        return await adocker(*args, self.image.id, *command, check=False, limit=limit)

    async def start(
        self, what: str, env: dict[str, str], *command: str, extra: list[str] | None = None
    ) -> Container:
        """Start a detached container (hardened, host network) running `command`."""
        name = self._name(what)
        await adocker(
            "run",
            "--detach",
            "--name",
            name,
            "--network",
            "host",
            *HARDENED,
            *self._env_args(env),
            *(extra or []),
            self.image.id,
            *command,
        )
        return Container(name, env)

    def remove_all(self) -> None:
        for name in self.names:
            docker("rm", "--force", "--volumes", name, check=False)


@pytest.fixture
def containers(image):
    running = Containers(image)
    yield running
    running.remove_all()


@pytest.fixture
async def emulator():
    """The project's Bot API emulator on 127.0.0.1: the bot in the container polls it."""
    async with BotApiEmulator(TOKEN) as emu:
        yield emu


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


# What the runtime's tests set that the image decides itself: these are left to its defaults
# (the Dockerfile's ENV and the bot's own defaults), so that those defaults are what is tested.
IMAGE_DEFAULTS = (
    "CONTENT_DIR",
    "LOG_FORMAT",
    "DB_POOL_MIN_SIZE",
    "DB_POOL_MAX_SIZE",
    "SHUTDOWN_TIMEOUT",
)


def bot_environment(
    emulator: BotApiEmulator, database_url: str, redis_url: str, mode: str = "polling", **extra: str
) -> dict[str, str]:
    """The bot's environment (DESIGN.md) inside the container, without `IMAGE_DEFAULTS`."""
    env = runtime_environment(
        emulator, database_url, mode=mode, redis={"REDIS_URL": redis_url}, **extra
    )
    for key in IMAGE_DEFAULTS:
        if key not in extra:
            env.pop(key)
    if mode != "webhook":
        env.pop("WEBHOOK_URL")
        env.pop("WEBHOOK_SECRET")
    return env


async def http_status(http: aiohttp.ClientSession, url: str) -> int | None:
    try:
        async with http.get(url) as resp:
            await resp.read()
            return resp.status
    except (aiohttp.ClientError, TimeoutError):
        return None
