"""Alert rules for the training bot and its operator, defined once.

The operator renders them into each TrainingBot's PrometheusRule, scoped to that bot
(`prometheus_rule_groups(selector=..., trainingbot=trainingbot_labels(ns, name), ...)`), and
`scripts/render_monitoring.py` writes the unscoped copy `monitoring/alerts.yml` for a plain
Prometheus. `docs/RUNBOOK.md` has one section per alert; its heading is the alert's name, so the
anchor is the name in lower case (GitHub's heading-anchor rule).

Priorities follow the runbook: P1 pages (severity `critical`), P2 goes to the team's channel
(`warning`), P3 is handled in business hours (`info`). Alertmanager routes on the `priority`
label (`monitoring/alertmanager.yml`).

Everything here is pure: values in, dicts out; nothing reads the environment or the cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# --- Names shared with the bot and the operator -------------------------------------------------

#: Scrape job names of a plain Prometheus (`monitoring/prometheus.yml`). `up` is the only metric
#: every target exports, so it is always scoped, by these jobs when no selector is given.
DEFAULT_BOT_JOB = "training-bot"
DEFAULT_OPERATOR_JOB = "trainingbot-operator"

#: The operator's per-TrainingBot counters name their bot with these labels. Not `namespace`:
#: Prometheus labels every scraped series with the target's own namespace (the operator's), and a
#: metric label of the same name would be renamed `exported_namespace`.
TRAININGBOT_NAMESPACE_LABEL = "trainingbot_namespace"
TRAININGBOT_NAME_LABEL = "trainingbot_name"
_PER_BOT = (TRAININGBOT_NAMESPACE_LABEL, TRAININGBOT_NAME_LABEL)

RESULT_SUCCEEDED = "succeeded"
RESULT_FAILED = "failed"

#: The operator's metrics as these rules use them, with their labels: the agreed contract with the
#: operator's metrics module. `result` is `succeeded` or `failed`; rollbacks have a `reason`
#: (`progress-deadline`, `crash-loop`, `smoke-test`, `monitor-window`, `manual`).
#: `trainingbot_operator_watch_event_age_seconds` is the time since the operator last received an
#: event from its TrainingBot watch, or last found that no TrainingBot exists (nothing to watch).
OPERATOR_METRICS: Mapping[str, tuple[str, ...]] = {
    "trainingbot_operator_reconciles_total": (*_PER_BOT, "result"),
    "trainingbot_operator_rollouts_total": (*_PER_BOT, "result"),
    "trainingbot_operator_rollbacks_total": (*_PER_BOT, "reason"),
    "trainingbot_operator_migrations_total": (*_PER_BOT, "result"),
    "trainingbot_operator_watch_event_age_seconds": (),
}

# --- Defaults -----------------------------------------------------------------------------------

#: Relative to the repository root; the operator takes an absolute base from
#: `spec.monitoring.prometheusRule.runbookBaseUrl` so that links in notifications are clickable.
DEFAULT_RUNBOOK_BASE_URL = "docs/RUNBOOK.md"
DEFAULT_ERROR_RATE_THRESHOLD = 0.05  # the runbook's "Error rate > 5%"
DEFAULT_LATENCY_P95_SLO_SECONDS = 1.0
#: The bot container's memory limit when the caller does not know it: the operator's default
#: (`models.DEFAULT_RESOURCES`); the operator passes the limit of the Deployment it renders.
DEFAULT_MEMORY_LIMIT_BYTES = 256 * 1024 * 1024
#: The operator's resync writes every TrainingBot's status.lastSyncTime once a minute
#: (settings.RESYNC_SECONDS), which its watch delivers as an event; with no TrainingBot, its
#: idle-watch check restarts the age each minute instead (watchdog.py). The API server ends each
#: watch after 5 minutes: 15 minutes without an event is three watch lifetimes, a stuck watch.
DEFAULT_OPERATOR_WATCH_STALE_SECONDS = 900.0

#: "Updates stopped while traffic is expected": no update for 15 minutes although the same 15
#: minutes a week earlier had at least this many. Counted as a Poisson process, 20 expected
#: updates arrive as 0 with probability e^-20 (about 2e-9), so a silent slot that is usually
#: busy is an outage, not a quiet night; a slot that is quiet every week (nights, weekends)
#: never qualifies. A week, not a day: trainees follow the working week.
NOT_PROCESSING_WINDOW = "15m"
NOT_PROCESSING_MIN_EXPECTED_UPDATES = 20

SEVERITY_BY_PRIORITY: Mapping[str, str] = {"P1": "critical", "P2": "warning", "P3": "info"}

GROUP_BOT = "trainingbot.bot"
GROUP_LIFECYCLE = "trainingbot.lifecycle"
GROUP_OPERATOR = "trainingbot.operator"
GROUP_ORDER = (GROUP_BOT, GROUP_LIFECYCLE, GROUP_OPERATOR)

# Alert templates: name the bot as "namespace/job" on Kubernetes, "job" on a plain Prometheus
# (an absent() alert has only the selector's labels: `service` instead of `job`).
_BOT = "{{ with $labels.namespace }}{{ . }}/{{ end }}{{ or $labels.job $labels.service }}"
_POD = "{{ with $labels.pod }}{{ . }}{{ else }}{{ $labels.instance }}{{ end }}"
_TRAININGBOT = (
    f"{{{{ $labels.{TRAININGBOT_NAMESPACE_LABEL} }}}}/{{{{ $labels.{TRAININGBOT_NAME_LABEL} }}}}"
)
# Bot-level aggregations keep the labels that identify one bot's scrape job.
_BY_BOT = "namespace, job"

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_LABEL_PREFIX = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule, ready for a Prometheus rule group."""

    alert: str
    group: str
    priority: str
    expr: str
    for_: str
    summary: str
    description: str
    runbook_url: str

    @property
    def severity(self) -> str:
        return SEVERITY_BY_PRIORITY[self.priority]

    def to_prometheus(self) -> dict:
        """The rule as Prometheus (and a PrometheusRule's `spec.groups[].rules[]`) spell it."""
        return {
            "alert": self.alert,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, "priority": self.priority},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": self.runbook_url,
            },
        }


