"""The flat layout (a mounted ConfigMap): same catalog, same problems, cited by flat file name."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from trainingbot.content import SAMPLE_CONTENT_DIR, ContentError, load_catalog
from trainingbot.content.layout import FlatName, FlatNameError, flat_name, parse_flat_name

from .conftest import (
    COURSE_YAML,
    KUBELET_STAMP,
    CourseFiles,
    find,
    flatten,
    line_of,
    mount_like_kubelet,
)


def problems_of(directory: Path):
    with pytest.raises(ContentError) as caught:
        load_catalog(directory)
    return caught.value.problems


# -- the naming rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "course", "relative"),
    [
        ("on-call-101.course.yaml", "on-call-101", "course.yaml"),
        ("on-call-101.lessons.severity-levels.md", "on-call-101", "lessons/severity-levels.md"),
        ("git_basics.lessons.notes.txt", "git_basics", "lessons/notes.txt"),
        # Only the first `lessons.` is the directory: the rest is the file's name.
        ("demo.lessons.lessons.md", "demo", "lessons/lessons.md"),
        ("demo.lessons.course.yaml", "demo", "lessons/course.yaml"),
    ],
)
def test_flat_names(name: str, course: str, relative: str):
    assert parse_flat_name(name) == FlatName(course, relative)
    assert flat_name(course, relative) == name


@pytest.mark.parametrize(
    "name", ["README.md", "notes.txt", "course.yaml", "demo.md", "demo.lesson.first.md"]
)
def test_other_names_are_not_course_files(name: str):
    assert parse_flat_name(name) is None


@pytest.mark.parametrize(
    ("name", "fixed"),
    [
        ("Git-Basics.course.yaml", "git-basics.course.yaml"),
        ("git.basics.course.yaml", "git-basics.course.yaml"),
        ("git basics.lessons.first.md", "git-basics.lessons.first.md"),
        ("v1.2.lessons.first.md", "v1-2.lessons.first.md"),
    ],
)
def test_a_course_name_with_a_dot_or_capitals_is_refused_with_the_fix(name: str, fixed: str):
    with pytest.raises(FlatNameError) as caught:
        parse_flat_name(name)
    assert "must be a valid id without dots" in str(caught.value)
    assert f"rename the file to `{fixed}`" in str(caught.value)


# -- same catalog ------------------------------------------------------------------------------


def test_the_sample_course_loads_the_same_flat(tmp_path: Path):
    written = flatten(SAMPLE_CONTENT_DIR, tmp_path / "flat")
    assert "on-call-101.course.yaml" in written
    assert "on-call-101.lessons.severity-levels.md" in written
    tree, flat = load_catalog(SAMPLE_CONTENT_DIR), load_catalog(tmp_path / "flat")
    assert flat.courses == tree.courses
    assert flat.warnings == tree.warnings == ()


def test_several_courses_keep_their_order_flat(files: CourseFiles, tmp_path: Path):
    other = files.root / "0-first"
    shutil.copytree(files.dir, other)
    (other / "course.yaml").write_text(COURSE_YAML.replace("id: demo", "id: zeta"))
    flatten(files.root, tmp_path / "flat")
    tree, flat = load_catalog(files.root), load_catalog(tmp_path / "flat")
    assert list(flat.courses) == list(tree.courses) == ["zeta", "demo"]
    assert flat.courses == tree.courses


def test_a_mounted_configmap_loads(files: CourseFiles, tmp_path: Path):
    flat = flatten(files.root, tmp_path / "flat")
    mounted = mount_like_kubelet(
        {name: path.read_bytes() for name, path in flat.items()}, tmp_path / "mount"
    )
    assert os.path.islink(mounted / "..data")
    assert os.readlink(mounted / "demo.course.yaml") == "..data/demo.course.yaml"
    catalog = load_catalog(mounted)
    assert catalog.courses == load_catalog(files.root).courses
    assert catalog.warnings == ()  # `..data` and the timestamped directory are not courses


def test_problems_in_a_mounted_configmap_cite_the_key(files: CourseFiles, tmp_path: Path):
    broken = files.lesson_file("second").read_text().replace("Second body.", "<b>")
    mounted = mount_like_kubelet(
        {
            "demo.course.yaml": files.course_file.read_bytes(),
            "demo.lessons.first.md": files.lesson_file("first").read_bytes(),
            "demo.lessons.second.md": broken.encode(),
        },
        tmp_path / "mount",
    )
    problem = find(problems_of(mounted), "raw HTML")
    assert problem.file == mounted / "demo.lessons.second.md"  # the key, not ..data/… or ..2025…
    assert KUBELET_STAMP not in str(problem)
    assert problem.line == line_of(mounted / "demo.lessons.second.md", "<b>")


# -- same problems -----------------------------------------------------------------------------


def broken_course(files: CourseFiles) -> None:
    """One course with problems in every kind of file, and a warning."""
    files.course(
        COURSE_YAML.replace("description:", "colour: blue\ndescription:") + "      - missing\n"
    )
    files.lesson(
        "first", files.lesson_file("first").read_text().replace("Which is right?", "x" * 301)
    )
    files.lesson(
        "second",
        files.lesson_file("second").read_text().replace("q-buttons", "q-poll") + "<i>\n",
    )
    files.lesson("orphan", "---\ntitle: O\n---\nO.\n")


def test_every_problem_is_the_same_flat_at_the_flat_file_and_line(
    files: CourseFiles, tmp_path: Path
):
    broken_course(files)
    flatten(files.root, tmp_path / "flat")
    tree, flat = problems_of(files.root), problems_of(tmp_path / "flat")
    assert len(tree) == len(flat) >= 6

    def where(problem, root):
        name = problem.file.relative_to(root).as_posix().replace("/", ".")
        return name, problem.line, problem.warning

    assert sorted(where(p, files.root) for p in tree) == sorted(
        where(p, tmp_path / "flat") for p in flat
    )
    for message in ("unknown key `colour`", "poll question is 301", "raw HTML"):
        assert find(tree, message).message == find(flat, message).message


def test_messages_name_flat_files_in_the_flat_layout(files: CourseFiles, tmp_path: Path):
    broken_course(files)
    flatten(files.root, tmp_path / "flat")
    flat = problems_of(tmp_path / "flat")
    assert "create demo.lessons.missing.md (next to demo.course.yaml)" in (
        find(flat, "lesson `missing` has no file").message
    )
    assert "(demo.lessons.first.md:4)" in find(flat, "question id `q-poll`").message
    assert "in demo.course.yaml, or delete" in find(flat, "no module lists lesson").message
    tree = problems_of(files.root)
    assert "create lessons/missing.md (next to course.yaml)" in (
        find(tree, "lesson `missing` has no file").message
    )
    assert "(lessons/first.md:4)" in find(tree, "question id `q-poll`").message


def test_a_yaml_error_in_a_flat_course_file(tmp_path: Path):
    (tmp_path / "demo.course.yaml").write_text("id: demo\ntitle: [unclosed\n")
    problem = find(problems_of(tmp_path), "YAML syntax error")
    assert problem.file == tmp_path / "demo.course.yaml"


# -- what is not a flat course ---------------------------------------------------------------


def test_a_misnamed_flat_file_is_an_error_not_a_warning(files: CourseFiles, tmp_path: Path):
    flatten(files.root, tmp_path)
    shutil.rmtree(files.root)
    (tmp_path / "demo.course.yaml").rename(tmp_path / "Demo.course.yaml")
    problems = problems_of(tmp_path)
    problem = find(problems, "cannot name a course in the flat layout")
    assert (problem.file, problem.line, problem.warning) == (
        tmp_path / "Demo.course.yaml",
        None,
        False,
    )
    missing = find(problems, "but no demo.course.yaml")
    assert missing.file == tmp_path / "demo.lessons.first.md"


def test_flat_lessons_without_their_course_file(tmp_path: Path):
    (tmp_path / "demo.lessons.first.md").write_text("---\ntitle: T\n---\nT.\n")
    (tmp_path / "demo.course.yml").write_text("id: demo\n")
    problems = problems_of(tmp_path)
    problem = find(problems, "flat lesson files of course `demo` but no demo.course.yaml")
    assert "found demo.course.yml: rename it to demo.course.yaml" in problem.message
    assert problem.file == tmp_path / "demo.lessons.first.md"


def test_other_top_level_files_are_still_only_warnings(files: CourseFiles):
    (files.root / "README.md").write_text("# Our courses\n")
    (files.root / "notes.txt").write_text("")
    catalog = load_catalog(files.root)
    assert [w.file.name for w in catalog.warnings] == ["README.md", "notes.txt"]
    assert "or flat files named <course>.course.yaml and <course>.lessons.<lesson>.md" in (
        catalog.warnings[0].message
    )


def test_hidden_flat_files_are_ignored(files: CourseFiles, tmp_path: Path):
    flatten(files.root, tmp_path)
    shutil.rmtree(files.root)
    (tmp_path / ".demo.course.yaml").write_text("not: a course\n")
    (tmp_path / "demo.lessons..draft.md").write_text("hidden, as lessons/.draft.md is\n")
    assert load_catalog(tmp_path).warnings == ()


def test_an_empty_directory_names_both_layouts(tmp_path: Path):
    problem = find(problems_of(tmp_path), "holds no course")
    assert "<course>.course.yaml" in problem.message


# -- mixing the layouts ------------------------------------------------------------------------


def test_different_courses_may_use_different_layouts(files: CourseFiles, tmp_path: Path):
    flatten(files.root, tmp_path / "flat")
    mixed = tmp_path / "mixed"
    shutil.copytree(files.dir, mixed / "another")
    (mixed / "another" / "course.yaml").write_text(COURSE_YAML.replace("id: demo", "id: other"))
    for path in (tmp_path / "flat").iterdir():
        shutil.copy(path, mixed / path.name)
    assert list(load_catalog(mixed).courses) == ["other", "demo"]  # by name: another, demo


def test_a_course_in_both_forms_is_refused(files: CourseFiles):
    flatten(files.root, files.root)  # demo/… and demo.course.yaml, demo.lessons.… side by side
    problems = problems_of(files.root)
    problem = find(problems, "is both a directory")
    assert problem.file == files.root / "demo.course.yaml"
    assert "keep one form: delete the flat files or the directory" in problem.message
    assert len([p for p in problems if not p.warning]) == 1


def test_the_same_course_id_in_both_forms_is_a_duplicate(files: CourseFiles):
    for name, path in flatten(files.dir, files.root / ".tmp").items():
        path.rename(files.root / f"copy.{name}")  # course `copy`, flat, with the id `demo`
    shutil.rmtree(files.root / ".tmp")
    problem = find(problems_of(files.root), "course id `demo` is also used by")
    assert problem.file == files.course_file  # `copy` sorts first, `demo/` is the repeat
    assert f"{files.root / 'copy.course.yaml'}:1" in problem.message


def test_a_hidden_flat_lesson_alone_is_not_a_course(files: CourseFiles):
    (files.root / "draft.lessons..idea.md").write_text("not yet")
    assert list(load_catalog(files.root).courses) == ["demo"]
    assert load_catalog(files.root).warnings == ()
