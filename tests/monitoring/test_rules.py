"""The alert rules of src/operator/alerts.py as data: shape, priorities, scoping, metric names."""

from __future__ import annotations

import re

import pytest
from prometheus_client.metrics import MetricWrapperBase

from trainingbot.metrics import BotMetrics
from trainingbot_operator import alerts

from tests.monitoring.promql import Selector, selectors

BOT_SELECTOR = {"namespace": "team-a", "service": "oncall-bot-metrics"}
OPERATOR_SELECTOR = {"namespace": "trainingbot-system", "job": "trainingbot-operator"}
TRAININGBOT = alerts.trainingbot_labels("team-a", "oncall-bot")


def scoped_rules(**overrides) -> list[alerts.AlertRule]:
    options = {
        "selector": BOT_SELECTOR,
        "operator_selector": OPERATOR_SELECTOR,
        "trainingbot": TRAININGBOT,
        **overrides,
    }
    return alerts.alert_rules(**options)


def bot_metric_labels() -> dict[str, set[str]]:
    """Every series name BotMetrics exports, with its labels (counters as *_total, ...)."""
    suffixes = {
        "counter": ("_total",),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count"),
        "info": ("_info",),
    }
    result: dict[str, set[str]] = {}
    for metric in vars(BotMetrics()).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        (family,) = metric.describe()
        labels = set(metric._labelnames)  # prometheus_client has no public accessor
        for suffix in suffixes[family.type]:
            extra = {"le"} if suffix == "_bucket" else set()
            result[family.name + suffix] = labels | extra
        if family.type == "info":
            result[family.name + "_info"] |= {"version"}
    return result


def exported_labels() -> dict[str, set[str]]:
    """Every metric a rule may use: the bot's, the operator's (the agreed list) and `up`."""
    operator = {name: set(labels) for name, labels in alerts.OPERATOR_METRICS.items()}
    return {**bot_metric_labels(), **operator, "up": {"job", "instance"}}


def test_priorities_map_to_severities():
    assert alerts.SEVERITY_BY_PRIORITY == {"P1": "critical", "P2": "warning", "P3": "info"}
    rules = alerts.alert_rules()
    for rule in rules:
        labels = rule.to_prometheus()["labels"]
        assert labels == {"priority": rule.priority, "severity": rule.severity}
        assert labels["severity"] == alerts.SEVERITY_BY_PRIORITY[labels["priority"]]
    assert {r.priority for r in rules} == {"P1", "P2", "P3"}


def test_every_rule_has_the_fields_prometheus_and_the_runbook_need():
    groups = alerts.prometheus_rule_groups()
    assert [g["name"] for g in groups] == list(alerts.GROUP_ORDER)
    names = []
    for group in groups:
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
            assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
            assert re.fullmatch(r"TrainingBot[A-Z][A-Za-z]+", rule["alert"])
            assert re.fullmatch(r"\d+[smh]", rule["for"])
            assert all(isinstance(v, str) and v for v in rule["annotations"].values())
            names.append(rule["alert"])
    assert len(names) == len(set(names)), "alert names must be unique"


def test_the_runbook_url_is_the_base_and_the_alert_anchor():
    base = "https://git.example.com/bot/blob/main/docs/RUNBOOK.md"
    for rule in alerts.alert_rules(runbook_base_url=base):
        assert rule.runbook_url == f"{base}#{rule.alert.lower()}"
    for rule in alerts.alert_rules():
        assert rule.runbook_url == f"docs/RUNBOOK.md#{alerts.runbook_anchor(rule.alert)}"


def test_the_required_alerts_exist_with_their_priorities():
    priorities = {r.alert: r.priority for r in alerts.alert_rules()}
    assert priorities == {
        "TrainingBotDown": "P1",
        "TrainingBotNotProcessingUpdates": "P1",
        "TrainingBotRedisDisconnected": "P1",
        "TrainingBotDatabaseUnavailable": "P1",
        "TrainingBotInstanceDown": "P2",
        "TrainingBotHighErrorRate": "P2",
        "TrainingBotHighLatency": "P2",
        "TrainingBotMemoryLeak": "P2",
        "TrainingBotMemoryHigh": "P2",
        "TrainingBotDatabasePoolExhausted": "P2",
        "TrainingBotPollingConflict": "P2",
        "TrainingBotTelegramApiErrors": "P3",
        "TrainingBotMigrationFailed": "P2",
        "TrainingBotRolledBack": "P2",
        "TrainingBotReconcileErrors": "P3",
        "TrainingBotOperatorDown": "P2",
        "TrainingBotOperatorWatchStale": "P2",
    }


@pytest.mark.parametrize("scoped", [False, True], ids=["unscoped", "scoped"])
def test_every_metric_is_one_the_bot_or_the_operator_exports(scoped):
    exported = exported_labels()
    rules = scoped_rules() if scoped else alerts.alert_rules()
    scope_labels = set(BOT_SELECTOR) | set(OPERATOR_SELECTOR) | set(TRAININGBOT)
    for rule in rules:
        found = selectors(rule.expr)
        assert found, rule.alert
        for sel in found:
            assert sel.metric in exported, (
                f"{rule.alert} uses {sel.metric}, which neither BotMetrics nor the operator "
                "(alerts.OPERATOR_METRICS) exports"
            )
            unknown = sel.labels - exported[sel.metric] - scope_labels
            assert not unknown, f"{rule.alert}: {sel.metric} has no label(s) {sorted(unknown)}"


