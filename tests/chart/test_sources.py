"""The chart's derived files match their single sources: the CRDs, the operator's RBAC rules
and the TrainingBot spec schema (charts/generate.py writes them)."""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.chart.conftest import CHART, REPO


def test_the_generated_files_are_up_to_date():
    result = subprocess.run(
        [sys.executable, str(REPO / "charts" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (
        f"{result.stdout}{result.stderr}\n(run .venv/bin/python charts/generate.py)"
    )


def test_the_charts_crds_are_identical_to_the_top_level_ones():
    top = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    chart = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert "trainingbots.trainingbot.dev.yaml" in top
    assert chart == top


def test_the_rules_file_is_trainingbot_operator_rbac():
    from trainingbot_operator import rbac

    rules = yaml.safe_load((CHART / "files" / "operator-rules.yaml").read_text())
    assert rules["namespaced"] == rbac.NAMESPACED_RULES
    assert rules["clusterScoped"]["namespacedMode"] == rbac.cluster_rules(clusterwide=False)
    assert rules["clusterScoped"]["clusterWideMode"] == rbac.cluster_rules(clusterwide=True)
    assert rules["namespaced"] + rules["clusterScoped"]["clusterWideMode"] == rbac.OPERATOR_RULES
