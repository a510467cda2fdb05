"""Fixtures of the demo page's browser tests: `training-bot demo --serve` on a copy of the
sample course, headless Debian chromium driven by Playwright, and axe-core for the
accessibility check.

The browser is the system's (`/usr/bin/chromium`, installed by scripts/bootstrap.sh): nothing
is downloaded at test time but axe-core, once, from the npm registry into the user's cache.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trainingbot.content import SAMPLE_CONTENT_DIR

CHROMIUM = Path("/usr/bin/chromium")
AXE_VERSION = "4.14.1"
AXE_CACHE = Path.home() / ".cache" / "telegram-training-bot" / "npm"
START_TIMEOUT = 180  # a cold start imports aiogram and runs initdb on a shared machine
ARTEFACTS = Path(__file__).resolve().parents[2] / "build"


@dataclass
class Demo:
    url: str
    content: Path  # the watched course files (a copy the tests may break and fix)
    process: subprocess.Popen
    output: list[str]


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    # Short: PostgreSQL's socket path under TMPDIR has a length limit.
    root = Path(tempfile.mkdtemp(prefix="ttb-page-", dir="/tmp"))
    content = root / "content"
    shutil.copytree(SAMPLE_CONTENT_DIR, content)
    temp = root / "t"
    temp.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trainingbot",
            "demo",
            "--serve",
            "--port",
            "0",
            "--content",
            content,
        ],
        env={**os.environ, "TMPDIR": str(temp)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in process.stdout:
            output.append(line)
            if line.startswith("URL="):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        ready.wait(START_TIMEOUT)
        urls = [line.strip()[4:] for line in output if line.startswith("URL=")]
        assert urls, "the demo printed no URL= line:\n" + "".join(output)
        yield Demo(urls[0], content, process, output)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    assert process.returncode == 128 + signal.SIGTERM, "".join(output)
    assert "Traceback" not in "".join(output), "".join(output)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "install Debian's chromium: scripts/bootstrap.sh services"
    with sync_playwright() as playwright:
        # No sandbox: tests run as root in CI, where chromium refuses its sandbox.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, demo):
    context = browser.new_context(viewport={"width": 1100, "height": 860}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)  # a bound that turns a hang into a failure
    page.goto(demo.url)
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe.min.js of axe-core AXE_VERSION, packed from the npm registry once per machine."""
    tarball = AXE_CACHE / f"axe-core-{AXE_VERSION}.tgz"
    if not tarball.exists():
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", f"axe-core@{AXE_VERSION}", "--silent"],
            cwd=AXE_CACHE,
            check=True,
            capture_output=True,
            timeout=300,
        )
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None
        return member.read().decode()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS
