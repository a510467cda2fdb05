"""load_catalog: a valid course loads; each rule has a failing fixture with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainingbot.content import (
    Catalog,
    ContentDirectoryError,
    ContentError,
    QuestionKind,
    load_catalog,
)

from .conftest import COURSE_YAML, CourseFiles, find, line_of


def dumps(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def question_yaml(
    id: str = "q1",
    kind: str = "poll",
    text: str = "Which one?",
    options: tuple[str, ...] = ("Right", "Wrong"),
    correct: tuple[int, ...] = (0,),
    explanation: str | None = None,
) -> str:
    """One item of `questions:`; values are JSON strings, which YAML reads as they are."""
    lines = [f"  - id: {id}", f"    kind: {kind}", f"    text: {dumps(text)}", "    options:"]
    for index, option in enumerate(options):
        if index in correct:
            lines += [f"      - text: {dumps(option)}", "        correct: true"]
        else:
            lines.append(f"      - {dumps(option)}")
    if explanation is not None:
        lines.append(f"    explanation: {dumps(explanation)}")
    return "\n".join(lines) + "\n"


def test_valid_course_loads(files: CourseFiles):
    catalog = load_catalog(files.root)
    assert isinstance(catalog, Catalog)
    course = catalog.course("demo")
    assert course is not None
    assert [lesson.id for lesson in course.lessons] == ["first", "second"]
    poll, buttons = course.questions
    assert (poll.kind, poll.options, poll.correct) == (QuestionKind.POLL, ("Right", "Wrong"), 0)
    assert (buttons.kind, buttons.options, buttons.correct) == (QuestionKind.BUTTONS, ("A", "B"), 1)
    assert poll.explanation == "Because it is."
    assert course.lessons[0].body_html == "Hello <b>trainee</b>."
    assert catalog.warnings == ()


def test_kind_defaults_to_poll(files: CourseFiles):
    files.lesson("first", files.lesson_file("first").read_text().replace("    kind: poll\n", ""))
    assert load_catalog(files.root).course("demo").questions[0].kind is QuestionKind.POLL


def test_a_course_without_questions_is_fine(files: CourseFiles):
    files.lesson("first", "---\ntitle: Reading only\n---\nJust text.\n")
    files.lesson("second", "---\ntitle: More reading\n---\nMore text.\n")
    assert load_catalog(files.root).course("demo").questions == ()


def test_every_problem_is_reported_not_just_the_first(files: CourseFiles):
    files.course(COURSE_YAML.replace("title: Demo course", "titel: Demo course"))
    files.question(
        "first", question_yaml(options=("Only one",)) + question_yaml(id="q2", correct=())
    )
    files.lesson("second", "---\ntitle: Two\n---\n<b>bold</b>\n")
    messages = [p.message for p in files.problems()]
    assert any("unknown key `titel`" in m for m in messages)
    assert any("has 1 option" in m for m in messages)
    assert any("no option is marked" in m for m in messages)
    assert any("raw HTML" in m for m in messages)


# -- reading files ---------------------------------------------------------------------------


def test_yaml_syntax_error_in_course_file(files: CourseFiles):
    path = files.course(COURSE_YAML + "  - id: [unclosed\n")
    problem = find(files.problems(), "YAML syntax error")
    assert (problem.file, problem.line) == (path, 11)  # the end of the file, where it gave up
    assert "while parsing a flow sequence (on line 10)" in problem.message
    assert "indentation" in problem.message


def test_yaml_syntax_error_in_front_matter_points_at_the_md_line(files: CourseFiles):
    path = files.lesson("first", "---\ntitle: Fine\nquestions:\n  - id: q1\n   text: bad\n---\nB\n")
    problem = find(files.problems(), "YAML syntax error")
    assert problem.file == path
    assert problem.line == 5


def test_duplicate_yaml_key(files: CourseFiles):
    path = files.course(COURSE_YAML.replace("title: Demo course", "title: A\ntitle: B"))
    problem = find(files.problems(), "appears twice")
    assert (problem.file, problem.line) == (path, 3)
    assert "first on line 2" in problem.message


def test_file_that_is_not_utf8(files: CourseFiles):
    files.lesson_file("first").write_bytes(b"---\ntitle: caf\xe9\n---\nx\n")
    problem = find(files.problems(), "not UTF-8")
    assert problem.file == files.lesson_file("first")


def test_lesson_without_front_matter(files: CourseFiles):
    path = files.lesson("first", "# Just Markdown\n")
    problem = find(files.problems(), "starts with YAML front matter")
    assert (problem.file, problem.line) == (path, 1)


def test_front_matter_never_closed(files: CourseFiles):
    path = files.lesson("first", "---\ntitle: Open\nBody\n")
    problem = find(files.problems(), "never closed")
    assert (problem.file, problem.line) == (path, 1)


# -- shape: unknown keys, missing keys, types ------------------------------------------------


def test_unknown_key_suggests_the_right_one(files: CourseFiles):
    path = files.course(COURSE_YAML.replace("title: Demo course", "titel: Demo course"))
    problem = find(files.problems(), "unknown key `titel`")
    assert (problem.file, problem.line) == (path, 2)
    assert "did you mean `title`?" in problem.message
    assert "`description`" in problem.message  # lists the allowed keys


def test_unknown_key_in_a_question(files: CourseFiles):
    text = files.lesson_file("first").read_text().replace("explanation:", "explnation:")
    path = files.lesson("first", text)
    problem = find(files.problems(), "unknown key `explnation` in a question")
    assert problem.line == line_of(path, "explnation")


def test_unknown_key_in_an_option(files: CourseFiles):
    text = files.lesson_file("first").read_text().replace("correct: true", "right: true")
    path = files.lesson("first", text)
    problem = find(files.problems(), "unknown key `right` in an option")
    assert problem.line == line_of(path, "right: true")


def test_missing_required_key(files: CourseFiles):
    path = files.course(COURSE_YAML.replace("description: A tiny course for tests.\n", ""))
    problem = find(files.problems(), "needs `description`")
    assert (problem.file, problem.line) == (path, 1)


def test_missing_question_text_points_at_the_question(files: CourseFiles):
    path = files.lesson(
        "first", "---\ntitle: T\nquestions:\n  - id: q1\n    options: [a, b]\n---\nB\n"
    )
    problem = find(files.problems(), "a question needs `text`")
    assert (problem.file, problem.line) == (path, 4)


def test_a_number_where_text_belongs(files: CourseFiles):
    path = files.course(COURSE_YAML.replace("title: Demo course", "title: 2024"))
    problem = find(files.problems(), "`title` must be text")
    assert (problem.file, problem.line) == (path, 2)
    assert "the number 2024" in problem.message and "put it in quotes" in problem.message


def test_an_empty_value(files: CourseFiles):
    files.course(COURSE_YAML.replace("title: Demo course", "title:"))
    assert "write it after the colon" in find(files.problems(), "`title` has no value").message


def test_options_must_be_a_list(files: CourseFiles):
    files.question("first", "  - id: q1\n    text: Q\n    options: a, b\n")
    find(files.problems(), "`options` must be a list")


def test_an_option_that_is_neither_text_nor_a_mapping(files: CourseFiles):
    path = files.question(
        "first", "  - id: q1\n    text: Q\n    options:\n      - a\n      - [b]\n"
    )
    problem = find(files.problems(), "item 2 of `options` must be the option's text")
    assert problem.line == line_of(path, "- [b]")


def test_unknown_question_kind(files: CourseFiles):
    files.question("first", question_yaml(kind="quiz"))
    assert "`poll` or `buttons`" in find(files.problems(), "`kind` must be").message


def test_correct_must_be_a_boolean(files: CourseFiles):
    text = files.lesson_file("first").read_text().replace("correct: true", "correct: maybe")
    files.lesson("first", text)
    find(files.problems(), "`correct` must be `true` or `false`")


def test_course_file_that_is_not_a_mapping(files: CourseFiles):
    files.course("- just\n- a list\n")
    find(files.problems(), "the course must be a mapping")


# -- ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        ("id: demo", "id: Demo Course", "course id `Demo Course`"),
        ("id: basics", "id: -basics", "module id `-basics`"),
        ("      - second", "      - Second:Lesson", "lesson id `Second:Lesson`"),
    ],
)
def test_bad_ids_in_the_course_file(files: CourseFiles, old: str, new: str, what: str):
    path = files.course(COURSE_YAML.replace(old, new))
    problem = find(files.problems(), what)
    assert "is not a valid id" in problem.message
    assert (problem.file, problem.line) == (path, line_of(path, new.strip()))


def test_bad_id_suggests_a_valid_one(files: CourseFiles):
    files.course(COURSE_YAML.replace("id: demo", "id: On-call 101"))
    assert "for example `on-call-101`" in find(files.problems(), "course id").message


def test_bad_question_id(files: CourseFiles):
    path = files.question("first", question_yaml(id="Q:1"))
    problem = find(files.problems(), "question id `Q:1` is not a valid id")
    assert problem.line == line_of(path, "id: Q:1")


def test_duplicate_course_ids_across_the_catalog(files: CourseFiles):
    other = CourseFiles(files.root)
    other_dir = files.root / "another"
    (other_dir / "lessons").mkdir(parents=True)
    (other_dir / "course.yaml").write_text(COURSE_YAML)
    for lesson in ("first", "second"):
        (other_dir / "lessons" / f"{lesson}.md").write_text(other.lesson_file(lesson).read_text())
    problem = find(files.problems(), "course id `demo` is also used by")
    assert problem.file == files.course_file  # "another" sorts first, so "demo" is the repeat
    assert f"{other_dir / 'course.yaml'}:1" in problem.message


def test_duplicate_module_ids(files: CourseFiles):
    path = files.course(COURSE_YAML + "  - id: basics\n    title: Again\n    lessons: [third]\n")
    files.lesson("third", "---\ntitle: Third\n---\nThree.\n")
    problem = find(files.problems(), "module id `basics` is already used on line 5")
    assert (problem.file, problem.line) == (path, 10)


def test_lesson_listed_twice(files: CourseFiles):
    path = files.course(COURSE_YAML + "      - first\n")
    problem = find(files.problems(), "lesson `first` is already listed on line 8")
    assert (problem.file, problem.line) == (path, 10)


def test_duplicate_question_ids_across_lessons(files: CourseFiles):
    text = files.lesson_file("second").read_text().replace("id: q-buttons", "id: q-poll")
    path = files.lesson("second", text)
    problem = find(files.problems(), "question id `q-poll` is already used")
    assert (problem.file, problem.line) == (path, line_of(path, "id: q-poll"))
    assert "lessons/first.md:4" in problem.message


def test_duplicate_question_ids_in_one_lesson(files: CourseFiles):
    files.question("first", question_yaml(id="same") + question_yaml(id="same"))
    problem = find(files.problems(), "question id `same` is already used (line 4)")
    assert problem.line == 11


# -- structure: files, empty parts --------------------------------------------------------------


def test_lesson_listed_but_file_missing(files: CourseFiles):
    files.lesson_file("second").unlink()
    problem = find(files.problems(), "lesson `second` has no file")
    assert (problem.file, problem.line) == (files.course_file, 9)
    assert "create lessons/second.md" in problem.message


def test_lesson_file_not_listed_is_a_warning(files: CourseFiles):
    orphan = files.lesson("orphan", "---\ntitle: O\n---\nO.\n")
    catalog = load_catalog(files.root)
    (warning,) = catalog.warnings
    assert warning.warning and warning.file == orphan
    assert "no module lists lesson `orphan`" in warning.message
    assert str(warning).endswith(f"orphan.md: warning: {warning.message}")


def test_warnings_are_listed_with_errors(files: CourseFiles):
    files.lesson("orphan", "---\ntitle: O\n---\nO.\n")
    files.lesson_file("second").unlink()
    with pytest.raises(ContentError) as caught:
        load_catalog(files.root)
    assert [p.warning for p in caught.value.problems].count(True) == 1
    assert len(caught.value.errors) == 1


def test_course_directory_without_course_file(files: CourseFiles):
    files.course_file.rename(files.dir / "course.yml")
    problem = find(files.problems(), "has no course.yaml")
    assert problem.file == files.dir and problem.line is None
    assert "found course.yml: rename it" in problem.message


def test_empty_content_directory(tmp_path: Path):
    with pytest.raises(ContentError, match="holds no course"):
        load_catalog(tmp_path)


def test_missing_content_directory(tmp_path: Path):
    with pytest.raises(ContentDirectoryError, match="does not exist"):
        load_catalog(tmp_path / "nowhere")


def test_hidden_entries_are_ignored(files: CourseFiles):
    # A mounted ConfigMap keeps its bookkeeping in `..data` and `..<timestamp>` entries.
    (files.root / "..data").mkdir()
    (files.root / ".git").mkdir()
    assert len(load_catalog(files.root)) == 1


def test_course_without_modules(files: CourseFiles):
    path = files.course(COURSE_YAML.split("modules:")[0] + "modules: []\n")
    problem = find(files.problems(), "the course has no modules")
    assert (problem.file, problem.line) == (path, 4)


def test_module_without_lessons(files: CourseFiles):
    path = files.course(COURSE_YAML + "  - id: empty\n    title: Empty\n    lessons: []\n")
    problem = find(files.problems(), "module `empty` has no lessons")
    assert (problem.file, problem.line) == (path, 12)


def test_lesson_with_empty_body(files: CourseFiles):
    path = files.lesson("first", "---\ntitle: Nothing\n---\n\n   \n")
    problem = find(files.problems(), "the lesson has no text")
    assert (problem.file, problem.line) == (path, 4)


def test_empty_description(files: CourseFiles):
    files.course(COURSE_YAML.replace("A tiny course for tests.", '""'))
    find(files.problems(), "the description is empty")


def test_title_too_long(files: CourseFiles):
    files.lesson("first", f"---\ntitle: {'T' * 101}\n---\nBody.\n")
    problem = find(files.problems(), "the lesson title is 101 characters; keep it to 100")
    assert problem.line == 2


# -- Telegram's limits on questions -------------------------------------------------------------


def test_poll_question_at_the_limit_is_fine(files: CourseFiles):
    files.question("first", question_yaml(text="Q" * 300))
    load_catalog(files.root)


def test_poll_question_too_long(files: CourseFiles):
    path = files.question("first", question_yaml(text="Q" * 342))
    problem = find(files.problems(), "poll question is 342 characters")
    assert problem.message == (
        "poll question is 342 characters; Telegram allows 300 — shorten it or use `kind: buttons`"
    )
    assert problem.line == line_of(path, "text:")


def test_poll_question_length_counts_utf16_units_like_telegram(files: CourseFiles):
    files.question("first", question_yaml(text="🚨" * 151))  # 151 emoji = 302 UTF-16 units
    find(files.problems(), "poll question is 302 characters")


def test_buttons_question_may_be_longer_than_a_poll(files: CourseFiles):
    files.question("first", question_yaml(kind="buttons", text="Q" * 4096))
    load_catalog(files.root)


def test_buttons_question_over_a_message(files: CourseFiles):
    files.question("first", question_yaml(kind="buttons", text="Q" * 4097))
    find(files.problems(), "question text is 4097 characters; a Telegram message allows 4096")


def test_empty_question_text(files: CourseFiles):
    files.question("first", question_yaml(text="  "))
    find(files.problems(), "the question text is empty")


@pytest.mark.parametrize(("count", "fix"), [(1, "add options"), (11, "remove some")])
def test_option_count_outside_2_to_10(files: CourseFiles, count: int, fix: str):
    path = files.question("first", question_yaml(options=tuple(f"o{i}" for i in range(count))))
    problem = find(files.problems(), f"the question has {count} option")
    assert "Telegram allows 2 to 10" in problem.message and fix in problem.message
    assert problem.line == line_of(path, "options:")


def test_ten_options_are_fine(files: CourseFiles):
    files.question("first", question_yaml(options=tuple(f"o{i}" for i in range(10))))
    load_catalog(files.root)


def test_option_too_long(files: CourseFiles):
    path = files.question("first", question_yaml(options=("Right", "W" * 101)))
    problem = find(files.problems(), "option 2 is 101 characters; Telegram allows 100")
    assert problem.line == line_of(path, "W" * 101)


def test_empty_option(files: CourseFiles):
    path = files.question("first", question_yaml(options=("Right", "", "Other")))
    problem = find(files.problems(), "option 2 is empty")
    assert problem.line == line_of(path, '- ""')


def test_duplicate_options(files: CourseFiles):
    path = files.question("first", question_yaml(options=("Right", "Same", "same ")))
    problem = find(files.problems(), "options 2 and 3 are both")
    assert "make every option different" in problem.message
    assert problem.line == line_of(path, '"same "')


def test_no_correct_option(files: CourseFiles):
    path = files.question("first", question_yaml(correct=()))
    problem = find(files.problems(), "no option is marked `correct: true`")
    assert problem.line == line_of(path, "options:")


def test_two_correct_options(files: CourseFiles):
    files.question("first", question_yaml(options=("A", "B", "C"), correct=(0, 2)))
    problem = find(files.problems(), "options 1 and 3 are all marked `correct: true`")
    assert "exactly one correct answer" in problem.message


def test_explanation_too_long(files: CourseFiles):
    path = files.question("first", question_yaml(explanation="E" * 201))
    problem = find(files.problems(), "explanation is 201 characters; Telegram allows 200")
    assert problem.line == line_of(path, "explanation:")


def test_poll_explanation_with_too_many_line_feeds(files: CourseFiles):
    files.question("first", question_yaml(explanation="a\nb\nc\nd"))
    find(files.problems(), "explanation has 3 line breaks; a quiz poll allows at most 2")


def test_buttons_explanation_may_have_more_line_feeds(files: CourseFiles):
    files.question("first", question_yaml(kind="buttons", explanation="a\nb\nc\nd"))
    load_catalog(files.root)


def test_empty_explanation(files: CourseFiles):
    files.question("first", question_yaml(explanation=""))
    find(files.problems(), "the explanation is empty")


# -- rendered messages ----------------------------------------------------------------------------


def test_lesson_message_over_the_limit_after_rendering(files: CourseFiles):
    path = files.lesson("first", "---\ntitle: Long\n---\n" + "word " * 820 + "\n")
    problem = find(files.problems(), "the lesson message (title, header and body) is")
    assert "allows 4096 — shorten it by" in problem.message
    assert (problem.file, problem.line) == (path, 4)


def test_lesson_length_counts_what_telegram_shows_not_the_html(files: CourseFiles):
    # 4000 ampersands are 20000 characters of HTML (&amp;) but 4000 on screen.
    files.lesson("first", "---\ntitle: Amps\n---\n" + "&" * 4000 + "\n")
    assert len(load_catalog(files.root).course("demo").lesson("first").body_html) == 20000


def test_header_counts_towards_the_limit(files: CourseFiles):
    # The body alone fits in 4096, the message with its title and header does not.
    files.lesson("first", "---\ntitle: Long\n---\n" + "x" * 4090 + "\n")
    find(files.problems(), "the lesson message")


def test_course_card_over_the_limit(files: CourseFiles):
    path = files.course(COURSE_YAML.replace("A tiny course for tests.", "d" * 4096))
    problem = find(files.problems(), "the course's introduction")
    assert problem.line == line_of(path, "description:")


def test_raw_html_in_markdown_points_at_the_md_line(files: CourseFiles):
    path = files.lesson("first", "---\ntitle: T\n---\nFine line.\n\nA <b>bold</b> move.\n")
    problem = find(files.problems(), "raw HTML `<b>`, `</b>` is not allowed")
    assert (problem.file, problem.line) == (path, 6)


def test_link_that_is_not_a_web_address(files: CourseFiles):
    path = files.lesson("first", "---\ntitle: T\n---\nSee [the runbook](docs/RUNBOOK.md).\n")
    problem = find(files.problems(), "link target `docs/RUNBOOK.md`")
    assert problem.line == 4 and problem.file == path


def test_unclosed_code_block(files: CourseFiles):
    path = files.lesson("first", "---\ntitle: T\n---\nText\n\n```bash\nls\n")
    problem = find(files.problems(), "the code block opened here is never closed")
    assert (problem.file, problem.line) == (path, 6)


# -- what the bot's buttons and links carry --------------------------------------------------------


def test_callback_data_over_64_bytes_names_the_question_and_the_excess(files: CourseFiles):
    course_id = "c" * 40
    files.course(COURSE_YAML.replace("id: demo", f"id: {course_id}"))
    question_id = "q" * 20  # "a:" + 40 + ":" + 20 + ":9" = 65 bytes
    path = files.question("first", question_yaml(id=question_id))
    problem = find(files.problems(), f"question id `{question_id}`")
    assert problem.message.endswith(
        "is too long for the answer buttons: their data would be 65 bytes, Telegram allows 64"
        " — shorten the question id (or the course id) by 1 byte"
    )
    assert (problem.file, problem.line) == (path, line_of(path, question_id))


def test_callback_data_of_lesson_buttons(files: CourseFiles):
    course_id = "c" * 50
    path = files.course(COURSE_YAML.replace("id: demo", f"id: {course_id}").replace(
        "      - second", "      - " + "s" * 12
    ))  # fmt: skip
    files.lesson("s" * 12, "---\ntitle: S\n---\nS.\n")
    files.lesson_file("second").unlink()
    problem = find(files.problems(), f"lesson id `{'s' * 12}`")
    assert "lesson buttons: their data would be 67 bytes" in problem.message
    assert (problem.file, problem.line) == (path, 9)


def test_course_id_too_long_for_the_deep_link(files: CourseFiles):
    path = files.course(COURSE_YAML.replace("id: demo", "id: " + "c" * 58))
    problem = find(files.problems(), "deep link")
    assert "65 characters; Telegram allows 64 — shorten the id by 1" in problem.message
    assert (problem.file, problem.line) == (path, 1)


def test_longest_ids_that_fit(files: CourseFiles):
    course_id = "c" * 40
    files.course(COURSE_YAML.replace("id: demo", f"id: {course_id}"))
    files.question("first", question_yaml(id="q" * 19))  # exactly 64 bytes
    load_catalog(files.root)
