"""`training-bot content validate DIR`: check course files before they reach the bot.

Problems go to stderr, one per line as `file:line: message` (the format editors and CI
annotate); warnings are printed the same way but do not fail the check.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .loader import load_catalog
from .problems import ContentDirectoryError, ContentError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def main(directory: Path) -> int:
    try:
        catalog = load_catalog(directory)
    except ContentDirectoryError as exc:
        print(exc, file=sys.stderr)
        return EXIT_UNREADABLE
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        errors = len(exc.errors)
        print(
            f"{errors} problem{'s' if errors != 1 else ''} in {directory}: "
            "fix them and run `training-bot content validate` again",
            file=sys.stderr,
        )
        return EXIT_INVALID
    for warning in catalog.warnings:
        print(warning, file=sys.stderr)
    print(summary(catalog, directory))
    return EXIT_OK


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
