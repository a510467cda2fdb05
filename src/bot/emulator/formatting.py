"""Telegram's text formatting: parse modes into plain text plus entities, as Telegram does.

The parsers follow TDLib's (the library behind the Bot API server) closely enough to accept
what Telegram accepts and to reject what it rejects with the same words: an unsupported or
unclosed tag is "Unsupported start tag "x" at byte offset N", a stray `.` in MarkdownV2 is
"Character '.' is reserved and must be escaped with the preceding '\\'". Offsets and lengths
of entities are in UTF-16 code units, and so is the 4096 limit of a message; byte offsets in
error texts are in UTF-8, as Telegram reports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Entity = dict[str, Any]


class EntityParseError(ValueError):
    """The text does not parse in its parse mode; the message is Telegram's detail text."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's offsets and text limits."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _u16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8", "surrogatepass"))


def parse_text(
    text: str, parse_mode: str | None, entities: list[Entity] | None = None
) -> tuple[str, list[Entity]]:
    """Plain text and entities of `text` as sent with `parse_mode` (or explicit `entities`)."""
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return text, list(entities or [])
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip surrounding whitespace as Telegram does, clipping the entities to what is left."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    if not stripped:
        return "", []
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _sorted(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


# --- links -------------------------------------------------------------------------------

_LINK_SCHEMES = frozenset({"http", "https", "tg", "ton", "tonsite"})


def checked_link(url: str) -> str | None:
    """The URL Telegram would keep for a link entity or URL button, or None if it drops it."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    if "://" not in url and not url.lower().startswith("tg:"):
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _LINK_SCHEMES:
        return None
    if scheme in ("http", "https"):
        if not parts.hostname:
            return None
        # Telegram normalises a bare host to end with a slash.
        if not parts.path:
            url = url.replace(parts.netloc, parts.netloc + "/", 1) if not parts.query else url
    return url


def _link_entity(offset: int, length: int, url: str) -> Entity | None:
    checked = checked_link(url)
    if checked is None:
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": checked}


# --- HTML --------------------------------------------------------------------------------

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_HTML_ENTITIES = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_SPACE = frozenset(" \t\r\n\v\f")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HEX = frozenset("0123456789abcdefABCDEF")


def _decode_html_entity(source: str, start: int) -> tuple[str, int] | None:
    """Decode the character reference at `source[start] == '&'`; None if it is not one."""
    n = len(source)
    end = start + 1
    if end < n and source[end] == "#":
        end += 1
        if end < n and source[end] == "x":
            end += 1
            digits_start = end
            while end < n and source[end] in _HEX:
                end += 1
            code = int(source[digits_start:end], 16) if end > digits_start else 0
        else:
            digits_start = end
            while end < n and "0" <= source[end] <= "9":
                end += 1
            code = int(source[digits_start:end]) if end > digits_start else 0
        if code == 0 or code >= 0x10FFFF or end - start >= 10:
            return None
        if 0xD800 <= code <= 0xDFFF:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        char = chr(code)
    else:
        while end < n and source[end].isascii() and source[end].isalpha():
            end += 1
        decoded = _NAMED_ENTITIES.get(source[start + 1 : end])
        if decoded is None:
            return None
        char = decoded
    if end < n and source[end] == ";":
        end += 1
    return char, end


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the output where the tag opened
    out_index: int  # index into the output list, for <a> without href


def parse_html(source: str) -> tuple[str, list[Entity]]:
    """Telegram's HTML parse mode: b, strong, i, em, u, ins, s, strike, del, a href, code,
    pre, tg-spoiler, span class="tg-spoiler", tg-emoji, blockquote; &lt; &gt; &amp; &quot;
    and numeric references. Anything else raises `EntityParseError` with Telegram's text."""
    out: list[str] = []
    entities: list[Entity] = []
    stack: list[_OpenTag] = []
    u16 = 0
    n = len(source)
    i = 0
    while i < n:
        ch = source[i]
        if ch == "&":
            decoded = _decode_html_entity(source, i)
            if decoded is not None:
                char, i = decoded
                out.append(char)
                u16 += _u16(char)
                continue
        if ch != "<":
            out.append(ch)
            u16 += _u16(ch)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and source[i] == "/":
            i = _close_html_tag(source, begin, i, stack, entities, out, u16)
            continue
        while i < n and source[i] not in _SPACE and source[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
            )
        tag = source[begin + 1 : i].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, begin)}'
            )
        i, argument = _html_attributes(source, begin, i, tag)
        if tag == "span" and argument != "spoiler":
            raise EntityParseError(
                'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(source, begin)}"
            )
        stack.append(_OpenTag(tag, argument, u16, len(out)))
        i += 1  # past '>'
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return "".join(out), _sorted(entities)


