"""`training-bot content pack DIR`: course files as one ConfigMap, for the operator to mount.

A ConfigMap key cannot hold `/`, so each file goes under its flat name (`layout.flat_name`:
`on-call-101/lessons/escalation.md` → `on-call-101.lessons.escalation.md`), which the loader
reads as it is when the operator mounts the whole ConfigMap at CONTENT_DIR. DIR is validated
first, with `validate`'s messages and exit codes; only the files the bot serves are packed
(course.yaml and each listed lesson), not the files the validator warned about.

    training-bot content pack courses/ --name onboarding-courses | kubectl apply -f -
    training-bot content pack courses/ --output-dir build/courses   # flat files instead
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .layout import flat_course_problem, flat_name, hidden
from .loader import LoadedContent
from .problems import Problem, sort_problems
from .validate import EXIT_INVALID, EXIT_OK, check

EXIT_USAGE = 2  # a bad --name, --namespace or --output-dir (2, as for a bad DIR and argparse)

DEFAULT_NAME = "training-bot-content"

# The API server's limits (k8s.io/apimachinery validation; ValidateConfigMap):
CONFIGMAP_KEY_PATTERN = re.compile(r"[-._a-zA-Z0-9]+")  # IsConfigMapKey, never `.`/`..`-led
CONFIGMAP_KEY_LIMIT = 253  # IsConfigMapKey: DNS1123SubdomainMaxLength
CONFIGMAP_DATA_LIMIT = 1024 * 1024  # bytes of data and binaryData values together (1 MiB)
ANNOTATIONS_LIMIT = 256 * 1024  # all annotations of an object; client-side apply fills one
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS_SUBDOMAIN_LIMIT = 253  # a ConfigMap's name
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_LABEL_LIMIT = 63  # a namespace's name

LABELS = {
    "app.kubernetes.io/part-of": "telegram-training-bot",
    "app.kubernetes.io/component": "content",
}
HEADER = (
    "# Course files for a TrainingBot (spec.content.configMapName), made by\n"
    "# `training-bot content pack`. Edit the course files and pack again, not this.\n"
)


def main(
    directory: Path,
    name: str | None = None,
    namespace: str | None = None,
    output_dir: Path | None = None,
) -> int:
    usage = [
        problem
        for problem in (name_problem(name or DEFAULT_NAME), namespace_problem(namespace))
        if problem
    ]
    if usage:
        print("\n".join(usage), file=sys.stderr)
        return EXIT_USAGE
    code, content = check(directory, summary_to=sys.stderr)
    if content is None:
        return code
    data, problems = flat_files(content)
    problems += size_problems(directory, data)
    if problems:
        for problem in sort_problems(problems):
            print(problem, file=sys.stderr)
        print(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} packing {directory}: "
            "fix them and run `training-bot content pack` again",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if output_dir is not None:
        return _write(directory, output_dir, data, name, namespace)
    manifest = build_configmap(data, name or DEFAULT_NAME, namespace)
    print(f"ConfigMap {manifest['metadata']['name']}: {_files_and_size(data)}", file=sys.stderr)
    if (size := apply_annotation_size(manifest)) > ANNOTATIONS_LIMIT:
        print(
            f"warning: this manifest is about {_kib(size)}; client-side `kubectl apply` "
            "copies it into the annotation kubectl.kubernetes.io/last-applied-configuration, "
            f"and an object's annotations may hold {_kib(ANNOTATIONS_LIMIT)} — apply it with "
            "`kubectl apply --server-side -f -`",
            file=sys.stderr,
        )
    sys.stdout.write(render_manifest(manifest))
    return EXIT_OK


# -- pure parts ---------------------------------------------------------------------------------


def flat_files(content: LoadedContent) -> tuple[dict[str, str], list[Problem]]:
    """Flat name → text of every file the catalog was built from, sorted by name."""
    data: dict[str, str] = {}
    problems: list[Problem] = []
    for sourced in content.courses:
        source = sourced.source
        if problem := flat_course_problem(source.name):  # only a tree directory can fail here
            problems.append(
                Problem(source.where(), None, f"cannot pack this course: {problem} — rename it")
            )
            continue
        for relative in sourced.files:
            key = flat_name(source.name, relative)
            if problem := configmap_key_problem(key):
                problems.append(Problem(source.path(relative), None, problem))
                continue
            # As the loader read it: UTF-8 (checked), newlines normalised, no byte-order mark.
            data[key] = source.path(relative).read_text(encoding="utf-8").removeprefix("\ufeff")
    return dict(sorted(data.items())), problems


def configmap_key_problem(key: str) -> str | None:
    if len(key) > CONFIGMAP_KEY_LIMIT:
        return (
            f"the ConfigMap key `{key}` is {len(key)} characters; Kubernetes allows "
            f"{CONFIGMAP_KEY_LIMIT} — shorten the course directory name or the lesson id"
        )
    if not CONFIGMAP_KEY_PATTERN.fullmatch(key) or key.startswith(".."):
        return (
            f"`{key}` is not a valid ConfigMap key: use letters, digits, `-`, `_` and `.` "
            "— rename the file"
        )
    return None


def data_size(data: Mapping[str, str]) -> int:
    """What the API server holds against the 1 MiB limit: the values' bytes (not the keys)."""
    return sum(len(text.encode("utf-8")) for text in data.values())


