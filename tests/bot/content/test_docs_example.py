"""The complete example in docs/CONTENT.md is a valid course, so trainers can copy it."""

from __future__ import annotations

import re
from pathlib import Path

from trainingbot.content import load_catalog

DOC = Path(__file__).resolve().parents[3] / "docs" / "CONTENT.md"
# "`content/git-basics/<file>`:" followed by a fenced block (``` or ````) holding the file.
EXAMPLE_FILE = re.compile(
    r"^`content/(?P<path>git-basics/[\w/.-]+)`:\n\n(?P<fence>`{3,})\w*\n(?P<text>.*?)^(?P=fence)$",
    re.MULTILINE | re.DOTALL,
)


def test_the_documented_example_validates(tmp_path: Path):
    files = list(EXAMPLE_FILE.finditer(DOC.read_text(encoding="utf-8")))
    assert len(files) == 3
    for match in files:
        path = tmp_path / match["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(match["text"], encoding="utf-8")
    course = load_catalog(tmp_path).course("git-basics")
    assert len(course.lessons) == 2 and len(course.questions) == 2
