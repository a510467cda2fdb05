"""`training-bot demo` stopped by real signals: nothing of the embedded PostgreSQL is left.

The demo runs as a subprocess in a session of its own, as in a terminal; TMPDIR points to a
folder of the test's (short: PostgreSQL's socket path has a length limit), so the demo's
temporary folder and PostgreSQL's processes are found by it.
Ctrl-C and a closing terminal signal the whole foreground group (`killpg`), as a terminal
does; `kill PID` signals the demo alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.processes import wait_until

pytestmark = pytest.mark.services

START_TIMEOUT = 180  # a cold start imports aiogram and runs initdb on a shared machine


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="ttb-demo-sig-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def start_demo(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "demo.log"
    temp = tmp_path / "t"
    temp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trainingbot", "demo", "--port", "0"],
        env={**os.environ, "TMPDIR": str(temp)},
        stdin=subprocess.PIPE,  # a terminal nobody types in: the chat waits for a line
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, log


def leftovers(tmp_path: Path) -> tuple[list[str], list[str]]:
    """The demo's folders still in TMPDIR, and processes still running from them.

    (pgserver also keeps a lock file in the user's runtime folder, `runtime-UID` under
    TMPDIR here: shared by every pgserver of the user, it is not the demo's to remove.)"""
    temp = tmp_path / "t"
    folders = sorted(p.name for p in temp.glob("training-bot-demo-*"))
    processes = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if str(temp) in cmdline:
            processes.append(cmdline)
    return folders, processes


def stop_and_check(proc: subprocess.Popen, log: Path, tmp_path: Path, sig, *, group: bool):
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdin.close()
    output = log.read_text(errors="replace")
    assert code == 128 + sig, output
    assert "Traceback" not in output, output
    folders, processes = leftovers(tmp_path)
    assert folders == [], output
    assert processes == [], output


def wait_for(log: Path, text: str, proc: subprocess.Popen) -> None:
    def seen() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the demo exited early:\n{log.read_text(errors='replace')}")
        return text in log.read_text(errors="replace")

    wait_until(seen, START_TIMEOUT, f"{text!r} from the demo")


@pytest.mark.parametrize(
    ("sig", "group"),
    [(signal.SIGTERM, False), (signal.SIGHUP, True), (signal.SIGINT, True)],
    ids=["SIGTERM", "SIGHUP-closing-terminal", "Ctrl-C"],
)
def test_a_signal_during_the_chat_stops_postgres_and_removes_its_folder(tmp_path, sig, group):
    proc, log = start_demo(tmp_path)
    wait_for(log, "The chat in a browser: http://127.0.0.1:", proc)
    _, processes = leftovers(tmp_path)
    assert processes, "PostgreSQL should run from the demo's folder while it chats"
    stop_and_check(proc, log, tmp_path, sig, group=group)


def test_ctrl_c_while_starting_exits_quietly_and_leaves_nothing(tmp_path):
    proc, log = start_demo(tmp_path)
    # The first line comes at once; PostgreSQL and aiogram are still on their way.
    wait_for(log, "Starting an embedded PostgreSQL", proc)
    stop_and_check(proc, log, tmp_path, signal.SIGINT, group=True)
