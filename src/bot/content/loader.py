"""Load a content directory into a `Catalog`, or report every problem with its file and line.

    CONTENT_DIR/
      <course-dir>/course.yaml         id, title, description, modules (each lists lesson ids)
      <course-dir>/lessons/<id>.md     front matter (title, questions), then the Markdown body

or the same files flat, as a mounted ConfigMap holds them (`<course-dir>.course.yaml`,
`<course-dir>.lessons.<id>.md`; the rule is in `layout`). Both layouts load the same way.

Everything that can be checked is checked, in every file, before anything is refused: a
trainer fixing a course wants the whole list at once. The format is documented for trainers
in docs/CONTENT.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from . import rules
from .buttons import button_problems
from .layout import (
    COURSE_FILE,
    FLAT_EXAMPLE,
    LESSON_SUFFIX,
    LESSONS_DIR,
    CourseSource,
    scan_content_dir,
)
from .markdown import MarkdownError, markdown_to_html
from .model import Catalog, Course, Lesson, Module, Question
from .problems import ContentError, Problem
from .render import compose_course_card, compose_lesson_message, visible_length, visible_text
from .schema import CourseFile, LessonFrontMatter, ModuleEntry, QuestionEntry, describe_error
from .source import Located, SourceError, read_yaml, split_front_matter

__all__ = ["ContentError", "LoadedContent", "Problem", "SourcedCourse", "load_catalog"]

Shape = TypeVar("Shape", bound=BaseModel)


class _Report:
    """Problems found so far, across every file."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, file: Path, line: int | None, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    def warn(self, file: Path, line: int | None, message: str) -> None:
        self.problems.append(Problem(file, line, message, warning=True))

    def count(self) -> int:
        return sum(not p.warning for p in self.problems)


@dataclass(frozen=True)
class SourcedCourse:
    """A loaded course and the files it was built from (paths inside the course, tree-style)."""

    course: Course
    source: CourseSource
    files: tuple[str, ...]  # `course.yaml`, then `lessons/<id>.md` in course order


@dataclass(frozen=True)
class LoadedContent:
    """The catalog and, for `content pack`, where each of its courses came from."""

    catalog: Catalog
    courses: tuple[SourcedCourse, ...]


def load_catalog(directory: Path) -> Catalog:
    """Every course under `directory`; raises `ContentError` listing every problem found."""
    return load_content(directory).catalog


def load_content(directory: Path) -> LoadedContent:
    """`load_catalog`, keeping each course's source files; raises as `load_catalog` does."""
    directory = Path(directory)
    scan = scan_content_dir(directory)
    report = _Report()
    report.problems.extend(scan.problems)
    loaded = [_CourseLoader(source, report).load() for source in scan.sources]
    _check_course_ids(loaded, report)
    if not scan.sources:
        report.error(
            directory,
            None,
            "holds no course: add one directory per course, each with a course.yaml, or the "
            f"flat files {FLAT_EXAMPLE} (see docs/CONTENT.md)",
        )
    if report.count():
        raise ContentError(report.problems)
    courses = tuple(
        SourcedCourse(c.course, c.source, c.files)
        for c in loaded
        if c is not None and c.course is not None
    )
    return LoadedContent(
        catalog=Catalog(
            courses={c.course.id: c.course for c in courses},
            warnings=tuple(report.problems),
        ),
        courses=courses,
    )


def _check_course_ids(loaded: list[_LoadedCourse | None], report: _Report) -> None:
    first: dict[str, _LoadedCourse] = {}
    for course in loaded:
        if course is None or course.id is None:
            continue
        if course.id in first:
            other = first[course.id]
            report.error(
                course.file,
                course.id_line,
                f"course id `{course.id}` is also used by {other.file}:{other.id_line} "
                "— give each course its own id",
            )
        else:
            first[course.id] = course


@dataclass
class _LoadedCourse:
    source: CourseSource
    file: Path
    id: str | None
    id_line: int
    course: Course | None = None
    files: tuple[str, ...] = ()


@dataclass
class _LoadedLesson:
    """What a lesson file yielded, with the locations later checks point at."""

    file: Path
    title: str | None = None
    body_html: str | None = None
    body_line: int = 1
    # each question with the line of its id and its number of options
    questions: list[tuple[QuestionEntry, int, int]] = field(default_factory=list)

    def lesson(self, lesson_id: str) -> Lesson:
        assert self.title is not None and self.body_html is not None
        return Lesson(
            id=lesson_id,
            title=self.title,
            body_html=self.body_html,
            questions=tuple(_question(entry) for entry, _, _ in self.questions),
        )


