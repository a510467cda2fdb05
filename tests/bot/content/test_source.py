"""Reading YAML with the line of every value, and splitting lesson files."""

from __future__ import annotations

import pytest

from trainingbot.content.source import SourceError, read_yaml, split_front_matter


def test_lines_of_keys_and_items():
    located = read_yaml("a: 1\nlist:\n  - x\n  - key: y\n    other: |\n      text\n")
    assert located.data == {"a": 1, "list": ["x", {"key": "y", "other": "text\n"}]}
    assert located.line(("a",)) == 1
    assert located.line(("list", 0)) == 3
    assert located.line(("list", 1, "other")) == 5  # the key's line, not its block's
    assert located.line(("list", 1, "missing")) == 4  # falls back to the enclosing mapping


def test_first_line_offsets_every_line():
    located = read_yaml("a: 1\nb: 2\n", first_line=10)
    assert located.line(("b",)) == 11


def test_empty_document():
    located = read_yaml("", first_line=2)
    assert located.data is None and located.line(()) == 2


def test_merge_keys_resolve():
    located = read_yaml("base: &b {x: 1}\nthing:\n  <<: *b\n  y: 2\n")
    assert located.data["thing"] == {"x": 1, "y": 2}


def test_syntax_error_has_a_line():
    with pytest.raises(SourceError) as caught:
        read_yaml("a: 1\nb: : 2\n", first_line=3)
    assert caught.value.line == 4
    assert caught.value.message.startswith("YAML syntax error")


def test_split_front_matter():
    parts = split_front_matter("---\ntitle: T\n---\nBody\nmore\n")
    assert parts.front_matter == "title: T"
    assert (parts.front_matter_line, parts.body_line) == (2, 4)
    assert parts.body == "Body\nmore"


def test_windows_line_endings():
    parts = split_front_matter("---\r\ntitle: T\r\n---\r\nBody\r\n")
    assert parts.front_matter == "title: T" and parts.body == "Body"
