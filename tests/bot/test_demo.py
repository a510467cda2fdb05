"""`training-bot demo --script FILE`: a person's session, run as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.services

SCRIPT = """\
/start
1
1
1
/progress
/quit
"""


def test_demo_takes_a_trainee_into_the_sample_course(tmp_path: Path):
    script = tmp_path / "session.txt"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, "-m", "trainingbot", "demo", "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Pick a course" in out  # the welcome
    assert "On-call 101" in out  # the course list and card
    assert "You're enrolled in" in out
    assert "Lesson 1 of" in out  # the first lesson
    assert "Quiz:" in out or "quiz" in out  # its first question
    assert "Lessons: 0 of" in out  # /progress
    assert "Traceback" not in done.stderr


def test_demo_refuses_invalid_content(tmp_path: Path):
    bad = tmp_path / "content"
    (bad / "broken").mkdir(parents=True)
    (bad / "broken" / "course.yaml").write_text("id: broken\ntitle: [unclosed\n")
    done = subprocess.run(
        [sys.executable, "-m", "trainingbot", "demo", "--content-dir", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert "course.yaml" in done.stderr