def _html_attributes(source: str, begin: int, i: int, tag: str) -> tuple[int, str]:
    """Read the attributes of the tag opened at `begin`; return the index of '>' and the
    argument Telegram keeps (href, code language, span class, emoji id)."""
    n = len(source)

    def where() -> int:
        return _byte_offset(source, begin)

    argument = ""
    while i < n and source[i] != ">":
        while i < n and source[i] in _SPACE:
            i += 1
        if i < n and source[i] == ">":
            break
        name_start = i
        while i < n and source[i] not in _SPACE and source[i] not in "=>":
            i += 1
        name = source[name_start:i]
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {where()}'
            )
        while i < n and source[i] in _SPACE:
            i += 1
        if tag == "blockquote" and name == "expandable" and (i >= n or source[i] != "="):
            # <blockquote expandable> is the one attribute Telegram takes without a value.
            argument = "expandable"
            continue
        if i >= n or source[i] != "=":
            raise EntityParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {where()}'
            )
        i += 1
        while i < n and source[i] in _SPACE:
            i += 1
        if i >= n:
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {where()}')
        if source[i] not in "'\"":
            token_start = i
            while i < n and ((source[i].isascii() and source[i].isalnum()) or source[i] in ".-"):
                i += 1
            value = source[token_start:i].lower()
            if i < n and source[i] not in _SPACE and source[i] != ">":
                raise EntityParseError(
                    "Unexpected end of name token at byte offset "
                    f"{_byte_offset(source, token_start)}"
                )
        else:
            quote = source[i]
            i += 1
            chars = []
            while i < n and source[i] != quote:
                if source[i] == "&":
                    decoded = _decode_html_entity(source, i)
                    if decoded is not None:
                        char, i = decoded
                        chars.append(char)
                        continue
                chars.append(source[i])
                i += 1
            if i < n:
                i += 1
            value = "".join(chars)
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {where()}")
        if tag == "a" and name == "href":
            argument = value
        elif tag == "code" and name == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and name == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "tg-emoji" and name == "emoji-id":
            argument = value
    if i >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {where()}")
    return i, argument


def _close_html_tag(
    source: str,
    begin: int,
    i: int,
    stack: list[_OpenTag],
    entities: list[Entity],
    out: list[str],
    u16: int,
) -> int:
    """Handle the end tag at `begin`; return the index just past its '>'."""
    n = len(source)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
    while i < n and source[i] not in _SPACE and source[i] != ">":
        i += 1
    name = source[begin + 2 : i].lower()
    while i < n and source[i] in _SPACE:
        i += 1
    if i >= n or source[i] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(source, begin)}")
    top = stack[-1]
    if name and name != top.name:
        raise EntityParseError(
            f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
            f'expected "</{top.name}>", '
            f'found "</{name}>"'
        )
    stack.pop()
    if u16 > top.offset:
        entity = _html_entity(top, u16 - top.offset, entities, out)
        if entity is not None:
            entities.append(entity)
    return i + 1


def _html_entity(
    top: _OpenTag, length: int, entities: list[Entity], out: list[str]
) -> Entity | None:
    offset = top.offset
    if top.name in _SIMPLE_HTML_ENTITIES:
        return {"type": _SIMPLE_HTML_ENTITIES[top.name], "offset": offset, "length": length}
    if top.name == "blockquote":
        kind = "expandable_blockquote" if top.argument == "expandable" else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if top.name == "tg-emoji":
        if not top.argument.isdigit() or int(top.argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": top.argument,
        }
    if top.name == "a":
        url = top.argument or "".join(out[top.out_index :])
        return _link_entity(offset, length, url)
    last = entities[-1] if entities else None
    same_span = last is not None and last["offset"] == offset and last["length"] == length
    if top.name == "pre":
        # <pre><code class="language-x">…</code></pre> is one pre entity with a language.
        if same_span and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
            return None
        return {"type": "pre", "offset": offset, "length": length}
    # code
    if same_span and last["type"] == "pre" and top.argument:
        last["language"] = top.argument
        return None
    entity: Entity = {"type": "code", "offset": offset, "length": length}
    if top.argument:
        entity["language"] = top.argument  # dropped at the end unless a <pre> claims it
    return entity


# --- MarkdownV2 --------------------------------------------------------------------------

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!\n")
_CODE_TYPES = frozenset({"Code", "Pre", "PreCode"})
_MDV2_API_TYPES = {
    "Bold": "bold",
    "Italic": "italic",
    "Underline": "underline",
    "Strikethrough": "strikethrough",
    "Spoiler": "spoiler",
    "Code": "code",
    "Pre": "pre",
    "PreCode": "pre",
    "BlockQuote": "blockquote",
    "CustomEmoji": "custom_emoji",
}


