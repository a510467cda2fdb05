"""What the validator reports: a problem at a file and line, and the error that carries them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing a trainer has to fix (or, for a warning, should look at)."""

    file: Path
    line: int | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        return f"{where}: {'warning: ' if self.warning else ''}{self.message}"


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """By file, then line: the order an editor walks through them."""
    return sorted(problems, key=lambda p: (str(p.file), p.line or 0, p.message))


class ContentError(Exception):
    """The content cannot be served; `problems` holds every problem found (and any warnings)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sort_problems(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]


class ContentDirectoryError(ContentError):
    """CONTENT_DIR itself is missing or unreadable (not a problem inside a course)."""