def runbook_anchor(alert: str) -> str:
    """The anchor of an alert's section in docs/RUNBOOK.md (its heading is the alert name)."""
    return alert.lower()


def trainingbot_labels(namespace: str, name: str) -> dict[str, str]:
    """Matchers that select one TrainingBot's series of the operator's per-bot metrics."""
    return {TRAININGBOT_NAMESPACE_LABEL: namespace, TRAININGBOT_NAME_LABEL: name}


def prometheus_rule_groups(
    *,
    selector: Mapping[str, str] | None = None,
    operator_selector: Mapping[str, str] | None = None,
    trainingbot: Mapping[str, str] | None = None,
    error_rate_threshold: float = DEFAULT_ERROR_RATE_THRESHOLD,
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL,
    latency_p95_slo_seconds: float = DEFAULT_LATENCY_P95_SLO_SECONDS,
    memory_limit_bytes: int | None = None,
    operator_watch_stale_seconds: float = DEFAULT_OPERATOR_WATCH_STALE_SECONDS,
    include_operator_health: bool = True,
) -> list[dict]:
    """The alert rules as PrometheusRule `spec.groups` (also the `groups` of a rules file).

    selector: label matchers (equality) added to every bot metric selector, `up` included; for
        one bot on Kubernetes e.g. `{"namespace": "team-a", "service": "oncall-bot-metrics"}`.
        Without it bot metrics are unscoped and `up` is scoped to `job="training-bot"`.
    operator_selector: the same for the operator's metrics and its `up` (default
        `job="trainingbot-operator"` for `up` only).
    trainingbot: matchers of one bot on the operator's per-bot counters, from
        `trainingbot_labels(namespace, name)`; without it they cover every bot.
    memory_limit_bytes: the bot container's memory limit (default 512 MiB).
    include_operator_health: the operator-down and watch-stale rules; a caller that renders
        one rule object per bot may leave them to the operator's own installation.

    Raises ValueError, naming the argument, when a value cannot make a valid rule.
    """
    rules = alert_rules(
        selector=selector,
        operator_selector=operator_selector,
        trainingbot=trainingbot,
        error_rate_threshold=error_rate_threshold,
        runbook_base_url=runbook_base_url,
        latency_p95_slo_seconds=latency_p95_slo_seconds,
        memory_limit_bytes=memory_limit_bytes,
        operator_watch_stale_seconds=operator_watch_stale_seconds,
        include_operator_health=include_operator_health,
    )
    return [
        {"name": group, "rules": [r.to_prometheus() for r in rules if r.group == group]}
        for group in GROUP_ORDER
        if any(r.group == group for r in rules)
    ]


