"""Reading course files while remembering where every value came from.

PyYAML's composed nodes carry a `start_mark`; walking them beside the constructed data gives
a line for every key and list item, so a problem found later (by pydantic or by a rule) can
point at the line a trainer has to edit. Lines are 1-based, as editors show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .rules import Loc

FRONT_MATTER_FENCE = "---"


@dataclass(frozen=True)
class Located:
    """Data read from YAML, the line of each location in it, and problems found on the way."""

    data: Any
    lines: Mapping[Loc, int]
    issues: list[tuple[int, str]] = field(default_factory=list)

    def line(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest enclosing location that has one."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return 1


class SourceError(Exception):
    """The text cannot be read at all; `line` is where the reader gave up."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_yaml(text: str, first_line: int = 1) -> Located:
    """Parse one YAML document; `first_line` is the file line the text starts on."""
    offset = first_line - 1
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, {(): first_line})
        lines: dict[Loc, int] = {}
        issues: list[tuple[int, str]] = []
        _index(loader, node, (), offset, lines, issues)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise SourceError(*_syntax_error(exc, offset)) from exc
    except yaml.YAMLError as exc:  # unmarked: e.g. a reader error on a control character
        raise SourceError(first_line, f"this is not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return Located(data, lines, issues)


def _syntax_error(exc: yaml.MarkedYAMLError, offset: int) -> tuple[int, str]:
    mark = exc.problem_mark or exc.context_mark
    line = (mark.line + 1 if mark else 1) + offset
    context = exc.context or ""
    if exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
        # e.g. an unclosed `[`: the problem is at the end of the file, the cause where it opened
        context += f" (on line {exc.context_mark.line + 1 + offset})"
    what = ", ".join(part for part in (context, exc.problem) if part)
    hint = (
        "check the indentation, and put text in quotes if it contains `: ` or starts with "
        "`*`, `&`, `[`, `{`, `>`, `|`, `@` or a backquote"
    )
    return line, f"YAML syntax error: {what} — {hint}"


def _index(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    loc: Loc,
    offset: int,
    lines: dict[Loc, int],
    issues: list[tuple[int, str]],
) -> None:
    lines.setdefault(loc, node.start_mark.line + 1 + offset)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<` merge keys as the constructor will
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1 + offset
            if isinstance(key, str | int | bool | float) and key in seen:
                issues.append(
                    (
                        line,
                        f"key `{key}` appears twice in the same mapping (first on line "
                        f"{seen[key]}); YAML keeps only the last one — remove one of them",
                    )
                )
            elif isinstance(key, str | int | bool | float):
                seen[key] = line
            # A key's line, not its value's: a block scalar's text starts on the next line.
            child: Loc = (*loc, key)
            lines[child] = line
            _index(loader, value_node, child, offset, lines, issues)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(loader, item, (*loc, index), offset, lines, issues)


@dataclass(frozen=True)
class MarkdownFile:
    """A lesson file split into its YAML front matter and its Markdown body."""

    front_matter: str
    front_matter_line: int  # file line of the first front-matter line
    body: str
    body_line: int  # file line of the first body line


def split_front_matter(text: str) -> MarkdownFile:
    lines = text.splitlines()
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        raise SourceError(
            1,
            "a lesson file starts with YAML front matter: a line `---`, then `title: …` "
            "(and `questions:` if any), then a line `---`, then the lesson in Markdown",
        )
    for index in range(1, len(lines)):
        if lines[index].strip() == FRONT_MATTER_FENCE:
            return MarkdownFile(
                front_matter="\n".join(lines[1:index]),
                front_matter_line=2,
                body="\n".join(lines[index + 1 :]),
                body_line=index + 2,
            )
    raise SourceError(
        1, "the front matter opened on line 1 is never closed — add a line `---` after it"
    )
