"""Where a course's files are: a course directory, or flat files at the top of CONTENT_DIR.

Two layouts name the same files, and the loader reads both the same way:

    tree                                   flat (one file per ConfigMap key)
    on-call-101/course.yaml                on-call-101.course.yaml
    on-call-101/lessons/escalation.md      on-call-101.lessons.escalation.md

The flat layout exists because a Kubernetes ConfigMap cannot hold `/` in its keys, and the
operator mounts the whole ConfigMap at CONTENT_DIR. The rule: a top-level file is flat when the
part of its name before the first `.` is a valid id (so it holds no dot) and the rest is
`course.yaml` or starts with `lessons.`; the rest, with that first `lessons.` read as
`lessons/`, is the file's path inside the course directory. Course directory names in the flat
layout are therefore ids without dots; tree directories may be named anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import rules
from .problems import ContentDirectoryError, Problem

COURSE_FILE = "course.yaml"
LESSONS_DIR = "lessons"
LESSON_SUFFIX = ".md"
FLAT_SEPARATOR = "."
FLAT_EXAMPLE = f"<course>.{COURSE_FILE} and <course>.{LESSONS_DIR}.<lesson>{LESSON_SUFFIX}"


class FlatNameError(ValueError):
    """A top-level file named like a flat course file whose course part cannot be one."""


@dataclass(frozen=True)
class FlatName:
    """What a flat file name stands for: `course` directory, `relative` path inside it."""

    course: str
    relative: str  # `course.yaml` or `lessons/<file>`


def flat_name(course: str, relative: str) -> str:
    """The flat file name (ConfigMap key) of `relative` inside course directory `course`."""
    return FLAT_SEPARATOR.join((course, *PurePosixPath(relative).parts))


def flat_course_problem(course: str) -> str | None:
    """Why `course` cannot name a course directory in the flat layout, or None if it can."""
    if rules.ID_PATTERN.fullmatch(course):
        return None
    return (
        f"`{course}` cannot name a course in the flat layout: there a course directory name "
        "must be a valid id without dots (lowercase letters, digits, `-` and `_`, starting "
        f"with a letter or digit), for example `{rules.suggest_id(course)}`"
    )


def parse_flat_name(name: str) -> FlatName | None:
    """The course file a top-level file `name` stands for; None when it is not a flat name.

    Raises `FlatNameError` for a name shaped like a flat course file (`….course.yaml`,
    `….lessons.…`) whose course part is not a valid id: a file the trainer clearly meant as
    course content must not be skipped with a mere warning.
    """
    course, _, rest = name.partition(FLAT_SEPARATOR)
    lessons_prefix = LESSONS_DIR + FLAT_SEPARATOR
    if rules.ID_PATTERN.fullmatch(course):
        if rest == COURSE_FILE:
            return FlatName(course, COURSE_FILE)
        if rest.startswith(lessons_prefix):
            return FlatName(course, f"{LESSONS_DIR}/{rest.removeprefix(lessons_prefix)}")
    if name.endswith(FLAT_SEPARATOR + COURSE_FILE):
        intended, target = name.removesuffix(FLAT_SEPARATOR + COURSE_FILE), COURSE_FILE
    elif (marker := FLAT_SEPARATOR + lessons_prefix) in name:
        intended, _, lesson = name.partition(marker)
        target = f"{LESSONS_DIR}/{lesson}"
    else:
        return None
    fixed = flat_name(rules.suggest_id(intended), target)
    raise FlatNameError(
        f"{flat_course_problem(intended)} — rename the file to `{fixed}`, or keep the course "
        f"as a directory `{intended}/` holding {target}"
    )


def hidden(name: str) -> bool:
    # Dot entries include a mounted ConfigMap's `..data` and `..<timestamp>` bookkeeping.
    return name.startswith(".")


@dataclass(frozen=True)
class CourseSource:
    """One course's files, in either layout. Paths inside a course are written tree-style."""

    name: str  # the course directory's name (flat: the part before the first dot)
    root: Path  # CONTENT_DIR
    flat: bool
    lesson_entries: Mapping[str, Path]  # file name in lessons/ → its file, hidden ones left out
    near_course_files: tuple[str, ...] = ()  # e.g. `course.yml`, for a hint when course.yaml lacks

    def path(self, relative: str) -> Path:
        """The file holding `relative` (`course.yaml`, `lessons/x.md`) of this course."""
        if self.flat:
            return self.root / flat_name(self.name, relative)
        return self.root / self.name / relative

    @property
    def course_file(self) -> Path:
        return self.path(COURSE_FILE)

    def lesson_path(self, lesson_id: str) -> Path:
        return self.path(self.lesson_relative(lesson_id))

    @staticmethod
    def lesson_relative(lesson_id: str) -> str:
        return f"{LESSONS_DIR}/{lesson_id}{LESSON_SUFFIX}"

    def shown(self, relative: str) -> str:
        """How messages name a file of this course: `lessons/x.md` or `demo.lessons.x.md`."""
        return flat_name(self.name, relative) if self.flat else relative

    def where(self) -> Path:
        """What a problem with the course as a whole cites: its directory or its first file."""
        if not self.flat:
            return self.root / self.name
        if self.course_file.exists():
            return self.course_file
        return min(self.lesson_entries.values(), default=self.course_file)