def alert_rules(
    *,
    selector: Mapping[str, str] | None = None,
    operator_selector: Mapping[str, str] | None = None,
    trainingbot: Mapping[str, str] | None = None,
    error_rate_threshold: float = DEFAULT_ERROR_RATE_THRESHOLD,
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL,
    latency_p95_slo_seconds: float = DEFAULT_LATENCY_P95_SLO_SECONDS,
    memory_limit_bytes: int | None = None,
    operator_watch_stale_seconds: float = DEFAULT_OPERATOR_WATCH_STALE_SECONDS,
    include_operator_health: bool = True,
) -> list[AlertRule]:
    """The alert rules as `AlertRule`s, in group order; arguments as `prometheus_rule_groups`."""
    if not 0 < error_rate_threshold <= 1:
        raise ValueError(
            f"error_rate_threshold must be a fraction in (0, 1], got {error_rate_threshold!r}"
        )
    if not latency_p95_slo_seconds > 0:
        raise ValueError(
            f"latency_p95_slo_seconds must be positive, got {latency_p95_slo_seconds!r}"
        )
    if memory_limit_bytes is None:
        memory_limit_bytes = DEFAULT_MEMORY_LIMIT_BYTES
    if isinstance(memory_limit_bytes, bool) or not (
        isinstance(memory_limit_bytes, int) and memory_limit_bytes > 0
    ):
        raise ValueError(
            f"memory_limit_bytes must be a positive integer, got {memory_limit_bytes!r}"
        )
    if not operator_watch_stale_seconds > 0:
        raise ValueError(
            f"operator_watch_stale_seconds must be positive, got {operator_watch_stale_seconds!r}"
        )
    if not runbook_base_url or "#" in runbook_base_url:
        raise ValueError(
            f"runbook_base_url must be a URL or path without a fragment, got {runbook_base_url!r}"
        )
    bot = _matchers("selector", selector)
    operator = _matchers("operator_selector", operator_selector)
    p = _Params(
        bot=bot,
        bot_up=bot or (("job", DEFAULT_BOT_JOB),),
        operator=operator,
        operator_up=operator or (("job", DEFAULT_OPERATOR_JOB),),
        trainingbot=_matchers("trainingbot", trainingbot),
        error_rate=float(error_rate_threshold),
        latency_slo=float(latency_p95_slo_seconds),
        memory_limit=memory_limit_bytes,
        watch_stale=float(operator_watch_stale_seconds),
        runbook_base_url=runbook_base_url,
    )
    builders = _BOT_RULES + _LIFECYCLE_RULES + (_OPERATOR_RULES if include_operator_health else ())
    return [build(p) for build in builders]


# --- Expression building ------------------------------------------------------------------------

Matchers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Params:
    bot: Matchers
    bot_up: Matchers
    operator: Matchers
    operator_up: Matchers
    trainingbot: Matchers
    error_rate: float
    latency_slo: float
    memory_limit: int
    watch_stale: float
    runbook_base_url: str

    def runbook(self, alert: str) -> str:
        return f"{self.runbook_base_url}#{runbook_anchor(alert)}"


