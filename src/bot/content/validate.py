"""`training-bot content validate DIR`: check course files before they reach the bot.

Problems go to stderr, one per line as `file:line: message` (the format editors and CI
annotate); warnings are printed the same way but do not fail the check.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from .loader import LoadedContent, load_content
from .problems import ContentDirectoryError, ContentError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def main(directory: Path) -> int:
    code, _ = check(directory, summary_to=sys.stdout)
    return code


def check(directory: Path, summary_to: TextIO) -> tuple[int, LoadedContent | None]:
    """Load `directory`, printing what `validate` prints; the exit code and the content if valid.

    `content pack` runs the same check, with the summary on stderr (its stdout is a manifest).
    """
    try:
        content = load_content(directory)
    except ContentDirectoryError as exc:
        print(exc, file=sys.stderr)
        return EXIT_UNREADABLE, None
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        errors = len(exc.errors)
        print(
            f"{errors} problem{'s' if errors != 1 else ''} in {directory}: "
            "fix them and run `training-bot content validate` again",
            file=sys.stderr,
        )
        return EXIT_INVALID, None
    for warning in content.catalog.warnings:
        print(warning, file=sys.stderr)
    print(summary(content.catalog, directory), file=summary_to)
    return EXIT_OK, content


def summary(catalog, directory: Path) -> str:
    courses = list(catalog)
    counts = {
        "course": len(courses),
        "module": sum(len(c.modules) for c in courses),
        "lesson": sum(len(c.lessons) for c in courses),
        "question": sum(len(c.questions) for c in courses),
    }
    parts = ", ".join(f"{n} {what}{'s' if n != 1 else ''}" for what, n in counts.items())
    return f"{directory}: OK — {parts}"
