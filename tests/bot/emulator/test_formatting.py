"""Telegram's parse modes as the emulator applies them: entities, UTF-16 offsets, and the
exact error texts for what Telegram refuses."""

from __future__ import annotations

import pytest

from trainingbot.emulator.formatting import (
    EntityParseError,
    bot_command_entities,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    trim,
    utf16_len,
)


def test_utf16_length_counts_astral_characters_twice():
    assert utf16_len("abc") == 3
    assert utf16_len("😀") == 2
    assert utf16_len("é😀x") == 4


def test_html_allowed_tags_become_entities():
    text, entities = parse_html(
        "<b>bold</b> <strong>s</strong> <i>it</i> <em>e</em> <u>u</u> <ins>n</ins> "
        "<s>x</s> <strike>y</strike> <del>z</del> <code>c</code> <tg-spoiler>sp</tg-spoiler> "
        '<blockquote>q</blockquote> <a href="https://example.com/a">link</a>'
    )
    assert text == "bold s it e u n x y z c sp q link"
    assert [e["type"] for e in entities] == [
        "bold", "bold", "italic", "italic", "underline", "underline", "strikethrough",
        "strikethrough", "strikethrough", "code", "spoiler", "blockquote", "text_link",
    ]  # fmt: skip
    assert entities[-1]["url"] == "https://example.com/a"


def test_html_offsets_are_utf16_and_entities_are_decoded():
    text, entities = parse_html("😀 <b>&lt;ok&gt; &amp; &quot;</b>&#33;&#x21;")
    assert text == '😀 <ok> & "!!'
    assert entities == [{"type": "bold", "offset": 3, "length": 8}]


def test_html_unknown_entities_stay_literal():
    assert parse_html("a &nbsp; b &copy;")[0] == "a &nbsp; b &copy;"


def test_html_pre_with_code_language_is_one_pre_entity():
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1"
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


def test_html_nested_entities_and_links_without_scheme():
    text, entities = parse_html('<b>a <i>b</i></b> <a href="example.com">c</a>')
    assert text == "a b c"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "text_link", "offset": 4, "length": 1, "url": "http://example.com/"},
    ]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<blink>x</blink>", 'Unsupported start tag "blink" at byte offset 0'),
        ("if a < b", 'Unsupported start tag "" at byte offset 5'),
        ("é <b", "Unclosed start tag at byte offset 3"),
        ("<b x>y</b>", 'Expected equal sign in declaration of an attribute of the tag "b" '
                       "at byte offset 0"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)  # fmt: skip
def test_html_errors_are_telegrams(source, error):
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == error


def test_markdown_v2_entities():
    text, entities = parse_markdown_v2(
        "*b* _i_ __u__ ~s~ ||p|| `c` [l](https://t.me/x) \\. done\\!"
    )
    assert text == "b i u s p c l . done!"
    assert [e["type"] for e in entities] == [
        "bold", "italic", "underline", "strikethrough", "spoiler", "code", "text_link",
    ]  # fmt: skip


def test_markdown_v2_pre_with_language_and_block_quote():
    text, entities = parse_markdown_v2("```python\nx = 1\n```")
    assert text == "x = 1\n"
    assert entities == [{"type": "pre", "offset": 0, "length": 6, "language": "python"}]
    text, entities = parse_markdown_v2(">one\n>two\nafter")
    assert text == "one\ntwo\nafter"
    assert entities[0]["type"] == "blockquote"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("Version 1.2", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("*unclosed", "Can't find end of Bold entity at byte offset 0"),
        ("ok _it", "Can't find end of Italic entity at byte offset 3"),
        ("[x](http://a.b", "Can't find end of a URL at byte offset 4"),
    ],
)
def test_markdown_v2_errors_are_telegrams(source, error):
    with pytest.raises(EntityParseError) as caught:
        parse_markdown_v2(source)
    assert str(caught.value) == error


def test_legacy_markdown():
    text, entities = parse_markdown("*b* _i_ `c` [t](https://a.b/)")
    assert text == "b i c t"
    assert [e["type"] for e in entities] == ["bold", "italic", "code", "text_link"]
    with pytest.raises(EntityParseError, match="Can't find end of the entity starting at byte"):
        parse_markdown("*open")


def test_trim_strips_whitespace_and_clips_entities():
    text, entities = trim("  \n<b>x</b> \n", [{"type": "bold", "offset": 0, "length": 6}])
    assert text == "<b>x</b>"
    assert entities == [{"type": "bold", "offset": 0, "length": 3}]
    assert trim(" \n ", [{"type": "bold", "offset": 0, "length": 3}]) == ("", [])


def test_bot_commands_are_found_where_telegram_finds_them():
    assert bot_command_entities("/start course_on-call-101") == [
        {"type": "bot_command", "offset": 0, "length": 6}
    ]
    assert bot_command_entities("😀 /help@training_bot now") == [
        {"type": "bot_command", "offset": 3, "length": 18}
    ]
    assert bot_command_entities("a/b and http://x/y") == []