def _matchers(argument: str, labels: Mapping[str, str] | None) -> Matchers:
    if not labels:
        return ()
    for name, value in labels.items():
        if not isinstance(name, str) or not _LABEL_NAME.match(name) or name.startswith("__"):
            raise ValueError(f"{argument}: {name!r} is not a valid Prometheus label name")
        if not isinstance(value, str):
            raise ValueError(f"{argument}: the value of {name!r} must be a string, got {value!r}")
    return tuple(sorted(labels.items()))


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _vector(metric: str, scope: Matchers, *own: str) -> str:
    """`metric{scope..., own...}`; `own` are the rule's matchers, already spelled (`a="b"`)."""
    own_names = {_LABEL_PREFIX.match(m).group(0) for m in own}
    clash = own_names & {name for name, _ in scope}
    if clash:
        raise ValueError(f"selector label(s) {sorted(clash)} clash with the rules' own matchers")
    parts = [f"{name}={_quote(value)}" for name, value in scope] + list(own)
    return f"{metric}{{{','.join(parts)}}}" if parts else metric


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB"


def _recent_increase(series: str, window: str) -> str:
    """Counter went up within `window`, including a series first seen (already > 0) in it.

    `increase()` needs two samples of a series, so the first event of a counter that the
    operator creates on first use, or that a restarted operator exports again, would be missed.
    """
    return f"increase({series}[{window}]) > 0\nor\n({series} > 0 unless {series} offset {window})"


# --- The rules ----------------------------------------------------------------------------------


def _bot_down(p: _Params) -> AlertRule:
    up = _vector("up", p.bot_up)
    return AlertRule(
        alert="TrainingBotDown",
        group=GROUP_BOT,
        priority="P1",
        # Every instance failing its scrape, or no instance discovered at all (deleted
        # Deployment, wrong selector). One instance down while others serve is a P2 below.
        expr=f"max by ({_BY_BOT}) ({up}) == 0\nor\nabsent({up})",
        for_="5m",
        summary=f"Training bot {_BOT} is down",
        description=(
            f"No instance of {_BOT} has answered Prometheus on /metrics for 5 minutes, or none "
            "is scraped at all: Telegram updates are not being processed."
        ),
        runbook_url=p.runbook("TrainingBotDown"),
    )


def _instance_down(p: _Params) -> AlertRule:
    return AlertRule(
        alert="TrainingBotInstanceDown",
        group=GROUP_BOT,
        priority="P2",
        # Longer than a rollout's progress deadline (300 s by default), within which the
        # operator itself deals with a pod that does not come up.
        expr=f"{_vector('up', p.bot_up)} == 0",
        for_="10m",
        summary=f"Training bot instance {_POD} is down",
        description=(
            f"{_POD} of {_BOT} has not answered Prometheus on /metrics for 10 minutes; the "
            "other instances carry the traffic."
        ),
        runbook_url=p.runbook("TrainingBotInstanceDown"),
    )


def _not_processing_updates(p: _Params) -> AlertRule:
    updates = _vector("bot_updates_total", p.bot)
    w = NOT_PROCESSING_WINDOW
    # A pod that has received nothing exports no bot_updates_total series at all (its labels
    # are created on first use), so a bot that is up counts as 0 updates.
    expr = (
        f"(\n  sum by ({_BY_BOT}) (increase({updates}[{w}]))\n  or\n"
        f"  0 * max by ({_BY_BOT}) ({_vector('up', p.bot_up)} == 1)\n) == 0\n"
        f"and on ({_BY_BOT})\n"
        f"sum by ({_BY_BOT}) (increase({updates}[{w}] offset 1w))"
        f" >= {NOT_PROCESSING_MIN_EXPECTED_UPDATES}"
    )
    return AlertRule(
        alert="TrainingBotNotProcessingUpdates",
        group=GROUP_BOT,
        priority="P1",
        expr=expr,
        for_="5m",
        summary=f"Training bot {_BOT} receives no updates",
        description=(
            f"{_BOT} has handled no Telegram update for 20 minutes although this time last "
            f"week it handled at least {NOT_PROCESSING_MIN_EXPECTED_UPDATES} in 15 minutes: "
            "Telegram cannot deliver (webhook) or the bot stopped fetching (polling)."
        ),
        runbook_url=p.runbook("TrainingBotNotProcessingUpdates"),
    )


