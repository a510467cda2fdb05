"""A small Markdown subset rendered to Telegram's HTML.

Trainers write lesson bodies in the Markdown they know; Telegram understands only a few HTML
tags (`b`, `i`, `code`, `pre`, `a`, `blockquote`, …) and rejects a message with anything
else. So the subset is exactly what maps onto those tags:

- paragraphs (lines separated by a blank line; lines within a paragraph are joined),
- `**bold**`, `*italic*`, `` `code` ``, `[text](https://…)`, backslash escapes,
- fenced code blocks (```` ``` ````, optional language) -> `<pre>`,
- bullet lists (`-`, `*`, `+`) -> "• " lines, numbered lists kept as "1. " lines,
- `# headings` -> bold lines, `> quotes` -> `<blockquote>`.

Every other character is escaped, so `<`, `>` and `&` show as typed. Raw HTML is refused
rather than passed through: Telegram would reject most tags at send time, long after the
content was accepted.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)\s*$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d{1,9})[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")

_INLINE = re.compile(
    r"""
      (?P<escape>\\[\\`*_\[\]()\#+\-.!<>&~|{}])
    | (?P<ticks>`+)(?P<code>.+?)(?P=ticks)
    | \[(?P<label>[^\]]+)\]\((?P<url>[^()\s]*)\)
    | \*\*(?P<bold>\S(?:.*?\S)?)\*\*
    | \*(?P<italic>[^*\s](?:[^*]*[^*\s])?)\*
    | (?P<tag><!--|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>)
    """,
    re.VERBOSE,
)
_LINK_SCHEMES = ("https://", "http://", "tg://", "mailto:")


@dataclass(frozen=True)
class MarkdownIssue:
    line: int  # 1-based, within the Markdown text given to `markdown_to_html`
    message: str


class MarkdownError(ValueError):
    def __init__(self, issues: list[MarkdownIssue]) -> None:
        super().__init__("\n".join(f"line {i.line}: {i.message}" for i in issues))
        self.issues = issues


def escape(text: str) -> str:
    """Text for Telegram HTML: only `&`, `<` and `>` need escaping outside attributes."""
    return html.escape(text, quote=False)


def markdown_to_html(source: str) -> str:
    """Render the subset; raise `MarkdownError` listing every problem with its line."""
    renderer = _Renderer(source.splitlines())
    result = renderer.render()
    if renderer.issues:
        raise MarkdownError(renderer.issues)
    return result


class _Renderer:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.issues: list[MarkdownIssue] = []
        self.tags: dict[int, list[str]] = {}  # raw HTML found, by line: one issue per line

    def render(self) -> str:
        blocks: list[str] = []
        index = 0
        while index < len(self.lines):
            line = self.lines[index]
            if not line.strip():
                index += 1
            elif _FENCE.match(line):
                block, index = self._code_block(index)
                blocks.append(block)
            elif match := _HEADING.match(line):
                blocks.append(f"<b>{self._inline([(index, match.group(2))])}</b>")
                index += 1
            elif _RULE.match(line):
                blocks.append("⎯" * 10)  # Telegram has no <hr>; a line of this width reads as one
                index += 1
            elif _QUOTE.match(line):
                block, index = self._quote(index)
                blocks.append(block)
            elif _BULLET.match(line) or _NUMBERED.match(line):
                block, index = self._list(index)
                blocks.append(block)
            else:
                block, index = self._paragraph(index)
                blocks.append(block)
        for index, tags in sorted(self.tags.items()):
            self._issue(
                index,
                f"raw HTML {', '.join(f'`{tag}`' for tag in tags)} is not allowed in a lesson: "
                "use Markdown (**bold**, *italic*, `code`, [text](https://…)); to show the "
                "characters themselves, put them in `backquotes` or write `\\<`",
            )
        self.issues.sort(key=lambda issue: issue.line)
        return "\n\n".join(blocks)

    def _code_block(self, start: int) -> tuple[str, int]:
        fence_match = _FENCE.match(self.lines[start])
        assert fence_match is not None
        fence, language = fence_match.group(1), fence_match.group(2)
        for end in range(start + 1, len(self.lines)):
            closing = self.lines[end].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                code = escape("\n".join(self.lines[start + 1 : end]))
                if language:
                    return f'<pre><code class="language-{language}">{code}</code></pre>', end + 1
                return f"<pre>{code}</pre>", end + 1
        self._issue(
            start,
            f"the code block opened here is never closed — add a line {fence} after the code",
        )
        return f"<pre>{escape(chr(10).join(self.lines[start + 1 :]))}</pre>", len(self.lines)

    def _paragraph(self, start: int) -> tuple[str, int]:
        end = start
        while end < len(self.lines) and self._continues_paragraph(self.lines[end]):
            end += 1
        end = max(end, start + 1)
        return self._inline([(i, self.lines[i].strip()) for i in range(start, end)]), end

    def _continues_paragraph(self, line: str) -> bool:
        return bool(line.strip()) and not any(
            pattern.match(line) for pattern in (_FENCE, _HEADING, _QUOTE, _BULLET, _NUMBERED)
        )

    def _quote(self, start: int) -> tuple[str, int]:
        end = start
        parts: list[tuple[int, str]] = []
        while end < len(self.lines) and (match := _QUOTE.match(self.lines[end])):
            parts.append((end, match.group(1).strip()))
            end += 1
        return f"<blockquote>{self._inline(parts)}</blockquote>", end

    def _list(self, start: int) -> tuple[str, int]:
        """Each item on its own line; indented lines that are not items continue the item."""
        items: list[tuple[str, list[tuple[int, str]]]] = []
        index = start
        while index < len(self.lines):
            line = self.lines[index]
            if bullet := _BULLET.match(line):
                indent = " " * (len(bullet.group(1).expandtabs(4)) // 2 * 2)
                items.append((f"{indent}• ", [(index, bullet.group(2).strip())]))
            elif numbered := _NUMBERED.match(line):
                indent = " " * (len(numbered.group(1).expandtabs(4)) // 2 * 2)
                items.append(
                    (f"{indent}{numbered.group(2)}. ", [(index, numbered.group(3).strip())])
                )
            elif line.strip() and line[:1].isspace() and items:
                items[-1][1].append((index, line.strip()))
            else:
                break
            index += 1
        return "\n".join(marker + self._inline(parts) for marker, parts in items), index

    def _inline(self, parts: list[tuple[int, str]]) -> str:
        """Render joined lines; `parts` pairs each source line index with its text."""
        text = " ".join(part for _, part in parts)
        starts, position = [], 0
        for line_index, part in parts:
            starts.append((position, line_index))
            position += len(part) + 1

        def line_at(offset: int) -> int:
            return max(line for start, line in starts if start <= offset)

        return self._inline_text(text, 0, line_at)

    def _inline_text(self, text: str, base: int, line_at) -> str:
        out: list[str] = []
        position = 0
        for match in _INLINE.finditer(text):
            out.append(escape(text[position : match.start()]))
            position = match.end()
            offset = base + match.start()
            if match.group("escape"):
                out.append(escape(match.group("escape")[1]))
            elif match.group("ticks"):
                out.append(f"<code>{escape(match.group('code').strip())}</code>")
            elif match.group("label") is not None:
                out.append(self._link(match, base, line_at))
            elif match.group("bold") is not None:
                inner = self._inline_text(match.group("bold"), base + match.start("bold"), line_at)
                out.append(f"<b>{inner}</b>")
            elif match.group("italic") is not None:
                start = base + match.start("italic")
                out.append(f"<i>{self._inline_text(match.group('italic'), start, line_at)}</i>")
            else:
                self.tags.setdefault(line_at(offset), []).append(match.group("tag"))
                out.append(escape(match.group("tag")))
        out.append(escape(text[position:]))
        return "".join(out)

    def _link(self, match: re.Match[str], base: int, line_at) -> str:
        url = match.group("url")
        label = self._inline_text(match.group("label"), base + match.start("label"), line_at)
        if not url.startswith(_LINK_SCHEMES):
            self._issue(
                line_at(base + match.start()),
                f"link target `{url}` is not a web address Telegram can open — "
                "write a full address starting with https:// (or http://, tg://, mailto:)",
            )
            return label
        return f'<a href="{html.escape(url, quote=True)}">{label}</a>'

    def _issue(self, index: int, message: str) -> None:
        self.issues.append(MarkdownIssue(index + 1, message))
