"""The operator's wiring: command line, kopf settings, RBAC rules, metric names."""

from __future__ import annotations

import logging

import kopf
import pytest

from trainingbot_operator import alerts, metrics, rbac
from trainingbot_operator.main import build_parser
from trainingbot_operator.settings import DEFAULT_PEERING_NAME, configure


def test_the_command_line_needs_a_scope():
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args([])
    with pytest.raises(SystemExit):
        parser.parse_args(["--namespace", "a", "--all-namespaces"])
    with pytest.raises(SystemExit):
        parser.parse_args(["-A", "--peering", "p", "--standalone"])


def test_the_command_line_takes_namespaces_ports_and_peering():
    args = build_parser().parse_args(
        [
            "-n",
            "team-a",
            "--namespace",
            "team-b",
            "--metrics-port",
            "9100",
            "--health-port",
            "9101",
            "--peering",
            "bots",
            "--priority",
            "5",
            "--verbose",
            "--log-format",
            "text",
        ]
    )
    assert args.namespaces == ["team-a", "team-b"] and not args.all_namespaces
    assert (args.metrics_port, args.health_port) == (9100, 9101)
    assert (args.peering, args.priority, args.standalone) == ("bots", 5, False)
    assert args.verbose and args.log_format == "text"
    defaults = build_parser().parse_args(["-A"])
    assert (defaults.metrics_port, defaults.health_port) == (8080, 8081)
    assert defaults.log_format == "json" and defaults.peering is None


def test_kopf_is_configured_deliberately():
    settings = kopf.OperatorSettings()
    configure(settings)
    assert settings.persistence.finalizer == "trainingbot.dev/finalizer"
    assert isinstance(settings.persistence.progress_storage, kopf.AnnotationsProgressStorage)
    assert settings.persistence.progress_storage.prefix == "trainingbot.dev"
    assert settings.persistence.diffbase_storage.prefix == "trainingbot.dev"
    assert settings.watching.server_timeout and settings.watching.client_timeout
    assert settings.watching.client_timeout > settings.watching.server_timeout
    assert settings.watching.inactivity_timeout < settings.watching.server_timeout
    assert settings.posting.level == logging.WARNING
    assert settings.posting.reporting_component == "trainingbot-operator"
    assert settings.peering.name == DEFAULT_PEERING_NAME


def test_an_explicit_peering_name_is_kept():
    settings = kopf.OperatorSettings()
    settings.peering.name, settings.peering.mandatory = "bots", True
    configure(settings)
    assert settings.peering.name == "bots"


CLUSTER_SCOPED = {
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("", "namespaces"),
    ("kopf.dev", "clusterkopfpeerings"),
}
VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}


def _resources(rules):
    return {
        (group, resource)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }


def test_rbac_rules_are_explicit_and_split_by_scope():
    for rule in rbac.OPERATOR_RULES:
        assert set(rule) == {"apiGroups", "resources", "verbs"}
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
        assert set(rule["verbs"]) <= VERBS
    assert _resources(rbac.CLUSTER_RULES) == CLUSTER_SCOPED
    assert not _resources(rbac.NAMESPACED_RULES) & CLUSTER_SCOPED
    assert rbac.OPERATOR_RULES == rbac.NAMESPACED_RULES + rbac.CLUSTER_RULES
    assert ("kopf.dev", "clusterkopfpeerings") not in _resources(
        rbac.cluster_rules(clusterwide=False)
    )
    assert ("kopf.dev", "clusterkopfpeerings") in _resources(rbac.cluster_rules(clusterwide=True))


def test_the_operator_may_not_delete_what_it_does_not_own():
    verbs = {}
    for rule in rbac.NAMESPACED_RULES:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                verbs.setdefault((group, resource), set()).update(rule["verbs"])
    assert "delete" not in verbs[("apps", "deployments")]  # garbage collection does that
    assert "delete" not in verbs[("batch", "jobs")]
    assert verbs[("", "secrets")] == {"get", "list", "watch"}
    assert "delete" not in verbs[("trainingbot.dev", "trainingbots")]


def test_metrics_are_the_names_and_labels_the_alert_rules_use():
    exported = {
        "trainingbot_operator_reconciles_total": metrics.RECONCILES,
        "trainingbot_operator_rollouts_total": metrics.ROLLOUTS,
        "trainingbot_operator_rollbacks_total": metrics.ROLLBACKS,
        "trainingbot_operator_migrations_total": metrics.MIGRATIONS,
        "trainingbot_operator_watch_event_age_seconds": metrics.WATCH_EVENT_AGE,
    }
    assert set(exported) == set(alerts.OPERATOR_METRICS)
    for name, metric in exported.items():
        assert metric._labelnames == alerts.OPERATOR_METRICS[name], name
    assert metrics.RECONCILES._name + "_total" == "trainingbot_operator_reconciles_total"


def test_the_watch_event_age_restarts_with_each_event():
    metrics.WATCH_CLOCK.touch()
    assert 0 <= metrics.WATCH_CLOCK.age() < 5


def test_phase_gauge_keeps_one_series_per_bot():
    metrics.set_phase("ns-x", "bot-x", "Migrating", None)
    metrics.set_phase("ns-x", "bot-x", "Ready", "Migrating")
    series = [k for k in metrics.PHASE._metrics if k[:2] == ("ns-x", "bot-x")]
    assert series == [("ns-x", "bot-x", "Ready")]
    metrics.forget("ns-x", "bot-x")
    assert not [k for k in metrics.PHASE._metrics if k[:2] == ("ns-x", "bot-x")]
