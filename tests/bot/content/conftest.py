"""Course fixtures written into tmp_path: one small valid course, changed per test."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from trainingbot.content import ContentError, Problem, load_catalog

COURSE_YAML = """\
id: demo
title: Demo course
description: A tiny course for tests.
modules:
  - id: basics
    title: Basics
    lessons:
      - first
      - second
"""

FIRST_MD = """\
---
title: First lesson
questions:
  - id: q-poll
    kind: poll
    text: Which is right?
    options:
      - text: Right
        correct: true
      - Wrong
    explanation: Because it is.
---
Hello **trainee**.
"""

SECOND_MD = """\
---
title: Second lesson
questions:
  - id: q-buttons
    kind: buttons
    text: Pick one
    options:
      - A
      - text: B
        correct: true
---
Second body.
"""


@dataclass
class CourseFiles:
    """A CONTENT_DIR with the course `demo` in `root/demo`."""

    root: Path

    @property
    def dir(self) -> Path:
        return self.root / "demo"

    @property
    def course_file(self) -> Path:
        return self.dir / "course.yaml"

    def lesson_file(self, lesson_id: str) -> Path:
        return self.dir / "lessons" / f"{lesson_id}.md"

    def write(self, relative: str, text: str) -> Path:
        path = self.dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def course(self, text: str) -> Path:
        return self.write("course.yaml", text)

    def lesson(self, lesson_id: str, text: str) -> Path:
        return self.write(f"lessons/{lesson_id}.md", text)

    def question(self, lesson_id: str, yaml_block: str, body: str = "Body.") -> Path:
        """A lesson whose front matter holds the given `questions:` items (indented 2)."""
        return self.lesson(
            lesson_id, f"---\ntitle: A lesson\nquestions:\n{yaml_block}---\n{body}\n"
        )

    def problems(self) -> list[Problem]:
        with pytest.raises(ContentError) as caught:
            load_catalog(self.root)
        return caught.value.problems


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first occurrence of `needle` in the file."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def find(problems: list[Problem], fragment: str) -> Problem:
    """The one problem whose message contains `fragment`."""
    matching = [p for p in problems if fragment in p.message]
    assert len(matching) == 1, f"{fragment!r} in {[str(p) for p in problems]}"
    return matching[0]


@pytest.fixture
def files(tmp_path: Path) -> CourseFiles:
    course = CourseFiles(tmp_path / "content")
    course.course(COURSE_YAML)
    course.lesson("first", FIRST_MD)
    course.lesson("second", SECOND_MD)
    return course


def flatten(tree: Path, flat: Path) -> dict[str, Path]:
    """Copy a tree-layout CONTENT_DIR into the flat layout, spelling the rule out independently
    of the code under test: the path inside CONTENT_DIR with each `/` written as `.`."""
    flat.mkdir(parents=True, exist_ok=True)
    written = {}
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.parts):
            name = path.relative_to(tree).as_posix().replace("/", ".")
            (flat / name).write_bytes(path.read_bytes())
            written[name] = flat / name
    return written


KUBELET_STAMP = "..2025_01_31_12_00_00.123456789"


def mount_like_kubelet(files: dict[str, bytes], target: Path) -> Path:
    """A ConfigMap volume as the kubelet lays it out: the files in a `..<timestamp>` directory,
    `..data` a symlink to it, and each key a symlink `key -> ..data/key`."""
    stamp = target / KUBELET_STAMP
    stamp.mkdir(parents=True)
    for key, content in files.items():
        (stamp / key).write_bytes(content)
    os.symlink(KUBELET_STAMP, target / "..data")
    for key in files:
        os.symlink(f"..data/{key}", target / key)
    return target
