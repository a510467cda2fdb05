"""The example Alertmanager routing, checked and exercised with the real amtool."""

from __future__ import annotations

import pytest

from trainingbot_operator import alerts

from tests.monitoring.conftest import MONITORING, output, run

CONFIG = MONITORING / "alertmanager.yml"

# The runbook's "Alert channels": PagerDuty (critical), Slack #bot-alerts (warning), email (info);
# a page is also posted to Slack so that the team sees it.
RECEIVERS = {
    "P1": "pagerduty-oncall,slack-bot-alerts",
    "P2": "slack-bot-alerts",
    "P3": "team-email",
}


def test_amtool_accepts_the_config(amtool):
    result = run(amtool, "check-config", CONFIG)
    assert result.returncode == 0, output(result)


@pytest.mark.parametrize("priority", sorted(RECEIVERS))
def test_alerts_route_by_priority(amtool, priority):
    severity = alerts.SEVERITY_BY_PRIORITY[priority]
    result = run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"--verify.receivers={RECEIVERS[priority]}",
        "alertname=TrainingBotDown",
        f"priority={priority}",
        f"severity={severity}",
    )
    assert result.returncode == 0, output(result)


def test_every_priority_of_the_rules_has_a_route():
    assert {r.priority for r in alerts.alert_rules()} <= set(RECEIVERS)
