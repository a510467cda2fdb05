"""The Markdown subset and its Telegram HTML."""

from __future__ import annotations

import pytest

from trainingbot.content.markdown import MarkdownError, markdown_to_html


def html(source: str) -> str:
    return markdown_to_html(source)


def issues(source: str) -> list[tuple[int, str]]:
    with pytest.raises(MarkdownError) as caught:
        markdown_to_html(source)
    return [(issue.line, issue.message) for issue in caught.value.issues]


def test_special_characters_are_escaped():
    assert html("P95 < 300 ms & errors > 5%") == "P95 &lt; 300 ms &amp; errors &gt; 5%"


def test_paragraph_lines_are_joined_and_paragraphs_separated():
    assert html("one\ntwo\n\n\nthree") == "one two\n\nthree"


def test_inline_formatting():
    assert html("**bold**, *italic*, `code` and **bold *both* here**") == (
        "<b>bold</b>, <i>italic</i>, <code>code</code> and <b>bold <i>both</i> here</b>"
    )


def test_code_span_content_is_literal_and_escaped():
    assert html("run `a <b> **c**`") == "run <code>a &lt;b&gt; **c**</code>"


def test_stars_that_are_not_emphasis_stay():
    assert html("2 * 3 * 4") == "2 * 3 * 4"


def test_underscores_in_names_stay():
    assert html("watch bot_errors_total") == "watch bot_errors_total"


def test_backslash_escapes():
    assert html(r"\*not italic\* and \<tag\>") == "*not italic* and &lt;tag&gt;"


def test_links():
    assert html("see [the **runbook**](https://example.com/a?b=1&c=2)") == (
        'see <a href="https://example.com/a?b=1&amp;c=2">the <b>runbook</b></a>'
    )


def test_fenced_code_block_becomes_pre_with_its_language():
    source = "Run:\n\n```bash\ncurl http://localhost:8080/health | grep <x>\n```\nAfter."
    assert html(source) == (
        "Run:\n\n"
        '<pre><code class="language-bash">curl http://localhost:8080/health | grep &lt;x&gt;'
        "</code></pre>\n\nAfter."
    )


def test_fenced_code_block_without_language():
    assert html("```\n**kept**\n  indented\n```") == "<pre>**kept**\n  indented</pre>"


def test_bullet_lists_become_bullet_lines():
    assert html("- one\n* two\n  continued\n+ three\n  - nested") == (
        "• one\n• two continued\n• three\n  • nested"
    )


def test_numbered_lists_keep_their_numbers():
    assert html("1. first\n2) second") == "1. first\n2. second"


def test_headings_become_bold_lines():
    assert html("# Diagnose\ntext\n### Fix ###") == "<b>Diagnose</b>\n\ntext\n\n<b>Fix</b>"


def test_quotes():
    assert html("> calm\n> and *kind*") == "<blockquote>calm and <i>kind</i></blockquote>"


def test_horizontal_rule():
    assert html("a\n\n---\n\nb") == "a\n\n⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯\n\nb"


def test_raw_html_is_refused_with_its_line():
    ((line, message),) = issues("First.\n\nSome <b>bold</b>\nand more.")
    assert line == 3
    assert message.startswith("raw HTML `<b>`, `</b>` is not allowed in a lesson: use Markdown")
    assert "write `\\<`" in message


def test_raw_html_on_a_joined_line_reports_that_line():
    found = issues("one\ntwo\nthree <br/> four\n\n- item <i>x</i>")
    assert [line for line, _ in found] == [3, 5]


def test_html_comment_is_refused():
    assert issues("text <!-- hidden -->")[0][0] == 1


def test_angle_brackets_that_are_not_tags_are_text():
    assert html("a < b and c> d, <https://x.y>") == ("a &lt; b and c&gt; d, &lt;https://x.y&gt;")


def test_html_inside_code_is_fine():
    assert html("`<b>`\n\n```\n<div>\n```") == "<code>&lt;b&gt;</code>\n\n<pre>&lt;div&gt;</pre>"


def test_relative_link_is_refused():
    ((line, message),) = issues("\n[runbook](docs/RUNBOOK.md)")
    assert line == 2
    assert "starting with https://" in message


def test_unclosed_fence_is_refused():
    ((line, message),) = issues("a\n\n```\ncode")
    assert line == 3
    assert "add a line ``` after the code" in message