def size_problems(directory: Path, data: Mapping[str, str]) -> list[Problem]:
    size = data_size(data)
    if size <= CONFIGMAP_DATA_LIMIT:
        return []
    by_course: dict[str, int] = {}
    for key, text in data.items():
        course = key.partition(".")[0]
        by_course[course] = by_course.get(course, 0) + len(text.encode("utf-8"))
    largest = sorted(by_course.items(), key=lambda item: -item[1])[:3]
    listed = ", ".join(f"{course} ({_kib(n)})" for course, n in largest)
    return [
        Problem(
            directory,
            None,
            f"the course files come to {size} bytes ({_kib(size)}); a ConfigMap holds at most "
            f"1 MiB ({CONFIGMAP_DATA_LIMIT} bytes), and a TrainingBot mounts one — largest "
            f"courses: {listed}. Move some courses to another bot's content, or shorten "
            f"lessons by {size - CONFIGMAP_DATA_LIMIT} bytes",
        )
    ]


def build_configmap(
    data: Mapping[str, str], name: str, namespace: str | None = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = dict(LABELS)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data)}


def render_manifest(manifest: Mapping[str, Any]) -> str:
    """YAML with each multi-line file as a `|` block, so a reviewer can read the lessons."""
    return HEADER + yaml.dump(
        manifest, Dumper=_ManifestDumper, sort_keys=False, allow_unicode=True, width=100
    )


def apply_annotation_size(manifest: Mapping[str, Any]) -> int:
    """About the bytes `kubectl apply` stores in its last-applied annotation (compact JSON).

    Go's encoder writes `<`, `>` and `&` as six-byte escapes; lessons are full of them.
    """
    text = json.dumps(manifest, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8")) + 5 * sum(text.count(c) for c in "<>&")


def name_problem(name: str) -> str | None:
    if len(name) <= DNS_SUBDOMAIN_LIMIT and DNS_SUBDOMAIN.fullmatch(name):
        return None
    return (
        f"--name `{name}` is not a valid ConfigMap name: use at most {DNS_SUBDOMAIN_LIMIT} "
        "lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit"
    )


def namespace_problem(namespace: str | None) -> str | None:
    if namespace is None or (len(namespace) <= DNS_LABEL_LIMIT and DNS_LABEL.fullmatch(namespace)):
        return None
    return (
        f"--namespace `{namespace}` is not a valid namespace: use at most {DNS_LABEL_LIMIT} "
        "lowercase letters, digits and `-`, starting and ending with a letter or digit"
    )


class _ManifestDumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted scalar by itself where a block cannot hold the text exactly
    # (trailing spaces on a line, control characters), so every value round-trips.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ManifestDumper.add_representer(str, _represent_str)


# -- --output-dir -------------------------------------------------------------------------------


def _write(
    directory: Path,
    output_dir: Path,
    data: Mapping[str, str],
    name: str | None,
    namespace: str | None,
) -> int:
    if problem := output_dir_problem(directory, output_dir, data):
        print(f"{output_dir}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        for key, text in data.items():
            (output_dir / key).write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        print(f"{output_dir}: cannot write the files ({exc.strerror})", file=sys.stderr)
        return EXIT_USAGE
    command = f"kubectl create configmap {name or DEFAULT_NAME} --from-file={output_dir}"
    if namespace:
        command += f" --namespace {namespace}"
    print(f"{output_dir}: wrote {_files_and_size(data)} — for example `{command}`")
    return EXIT_OK


def output_dir_problem(directory: Path, output_dir: Path, data: Mapping[str, str]) -> str | None:
    """Why the flat files cannot go to `output_dir`; it may exist, holding only earlier ones.

    A file left from an earlier pack (a lesson since deleted) would end up in the ConfigMap,
    so anything that is not one of the files written now must be removed first; nothing is
    deleted here.
    """
    source, target = directory.resolve(), output_dir.resolve()
    if target == source or target.is_relative_to(source):
        return f"is inside the content directory {directory}: choose a directory outside it"
    if target.exists() and not target.is_dir():
        return "is a file: choose a directory"
    if not target.is_dir():
        return None
    stray = sorted(
        entry.name
        for entry in target.iterdir()
        if not hidden(entry.name) and (entry.name not in data or not entry.is_file())
    )
    if not stray:
        return None
    shown = ", ".join(stray[:3]) + (f" and {len(stray) - 3} more" if len(stray) > 3 else "")
    return (
        f"holds {shown}, which this content does not have — `kubectl create configmap "
        "--from-file` would pack it too: empty the directory or choose a new one"
    )


def _files_and_size(data: Mapping[str, str]) -> str:
    count = len(data)
    return f"{count} file{'s' if count != 1 else ''}, {_kib(data_size(data))} of 1 MiB"


def _kib(size: int) -> str:
    return f"{size / 1024:.1f} KiB"
