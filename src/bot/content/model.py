"""The course model the bot serves: catalog → courses → modules → lessons → questions.

Frozen pydantic models. Each guards Telegram's limits itself (through `rules`), so a course
built in code is held to the same rules as one loaded from files; the loader runs the same
rules first to report them with file and line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from functools import cached_property
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from . import rules
from .problems import Problem
from .render import compose_course_card, compose_lesson_message, visible_length, visible_text


def _valid_id(value: str) -> str:
    problem = rules.id_problem(value, "id")
    if problem:
        raise ValueError(problem)
    return value


ContentId = Annotated[str, AfterValidator(_valid_id)]


class QuestionKind(StrEnum):
    POLL = "poll"  # a native Telegram quiz poll; the answer arrives as `poll_answer`
    BUTTONS = "buttons"  # a message with one inline button per option


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _raise_findings(findings: list[rules.Finding]) -> None:
    if findings:
        raise ValueError("; ".join(message for _, message in findings))


class Question(_Frozen):
    id: ContentId
    kind: QuestionKind = QuestionKind.POLL
    text: str
    options: tuple[str, ...]
    correct: int  # 0-based index into `options`
    explanation: str | None = None

    @model_validator(mode="after")
    def _telegram_limits(self) -> Question:
        _raise_findings(
            rules.question_findings(
                self.kind, self.text, self.options, [self.correct], self.explanation
            )
        )
        return self


class Lesson(_Frozen):
    id: ContentId
    title: str
    body_html: str  # Telegram HTML, rendered from the lesson's Markdown
    questions: tuple[Question, ...] = ()

    @model_validator(mode="after")
    def _has_title_and_body(self) -> Lesson:
        _raise_findings(rules.title_findings(self.title, "lesson"))
        if not visible_text(self.body_html).strip():
            raise ValueError(f"lesson `{self.id}` has no text")
        return self


class Module(_Frozen):
    id: ContentId
    title: str
    lessons: tuple[Lesson, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_title(self) -> Module:
        _raise_findings(rules.title_findings(self.title, "module"))
        return self


class Course(_Frozen):
    id: ContentId
    title: str
    description: str
    modules: tuple[Module, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Course:
        _raise_findings(rules.title_findings(self.title, "course"))
        problems = [
            *_duplicates("module", [m.id for m in self.modules]),
            *_duplicates("lesson", [lesson.id for lesson in self.lessons]),
            *_duplicates("question", [q.id for q in self.questions]),
        ]
        if payload := rules.start_payload_problem(self.id):
            problems.append(payload)
        total = len(self.lessons)
        for position, lesson in enumerate(self.lessons, start=1):
            module = self.module_of(lesson.id)
            message = compose_lesson_message(
                self.title,
                module.title if module else None,
                lesson.title,
                lesson.body_html,
                position,
                total,
            )
            if too_long := rules.message_length_problem(
                visible_length(message), f"the message of lesson `{lesson.id}`"
            ):
                problems.append(too_long)
        card = compose_course_card(
            self.title, self.description, len(self.lessons), len(self.questions)
        )
        if too_long := rules.message_length_problem(visible_length(card), "the course card"):
            problems.append(too_long)
        from .buttons import button_problems

        problems += [
            p.message
            for p in button_problems(
                self.id,
                [lesson.id for lesson in self.lessons],
                [(q.id, len(q.options)) for q in self.questions],
            )
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def lessons(self) -> tuple[Lesson, ...]:
        """Every lesson in the order a trainee takes them."""
        return tuple(lesson for module in self.modules for lesson in module.lessons)

    @cached_property
    def questions(self) -> tuple[Question, ...]:
        """Every question in course order."""
        return tuple(question for lesson in self.lessons for question in lesson.questions)

    @cached_property
    def _lesson_index(self) -> dict[str, int]:
        return {lesson.id: index for index, lesson in enumerate(self.lessons)}

    @cached_property
    def _module_of_lesson(self) -> dict[str, Module]:
        return {lesson.id: module for module in self.modules for lesson in module.lessons}

    @cached_property
    def _questions(self) -> dict[str, tuple[Question, Lesson]]:
        return {q.id: (q, lesson) for lesson in self.lessons for q in lesson.questions}

    def lesson(self, lesson_id: str) -> Lesson | None:
        index = self._lesson_index.get(lesson_id)
        return None if index is None else self.lessons[index]

    def lesson_position(self, lesson_id: str) -> int | None:
        """1-based position of the lesson in the course, as in "Lesson 2 of 9"."""
        index = self._lesson_index.get(lesson_id)
        return None if index is None else index + 1

    def module_of(self, lesson_id: str) -> Module | None:
        return self._module_of_lesson.get(lesson_id)

    def question(self, question_id: str) -> Question | None:
        found = self._questions.get(question_id)
        return found[0] if found else None

    def lesson_of(self, question_id: str) -> Lesson | None:
        found = self._questions.get(question_id)
        return found[1] if found else None

    def next_lesson(self, lesson_id: str) -> Lesson | None:
        return self._step(lesson_id, +1)

    def previous_lesson(self, lesson_id: str) -> Lesson | None:
        return self._step(lesson_id, -1)

    def _step(self, lesson_id: str, step: int) -> Lesson | None:
        index = self._lesson_index.get(lesson_id)
        if index is None or not 0 <= index + step < len(self.lessons):
            return None
        return self.lessons[index + step]


def _duplicates(what: str, ids: list[str]) -> list[str]:
    seen: set[str] = set()
    repeated = sorted({i for i in ids if i in seen or seen.add(i)})
    return [f"{what} id `{i}` is used more than once" for i in repeated]


class Catalog(_Frozen):
    """Every course served, keyed by id, in a stable order (by course directory name)."""

    courses: Mapping[str, Course]
    warnings: tuple[Problem, ...] = ()  # printed by `content validate`, logged by the bot

    @model_validator(mode="after")
    def _keyed_by_id(self) -> Catalog:
        wrong = [key for key, course in self.courses.items() if key != course.id]
        if wrong:
            raise ValueError(f"catalog keys must be course ids; these are not: {wrong}")
        return self

    def course(self, course_id: str) -> Course | None:
        return self.courses.get(course_id)

    def __iter__(self) -> Iterator[Course]:  # type: ignore[override]
        return iter(self.courses.values())

    def __len__(self) -> int:
        return len(self.courses)

    def __contains__(self, course_id: object) -> bool:
        return course_id in self.courses