def _high_error_rate(p: _Params) -> AlertRule:
    errors = _vector("bot_errors_total", p.bot)
    updates = _vector("bot_updates_total", p.bot)
    threshold = _percent(p.error_rate)
    # The `and` keeps a bot without updates out: errors over no updates is +Inf, and errors
    # of an idle bot (its dependencies) have their own rules.
    expr = (
        f"sum by ({_BY_BOT}) (rate({errors}[5m]))\n/\n"
        f"sum by ({_BY_BOT}) (rate({updates}[5m]))\n> {_num(p.error_rate)}\n"
        f"and on ({_BY_BOT})\nsum by ({_BY_BOT}) (rate({updates}[5m])) > 0"
    )
    return AlertRule(
        alert="TrainingBotHighErrorRate",
        group=GROUP_BOT,
        priority="P2",
        expr=expr,
        for_="10m",
        summary=f"Training bot {_BOT} error rate above {threshold}",
        description=(
            f"Errors are {{{{ $value | humanizePercentage }}}} of the updates {_BOT} handled "
            f"over 5 minutes (threshold {threshold}), for 10 minutes."
        ),
        runbook_url=p.runbook("TrainingBotHighErrorRate"),
    )


def _high_latency(p: _Params) -> AlertRule:
    buckets = _vector("bot_update_duration_seconds_bucket", p.bot)
    slo = f"{p.latency_slo:g}s"
    return AlertRule(
        alert="TrainingBotHighLatency",
        group=GROUP_BOT,
        priority="P2",
        expr=(
            f"histogram_quantile(0.95, sum by ({_BY_BOT}, le) (rate({buckets}[5m])))\n"
            f"> {_num(p.latency_slo)}"
        ),
        for_="10m",
        summary=f"Training bot {_BOT} P95 latency above {slo}",
        description=(
            f"95% of the updates {_BOT} handled took up to {{{{ $value | humanizeDuration }}}} "
            f"over 5 minutes, for 10 minutes (SLO {slo})."
        ),
        runbook_url=p.runbook("TrainingBotHighLatency"),
    )


def _memory_leak(p: _Params) -> AlertRule:
    memory = _vector("bot_memory_usage_bytes", p.bot)
    limit = _mib(p.memory_limit)
    # The hour-old sample keeps a pod's start-up (caches filling) out of the trend; `for`
    # asks the growth to last half an hour more.
    return AlertRule(
        alert="TrainingBotMemoryLeak",
        group=GROUP_BOT,
        priority="P2",
        expr=(
            f"predict_linear({memory}[1h], 4 * 3600) > {p.memory_limit}\nand\n{memory} offset 1h"
        ),
        for_="30m",
        summary=f"Training bot {_POD} memory grows toward its limit",
        description=(
            f"At the rate of the last hour, the memory of {_POD} ({_BOT}) reaches "
            f"{{{{ $value | humanize1024 }}}}B in 4 hours, above the limit of {limit}: it will "
            "be OOM-killed."
        ),
        runbook_url=p.runbook("TrainingBotMemoryLeak"),
    )


def _memory_high(p: _Params) -> AlertRule:
    limit = _mib(p.memory_limit)
    return AlertRule(
        alert="TrainingBotMemoryHigh",
        group=GROUP_BOT,
        priority="P2",
        expr=f"{_vector('bot_memory_usage_bytes', p.bot)} > 0.9 * {p.memory_limit}",
        for_="15m",
        summary=f"Training bot {_POD} uses over 90% of its memory limit",
        description=(
            f"{_POD} ({_BOT}) has used {{{{ $value | humanize1024 }}}}B for 15 minutes, over "
            f"90% of its limit of {limit}."
        ),
        runbook_url=p.runbook("TrainingBotMemoryHigh"),
    )


def _redis_disconnected(p: _Params) -> AlertRule:
    return AlertRule(
        alert="TrainingBotRedisDisconnected",
        group=GROUP_BOT,
        priority="P1",
        # A Sentinel failover takes seconds; two minutes is an outage of conversation state.
        expr=f"{_vector('bot_redis_connected', p.bot)} == 0",
        for_="2m",
        summary=f"Training bot {_POD} lost its Redis connection",
        description=(
            f"{_POD} ({_BOT}) has not reached Redis for 2 minutes: trainees lose their place in "
            "lessons and quizzes, and the pod is not ready."
        ),
        runbook_url=p.runbook("TrainingBotRedisDisconnected"),
    )


