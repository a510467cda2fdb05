"""`training-bot content validate DIR`: output format and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from trainingbot.content import SAMPLE_CONTENT_DIR
from trainingbot.content.validate import main

from .conftest import CourseFiles

REPO = Path(__file__).resolve().parents[3]


def test_valid_content_prints_a_summary(files: CourseFiles, capsys):
    assert main(files.root) == 0
    out, err = capsys.readouterr()
    assert out == f"{files.root}: OK — 1 course, 1 module, 2 lessons, 2 questions\n"
    assert err == ""


def test_each_problem_on_its_own_line_with_file_and_line(files: CourseFiles, capsys):
    files.course((files.course_file.read_text()).replace("title: Demo course", "titel: X"))
    files.lesson("orphan", "---\ntitle: O\n---\nO.\n")
    assert main(files.root) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert f"{files.course_file}:1: the course needs `title` — add it" in lines
    assert any(line.startswith(f"{files.course_file}:2: unknown key `titel`") for line in lines)
    assert f"{files.lesson_file('orphan')}: warning: no module lists" in err
    assert lines[-1] == (
        f"2 problems in {files.root}: fix them and run `training-bot content validate` again"
    )


def test_warnings_do_not_fail(files: CourseFiles, capsys):
    files.lesson("orphan", "---\ntitle: O\n---\nO.\n")
    assert main(files.root) == 0
    out, err = capsys.readouterr()
    assert "OK" in out and "warning:" in err


def test_missing_directory_is_exit_2(tmp_path: Path, capsys):
    assert main(tmp_path / "nowhere") == 2
    assert capsys.readouterr().err == (
        f"{tmp_path / 'nowhere'}: the content directory does not exist — check CONTENT_DIR\n"
    )


def test_a_file_instead_of_a_directory_is_exit_2(tmp_path: Path, capsys):
    (tmp_path / "file").write_text("")
    assert main(tmp_path / "file") == 2
    assert "is a file, not a directory" in capsys.readouterr().err


def test_sample_course_through_the_real_cli():
    cli = Path(sys.executable).parent / "training-bot"
    result = subprocess.run(
        [str(cli), "content", "validate", "src/bot/content/courses"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("src/bot/content/courses: OK — 1 course, 4 modules")
    assert SAMPLE_CONTENT_DIR == REPO / "src/bot/content/courses"
