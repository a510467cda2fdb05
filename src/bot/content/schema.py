"""The shape of the files a trainer writes, checked strictly (types, required and unknown keys).

Telegram's limits are checked afterwards by `rules`, on the shaped values. Lists of modules
and of questions are shaped item by item (`list[Any]` here), so one broken question does not
hide the problems of the others.

    <course-dir>/course.yaml          CourseFile, each of `modules` a ModuleEntry
    <course-dir>/lessons/<id>.md      front matter: LessonFrontMatter, each question a QuestionEntry
"""

from __future__ import annotations

import difflib
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import ErrorDetails

from .model import QuestionKind


class _Strict(BaseModel):
    # strict: `title: 2024` is a number in YAML, and should be reported rather than coerced.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class CourseFile(_Strict):
    id: str
    title: str
    description: str
    modules: list[Any]


class ModuleEntry(_Strict):
    id: str
    title: str
    lessons: list[str] = Field(description="lesson ids; lesson `x` is the file lessons/x.md")


class OptionEntry(_Strict):
    text: str
    correct: bool = False


class QuestionEntry(_Strict):
    id: str
    # not strict: YAML gives the plain string `poll`, which only lax mode turns into the enum
    kind: QuestionKind = Field(QuestionKind.POLL, strict=False)
    text: str
    options: list[OptionEntry]
    explanation: str | None = None

    @field_validator("options", mode="before")
    @classmethod
    def _plain_text_is_a_wrong_option(cls, value: object) -> object:
        """`- P2` is shorthand for `- text: P2` (an option not marked correct)."""
        if isinstance(value, list):
            return [{"text": item} if isinstance(item, str) else item for item in value]
        return value

    @property
    def correct(self) -> list[int]:
        return [index for index, option in enumerate(self.options) if option.correct]


class LessonFrontMatter(_Strict):
    title: str
    questions: list[Any] = []


_NAMES: dict[type[BaseModel], str] = {
    CourseFile: "the course",
    ModuleEntry: "a module",
    OptionEntry: "an option",
    QuestionEntry: "a question",
    LessonFrontMatter: "the front matter",
}


def describe_error(model: type[BaseModel], error: ErrorDetails) -> str:
    """A pydantic error on `model` as a trainer should read it: what is wrong, what to do."""
    loc, kind, value = error["loc"], error["type"], error.get("input")
    if kind == "missing":
        owner = _model_at(model, loc[:-1])
        return f"{_NAMES[owner]} needs `{loc[-1]}` — add it"
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = list(owner.model_fields)
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean `{guess[0]}`? " if guess else ""
        keys = ", ".join(f"`{key}`" for key in allowed)
        return f"unknown key `{loc[-1]}` in {_NAMES[owner]} — {hint}the keys allowed here: {keys}"
    name = _name(loc)
    if kind in {"model_type", "dict_type"}:
        target = _model_at(model, loc)
        if target is OptionEntry:
            return (
                f"{name} must be the option's text, or `text:` with `correct: true`; "
                f"got {_describe(value)}"
            )
        keys = ", ".join(f"`{key}`" for key in target.model_fields)
        return f"{_NAMES[target]} must be a mapping with the keys {keys}; got {_describe(value)}"
    if value is None and kind in {"string_type", "list_type", "bool_type"}:
        return f"{name} has no value — write it after the colon, or remove the key"
    if kind == "string_type":
        hint = " — put it in quotes" if isinstance(value, int | float | bool) else ""
        return f"{name} must be text; got {_describe(value)}{hint}"
    if kind == "bool_type":
        return f"{name} must be `true` or `false`; got {_describe(value)}"
    if kind == "list_type":
        return f"{name} must be a list: one item per line, each starting with `- `"
    if kind == "enum":
        kinds = " or ".join(f"`{k.value}`" for k in QuestionKind)
        return f"{name} must be {kinds}; got `{value}`"
    return f"{name}: {error['msg']}"


def _name(loc: tuple[int | str, ...]) -> str:
    key = next((part for part in reversed(loc) if isinstance(part, str)), None)
    if loc and isinstance(loc[-1], int):
        return f"item {loc[-1] + 1} of `{key}`" if key else f"item {loc[-1] + 1}"
    return f"`{key}`" if key else "this"


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model class whose value sits at `loc` (list indices pass through)."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            continue
        annotation = field.annotation
        if get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return model


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"the text “{value}”"
