"""Just enough PromQL reading for the tests: the vector selectors of an expression."""

from __future__ import annotations

import re
from dataclasses import dataclass

_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_OFFSET = re.compile(r"\boffset\s+-?[0-9a-z]+")
_NUMBER = re.compile(r"(?<![\w:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_SELECTOR = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\})?')
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "inf",
        "nan",
    }
)


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, operator, value)

    @property
    def labels(self) -> set[str]:
        return {name for name, _, _ in self.matchers}

    def equals(self) -> dict[str, str]:
        return {name: value for name, op, value in self.matchers if op == "="}


def selectors(expr: str) -> list[Selector]:
    """Every `metric{matchers}` of `expr` (functions, keywords, durations and numbers left out)."""
    text = _OFFSET.sub(" ", _RANGE.sub(" ", _GROUPING.sub(" ", expr)))
    found = []
    pos = 0
    while (m := _SELECTOR.search(text, pos)) is not None:
        pos = m.end()
        name, braces = m.group(1), m.group(2)
        if _NUMBER.fullmatch(name) or name.lower() in _KEYWORDS:
            continue
        if braces is None and text[pos:].lstrip().startswith("("):
            continue  # a function or an aggregation
        if m.start() > 0 and (text[m.start() - 1].isdigit() or text[m.start() - 1] == "."):
            continue  # the exponent of a number
        found.append(Selector(name, _matchers(braces[1:-1] if braces else "")))
    return found


def _matchers(text: str) -> tuple[tuple[str, str, str], ...]:
    result = []
    pos = 0
    while text[pos:].strip():
        m = _MATCHER.match(text, pos)
        if m is None:
            raise ValueError(f"cannot read the matchers {text!r}")
        result.append((m.group(1), m.group(2), m.group(3).replace('\\"', '"')))
        pos = m.end()
    return tuple(result)
