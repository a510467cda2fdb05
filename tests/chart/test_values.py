"""Wrong values are refused before anything reaches a cluster: values.schema.json for shapes,
the validateValues helper for contradictions, every problem reported at once."""

from __future__ import annotations

import json

import pytest

from tests.chart.conftest import CHART, bot_values, render_error


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"unknown": 1}, "additional properties 'unknown' not allowed"),
        ({"operator": {"replicaCout": 2}}, "additional properties 'replicaCout' not allowed"),
        ({"operator": {"logFormat": "xml"}}, "value must be one of 'json', 'text'"),
        ({"image": {"tag": "latest"}}, "/image/tag"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"bots": [{"name": "x" * 41, "spec": {}}]}, "/bots/0/name"),
        ({"bots": [{"name": "a"}]}, "missing property 'spec'"),
        ({"bots": [bot_values(mode="smoke-signals")]}, "/bots/0/spec/mode"),
        ({"bots": [bot_values(replicas=0)]}, "/bots/0/spec/replicas"),
        ({"bots": [bot_values(colour="red")]}, "additional properties 'colour' not allowed"),
        ({"bots": [bot_values(redis={"urlSecretRef": {"name": "s"}})]}, "missing property 'key'"),
    ],
    ids=[
        "top-level key",
        "operator key",
        "enum",
        "latest",
        "pull policy",
        "long bot name",
        "bot without spec",
        "bot mode",
        "bot replicas",
        "bot spec key",
        "secret ref key",
    ],
)
def test_the_schema_refuses(values, expected):
    assert expected in render_error(values)


def test_validate_values_reports_every_problem_at_once():
    error = render_error(
        {
            "operator": {
                "clusterWide": True,
                "watchNamespaces": ["a"],
                "replicaCount": 2,
                "peering": {"enabled": False, "name": "p"},
            },
            "bots": [
                bot_values("a", redis={}),
                {
                    **bot_values("a", image="bot:latest"),
                    "spec": {
                        **bot_values("a")["spec"],
                        "mode": "webhook",
                        "telegram": {"tokenSecretRef": {"name": "s", "key": "t"}},
                    },
                },
            ],
        }
    )
    expected = [
        "operator.watchNamespaces must be empty when operator.clusterWide is true",
        "operator.replicaCount is 2 but operator.peering.enabled is false",
        "bots[0] (a): spec.redis must set exactly one of urlSecretRef and sentinel",
        "bots[1] (a): another bot in namespace training has the same name",
        "bots[1] (a): spec.telegram.webhook (url and secretTokenSecretRef) is required",
    ]
    for message in expected:
        assert message in error, f"{message!r} not in:\n{error}"


def test_a_bot_in_a_namespace_the_operator_does_not_watch_is_refused():
    values = {**bot_values("x"), "namespace": "elsewhere"}
    error = render_error({"bots": [values]})
    assert "bots[0] (x): namespace elsewhere is not watched by the operator (training)" in error


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"courses": {}}, "no course content"),
        ({"spec": {"content": {"configMapName": "c"}}}, "either courses or spec.content"),
        (
            {"spec": {"migrations": {"backup": {"enabled": True}}}},
            "persistentVolumeClaimName is required",
        ),
        ({"spec": {"image": "bot:latest"}}, "name a release, not :latest"),
    ],
)
def test_validate_values_checks_each_bot(change, expected):
    bot = bot_values("b")
    bot.update({k: v for k, v in change.items() if k != "spec"})
    bot["spec"].update(change.get("spec", {}))
    assert expected in render_error({"bots": [bot]})


def test_every_value_in_values_yaml_is_documented_where_declared():
    """Each key of values.yaml has a `## @param <path>` comment (bitnami's convention)."""
    import yaml

    text = (CHART / "values.yaml").read_text()
    documented = {
        line.split()[2] for line in text.splitlines() if line.strip().startswith("## @param ")
    }

    def paths(node, prefix=""):
        for key, value in node.items():
            path = f"{prefix}{key}"
            yield path
            # Maps that are values themselves (resources, security contexts...) are documented
            # as a whole; their inner keys are Kubernetes' own.
            if isinstance(value, dict) and value and path not in documented:
                yield from paths(value, path + ".")

    missing = [
        p
        for p in paths(yaml.safe_load(text))
        if p not in documented and not any(d.startswith(p + ".") for d in documented)
    ]
    assert not missing, f"undocumented values: {missing}"


def test_the_schema_is_strict_everywhere_it_declares_properties():
    schema = json.loads((CHART / "values.schema.json").read_text())

    def loose(node, path="$"):
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                yield path
            for key, value in node.items():
                yield from loose(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from loose(value, f"{path}[{i}]")

    # The CRD's open maps (podAnnotations, resources...) declare additionalProperties schemas.
    assert list(loose(schema)) == []