@dataclass
class _OpenMark:
    kind: str  # TDLib's entity type name, which its error texts use
    argument: str
    offset: int
    index: int  # where in the source it opened, for the byte offset of an error
    out_index: int


def _reserved(char: str) -> EntityParseError:
    return EntityParseError(
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )


def _read_url(source: str, i: int, what: str) -> tuple[str, int]:
    """Read a parenthesised URL whose text starts at `i`; return it and the index of ')'."""
    n = len(source)
    start = i
    chars = []
    while i < n and source[i] != ")":
        if source[i] == "\\" and i + 1 < n and 0 < ord(source[i + 1]) <= 126:
            chars.append(source[i + 1])
            i += 2
            continue
        chars.append(source[i])
        i += 1
    if i >= n:
        raise EntityParseError(
            f"Can't find end of {what} at byte offset {_byte_offset(source, start)}"
        )
    return "".join(chars), i


def parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    """Telegram's MarkdownV2: *bold* _italic_ __underline__ ~strike~ ||spoiler|| `code`
    ```pre``` [text](url) ![emoji](tg://emoji?id=…) and > block quotes, with every reserved
    character escaped elsewhere."""
    out: list[str] = []
    entities: list[Entity] = []
    stack: list[_OpenMark] = []
    u16 = 0
    n = len(source)
    have_quote = False

    def at(k: int) -> str:
        return source[k] if k < n else ""

    i = 0
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and 0 < ord(source[i + 1]) <= 126:
            out.append(source[i + 1])
            u16 += 1
            i += 2
            continue
        in_code = bool(stack) and stack[-1].kind in _CODE_TYPES
        if (ch != "`") if in_code else (ch not in _MDV2_RESERVED):
            out.append(ch)
            u16 += _u16(ch)
            i += 1
            continue
        if stack and _ends_markdown_v2(stack[-1].kind, ch, at(i + 1), at(i + 2), have_quote):
            top = stack.pop()
            if ch == "\n" and top.kind != "BlockQuote":
                raise _unclosed(source, top)
            argument = top.argument
            skip = u16 == top.offset
            if top.kind in ("Underline", "Spoiler"):
                i += 2
            elif top.kind in ("Pre", "PreCode"):
                i += 3
            elif top.kind == "TextUrl":
                if at(i + 1) != "(":
                    url = "".join(out[top.out_index :])
                    i += 1
                else:
                    url, i = _read_url(source, i + 2, "a URL")
                    i += 1
                link = _link_entity(top.offset, u16 - top.offset, url)
                if link is not None and not skip:
                    entities.append(link)
                continue
            elif top.kind == "CustomEmoji":
                if at(i + 1) != "(":
                    raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
                url, i = _read_url(source, i + 2, "a custom emoji URL")
                i += 1
                match = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
                if not match or int(match.group(1)) == 0:
                    raise EntityParseError("Invalid custom emoji identifier specified")
                argument = match.group(1)
            elif top.kind == "BlockQuote":
                have_quote = False
                out.append("\n")
                u16 += 1
                i += 1
            else:
                i += 1
            if not skip:
                entities.append(
                    _markdown_v2_entity(top.kind, top.offset, u16 - top.offset, argument)
                )
            continue
        # The start of an entity.
        opened_at = i
        argument = ""
        kind: str | None
        if ch == "_":
            kind, i = ("Underline", i + 2) if at(i + 1) == "_" else ("Italic", i + 1)
        elif ch == "*":
            kind, i = "Bold", i + 1
        elif ch == "~":
            kind, i = "Strikethrough", i + 1
        elif ch == "|":
            if at(i + 1) != "|":
                raise _reserved(ch)
            kind, i = "Spoiler", i + 2
        elif ch == "[":
            kind, i = "TextUrl", i + 1
        elif ch == "`":
            if at(i + 1) == "`" and at(i + 2) == "`":
                kind, argument, i = _open_pre(source, i + 3)
            else:
                kind, i = "Code", i + 1
        elif ch == "!":
            if at(i + 1) != "[":
                raise _reserved(ch)
            kind, i = "CustomEmoji", i + 2
        elif ch == "\n":
            out.append("\n")
            u16 += 1
            kind = None
            i += 1
            if at(i) == ">":
                i += 1
                if not have_quote:
                    kind, have_quote = "BlockQuote", True
        elif ch == ">" and i == 0:
            kind, have_quote, i = "BlockQuote", True, i + 1
        else:
            raise _reserved(ch)
        if kind is not None:
            stack.append(_OpenMark(kind, argument, u16, opened_at, len(out)))
    if have_quote and stack and stack[-1].kind == "BlockQuote":
        top = stack.pop()
        if u16 > top.offset:
            entities.append(_markdown_v2_entity("BlockQuote", top.offset, u16 - top.offset, ""))
    if stack:
        raise _unclosed(source, stack[-1])
    return "".join(out), _sorted(entities)