@dataclass(frozen=True)
class Scan:
    """What CONTENT_DIR holds: the courses in either layout, by name, and what is wrong."""

    sources: tuple[CourseSource, ...]
    problems: tuple[Problem, ...]


def scan_content_dir(directory: Path) -> Scan:
    """Find every course in `directory`; raises `ContentDirectoryError` if it is unreadable."""
    try:
        entries = sorted(
            (entry for entry in directory.iterdir() if not hidden(entry.name)),
            key=lambda entry: entry.name,
        )
    except FileNotFoundError:
        raise _directory_error(directory, "does not exist — check CONTENT_DIR") from None
    except NotADirectoryError:
        raise _directory_error(directory, "is a file, not a directory of courses") from None
    except OSError as exc:
        raise _directory_error(directory, f"cannot be read ({exc.strerror})") from None

    problems: list[Problem] = []
    trees: dict[str, CourseSource] = {}
    flat_files: dict[str, dict[str, Path]] = {}  # course → relative → file
    for entry in entries:
        # is_dir/is_file follow symlinks: a mounted ConfigMap's keys are links into `..data`.
        if entry.is_dir():
            trees[entry.name] = _tree_source(directory, entry)
            continue
        try:
            parsed = parse_flat_name(entry.name)
        except FlatNameError as exc:
            problems.append(Problem(entry, None, str(exc)))
            continue
        if parsed is None:
            problems.append(Problem(entry, None, _ignored_message(directory, entry), warning=True))
        elif not hidden(PurePosixPath(parsed.relative).name):  # `demo.lessons..x.md`, as in a tree
            flat_files.setdefault(parsed.course, {})[parsed.relative] = entry

    sources = dict(trees)
    for course, files in flat_files.items():
        source = _flat_source(directory, course, files, entries)
        if course in trees:
            problems.append(Problem(source.where(), None, _both_layouts_message(source)))
        else:
            sources[course] = source
    return Scan(tuple(sources[name] for name in sorted(sources)), tuple(problems))


def _tree_source(root: Path, directory: Path) -> CourseSource:
    lessons = directory / LESSONS_DIR
    try:
        entries = {p.name: p for p in lessons.iterdir() if not hidden(p.name)}
    except OSError:  # no lessons/ (each listed lesson is then reported missing)
        entries = {}
    try:
        near = tuple(
            sorted(
                p.name
                for p in directory.iterdir()
                if p.name.lower().startswith("course.") and p.name != COURSE_FILE
            )
        )
    except OSError:
        near = ()
    return CourseSource(directory.name, root, False, dict(sorted(entries.items())), near)


def _flat_source(
    root: Path, course: str, files: dict[str, Path], entries: list[Path]
) -> CourseSource:
    prefix = f"{LESSONS_DIR}/"
    lessons = {
        relative.removeprefix(prefix): path
        for relative, path in sorted(files.items())
        if relative.startswith(prefix)
    }
    near = tuple(
        entry.name
        for entry in entries
        if entry.name.lower().startswith(f"{course}.course.")
        and entry.name != flat_name(course, COURSE_FILE)
    )
    return CourseSource(course, root, True, lessons, near)


def _ignored_message(directory: Path, entry: Path) -> str:
    return (
        "ignored: a course is a directory holding a course.yaml "
        f"(for example {directory / entry.stem / COURSE_FILE}), or flat files named "
        f"{FLAT_EXAMPLE}"
    )


def _both_layouts_message(source: CourseSource) -> str:
    return (
        f"course `{source.name}` is both a directory ({source.root / source.name}/) and flat "
        f"files ({source.name}.*) — keep one form: delete the flat files or the directory"
    )


def _directory_error(directory: Path, what: str) -> ContentDirectoryError:
    return ContentDirectoryError([Problem(directory, None, f"the content directory {what}")])
