"""The CRD file: valid, strict, and in agreement with the models (fields, enums, defaults)."""

from __future__ import annotations

import copy
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from trainingbot_operator import models

from tests.operator import factories as f

CRDS = Path(__file__).resolve().parents[2] / "crds"


@pytest.fixture(scope="module")
def crd() -> dict:
    return yaml.safe_load((CRDS / "trainingbots.trainingbot.dev.yaml").read_text())


@pytest.fixture(scope="module")
def version(crd) -> dict:
    (only,) = crd["spec"]["versions"]
    return only


@pytest.fixture(scope="module")
def schema(version) -> dict:
    return version["schema"]["openAPIV3Schema"]


def test_the_crd_names_the_resource_as_the_design_says(crd, version):
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "trainingbots.trainingbot.dev"
    assert spec["group"] == models.GROUP == "trainingbot.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == models.KIND
    assert spec["names"]["plural"] == models.PLURAL
    assert spec["names"]["shortNames"] == ["tbot"]
    assert version["name"] == models.VERSION and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Phase"] == ".status.phase"
    assert columns["Image"] == ".status.image"
    assert columns["Ready"] == ".status.ready"
    assert columns["Age"] == ".metadata.creationTimestamp"


def test_the_schema_requires_what_the_bot_cannot_run_without(schema):
    spec = schema["properties"]["spec"]
    assert set(spec["required"]) == {"image", "telegram", "database", "redis"}
    assert spec["properties"]["telegram"]["required"] == ["tokenSecretRef"]
    assert spec["properties"]["database"]["required"] == ["urlSecretRef"]


def _rules(node: Any) -> list[dict]:
    found = []
    if isinstance(node, dict):
        found += node.get("x-kubernetes-validations", [])
        for value in node.values():
            found += _rules(value)
    elif isinstance(node, list):
        for value in node:
            found += _rules(value)
    return found


def test_cross_field_rules_have_messages_naming_the_field(schema):
    messages = {rule["message"] for rule in _rules(schema)}
    for expected in (
        "spec.telegram.webhook",
        "spec.redis",
        "persistentVolumeClaimName",
        "spec.image",
        "metadata.name",
    ):
        assert any(expected in m for m in messages), expected


def test_bounds_allow_the_small_timings_tests_use(schema):
    rollout = schema["properties"]["spec"]["properties"]["rollout"]["properties"]
    assert rollout["progressDeadlineSeconds"]["minimum"] == 5
    assert rollout["monitorSeconds"]["minimum"] == 0
    threshold = schema["properties"]["spec"]["properties"]["monitoring"]["properties"][
        "prometheusRule"
    ]["properties"]["errorRateThreshold"]
    assert (threshold["minimum"], threshold["exclusiveMinimum"], threshold["maximum"]) == (
        0,
        True,
        1,
    )


# --- models and CRD agree ---------------------------------------------------------------


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation like `Foo | None` or `tuple[Foo, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (
        typing.Union,
        tuple,
        list,
    ):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _node(schema: dict) -> dict:
    return schema["items"] if schema.get("type") == "array" else schema


def _compare_fields(model: type[BaseModel], schema: dict, path: str) -> list[str]:
    problems = []
    properties = _node(schema).get("properties", {})
    aliases = {}
    for name, field in model.model_fields.items():
        alias = field.alias or name
        aliases[alias] = field
        if alias not in properties:
            problems.append(f"{path}.{alias}: in the model, not in the CRD (pruned on write)")
            continue
        nested = _model_of(field.annotation)
        if nested is not None:
            problems += _compare_fields(nested, properties[alias], f"{path}.{alias}")
    for key in properties:
        if key not in aliases:
            problems.append(f"{path}.{key}: in the CRD, not in the model (ignored)")
    return problems


def test_every_spec_field_exists_in_both(schema):
    assert _compare_fields(models.TrainingBotSpec, schema["properties"]["spec"], "spec") == []


def test_every_status_field_survives_the_schema(schema):
    assert _compare_fields(models.TrainingBotStatus, schema["properties"]["status"], "status") == []


def _apply_defaults(value: Any, schema: dict) -> Any:
    """Structural defaulting as the API server does it: absent fields get their default,
    including object defaults, whose own fields are then defaulted in turn."""
    if isinstance(value, dict) and "properties" in schema:
        for key, sub in schema["properties"].items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = _apply_defaults(value[key], sub)
    if isinstance(value, list) and "items" in schema:
        return [_apply_defaults(v, schema["items"]) for v in value]
    return value


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"redis": {"sentinel": {"hosts": ["s:26379"]}}},
        {"migrations": {"backup": {"enabled": True, "persistentVolumeClaimName": "b"}}},
        {"monitoring": {"serviceMonitor": {}, "prometheusRule": {"labels": {"a": "b"}}}},
    ],
)
def test_model_defaults_are_the_crd_defaults(schema, variant):
    minimal = f.spec_dict(**variant)
    del minimal["content"], minimal["adminIds"]
    defaulted = _apply_defaults(copy.deepcopy(minimal), schema["properties"]["spec"])
    assert defaulted != minimal  # the CRD filled something in
    assert models.parse_spec(defaulted) == models.parse_spec(minimal)


def _enum(schema: dict, *path: str) -> list[str]:
    node = schema
    for key in path:
        node = _node(node)["properties"][key]
    return node["enum"]


def test_enums_match_the_models(schema):
    assert _enum(schema, "spec", "mode") == [m.value for m in models.Mode]
    assert _enum(schema, "status", "phase") == [p.value for p in models.Phase]
    assert _enum(schema, "status", "migration", "phase") == [p.value for p in models.MigrationPhase]
    assert _enum(schema, "status", "rollout", "step") == [s.value for s in models.RolloutStep]


def test_the_peering_crds_are_kopfs(schema):
    for name, scope in (
        ("kopfpeerings.kopf.dev", "Namespaced"),
        ("clusterkopfpeerings.kopf.dev", "Cluster"),
    ):
        crd = yaml.safe_load((CRDS / f"{name}.yaml").read_text())
        assert crd["metadata"]["name"] == name
        assert crd["spec"]["group"] == "kopf.dev"
        assert crd["spec"]["scope"] == scope
        (version,) = crd["spec"]["versions"]
        assert version["name"] == "v1"
        status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
        assert status["x-kubernetes-preserve-unknown-fields"] is True