def _unclosed(source: str, top: _OpenMark) -> EntityParseError:
    return EntityParseError(
        f"Can't find end of {top.kind} entity at byte offset {_byte_offset(source, top.index)}"
    )


def _ends_markdown_v2(kind: str, ch: str, next1: str, next2: str, have_quote: bool) -> bool:
    if have_quote and ch == "\n" and next1 != ">":
        return True
    return {
        "Bold": ch == "*",
        "Italic": ch == "_" and next1 != "_",
        "Code": ch == "`",
        "Pre": ch == "`" and next1 == "`" and next2 == "`",
        "PreCode": ch == "`" and next1 == "`" and next2 == "`",
        "TextUrl": ch == "]",
        "Underline": ch == "_" and next1 == "_",
        "Strikethrough": ch == "~",
        "Spoiler": ch == "|" and next1 == "|",
        "CustomEmoji": ch == "]",
        "BlockQuote": False,
    }[kind]


def _open_pre(source: str, i: int) -> tuple[str, str, int]:
    """After an opening ```: the kind (Pre or PreCode), the language, and where text starts."""
    n = len(source)
    kind, language = "Pre", ""
    end = i
    while end < n and source[end] not in _SPACE and source[end] != "`":
        end += 1
    if end != i and end < n and source[end] != "`":
        kind, language, i = "PreCode", source[i:end], end
    if i < n and source[i] in "\r\n":
        # One line break after the opening fence (or the language) belongs to the fence.
        if i + 1 < n and source[i + 1] in "\r\n" and source[i] != source[i + 1]:
            i += 2
        else:
            i += 1
    return kind, language, i


def _markdown_v2_entity(kind: str, offset: int, length: int, argument: str) -> Entity:
    entity: Entity = {"type": _MDV2_API_TYPES[kind], "offset": offset, "length": length}
    if kind == "PreCode":
        entity["language"] = argument
    elif kind == "CustomEmoji":
        entity["custom_emoji_id"] = argument
    return entity


# --- legacy Markdown ---------------------------------------------------------------------

_LEGACY_TYPES = {"_": "italic", "*": "bold", "`": "code"}


def parse_markdown(source: str) -> tuple[str, list[Entity]]:
    """Telegram's legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url)."""
    out: list[str] = []
    entities: list[Entity] = []
    u16 = 0
    n = len(source)
    i = 0
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and source[i + 1] in "_*`[":
            out.append(source[i + 1])
            u16 += 1
            i += 2
            continue
        if ch not in "_*`[":
            out.append(ch)
            u16 += _u16(ch)
            i += 1
            continue
        begin = i
        end_char = "]" if ch == "[" else ch
        is_pre = ch == "`" and source[i + 1 : i + 3] == "``"
        language = ""
        if is_pre:
            _, language, i = _open_pre(source, i + 3)
        else:
            i += 1
        start_offset, start_index = u16, len(out)
        while i < n and (source[i] != end_char or (is_pre and source[i + 1 : i + 3] != "``")):
            out.append(source[i])
            u16 += _u16(source[i])
            i += 1
        if i >= n:
            raise EntityParseError(
                "Can't find end of the entity starting at byte offset "
                f"{_byte_offset(source, begin)}"
            )
        length = u16 - start_offset
        if ch == "[":
            if source[i + 1 : i + 2] == "(":
                close = source.find(")", i + 2)
                if close < 0:
                    raise EntityParseError(
                        "Can't find end of the entity starting at byte offset "
                        f"{_byte_offset(source, begin)}"
                    )
                url, i = source[i + 2 : close], close
            else:
                url = "".join(out[start_index:])
            link = _link_entity(start_offset, length, url) if length else None
            if link is not None:
                entities.append(link)
        elif length:
            entity: Entity = {
                "type": "pre" if is_pre else _LEGACY_TYPES[ch],
                "offset": start_offset,
                "length": length,
            }
            if is_pre and language:
                entity["language"] = language
            entities.append(entity)
        i += 3 if is_pre else 1
    return "".join(out), _sorted(entities)


# --- what Telegram detects in what people type -------------------------------------------

_BOT_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")


def bot_command_entities(text: str) -> list[Entity]:
    """`bot_command` entities of a text a person sent, as Telegram attaches them."""
    entities = []
    for match in _BOT_COMMAND.finditer(text):
        entities.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
        )
    return entities


def utf16_slices(text: str) -> dict[int, int]:
    """Map each UTF-16 offset of `text` (and its end) to the Python index there."""
    mapping = {}
    offset = 0
    for index, ch in enumerate(text):
        mapping[offset] = index
        offset += _u16(ch)
    mapping[offset] = len(text)
    return mapping
