"""The rules files with the real promtool: syntax, unit tests, coverage, freshness, scoping."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from trainingbot_operator import alerts
from trainingbot_operator.main import build_parser

from tests.monitoring.conftest import MONITORING, ROOT, output, run

ALERTS_FILE = MONITORING / "alerts.yml"
TEST_FILES = (MONITORING / "alerts.test.yml", MONITORING / "alerts.weekly.test.yml")
RENDER = ROOT / "scripts" / "render_monitoring.py"


def test_alerts_file_is_up_to_date():
    result = run(sys.executable, RENDER, "--check")
    assert result.returncode == 0, (
        "monitoring/alerts.yml is stale: regenerate it with "
        "`.venv/bin/python scripts/render_monitoring.py`\n" + output(result)
    )


def test_alerts_file_says_it_is_generated():
    header = ALERTS_FILE.read_text().splitlines()[:3]
    assert any("GENERATED" in line for line in header)
    assert any("scripts/render_monitoring.py" in line for line in header)


def test_promtool_accepts_the_rules(promtool):
    result = run(promtool, "check", "rules", ALERTS_FILE)
    assert result.returncode == 0, output(result)
    assert f"{len(alerts.alert_rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool):
    result = run(promtool, "test", "rules", *TEST_FILES)
    assert result.returncode == 0, output(result)


def _cases() -> tuple[set[str], set[str]]:
    firing, quiet = set(), set()
    for path in TEST_FILES:
        document = yaml.safe_load(path.read_text())
        assert document["rule_files"] == ["alerts.yml"], path
        for group in document["tests"]:
            for case in group.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    return firing, quiet


def test_every_rule_has_a_firing_and_a_non_firing_case():
    names = {r.alert for r in alerts.alert_rules()}
    firing, quiet = _cases()
    assert names - firing == set(), "rules without a case that fires them"
    assert names - quiet == set(), "rules without a case where they must stay silent"
    assert firing - names == set() and quiet - names == set(), "cases of rules that do not exist"


def _write_rules(path: Path, groups: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def test_scoped_rules_parse(promtool, tmp_path):
    groups = alerts.prometheus_rule_groups(
        selector={"namespace": "team-a", "service": 'odd"name\\bot'},
        operator_selector={"namespace": "trainingbot-system", "job": "trainingbot-operator"},
        trainingbot=alerts.trainingbot_labels("team-a", "oncall-bot"),
        error_rate_threshold=0.01,
        latency_p95_slo_seconds=0.25,
        memory_limit_bytes=3 * 1024**3,
        runbook_base_url="https://git.example.com/bot/blob/main/docs/RUNBOOK.md",
    )
    rules = _write_rules(tmp_path / "scoped.yml", groups)
    result = run(promtool, "check", "rules", rules)
    assert result.returncode == 0, output(result)


BOT_A = 'namespace="team-a", service="oncall-bot-metrics", job="oncall-bot-metrics"'
BOT_B = 'namespace="team-b", service="other-bot-metrics", job="other-bot-metrics"'
OPERATOR = 'namespace="trainingbot-system", job="trainingbot-operator", instance="10.0.1.5:8080"'


def _down(bot: str) -> dict:
    return {
        "exp_labels": {"severity": "critical", "priority": "P1", **bot_labels(bot)},
        "exp_annotations": {
            "summary": f"Training bot {bot} is down",
            "description": (
                f"No instance of {bot} has answered Prometheus on /metrics for 5 minutes, or "
                "none is scraped at all: Telegram updates are not being processed."
            ),
            "runbook_url": "docs/RUNBOOK.md#trainingbotdown",
        },
    }


def bot_labels(bot: str) -> dict[str, str]:
    namespace, job = bot.split("/")
    return {"namespace": namespace, "job": job}


def _migration_failed(bot_namespace: str, bot_name: str) -> dict:
    return {
        "exp_labels": {
            "severity": "warning",
            "priority": "P2",
            "namespace": "trainingbot-system",
            "job": "trainingbot-operator",
            "instance": "10.0.1.5:8080",
            "trainingbot_namespace": bot_namespace,
            "trainingbot_name": bot_name,
            "result": "failed",
        },
        "exp_annotations": {
            "summary": f"Database migration of {bot_namespace}/{bot_name} failed",
            "description": (
                f"The migration Job of {bot_namespace}/{bot_name} failed; the operator left "
                "the Deployment on the previous image, which keeps serving. The reason is in "
                "the TrainingBot's Migrated condition."
            ),
            "runbook_url": "docs/RUNBOOK.md#trainingbotmigrationfailed",
        },
    }


def test_scoped_rules_fire_for_their_bot_only(promtool, tmp_path):
    """Two bots down and two failed migrations; the rules of team-a/oncall-bot see their own."""
    groups = alerts.prometheus_rule_groups(
        selector={"namespace": "team-a", "service": "oncall-bot-metrics"},
        trainingbot=alerts.trainingbot_labels("team-a", "oncall-bot"),
        include_operator_health=False,
    )
    _write_rules(tmp_path / "rules.yml", groups)
    migrations = "trainingbot_operator_migrations_total"
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f'up{{{BOT_A}, instance="10.0.0.1:8080"}}', "values": "0x10"},
                    {"series": f'up{{{BOT_B}, instance="10.0.0.2:8080"}}', "values": "0x10"},
                    {
                        "series": f'{migrations}{{{OPERATOR}, trainingbot_namespace="team-a", '
                        'trainingbot_name="oncall-bot", result="failed"}',
                        "values": "0 1x10",
                    },
                    {
                        "series": f'{migrations}{{{OPERATOR}, trainingbot_namespace="team-b", '
                        'trainingbot_name="other-bot", result="failed"}',
                        "values": "0 1x10",
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "6m",
                        "alertname": "TrainingBotDown",
                        "exp_alerts": [_down("team-a/oncall-bot-metrics")],
                    },
                    {
                        "eval_time": "5m",
                        "alertname": "TrainingBotMigrationFailed",
                        "exp_alerts": [_migration_failed("team-a", "oncall-bot")],
                    },
                ],
            },
            {
                "interval": "1m",
                "input_series": [
                    {"series": f'up{{{BOT_B}, instance="10.0.0.2:8080"}}', "values": "1x10"}
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "6m",
                        "alertname": "TrainingBotDown",
                        "exp_alerts": [
                            {
                                **_down("team-a/oncall-bot-metrics"),
                                "exp_labels": {
                                    "severity": "critical",
                                    "priority": "P1",
                                    "namespace": "team-a",
                                    "service": "oncall-bot-metrics",
                                },
                            }
                        ],
                    }
                ],
            },
        ],
    }
    test_file = tmp_path / "rules.test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    result = run(promtool, "test", "rules", test_file)
    assert result.returncode == 0, output(result)


def test_example_prometheus_config_is_valid_and_names_the_rules_jobs(promtool):
    config_path = MONITORING / "prometheus.yml"
    result = run(promtool, "check", "config", config_path)
    assert result.returncode == 0, output(result)
    config = yaml.safe_load(config_path.read_text())
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {alerts.DEFAULT_BOT_JOB, alerts.DEFAULT_OPERATOR_JOB}
    bot_targets = jobs[alerts.DEFAULT_BOT_JOB]["static_configs"][0]["targets"]
    assert bot_targets == ["localhost:8080"], "the bot's operations port is 8080"
    operator_targets = jobs[alerts.DEFAULT_OPERATOR_JOB]["static_configs"][0]["targets"]
    operator_port = build_parser().parse_args(["-A"]).metrics_port
    assert [t.rpartition(":")[2] for t in operator_targets] == [str(operator_port)]
    chart_values = yaml.safe_load((ROOT / "charts/telegram-training-bot/values.yaml").read_text())
    assert chart_values["operator"]["metrics"]["port"] == operator_port
    assert jobs[alerts.DEFAULT_BOT_JOB].get("metrics_path", "/metrics") == "/metrics"