def _database_unavailable(p: _Params) -> AlertRule:
    return AlertRule(
        alert="TrainingBotDatabaseUnavailable",
        group=GROUP_BOT,
        priority="P1",
        # The readiness check's database result, which every scrape refreshes: it speaks for
        # pods that receive no updates too (an unready pod gets no webhook traffic). A
        # PostgreSQL restart or a managed failover takes a minute or two; five is an outage.
        expr=f"{_vector('bot_database_connected', p.bot)} == 0",
        for_="5m",
        summary=f"Training bot {_POD} cannot use its database",
        description=(
            f"{_POD} ({_BOT}) has not reached PostgreSQL with the schema it needs for 5 "
            "minutes: the pod is not ready, and updates it receives are answered 503 and kept "
            "by Telegram for redelivery. Its /ready says why."
        ),
        runbook_url=p.runbook("TrainingBotDatabaseUnavailable"),
    )


def _database_pool_exhausted(p: _Params) -> AlertRule:
    in_use = _vector("bot_db_pool_connections", p.bot, 'state="in_use"')
    size = _vector("bot_db_pool_connections", p.bot, 'state="max"')
    return AlertRule(
        alert="TrainingBotDatabasePoolExhausted",
        group=GROUP_BOT,
        priority="P2",
        # `max > 0`: a pool that is not created yet reports 0 of 0.
        expr=f"{in_use} >= ignoring (state) {size}\nand ignoring (state)\n{size} > 0",
        for_="5m",
        summary=f"Training bot {_POD} database pool exhausted",
        description=(
            f"All {{{{ $value }}}} database connections of {_POD} ({_BOT}) have been in use for "
            "5 minutes: updates wait for a connection."
        ),
        runbook_url=p.runbook("TrainingBotDatabasePoolExhausted"),
    )


def _polling_conflict(p: _Params) -> AlertRule:
    conflicts = _vector("bot_telegram_api_requests_total", p.bot, 'status="409"')
    return AlertRule(
        alert="TrainingBotPollingConflict",
        group=GROUP_BOT,
        priority="P2",
        # The Bot API answers getUpdates with 409 Conflict when another process polls with the
        # same token or a webhook is set.
        expr=f"sum by ({_BY_BOT}) (rate({conflicts}[5m])) > 0",
        for_="5m",
        summary=f"Another process is using the token of {_BOT}",
        description=(
            f"Telegram has answered {_BOT} with 409 Conflict for 5 minutes: a second poller "
            "with the same token, or a webhook set while this bot polls. Updates go to only "
            "one of them."
        ),
        runbook_url=p.runbook("TrainingBotPollingConflict"),
    )


def _telegram_api_errors(p: _Params) -> AlertRule:
    failed = _vector("bot_telegram_api_requests_total", p.bot, 'status!~"2..|409"')
    requests = _vector("bot_telegram_api_requests_total", p.bot)
    return AlertRule(
        alert="TrainingBotTelegramApiErrors",
        group=GROUP_BOT,
        priority="P3",
        expr=(
            f"sum by ({_BY_BOT}) (rate({failed}[10m]))\n/\n"
            f"sum by ({_BY_BOT}) (rate({requests}[10m]))\n> 0.1"
        ),
        for_="15m",
        summary=f"Telegram Bot API requests of {_BOT} are failing",
        description=(
            f"{{{{ $value | humanizePercentage }}}} of the Bot API requests of {_BOT} failed "
            "(HTTP errors, 429 rate limits, network) over 10 minutes, for 15 minutes."
        ),
        runbook_url=p.runbook("TrainingBotTelegramApiErrors"),
    )


def _migration_failed(p: _Params) -> AlertRule:
    failed = _vector(
        "trainingbot_operator_migrations_total",
        p.operator + p.trainingbot,
        f'result="{RESULT_FAILED}"',
    )
    return AlertRule(
        alert="TrainingBotMigrationFailed",
        group=GROUP_LIFECYCLE,
        priority="P2",
        # An event, not a state: it fires for an hour after the failure; the TrainingBot's
        # status (phase Failed, condition Migrated) keeps the record.
        expr=_recent_increase(failed, "1h"),
        for_="0m",
        summary=f"Database migration of {_TRAININGBOT} failed",
        description=(
            f"The migration Job of {_TRAININGBOT} failed; the operator left the Deployment on "
            "the previous image, which keeps serving. The reason is in the TrainingBot's "
            "Migrated condition."
        ),
        runbook_url=p.runbook("TrainingBotMigrationFailed"),
    )