def _is_operator(sel: Selector) -> bool:
    return sel.metric.startswith("trainingbot_operator_")


def test_scoped_rules_select_only_their_bot():
    rules = scoped_rules()
    for rule in rules:
        for sel in selectors(rule.expr):
            equals = sel.equals()
            if _is_operator(sel):
                assert OPERATOR_SELECTOR.items() <= equals.items(), (rule.alert, sel)
                if alerts.OPERATOR_METRICS.get(sel.metric):
                    assert TRAININGBOT.items() <= equals.items(), (rule.alert, sel)
            elif sel.metric == "up" and rule.group == alerts.GROUP_OPERATOR:
                assert equals == OPERATOR_SELECTOR, (rule.alert, sel)
            else:
                assert BOT_SELECTOR.items() <= equals.items(), (rule.alert, sel)


def test_unscoped_rules_select_every_bot_and_find_up_by_job():
    for rule in alerts.alert_rules():
        for sel in selectors(rule.expr):
            if sel.metric == "up":
                expected = (
                    alerts.DEFAULT_OPERATOR_JOB
                    if rule.group == alerts.GROUP_OPERATOR
                    else alerts.DEFAULT_BOT_JOB
                )
                assert sel.equals() == {"job": expected}, (rule.alert, sel)
            else:
                assert not sel.labels & {"namespace", "service", "job"}, (rule.alert, sel)
                assert not sel.labels & set(TRAININGBOT), (rule.alert, sel)


def test_selector_values_are_quoted_and_escaped():
    rules = alerts.alert_rules(selector={"namespace": 'we"ird\\ns'})
    expr = next(r.expr for r in rules if r.alert == "TrainingBotRedisDisconnected")
    assert expr == 'bot_redis_connected{namespace="we\\"ird\\\\ns"} == 0'


def test_thresholds_reach_the_expressions_and_the_texts():
    rules = {
        r.alert: r
        for r in alerts.alert_rules(
            error_rate_threshold=0.025,
            latency_p95_slo_seconds=0.5,
            memory_limit_bytes=1024**3,
            operator_watch_stale_seconds=600,
        )
    }
    errors = rules["TrainingBotHighErrorRate"]
    assert "\n> 0.025\n" in errors.expr and "2.5%" in errors.summary
    latency = rules["TrainingBotHighLatency"]
    assert latency.expr.endswith("> 0.5") and "0.5s" in latency.summary
    assert "> 1073741824" in rules["TrainingBotMemoryLeak"].expr
    assert "1024 MiB" in rules["TrainingBotMemoryLeak"].description
    assert rules["TrainingBotMemoryHigh"].expr.endswith("> 0.9 * 1073741824")
    stale = rules["TrainingBotOperatorWatchStale"]
    assert stale.expr.endswith("> 600") and "10m" in stale.description


def test_defaults_match_the_operator_and_the_runbook():
    rules = {r.alert: r for r in alerts.alert_rules()}
    assert "\n> 0.05\n" in rules["TrainingBotHighErrorRate"].expr
    assert rules["TrainingBotHighLatency"].expr.endswith("> 1")
    assert f"> {256 * 1024 * 1024}" in rules["TrainingBotMemoryLeak"].expr
    assert rules == {r.alert: r for r in alerts.alert_rules(memory_limit_bytes=None)}


def test_the_operator_health_rules_can_be_left_out():
    groups = alerts.prometheus_rule_groups(include_operator_health=False)
    assert alerts.GROUP_OPERATOR not in [g["name"] for g in groups]
    names = {r["alert"] for g in groups for r in g["rules"]}
    assert "TrainingBotMigrationFailed" in names
    assert "TrainingBotOperatorDown" not in names


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"error_rate_threshold": 0}, "error_rate_threshold"),
        ({"error_rate_threshold": 1.5}, "error_rate_threshold"),
        ({"latency_p95_slo_seconds": 0}, "latency_p95_slo_seconds"),
        ({"memory_limit_bytes": 0}, "memory_limit_bytes"),
        ({"memory_limit_bytes": 1.5}, "memory_limit_bytes"),
        ({"operator_watch_stale_seconds": -1}, "operator_watch_stale_seconds"),
        ({"runbook_base_url": "docs/RUNBOOK.md#top"}, "runbook_base_url"),
        ({"runbook_base_url": ""}, "runbook_base_url"),
        ({"selector": {"bad-name": "x"}}, "selector"),
        ({"selector": {"__name__": "x"}}, "selector"),
        ({"selector": {"namespace": 3}}, "selector"),
        ({"operator_selector": {"1job": "x"}}, "operator_selector"),
        ({"trainingbot": {"trainingbot_name": None}}, "trainingbot"),
        ({"selector": {"state": "x"}}, "clash"),
    ],
)
def test_invalid_values_are_refused_with_the_argument_named(options, message):
    with pytest.raises(ValueError, match=message):
        alerts.prometheus_rule_groups(**options)
