"""The rollout decisions, step by step and failure by failure, without a cluster."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from trainingbot_operator import conditions as cond
from trainingbot_operator import naming
from trainingbot_operator.models import (
    ManualRollbackRecord,
    MigrationPhase,
    Phase,
    RolloutStep,
    parse_spec,
)
from trainingbot_operator.rollout import (
    Action,
    Count,
    Decision,
    DeploymentSource,
    DeploymentView,
    JobKind,
    Observed,
    decide,
    iso,
)

from tests.operator import factories as f

MIGRATE_NEW = naming.migration_job(f.NAME, f.NEW, 1)


def after(obs: Observed, decision: Decision, **changes) -> Observed:
    """The next round's observation: the decision's status was written; `changes` happened."""
    return dataclasses.replace(obs, status=decision.status, **changes)


def condition(decision: Decision, type_: str):
    found = decision.status.condition(type_)
    assert found is not None, f"no {type_} condition"
    return found


def reasons(decision: Decision) -> list[str]:
    return [e.reason for e in decision.events]


# --- first creation and migrations ---------------------------------------------------------------


def test_a_new_bot_is_migrated_before_any_deployment_exists():
    decision = decide(f.observed())
    assert decision.action is Action.START_MIGRATION
    assert decision.job is not None
    assert (decision.job.kind, decision.job.name, decision.job.image) == (
        JobKind.MIGRATION,
        MIGRATE_NEW,
        f.NEW,
    )
    assert decision.deployment_image is None
    assert decision.status.phase is Phase.MIGRATING
    assert decision.status.migration.phase is MigrationPhase.RUNNING
    assert condition(decision, cond.MIGRATED).status == cond.UNKNOWN
    assert condition(decision, cond.PROGRESSING).reason == "Migrating"
    assert condition(decision, cond.READY).status == cond.FALSE
    assert reasons(decision) == ["MigrationStarted"]
    assert decision.status.ready == "0/2"
    assert decision.status.observed_generation == 1


def test_the_backup_step_is_named_in_the_migration_message():
    spec = f.spec(migrations={"backup": {"enabled": True, "persistentVolumeClaimName": "b"}})
    decision = decide(f.observed(spec_=spec))
    assert "backup, then migrate" in decision.status.message


def test_a_running_migration_is_waited_for_without_touching_the_deployment():
    obs = f.observed(
        status=f.stable_status(migration=f.migration()),
        deployment=f.deployment(),
        jobs={MIGRATE_NEW: f.job(MIGRATE_NEW)},
    )
    decision = decide(obs)
    assert decision.action is Action.WAIT_FOR_MIGRATION
    assert decision.deployment_image is None and decision.job is None
    assert decision.status.phase is Phase.MIGRATING
    assert decision.requeue_after and decision.requeue_after > 0


def test_a_successful_migration_is_recorded_then_the_image_is_applied():
    obs = f.observed(
        status=f.stable_status(migration=f.migration()),
        deployment=f.deployment(),
        jobs={MIGRATE_NEW: f.job(MIGRATE_NEW, state="succeeded")},
    )
    recorded = decide(obs)
    assert recorded.action is Action.RECORD_MIGRATION_SUCCESS
    assert recorded.requeue_after == 0
    assert recorded.deployment_image is None
    assert recorded.status.migration.phase is MigrationPhase.SUCCEEDED
    assert condition(recorded, cond.MIGRATED).status == cond.TRUE
    assert Count("migrations", "succeeded") in recorded.counts

    applied = decide(after(obs, recorded))
    assert applied.action is Action.APPLY_IMAGE
    assert applied.deployment_image == f.NEW
    assert applied.deployment_source is DeploymentSource.SPEC
    assert applied.status.rollout.image == f.NEW
    assert applied.status.rollout.step is RolloutStep.PROGRESSING
    assert applied.status.phase is Phase.PROGRESSING
    assert reasons(applied) == ["RolloutStarted"]
    assert f.OLD in applied.status.message  # says what it replaces


def test_a_failed_migration_leaves_the_deployment_alone_and_is_not_retried():
    obs = f.observed(
        status=f.stable_status(migration=f.migration()),
        deployment=f.deployment(),
        jobs={MIGRATE_NEW: f.job(MIGRATE_NEW, state="failed", reason="BackoffLimitExceeded")},
        job_logs={MIGRATE_NEW: "alembic.util.exc.CommandError: Can't locate revision"},
    )
    failed = decide(obs)
    assert failed.action is Action.RECORD_MIGRATION_FAILURE
    assert failed.deployment_image is None and failed.job is None
    assert failed.status.phase is Phase.FAILED
    migrated = condition(failed, cond.MIGRATED)
    assert (migrated.status, migrated.reason) == (cond.FALSE, "MigrationFailed")
    assert "BackoffLimitExceeded" in migrated.message
    assert "Can't locate revision" in migrated.message
    assert f"still runs {f.OLD}" in migrated.message
    assert failed.events[0].type == "Warning" and failed.events[0].reason == "MigrationFailed"
    assert Count("migrations", "failed") in failed.counts

    # Rounds later (timer, events): nothing new, no Job, no Event.
    held = decide(after(obs, failed))
    assert held.action is Action.HOLD_FAILED_MIGRATION
    assert held.job is None and held.deployment_image is None and not held.events
    assert held.status.phase is Phase.FAILED


def test_a_spec_change_after_a_failed_migration_is_a_new_attempt():
    failed = f.stable_status(migration=f.migration(phase=MigrationPhase.FAILED))
    obs = f.observed(
        status=failed,
        generation=2,
        deployment=f.deployment(),
        jobs={MIGRATE_NEW: f.job(MIGRATE_NEW, state="failed")},
    )
    decision = decide(obs)
    assert decision.action is Action.START_MIGRATION
    assert decision.job.name == naming.migration_job(f.NAME, f.NEW, 2) != MIGRATE_NEW


def test_a_migration_job_deleted_before_it_finished_counts_as_failed():
    obs = f.observed(status=f.stable_status(migration=f.migration()), deployment=f.deployment())
    decision = decide(obs)
    assert decision.action is Action.RECORD_MIGRATION_FAILURE
    assert "deleted before it finished" in decision.status.message


def test_no_deployment_yet_is_said_when_the_first_migration_fails():
    obs = f.observed(
        status=f.stable_status(migration=f.migration(), stable_image=None),
        jobs={MIGRATE_NEW: f.job(MIGRATE_NEW, state="failed")},
    )
    decision = decide(obs)
    assert "No Deployment was created" in decision.status.message


def test_only_one_migration_runs_at_a_time():
    newest = "example.org/telegram-training-bot:1.4.0"
    obs = f.observed(
        spec_=f.spec(image=newest),
        generation=2,
        status=f.stable_status(migration=f.migration()),
        deployment=f.deployment(),
        jobs={MIGRATE_NEW: f.job(MIGRATE_NEW)},
    )
    waiting = decide(obs)
    assert waiting.action is Action.WAIT_FOR_MIGRATION and waiting.job is None
    assert "two migrations never run at once" in waiting.status.message

    # The superseded migration fails: recorded, and the newest image goes ahead at once.
    obs = dataclasses.replace(obs, jobs={MIGRATE_NEW: f.job(MIGRATE_NEW, state="failed")})
    recorded = decide(obs)
    assert recorded.action is Action.RECORD_MIGRATION_FAILURE
    assert recorded.status.phase is Phase.MIGRATING and recorded.requeue_after == 0
    started = decide(after(obs, recorded))
    assert started.action is Action.START_MIGRATION
    assert started.job.image == newest


def test_a_migration_job_created_by_a_stopped_operator_is_adopted():
    obs = f.observed(
        status=f.stable_status(), deployment=f.deployment(), jobs={MIGRATE_NEW: f.job(MIGRATE_NEW)}
    )
    decision = decide(obs)
    assert decision.action is Action.ADOPT_MIGRATION
    assert decision.job is None
    assert decision.status.migration.job == MIGRATE_NEW
    assert decide(after(obs, decision)).action is Action.WAIT_FOR_MIGRATION


def test_without_migrations_the_image_is_applied_at_once():
    decision = decide(f.observed(spec_=f.spec(migrations={"enabled": False})))
    assert decision.action is Action.APPLY_IMAGE
    assert decision.deployment_image == f.NEW
    assert condition(decision, cond.MIGRATED).reason == "MigrationsDisabled"


def test_going_back_to_the_stable_image_needs_no_migration():
    obs = f.observed(
        spec_=f.spec(image=f.OLD),
        generation=2,
        status=f.stable_status(rollout=f.rollout_record()),
        deployment=f.deployment(f.NEW),
    )
    decision = decide(obs)
    assert decision.action is Action.APPLY_IMAGE
    assert decision.deployment_image == f.OLD
    assert condition(decision, cond.MIGRATED).reason == "NotRequired"


# --- rollout progress, smoke test, monitor window ------------------------------------------------


def rolling(step: RolloutStep = RolloutStep.PROGRESSING, **record) -> dict:
    """Observation fields of a bot whose Deployment has NEW applied, at `step`."""
    status = f.stable_status(
        migration=f.migration(phase=MigrationPhase.SUCCEEDED),
        rollout=f.rollout_record(step=step, **record),
    )
    return {"status": status, "deployment": f.deployment(f.NEW)}


def test_an_unfinished_rollout_is_watched():
    obs = f.observed(**rolling() | {"deployment": f.deployment(f.NEW, updated=1, replicas=3)})
    decision = decide(obs)
    assert decision.action is Action.WATCH_PROGRESS
    assert decision.deployment_image == f.NEW
    assert decision.status.phase is Phase.PROGRESSING
    assert "1/2 updated" in decision.status.message


def test_a_finished_rollout_starts_the_smoke_test():
    decision = decide(f.observed(**rolling()))
    assert decision.action is Action.START_SMOKE_TEST
    smoke = naming.smoke_job(f.NAME, f.NEW, f.rollout_record().started_at)
    assert decision.job.kind is JobKind.SMOKE_TEST and decision.job.name == smoke
    assert decision.status.rollout.step is RolloutStep.SMOKE_TESTING
    assert decision.status.rollout.smoke_job == smoke
    assert reasons(decision) == ["SmokeTestStarted"]


def test_a_smoke_job_that_exists_already_is_not_created_again():
    smoke = naming.smoke_job(f.NAME, f.NEW, f.rollout_record().started_at)
    decision = decide(f.observed(**rolling(), jobs={smoke: f.job(smoke)}))
    assert decision.action is Action.START_SMOKE_TEST and decision.job is None


def test_a_deployment_not_yet_observed_is_not_judged_by_its_old_conditions():
    dep = f.deployment(f.NEW, generation=4, observed_generation=3, deadline_exceeded=True)
    decision = decide(f.observed(**rolling() | {"deployment": dep}))
    assert decision.action is Action.WATCH_PROGRESS


def test_a_running_smoke_test_is_waited_for():
    smoke = "oncall-smoke-1"
    obs = f.observed(
        **rolling(RolloutStep.SMOKE_TESTING, smoke_job=smoke), jobs={smoke: f.job(smoke)}
    )
    assert decide(obs).action is Action.WAIT_FOR_SMOKE_TEST


def test_a_vanished_smoke_job_is_started_again():
    obs = f.observed(**rolling(RolloutStep.SMOKE_TESTING, smoke_job="oncall-smoke-1"))
    decision = decide(obs)
    assert decision.action is Action.START_SMOKE_TEST
    assert decision.job.name == "oncall-smoke-1"


def test_a_passed_smoke_test_opens_the_monitor_window():
    smoke = "oncall-smoke-1"
    obs = f.observed(
        **rolling(RolloutStep.SMOKE_TESTING, smoke_job=smoke),
        jobs={smoke: f.job(smoke, state="succeeded")},
        pods=(f.pod(restarts=1), f.pod("oncall-def")),
    )
    decision = decide(obs)
    assert decision.action is Action.START_MONITORING
    assert decision.status.phase is Phase.MONITORING
    assert decision.status.rollout.monitor_until == iso(f.NOW + timedelta(seconds=900))
    assert decision.status.rollout.restart_baseline == 1
    assert reasons(decision) == ["SmokeTestPassed", "MonitoringStarted"]
    assert 0 < decision.requeue_after <= 5


def test_without_a_smoke_test_the_monitor_window_follows_the_rollout():
    obs = f.observed(**rolling(), spec_=f.spec(rollout={"smokeTest": False}))
    assert decide(obs).action is Action.START_MONITORING


def test_without_a_monitor_window_a_rollout_is_ready_at_once():
    obs = f.observed(**rolling(), spec_=f.spec(rollout={"smokeTest": False, "monitorSeconds": 0}))
    decision = decide(obs)
    assert decision.action is Action.MARK_READY
    assert decision.status.stable_image == f.NEW


def monitoring(**fields) -> Observed:
    until = iso(f.NOW + timedelta(seconds=60))
    return f.observed(
        **rolling(RolloutStep.MONITORING, monitor_until=until, restart_baseline=0) | fields
    )


def test_the_monitor_window_is_watched_until_it_ends():
    decision = decide(monitoring(pods=(f.pod(),)))
    assert decision.action is Action.MONITOR
    assert decision.status.phase is Phase.MONITORING
    assert 0 < decision.requeue_after <= 5


def test_a_rollout_that_survives_the_monitor_window_becomes_stable():
    obs = dataclasses.replace(monitoring(), now=f.NOW + timedelta(seconds=61))
    decision = decide(obs)
    assert decision.action is Action.MARK_READY
    assert decision.status.phase is Phase.READY
    assert decision.status.stable_image == f.NEW
    assert parse_spec(decision.status.stable_spec) == obs.spec
    assert decision.status.rollout.step is RolloutStep.COMPLETE
    assert condition(decision, cond.READY).status == cond.TRUE
    assert condition(decision, cond.PROGRESSING).reason == "RolloutComplete"
    assert "smoke test and 900s monitor window" in decision.status.message
    assert Count("rollouts", "succeeded") in decision.counts
    assert reasons(decision) == ["RolloutSucceeded"]


# --- failures and automatic rollback -------------------------------------------------------------


def assert_rolled_back(decision: Decision, reason: str, metric_reason: str) -> None:
    assert decision.action is Action.ROLL_BACK
    assert decision.deployment_image == f.OLD
    assert decision.deployment_source is DeploymentSource.STABLE
    assert decision.status.rejected_image == f.NEW
    assert decision.status.phase is Phase.ROLLING_BACK
    assert decision.status.rollout.step is RolloutStep.ROLLING_BACK
    assert decision.status.rollout.reason == reason
    rolled_back = condition(decision, cond.ROLLED_BACK)
    assert (rolled_back.status, rolled_back.reason) == (cond.TRUE, "AutomaticRollback")
    assert "not retried until spec.image changes" in rolled_back.message
    assert Count("rollouts", "failed") in decision.counts
    assert Count("rollbacks", metric_reason) in decision.counts
    assert [(e.type, e.reason) for e in decision.events] == [("Warning", "RollingBack")]


def test_an_exceeded_progress_deadline_rolls_back():
    dep = f.deployment(f.NEW, ready=1, updated=1, replicas=3, deadline_exceeded=True)
    decision = decide(f.observed(**rolling() | {"deployment": dep}))
    assert_rolled_back(decision, "ProgressDeadlineExceeded", "progress-deadline")
    assert "within 300s" in decision.status.message


def test_crash_looping_pods_roll_back_without_waiting_for_the_deadline():
    dep = f.deployment(f.NEW, ready=2, updated=1, replicas=3)
    pods = (
        f.pod("oncall-new", restarts=3, ready=False, waiting="CrashLoopBackOff"),
        f.pod("oncall-old", image=f.OLD),
    )
    decision = decide(f.observed(**rolling() | {"deployment": dep}, pods=pods))
    assert_rolled_back(decision, "CrashLoopBackOff", "crash-loop")
    assert "kubectl logs oncall-new" in decision.status.message


def test_crash_loops_of_the_old_image_are_not_blamed_on_the_new_one():
    dep = f.deployment(f.NEW, ready=1, updated=1, replicas=3)
    pods = (f.pod("oncall-old", image=f.OLD, waiting="CrashLoopBackOff", restarts=5),)
    decision = decide(f.observed(**rolling() | {"deployment": dep}, pods=pods))
    assert decision.action is Action.WATCH_PROGRESS


def test_a_failed_smoke_test_rolls_back_with_its_log():
    smoke = "oncall-smoke-1"
    obs = f.observed(
        **rolling(RolloutStep.SMOKE_TESTING, smoke_job=smoke),
        jobs={smoke: f.job(smoke, state="failed")},
        job_logs={smoke: "GET /ready: 503"},
    )
    decision = decide(obs)
    assert_rolled_back(decision, "SmokeTestFailed", "smoke-test")
    assert "GET /ready: 503" in decision.status.message


@pytest.mark.parametrize(
    "fields",
    [
        {"pods": (f.pod(restarts=1),)},
        {"pods": (f.pod(waiting="CrashLoopBackOff", ready=False),)},
        {"deployment": f.deployment(f.NEW, ready=1, deadline_exceeded=True)},
    ],
    ids=["restart", "crash-loop", "lost-availability"],
)
def test_degradation_in_the_monitor_window_rolls_back(fields):
    decision = decide(monitoring(**fields))
    assert_rolled_back(decision, "DegradedDuringMonitoring", "monitor-window")


def test_a_rollback_is_followed_until_the_stable_image_serves_again():
    rolling_back = f.stable_status(
        rejected_image=f.NEW,
        rollout=f.rollout_record(
            step=RolloutStep.ROLLING_BACK, reason="CrashLoopBackOff", message="pod crash-looping"
        ),
    )
    dep = f.deployment(f.OLD, updated=1, replicas=3, ready=2)
    waiting = decide(f.observed(status=rolling_back, deployment=dep))
    assert waiting.action is Action.WAIT_FOR_ROLLBACK
    assert waiting.deployment_image == f.OLD
    assert waiting.deployment_source is DeploymentSource.STABLE
    assert waiting.status.phase is Phase.ROLLING_BACK

    done = decide(f.observed(status=rolling_back, deployment=f.deployment(f.OLD)))
    assert done.action is Action.RECORD_ROLLED_BACK
    assert done.status.phase is Phase.ROLLED_BACK
    assert reasons(done) == ["RolledBack"]
    assert "CrashLoopBackOff" in done.status.message
    assert condition(done, cond.READY).status == cond.FALSE


def test_a_rollback_that_cannot_progress_either_fails():
    rolling_back = f.stable_status(
        rejected_image=f.NEW, rollout=f.rollout_record(step=RolloutStep.ROLLING_BACK)
    )
    dep = f.deployment(f.OLD, ready=0, deadline_exceeded=True)
    decision = decide(f.observed(status=rolling_back, deployment=dep))
    assert decision.action is Action.FAIL_ROLLOUT
    assert decision.status.phase is Phase.FAILED
    assert condition(decision, cond.PROGRESSING).reason == "RollbackFailed"
    held = decide(f.observed(status=decision.status, deployment=dep))
    assert held.action is Action.HOLD_FAILED_ROLLOUT and not held.events


def test_a_rejected_image_is_not_retried_until_spec_image_changes():
    rolled_back = f.stable_status(
        phase="RolledBack",
        rejected_image=f.NEW,
        rollout=f.rollout_record(step=RolloutStep.ROLLED_BACK, reason="SmokeTestFailed"),
    )
    # Even another spec change (here: generation 5) does not retry the rejected image.
    for generation in (1, 5):
        decision = decide(
            f.observed(status=rolled_back, generation=generation, deployment=f.deployment(f.OLD))
        )
        assert decision.action is Action.HOLD_REJECTED
        assert decision.job is None and not decision.events
        assert decision.deployment_image == f.OLD
        assert decision.deployment_source is DeploymentSource.STABLE
        assert decision.status.phase is Phase.ROLLED_BACK

    fixed = "example.org/telegram-training-bot:1.3.1"
    decision = decide(
        f.observed(
            spec_=f.spec(image=fixed),
            status=rolled_back,
            generation=6,
            deployment=f.deployment(f.OLD),
        )
    )
    assert decision.action is Action.START_MIGRATION
    assert decision.job.image == fixed
    assert decision.status.rejected_image is None


def test_a_new_rollout_clears_the_rolled_back_condition():
    status = f.stable_status()
    status = status.model_copy(
        update={
            "conditions": cond.set_condition(
                (), cond.ROLLED_BACK, cond.TRUE, "AutomaticRollback", "x", now="t", generation=1
            )
        }
    )
    decision = decide(f.observed(status=status, deployment=f.deployment()))
    assert condition(decision, cond.ROLLED_BACK).status == cond.FALSE


def test_without_auto_rollback_a_failed_rollout_stays_and_says_why():
    spec = f.spec(rollout={"autoRollback": False})
    dep = f.deployment(f.NEW, ready=0, deadline_exceeded=True)
    obs = f.observed(**rolling() | {"deployment": dep}, spec_=spec)
    decision = decide(obs)
    assert decision.action is Action.FAIL_ROLLOUT
    assert decision.deployment_image == f.NEW
    assert decision.status.phase is Phase.FAILED
    assert decision.status.rejected_image is None
    assert "autoRollback is false" in decision.status.message
    assert Count("rollouts", "failed") in decision.counts
    assert not [c for c in decision.counts if c.metric == "rollbacks"]

    held = decide(after(obs, decision))
    assert held.action is Action.HOLD_FAILED_ROLLOUT and not held.events
    # A spec change follows the rollout afresh (here the Deployment recovers meanwhile).
    recovering = f.deployment(f.NEW, ready=1, updated=1, replicas=3)
    again = decide(after(obs, decision, generation=2, deployment=recovering))
    assert again.action is Action.WATCH_PROGRESS


def test_the_first_rollout_has_nothing_to_roll_back_to():
    status = f.stable_status(
        stable_image=None,
        stable_spec=None,
        migration=f.migration(phase=MigrationPhase.SUCCEEDED),
        rollout=f.rollout_record(),
    )
    pods = (f.pod(waiting="CrashLoopBackOff", ready=False, restarts=2),)
    decision = decide(f.observed(status=status, deployment=f.deployment(f.NEW, ready=0), pods=pods))
    assert decision.action is Action.FAIL_ROLLOUT
    assert "no stable image to roll back to" in decision.status.message


# --- manual rollbacks ----------------------------------------------------------------------------


def test_a_manual_rollout_undo_is_recorded_and_left_standing():
    undone = f.deployment(f.OLD, changed_by_someone=True)
    status = f.stable_status(image=f.NEW)
    obs = f.observed(spec_=f.spec(image=f.NEW), status=status, deployment=undone)
    decision = decide(obs)
    assert decision.action is Action.RECORD_MANUAL_ROLLBACK
    assert decision.deployment_image is None and decision.job is None
    assert decision.status.phase is Phase.ROLLED_BACK
    assert decision.status.manual_rollback.image == f.OLD
    assert decision.status.manual_rollback.applied_image == f.NEW
    assert decision.status.image == f.OLD  # the IMAGE column shows what runs
    rolled_back = condition(decision, cond.ROLLED_BACK)
    assert (rolled_back.status, rolled_back.reason) == (cond.TRUE, "ManualRollback")
    assert "until the TrainingBot's spec changes" in rolled_back.message
    assert [(e.type, e.reason) for e in decision.events] == [("Warning", "ManualRollbackDetected")]
    assert decision.counts == (Count("rollbacks", "manual"),)

    held = decide(after(obs, decision))
    assert held.action is Action.HOLD_MANUAL_ROLLBACK
    assert held.deployment_image is None and not held.events and not held.counts


def test_a_spec_change_after_a_manual_rollback_hands_control_back():
    record = ManualRollbackRecord(image=f.OLD, applied_image=f.NEW, generation=1, detected_at="t")
    status = f.stable_status(image=f.NEW, stable_image=f.NEW, manual_rollback=record)
    obs = f.observed(
        spec_=f.spec(image=f.NEW),
        status=status,
        generation=2,
        deployment=f.deployment(f.OLD, changed_by_someone=True),
    )
    decision = decide(obs)
    assert decision.action is Action.APPLY_IMAGE
    assert decision.deployment_image == f.NEW
    assert decision.status.manual_rollback is None


def test_adopting_a_manual_rollback_into_the_spec_needs_no_migration():
    record = ManualRollbackRecord(image=f.OLD, applied_image=f.NEW, generation=1, detected_at="t")
    status = f.stable_status(image=f.NEW, stable_image=f.NEW, manual_rollback=record)
    obs = f.observed(
        spec_=f.spec(image=f.OLD),
        status=status,
        generation=2,
        deployment=f.deployment(f.OLD, changed_by_someone=True),
    )
    decision = decide(obs)
    assert decision.action is Action.APPLY_IMAGE
    assert decision.deployment_image == f.OLD and decision.job is None


def test_a_manual_rollback_during_a_rollout_stops_it():
    status = f.stable_status(
        rollout=f.rollout_record(), migration=f.migration(phase=MigrationPhase.SUCCEEDED)
    )
    decision = decide(
        f.observed(status=status, deployment=f.deployment(f.OLD, changed_by_someone=True))
    )
    assert decision.action is Action.RECORD_MANUAL_ROLLBACK
    assert decision.status.rollout.step is RolloutStep.ROLLED_BACK


def test_a_person_restoring_the_applied_image_ends_the_manual_hold():
    record = ManualRollbackRecord(image=f.OLD, applied_image=f.NEW, generation=1, detected_at="t")
    status = f.stable_status(image=f.NEW, manual_rollback=record)
    obs = f.observed(
        spec_=f.spec(image=f.NEW),
        status=status.model_copy(update={"stable_image": f.NEW}),
        deployment=f.deployment(f.NEW),
    )
    decision = decide(obs)
    assert decision.status.manual_rollback is None
    assert decision.action is Action.STEADY


# --- steady state, pause, references, monitoring --------------------------------------------------


def ready_obs(**fields) -> Observed:
    base = {
        "status": f.stable_status(),
        "spec_": f.spec(image=f.OLD),
        "deployment": f.deployment(f.OLD),
    }
    return f.observed(**base | fields)


def test_a_stable_bot_is_ready_and_its_deployment_kept_rendered():
    decision = decide(ready_obs())
    assert decision.action is Action.STEADY
    assert decision.status.phase is Phase.READY
    assert decision.deployment_image == f.OLD
    assert decision.deployment_source is DeploymentSource.SPEC
    assert decision.requeue_after is None
    assert decision.status.ready == "2/2"
    assert not decision.events


def test_a_stable_bot_with_missing_pods_is_degraded():
    decision = decide(ready_obs(deployment=f.deployment(f.OLD, ready=1)))
    assert decision.status.phase is Phase.DEGRADED
    assert condition(decision, cond.READY).status == cond.FALSE


def test_pods_rolling_for_new_credentials_show_as_progressing():
    dep = f.deployment(f.OLD, generation=4, observed_generation=3)
    decision = decide(ready_obs(deployment=dep))
    assert decision.status.phase is Phase.PROGRESSING
    assert decision.requeue_after


def test_polling_mode_counts_one_replica():
    decision = decide(
        ready_obs(
            spec_=f.spec(image=f.OLD, mode="polling", replicas=3),
            deployment=f.deployment(f.OLD, desired=1),
        )
    )
    assert decision.status.ready == "1/1"
    assert decision.status.phase is Phase.READY


def test_paused_changes_nothing_and_says_so_once():
    obs = ready_obs(spec_=f.spec(paused=True))
    decision = decide(obs)
    assert decision.action is Action.PAUSE
    assert not decision.touches_children
    assert decision.deployment_image is None and decision.job is None
    assert decision.status.phase is Phase.PAUSED
    assert reasons(decision) == ["Paused"]
    assert not decide(after(obs, decision)).events

    resumed = decide(after(obs, decision, spec=f.spec(image=f.OLD)))
    assert resumed.status.phase is Phase.READY
    assert reasons(resumed) == ["Resumed"]


def test_paused_also_holds_a_rollout_midway():
    obs = f.observed(**rolling(), spec_=f.spec(paused=True))
    assert decide(obs).action is Action.PAUSE


def test_missing_references_hold_everything_and_name_what_is_missing():
    obs = f.observed(missing_references=("Secret bot-db",))
    decision = decide(obs)
    assert decision.action is Action.WAIT_FOR_REFERENCES
    assert decision.job is None and decision.deployment_image is None
    assert decision.status.phase is Phase.PENDING
    assert "Secret bot-db" in decision.status.message
    assert reasons(decision) == ["MissingReference"]
    assert not decide(after(obs, decision)).events

    running = decide(ready_obs(missing_references=("Secret bot-db",)))
    assert running.status.phase is Phase.READY  # the stable pods keep serving


@pytest.mark.parametrize(
    ("spec_overrides", "view", "expected"),
    [
        ({}, f.served(), (cond.TRUE, "Created")),
        ({}, f.served(False, False), (cond.FALSE, "CRDNotServed")),
        ({}, f.served(True, False), (cond.FALSE, "CRDNotServed")),
        (
            {"monitoring": {"prometheusRule": {"enabled": False}}},
            f.served(True, False),
            (cond.TRUE, "Created"),
        ),
        (
            {
                "monitoring": {
                    "serviceMonitor": {"enabled": False},
                    "prometheusRule": {"enabled": False},
                }
            },
            f.served(),
            (cond.FALSE, "Disabled"),
        ),
    ],
)
def test_monitoring_available_says_what_is_served_and_wanted(spec_overrides, view, expected):
    decision = decide(ready_obs(spec_=f.spec(image=f.OLD, **spec_overrides), monitoring=view))
    found = condition(decision, cond.MONITORING_AVAILABLE)
    assert (found.status, found.reason) == expected
    assert decision.status.phase is Phase.READY  # monitoring never fails the bot


def test_monitoring_available_is_kept_when_not_checked():
    first = decide(ready_obs(monitoring=f.served(False, False)))
    later = decide(ready_obs(status=first.status))
    assert later.status.condition(cond.MONITORING_AVAILABLE) == first.status.condition(
        cond.MONITORING_AVAILABLE
    )


def test_a_condition_keeps_its_transition_time_while_its_status_holds():
    first = decide(ready_obs())
    later = decide(
        dataclasses.replace(ready_obs(status=first.status), now=f.NOW + timedelta(minutes=5))
    )
    assert condition(later, cond.READY).last_transition_time == iso(f.NOW)
    degraded = decide(
        dataclasses.replace(
            ready_obs(status=later.status, deployment=f.deployment(f.OLD, ready=1)),
            now=f.NOW + timedelta(minutes=6),
        )
    )
    assert condition(degraded, cond.READY).last_transition_time == iso(f.NOW + timedelta(minutes=6))


def test_an_operator_that_stopped_after_applying_picks_the_rollout_up():
    status = f.stable_status(migration=f.migration(phase=MigrationPhase.SUCCEEDED))
    decision = decide(f.observed(status=status, deployment=f.deployment(f.NEW)))
    assert decision.action is Action.START_SMOKE_TEST
    assert decision.status.rollout.image == f.NEW


def test_a_deleted_deployment_of_a_stable_bot_is_recreated():
    decision = decide(ready_obs(deployment=None))
    assert decision.action is Action.APPLY_IMAGE
    assert decision.deployment_image == f.OLD


# --- reading the Deployment ------------------------------------------------------------


def _deployment_manifest(*managers: tuple[str, str, bool]) -> dict:
    """A Deployment whose managedFields list (manager, operation, owns the bot image)."""
    entries = []
    for manager, operation, image in managers:
        bot = {".": {}, "f:name": {}}
        if image:
            bot["f:image"] = {}
        entries.append(
            {
                "manager": manager,
                "operation": operation,
                "fieldsV1": {
                    "f:spec": {
                        "f:template": {"f:spec": {"f:containers": {'k:{"name":"bot"}': bot}}}
                    }
                },
            }
        )
    return {
        "metadata": {"name": "oncall", "generation": 2, "managedFields": entries},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "bot", "image": f.OLD}]}},
        },
        "status": {
            "observedGeneration": 2,
            "replicas": 2,
            "updatedReplicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
        },
    }


@pytest.mark.parametrize(
    ("managers", "owns"),
    [
        ((("trainingbot-operator", "Apply", True),), True),
        # `kubectl rollout undo` (manager kubectl) took the image over.
        ((("trainingbot-operator", "Apply", False), ("kubectl", "Update", True)), False),
        # Created by someone else: the operator never applied it.
        ((("kubectl-client-side-apply", "Update", True),), None),
    ],
)
def test_who_changed_the_image_is_read_from_field_ownership(managers, owns):
    view = DeploymentView.from_manifest(_deployment_manifest(*managers))
    assert view.owns_image is owns
    assert view.changed_by_someone is (owns is False)
    assert view.applied_image == (f.OLD if owns else None)
    assert view.rollout_complete and not view.updating