def _rolled_back(p: _Params) -> AlertRule:
    rollbacks = _vector("trainingbot_operator_rollbacks_total", p.operator + p.trainingbot)
    return AlertRule(
        alert="TrainingBotRolledBack",
        group=GROUP_LIFECYCLE,
        priority="P2",
        expr=_recent_increase(rollbacks, "1h"),
        for_="0m",
        summary=f"Rollout of {_TRAININGBOT} was rolled back",
        description=(
            f"{_TRAININGBOT} was rolled back ({{{{ $labels.reason }}}}) within the last hour; "
            "the rejected image is in the TrainingBot's status and is not retried until "
            "spec.image changes."
        ),
        runbook_url=p.runbook("TrainingBotRolledBack"),
    )


def _reconcile_errors(p: _Params) -> AlertRule:
    failed = _vector(
        "trainingbot_operator_reconciles_total",
        p.operator + p.trainingbot,
        f'result="{RESULT_FAILED}"',
    )
    by = f"{_BY_BOT}, {TRAININGBOT_NAMESPACE_LABEL}, {TRAININGBOT_NAME_LABEL}"
    return AlertRule(
        alert="TrainingBotReconcileErrors",
        group=GROUP_LIFECYCLE,
        priority="P3",
        expr=f"sum by ({by}) (increase({failed}[15m])) > 0",
        for_="15m",
        summary=f"The operator keeps failing to reconcile {_TRAININGBOT}",
        description=(
            f"Reconciling {_TRAININGBOT} has failed again and again for 30 minutes; changes to "
            "it are not applied. The operator's log and the TrainingBot's events say why."
        ),
        runbook_url=p.runbook("TrainingBotReconcileErrors"),
    )


def _operator_down(p: _Params) -> AlertRule:
    up = _vector("up", p.operator_up)
    return AlertRule(
        alert="TrainingBotOperatorDown",
        group=GROUP_OPERATOR,
        priority="P2",
        # The bots keep serving without the operator, but nothing rolls out or back.
        expr=f"max by ({_BY_BOT}) ({up}) == 0\nor\nabsent({up})",
        for_="5m",
        summary="The TrainingBot operator is down",
        description=(
            "No TrainingBot operator instance has answered Prometheus for 5 minutes: new "
            "images, migrations, rollbacks and credential rotations wait until it is back."
        ),
        runbook_url=p.runbook("TrainingBotOperatorDown"),
    )


def _operator_watch_stale(p: _Params) -> AlertRule:
    age = _vector("trainingbot_operator_watch_event_age_seconds", p.operator)
    stale = _duration(p.watch_stale)
    return AlertRule(
        alert="TrainingBotOperatorWatchStale",
        group=GROUP_OPERATOR,
        priority="P2",
        # `min`: a standby replica (kopf peering) pauses its watch; the active one is freshest.
        expr=f"min by ({_BY_BOT}) ({age}) > {_num(p.watch_stale)}",
        for_="5m",
        summary="The TrainingBot operator receives no watch events",
        description=(
            "The TrainingBot operator has received no event from the Kubernetes API for "
            "{{ $value | humanizeDuration }} (threshold "
            f"{stale}): its watch is stuck and changes to TrainingBots go unnoticed."
        ),
        runbook_url=p.runbook("TrainingBotOperatorWatchStale"),
    )


_BOT_RULES = (
    _bot_down,
    _not_processing_updates,
    _redis_disconnected,
    _database_unavailable,
    _instance_down,
    _high_error_rate,
    _high_latency,
    _memory_leak,
    _memory_high,
    _database_pool_exhausted,
    _polling_conflict,
    _telegram_api_errors,
)
_LIFECYCLE_RULES = (_migration_failed, _rolled_back, _reconcile_errors)
_OPERATOR_RULES = (_operator_down, _operator_watch_stale)