def _question(entry: QuestionEntry) -> Question:
    return Question(
        id=entry.id,
        kind=entry.kind,
        text=entry.text,
        options=tuple(option.text for option in entry.options),
        correct=entry.correct[0],
        explanation=entry.explanation,
    )


class _CourseLoader:
    """One course, in either layout: course.yaml, then each lesson file it lists."""

    def __init__(self, source: CourseSource, report: _Report) -> None:
        self.source = source
        self.file = source.course_file
        self.report = report
        self.errors_before = report.count()

    def load(self) -> _LoadedCourse | None:
        if not self.file.is_file():
            self._missing_course_file()
            return None
        located = self._read_yaml(self.file)
        if located is None:
            return None
        header = _shape(CourseFile, located, (), self.file, self.report)
        course_id = None
        if header and not self._bad_id(header.id, located, ("id",), "course id"):
            course_id = header.id
        modules = self._modules(located)
        if header:
            self._course_rules(header, located, modules)
        listed = self._listed_lessons(located, modules)
        self._check_lesson_files(referenced={lesson_id for lesson_id, _ in listed})
        lessons = {
            lesson_id: self._load_lesson(lesson_id, line)
            for lesson_id, line in listed
            if lesson_id is not None
        }
        self._question_id_rules(lessons)
        if header and course_id:
            self._message_rules(header, located, modules, lessons)
            self._button_rules(course_id, located, listed, lessons)
        loaded = _LoadedCourse(self.source, self.file, course_id, located.line(("id",)))
        if header and course_id and self.report.count() == self.errors_before:
            loaded.course = self._build(header, modules, lessons)
            loaded.files = (COURSE_FILE, *map(self.source.lesson_relative, lessons))
        return loaded

    # -- course.yaml ----------------------------------------------------------------------

    def _missing_course_file(self) -> None:
        near = self.source.near_course_files
        wanted = self.source.shown(COURSE_FILE)
        hint = f" (found {near[0]}: rename it to {wanted})" if near else ""
        if self.source.flat:
            message = (
                f"flat lesson files of course `{self.source.name}` but no {wanted}{hint} — "
                f"add {wanted} next to them, or remove them"
            )
        else:
            message = (
                f"this course directory has no {COURSE_FILE}{hint} — every directory in "
                "CONTENT_DIR is a course; add the file or move the directory out"
            )
        self.report.error(self.source.where(), None, message)

    def _read_yaml(
        self, path: Path, text: str | None = None, first_line: int = 1
    ) -> Located | None:
        try:
            text = _read_text(path) if text is None else text
            located = read_yaml(text, first_line)
        except SourceError as exc:
            self.report.error(path, exc.line, exc.message)
            return None
        for line, message in located.issues:
            self.report.error(path, line, message)
        return located

    def _modules(self, located: Located) -> list[tuple[int, ModuleEntry | None]]:
        raw = located.data.get("modules") if isinstance(located.data, dict) else None
        if not isinstance(raw, list):
            return []
        return [
            (index, _shape(ModuleEntry, located, ("modules", index), self.file, self.report))
            for index in range(len(raw))
        ]

    def _course_rules(
        self,
        header: CourseFile,
        located: Located,
        modules: list[tuple[int, ModuleEntry | None]],
    ) -> None:
        self._findings(located, ("title",), rules.title_findings(header.title, "course"))
        if not header.description.strip():
            self._error(
                located,
                ("description",),
                "the description is empty — write a sentence "
                "or two on what the course teaches and for whom",
            )
        if payload := rules.start_payload_problem(header.id):
            self._error(located, ("id",), payload)
        if not header.modules:
            self._error(
                located,
                ("modules",),
                "the course has no modules — add at least one "
                "under `modules:`, with an id, a title and its lessons",
            )
        first_line: dict[str, int] = {}
        for index, module in modules:
            if module is None:
                continue
            loc = ("modules", index)
            self._bad_id(module.id, located, (*loc, "id"), "module id")
            self._findings(located, (*loc, "title"), rules.title_findings(module.title, "module"))
            if not module.lessons:
                self._error(
                    located,
                    (*loc, "lessons"),
                    f"module `{module.id}` has no lessons — "
                    "list at least one lesson id under `lessons:`",
                )
            line = located.line((*loc, "id"))
            if module.id in first_line:
                self._error(
                    located,
                    (*loc, "id"),
                    f"module id `{module.id}` is already used on "
                    f"line {first_line[module.id]} — give each module its own id",
                )
            else:
                first_line[module.id] = line

    def _listed_lessons(
        self, located: Located, modules: list[tuple[int, ModuleEntry | None]]
    ) -> list[tuple[str | None, int]]:
        """Lesson ids in course order with their lines; None where an id is unusable."""
        listed: list[tuple[str | None, int]] = []
        first_line: dict[str, int] = {}
        for index, module in modules:
            for position, lesson_id in enumerate(module.lessons if module else []):
                loc = ("modules", index, "lessons", position)
                line = located.line(loc)
                if self._bad_id(lesson_id, located, loc, "lesson id"):
                    listed.append((None, line))
                elif lesson_id in first_line:
                    self._error(
                        located,
                        loc,
                        f"lesson `{lesson_id}` is already listed on line "
                        f"{first_line[lesson_id]} — a lesson appears once in a course",
                    )
                else:
                    first_line[lesson_id] = line
                    listed.append((lesson_id, line))
        return listed

    # -- lesson files ---------------------------------------------------------------------

    def _check_lesson_files(self, referenced: set[str | None]) -> None:
        """Warn about files in lessons/ that no module lists: trainees would never see them."""
        for name, path in self.source.lesson_entries.items():
            stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
            if suffix != LESSON_SUFFIX or not path.is_file():
                self.report.warn(path, None, f"ignored: lesson files end in {LESSON_SUFFIX}")
            elif stem not in referenced:
                self.report.warn(
                    path,
                    None,
                    f"no module lists lesson `{stem}`, so trainees never see it — add `{stem}` "
                    f"to a module's `lessons:` in {self.source.shown(COURSE_FILE)}, or delete "
                    "the file",
                )

    def _load_lesson(self, lesson_id: str, listed_line: int) -> _LoadedLesson:
        path = self.source.lesson_path(lesson_id)
        loaded = _LoadedLesson(path)
        if not path.is_file():
            self.report.error(
                self.file,
                listed_line,
                f"lesson `{lesson_id}` has no file: create "
                f"{self.source.shown(self.source.lesson_relative(lesson_id))} (next to "
                f"{self.source.shown(COURSE_FILE)}) or remove the lesson from the module",
            )
            return loaded
        try:
            parts = split_front_matter(_read_text(path))
        except SourceError as exc:
            self.report.error(path, exc.line, exc.message)
            return loaded
        loaded.body_line = parts.body_line
        located = self._read_yaml(path, parts.front_matter, parts.front_matter_line)
        if located is not None:
            self._front_matter(located, loaded)
        self._body(parts.body, loaded)
        return loaded

    def _front_matter(self, located: Located, loaded: _LoadedLesson) -> None:
        path = loaded.file
        front = _shape(LessonFrontMatter, located, (), path, self.report)
        if front is not None:
            loaded.title = front.title
            self._findings(located, ("title",), rules.title_findings(front.title, "lesson"), path)
        raw = located.data.get("questions") if isinstance(located.data, dict) else None
        for index in range(len(raw) if isinstance(raw, list) else 0):
            loc = ("questions", index)
            entry = _shape(QuestionEntry, located, loc, path, self.report)
            if entry is None:
                continue
            self._bad_id(entry.id, located, (*loc, "id"), "question id", path)
            findings = rules.question_findings(
                entry.kind,
                entry.text,
                [option.text for option in entry.options],
                entry.correct,
                entry.explanation,
            )
            self._findings(located, loc, findings, path)
            loaded.questions.append((entry, located.line((*loc, "id")), len(entry.options)))

    def _body(self, body: str, loaded: _LoadedLesson) -> None:
        try:
            loaded.body_html = markdown_to_html(body)
        except MarkdownError as exc:
            for issue in exc.issues:
                self.report.error(loaded.file, loaded.body_line + issue.line - 1, issue.message)
            return
        if not visible_text(loaded.body_html).strip():
            self.report.error(
                loaded.file,
                loaded.body_line,
                "the lesson has no text — write it in Markdown below the front matter's "
                "closing `---`",
            )

    # -- rules across the course ----------------------------------------------------------

    def _question_id_rules(self, lessons: dict[str, _LoadedLesson]) -> None:
        first: dict[str, tuple[Path, int]] = {}
        for loaded in lessons.values():
            for entry, line, _ in loaded.questions:
                if entry.id in first:
                    other_file, other_line = first[entry.id]
                    where = (
                        f"line {other_line}"
                        if other_file == loaded.file
                        else f"{self._shown_file(other_file)}:{other_line}"
                    )
                    self.report.error(
                        loaded.file,
                        line,
                        f"question id `{entry.id}` is already used ({where}); question ids "
                        "must be unique within a course — rename one",
                    )
                else:
                    first[entry.id] = (loaded.file, line)

    def _message_rules(
        self,
        header: CourseFile,
        located: Located,
        modules: list[tuple[int, ModuleEntry | None]],
        lessons: dict[str, _LoadedLesson],
    ) -> None:
        """Measure each message exactly as `render` builds it: the lessons and the course card."""
        order = [
            (module, lesson_id)
            for _, module in modules
            if module is not None
            for lesson_id in module.lessons
            if lesson_id in lessons
        ]
        for position, (module, lesson_id) in enumerate(order, start=1):
            loaded = lessons[lesson_id]
            if loaded.title is None or loaded.body_html is None:
                continue
            message = compose_lesson_message(
                header.title, module.title, loaded.title, loaded.body_html, position, len(order)
            )
            problem = rules.message_length_problem(
                visible_length(message), "the lesson message (title, header and body)"
            )
            if problem:
                self.report.error(loaded.file, loaded.body_line, problem)
        questions = sum(len(lessons[lesson_id].questions) for _, lesson_id in order)
        card = compose_course_card(header.title, header.description, len(order), questions)
        if problem := rules.message_length_problem(
            visible_length(card), "the course's introduction (title and description)"
        ):
            self._error(located, ("description",), problem)

    def _button_rules(
        self,
        course_id: str,
        located: Located,
        listed: list[tuple[str | None, int]],
        lessons: dict[str, _LoadedLesson],
    ) -> None:
        lesson_lines = {lesson_id: line for lesson_id, line in listed if lesson_id}
        question_lines = {
            entry.id: (loaded.file, line)
            for loaded in lessons.values()
            for entry, line, _ in loaded.questions
            if rules.ID_PATTERN.fullmatch(entry.id)
        }
        problems = button_problems(
            course_id,
            lesson_lines,
            [
                (entry.id, count)
                for loaded in lessons.values()
                for entry, _, count in loaded.questions
                if entry.id in question_lines
            ],
        )
        for problem in problems:
            if problem.subject == "course":
                self._error(located, ("id",), problem.message)
            elif problem.subject == "lesson":
                self.report.error(self.file, lesson_lines[problem.id], problem.message)
            else:
                self.report.error(*question_lines[problem.id], problem.message)

    # -- the model ------------------------------------------------------------------------

    def _build(
        self,
        header: CourseFile,
        modules: list[tuple[int, ModuleEntry | None]],
        lessons: dict[str, _LoadedLesson],
    ) -> Course | None:
        try:
            return Course(
                id=header.id,
                title=header.title,
                description=header.description,
                modules=tuple(
                    Module(
                        id=module.id,
                        title=module.title,
                        lessons=tuple(lessons[i].lesson(i) for i in module.lessons),
                    )
                    for _, module in modules
                    if module is not None
                ),
            )
        except ValidationError as exc:
            # The rules above mirror the model's validators; reaching this is a bug here,
            # but the trainer still gets a message rather than a traceback.
            for error in exc.errors(include_url=False, include_input=False):
                self.report.error(self.file, None, f"{error['msg']} (at {error['loc']})")
            return None

    # -- helpers --------------------------------------------------------------------------

    def _shown_file(self, path: Path) -> str:
        """A lesson file as messages name it: `lessons/x.md`, or flat `demo.lessons.x.md`."""
        return path.name if self.source.flat else f"{LESSONS_DIR}/{path.name}"

    def _error(self, located: Located, loc: rules.Loc, message: str, file: Path | None = None):
        self.report.error(file or self.file, located.line(loc), message)

    def _findings(
        self,
        located: Located,
        loc: rules.Loc,
        findings: Iterable[rules.Finding],
        file: Path | None = None,
    ) -> None:
        for relative, message in findings:
            self._error(located, (*loc, *relative), message, file)

    def _bad_id(
        self, value: str, located: Located, loc: rules.Loc, what: str, file: Path | None = None
    ) -> bool:
        problem = rules.id_problem(value, what)
        if problem:
            self._error(located, loc, problem, file)
        return problem is not None


def _shape(
    model: type[Shape], located: Located, loc: rules.Loc, file: Path, report: _Report
) -> Shape | None:
    """Validate the value at `loc` as `model`, reporting each pydantic error at its line."""
    data: Any = located.data
    for part in loc:
        data = data[part]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            report.error(file, located.line((*loc, *error["loc"])), describe_error(model, error))
        return None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise SourceError(
            1, f"the file is not UTF-8 text ({exc.reason}) — save it as UTF-8"
        ) from None
    except OSError as exc:
        raise SourceError(1, f"the file cannot be read ({exc.strerror})") from None
