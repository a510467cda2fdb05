"""`training-bot content pack DIR`: a ConfigMap the operator can mount at CONTENT_DIR as it is."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from trainingbot import cli
from trainingbot.content import SAMPLE_CONTENT_DIR, load_catalog
from trainingbot.content.pack import (
    CONFIGMAP_DATA_LIMIT,
    apply_annotation_size,
    build_configmap,
    main,
    render_manifest,
    size_problems,
)

from .conftest import COURSE_YAML, CourseFiles, mount_like_kubelet

# Kubernetes' IsConfigMapKey, as the task states it (not the pattern of the code under test).
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def pack(capsys, directory: Path, *args: str, **options) -> tuple[int, str, str]:
    code = main(directory, *args, **options)
    out, err = capsys.readouterr()
    return code, out, err


def unpack(manifest: dict, target: Path) -> Path:
    target.mkdir(parents=True)
    for key, text in manifest["data"].items():
        (target / key).write_text(text, encoding="utf-8")
    return target


def test_the_sample_course_packs_into_a_valid_configmap(capsys, tmp_path: Path):
    code, out, err = pack(capsys, SAMPLE_CONTENT_DIR, "onboarding-courses", "training")
    assert code == 0, err
    manifest = yaml.safe_load(out)
    assert manifest["apiVersion"] == "v1" and manifest["kind"] == "ConfigMap"
    assert manifest["metadata"]["name"] == "onboarding-courses"
    assert manifest["metadata"]["namespace"] == "training"
    assert set(manifest) == {"apiVersion", "kind", "metadata", "data"}
    data = manifest["data"]
    assert all(isinstance(v, str) for v in data.values())
    for key in data:
        assert CONFIGMAP_KEY.match(key) and len(key) <= 253 and not key.startswith(".."), key
    assert "on-call-101.course.yaml" in data
    assert "on-call-101.lessons.severity-levels.md" in data
    assert len(data) == 1 + len(load_catalog(SAMPLE_CONTENT_DIR).course("on-call-101").lessons)
    assert sum(len(v.encode()) for v in data.values()) <= 1024 * 1024
    unpacked = load_catalog(unpack(manifest, tmp_path / "unpacked"))
    assert unpacked.courses == load_catalog(SAMPLE_CONTENT_DIR).courses
    # stderr carries what `validate` prints, then the ConfigMap's size; stdout only YAML
    assert err.startswith(f"{SAMPLE_CONTENT_DIR}: OK — 1 course")
    assert "ConfigMap onboarding-courses: 12 files" in err


def test_lessons_stay_readable_as_yaml_blocks(capsys):
    code, out, _ = pack(capsys, SAMPLE_CONTENT_DIR)
    assert code == 0
    assert "  on-call-101.course.yaml: |\n    # On-call 101" in out
    assert out.startswith("# Course files for a TrainingBot")


def test_default_name_and_no_namespace(capsys, files: CourseFiles):
    manifest = yaml.safe_load(pack(capsys, files.root)[1])
    assert manifest["metadata"]["name"] == "training-bot-content"
    assert "namespace" not in manifest["metadata"]
    assert manifest["metadata"]["labels"]["app.kubernetes.io/part-of"] == "telegram-training-bot"


def test_only_what_the_bot_serves_is_packed(capsys, files: CourseFiles):
    files.lesson("orphan", "---\ntitle: O\n---\nO.\n")
    files.write("lessons/notes.txt", "scratch")
    files.write("README.md", "about this course")
    code, out, err = pack(capsys, files.root)
    assert code == 0
    assert sorted(yaml.safe_load(out)["data"]) == [
        "demo.course.yaml",
        "demo.lessons.first.md",
        "demo.lessons.second.md",
    ]
    assert "warning: no module lists lesson `orphan`" in err  # as `validate` says it


def test_a_flat_or_mounted_directory_packs_to_the_same_keys(capsys, files: CourseFiles, tmp_path):
    tree = yaml.safe_load(pack(capsys, files.root)[1])["data"]
    mounted = mount_like_kubelet(
        {key: text.encode() for key, text in tree.items()}, tmp_path / "mount"
    )
    assert yaml.safe_load(pack(capsys, mounted)[1])["data"] == tree


def test_tricky_text_survives_the_manifest():
    data = {
        "a.lessons.x.md": "---\ntitle: T\n---\ntrailing spaces   \n  indented first\n",
        "a.lessons.y.md": "no newline at the end: `x` & <y> «ü» 🚀",
        "a.lessons.z.md": "  leading spaces\n\n\nthree newlines\n\n\n",
        "a.lessons.w.md": "quotes \" ' and a tab\there\n# not a comment\n- not a list\n",
    }
    manifest = build_configmap(data, "x")
    assert yaml.safe_load(render_manifest(manifest))["data"] == data


# -- refusing ----------------------------------------------------------------------------------


def test_invalid_content_exits_1_with_validates_messages(capsys, files: CourseFiles):
    files.course(COURSE_YAML.replace("title: Demo course", "titel: X"))
    code, out, err = pack(capsys, files.root)
    assert code == 1 and out == ""
    assert f"{files.course_file}:2: unknown key `titel`" in err
    assert err.splitlines()[-1] == (
        f"2 problems in {files.root}: fix them and run `training-bot content validate` again"
    )


def test_a_missing_directory_exits_2(capsys, tmp_path: Path):
    code, out, err = pack(capsys, tmp_path / "nowhere")
    assert (code, out) == (2, "")
    assert "the content directory does not exist" in err


def test_a_course_directory_that_cannot_be_a_flat_name(capsys, files: CourseFiles):
    files.dir.rename(files.root / "Demo Course")
    code, out, err = pack(capsys, files.root)
    assert code == 1 and out == ""
    assert (
        f"{files.root / 'Demo Course'}: cannot pack this course: `Demo Course` cannot name" in err
    )
    assert "for example `demo-course`" in err
    assert err.splitlines()[-1].startswith(f"1 problem packing {files.root}")


def test_more_than_1_mib_is_refused(capsys, files: CourseFiles):
    # YAML comments are valid content of any size: a cheap way past the ConfigMap limit.
    filler = ("# " + "x" * 98 + "\n") * (CONFIGMAP_DATA_LIMIT // 100 + 1)
    files.course(COURSE_YAML + filler)
    code, out, err = pack(capsys, files.root)
    assert code == 1 and out == ""
    assert "a ConfigMap holds at most 1 MiB (1048576 bytes)" in err
    assert "largest courses: demo (" in err


def test_the_limit_is_on_the_values_bytes(tmp_path: Path):
    at_limit = {"a.course.yaml": "é" * (CONFIGMAP_DATA_LIMIT // 2)}  # 2 bytes each in UTF-8
    assert size_problems(tmp_path, at_limit) == []
    over = {**at_limit, "a.lessons.b.md": "x"}
    (problem,) = size_problems(tmp_path, over)
    assert f"come to {CONFIGMAP_DATA_LIMIT + 1} bytes" in problem.message


def test_a_big_manifest_warns_about_client_side_apply(capsys, files: CourseFiles):
    files.course(COURSE_YAML + ("# <" + "x" * 97 + "\n") * 3000)  # ~300 KB, well under 1 MiB
    code, out, err = pack(capsys, files.root)
    assert code == 0 and out
    assert "warning: this manifest is about" in err
    assert "kubectl apply --server-side -f -" in err
    assert apply_annotation_size(yaml.safe_load(out)) > 256 * 1024


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "Onboarding"}, "--name `Onboarding` is not a valid ConfigMap name"),
        ({"name": "a" * 254}, "is not a valid ConfigMap name"),
        ({"namespace": "team.a"}, "--namespace `team.a` is not a valid namespace"),
    ],
)
def test_bad_names_exit_2(capsys, files: CourseFiles, options: dict, message: str):
    code, out, err = pack(capsys, files.root, **options)
    assert (code, out) == (2, "")
    assert message in err


# -- --output-dir --------------------------------------------------------------------------------


def test_output_dir_holds_the_flat_files(capsys, files: CourseFiles, tmp_path: Path):
    target = tmp_path / "build" / "courses"
    code, out, err = pack(capsys, files.root, name="onboarding", output_dir=target)
    assert code == 0, err
    assert sorted(p.name for p in target.iterdir()) == [
        "demo.course.yaml",
        "demo.lessons.first.md",
        "demo.lessons.second.md",
    ]
    assert f"`kubectl create configmap onboarding --from-file={target}`" in out
    assert load_catalog(target).courses == load_catalog(files.root).courses
    # Packing again into the same directory is fine: it holds only what is written now.
    assert pack(capsys, files.root, output_dir=target)[0] == 0


def test_output_dir_with_other_files_is_refused(capsys, files: CourseFiles, tmp_path: Path):
    target = tmp_path / "out"
    assert pack(capsys, files.root, output_dir=target)[0] == 0
    (target / "demo.lessons.deleted-since.md").write_text("left from an earlier pack")
    code, _, err = pack(capsys, files.root, output_dir=target)
    assert code == 2
    assert f"{target}: holds demo.lessons.deleted-since.md, which this content does not" in err
    assert (target / "demo.lessons.deleted-since.md").exists()  # nothing is deleted


def test_output_dir_inside_the_content_is_refused(capsys, files: CourseFiles):
    code, _, err = pack(capsys, files.root, output_dir=files.root / "flat")
    assert code == 2 and "is inside the content directory" in err
    assert not (files.root / "flat").exists()


# -- the command line ----------------------------------------------------------------------------


def test_pack_through_the_command_line(capsys, monkeypatch, tmp_path: Path):
    # In-process: the parser's wiring is what is tested; a subprocess would pay the start-up
    # (aiogram, imported to measure buttons) again. `validate`'s test runs the real script.
    shutil.copytree(SAMPLE_CONTENT_DIR, tmp_path / "courses")
    monkeypatch.chdir(tmp_path)
    argv = ["content", "pack", "courses", "--name", "onboarding-courses", "--namespace", "t"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    manifest = yaml.safe_load(out)
    assert manifest["metadata"] == {
        "name": "onboarding-courses",
        "namespace": "t",
        "labels": {
            "app.kubernetes.io/part-of": "telegram-training-bot",
            "app.kubernetes.io/component": "content",
        },
    }
    assert "on-call-101.course.yaml" in manifest["data"]
    assert err.startswith("courses: OK — 1 course")
    assert cli.main([*argv[:3], "--output-dir", "flat"]) == 0
    assert "wrote 12 files" in capsys.readouterr().out
    assert load_catalog(tmp_path / "flat").courses == load_catalog(SAMPLE_CONTENT_DIR).courses
