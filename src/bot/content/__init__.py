"""Courses as code: the course model, its loader and validator, and the texts made from it.

A course is a directory of YAML and Markdown under CONTENT_DIR (format: docs/CONTENT.md), or
the same files flat in CONTENT_DIR as a mounted ConfigMap holds them (`layout`; `pack` makes
that ConfigMap).
`load_catalog(directory)` returns the `Catalog` the bot serves, or raises `ContentError`
listing every problem with its file and line.
"""

from pathlib import Path

from .loader import ContentError, Problem, load_catalog
from .model import Catalog, Course, Lesson, Module, Question, QuestionKind
from .problems import ContentDirectoryError

SAMPLE_CONTENT_DIR: Path = Path(__file__).resolve().parent / "courses"
"""A CONTENT_DIR holding the sample course On-call 101 (`on-call-101/`)."""

__all__ = [
    "SAMPLE_CONTENT_DIR",
    "Catalog",
    "ContentDirectoryError",
    "ContentError",
    "Course",
    "Lesson",
    "Module",
    "Problem",
    "Question",
    "QuestionKind",
    "load_catalog",
]
