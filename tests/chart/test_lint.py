"""`helm lint --strict` is clean for the default values and every ci/*-values.yaml."""

from __future__ import annotations

import pytest

from tests.chart.conftest import CHART, CI_VALUES, KUBE_VERSION, helm


def test_there_are_ci_variants():
    assert len(CI_VALUES) >= 5


@pytest.mark.parametrize("values", [None, *CI_VALUES], ids=lambda p: p.name if p else "default")
def test_helm_lint_strict_is_clean(values):
    args = ["lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION]
    if values:
        args += ["-f", str(values)]
    result = helm(*args, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # --strict turns warnings into failures; INFO (an icon is recommended) is all that may show.
    findings = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert all(line.startswith("[INFO]") for line in findings), findings
