"""Every final resolution reaches the bins exactly once, whatever delivers it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connections
from django_tenants.utils import tenant_context
from sklearn.metrics import brier_score_loss

from calibration import selectors, services, stats
from calibration.models import (
    CalibrationBin,
    CalibrationBucket,
    CalibrationWindow,
    CountedOutcome,
)
from outcomes import services as outcome_services
from outcomes import sweeps
from outcomes.events import ResolvedOutcome
from outcomes.models import OutcomeRecord, Signal
from outcomes.tests.factories import OutcomeFactory

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def record(action_id, confidence, *, outcome_type="email_engagement", action_type="send_email"):
    return OutcomeFactory(
        action_id=action_id,
        conversation_id=f"c-{action_id}",
        action_type=action_type,
        predicted_confidence=confidence,
        outcome_type=outcome_type,
        occurred_at=T0,
    )


@pytest.fixture
def in_alpha(alpha):
    with tenant_context(alpha.tenant):
        yield alpha


def test_signals_labels_and_expiry_fill_the_bins(in_alpha) -> None:
    record("r1", 0.7)
    record("r2", 0.7)
    record("r3", 0.15)
    record("m1", 0.9, outcome_type="meeting_outcome", action_type="schedule_meeting")
    outcome_services.record_signal(
        conversation_id="c-r1", kind="replied", occurred_at=T0 + timedelta(hours=2), data={}
    )
    outcome_services.label_outcome(
        outcome_id=OutcomeRecord.objects.get(action_id="r3").pk,
        status="positive",
        user=in_alpha.users["admin"],
    )
    sweeps.run_sweep(window="expiry", now=T0 + timedelta(days=30))  # r2 and m1 expire
    emails = selectors.bin_sums(action_type="send_email")
    assert emails.n.tolist() == [0, 1, 0, 0, 0, 0, 2, 0, 0, 0]  # 0.15 -> bin 1, 0.7 -> bin 6
    assert emails.sum_y.tolist() == [0, 1, 0, 0, 0, 0, 1, 0, 0, 0]  # expired email = failure
    # A meeting nobody reported on is not a failure of the agent's confidence.
    assert selectors.bin_sums(action_type="schedule_meeting").total == 0
    assert CalibrationBin.objects.filter(action_type="send_email").count() == 10


def test_ambiguous_waits_for_its_label(in_alpha) -> None:
    record("a1", 0.55)
    Signal.objects.create(
        conversation=OutcomeRecord.objects.get().conversation,
        kind="opened",
        occurred_at=T0 + timedelta(hours=1),
    )
    sweeps.run_sweep(window="expiry", now=T0 + timedelta(days=8))
    assert selectors.bin_sums(action_type="send_email").total == 0
    outcome_services.label_outcome(
        outcome_id=OutcomeRecord.objects.get().pk, status="negative", user=in_alpha.users["admin"]
    )
    assert selectors.bin_sums(action_type="send_email").n[5] == 1


def test_a_repeated_delivery_counts_once(in_alpha) -> None:
    event = ResolvedOutcome(
        id=987654,
        action_type="send_email",
        outcome_type="email_engagement",
        status="positive",
        score=1.0,
        predicted_confidence=0.8,
        rep_id=None,
        signal_source="event",
    )
    assert services.count_resolved_outcomes([event]) == 1
    assert services.count_resolved_outcomes([event, event]) == 0
    assert selectors.bin_sums(action_type="send_email").n.sum() == 1
    assert CountedOutcome.objects.filter(outcome_id=987654).count() == 1


def test_bins_agree_with_scikit_learn_on_the_resolved_outcomes(in_alpha) -> None:
    rng = np.random.default_rng(5)
    confidences = np.round(rng.uniform(0, 1, 120), 2)
    successes = rng.uniform(0, 1, 120) < confidences * 0.7
    for i, (p, _) in enumerate(zip(confidences, successes, strict=True)):
        record(f"s{i}", float(p))
    for i, ok in enumerate(successes):
        outcome_services.label_outcome(
            outcome_id=OutcomeRecord.objects.get(action_id=f"s{i}").pk,
            status="positive" if ok else "negative",
            user=in_alpha.users["admin"],
        )
    sums = selectors.bin_sums(action_type="send_email")
    assert stats.brier_score(sums) == pytest.approx(
        brier_score_loss(successes.astype(float), confidences), abs=1e-9
    )
    assert sums.n.tolist() == np.bincount(stats.bin_index(confidences), minlength=10).tolist()


def _in_thread(tenant, fn, barrier, errors):
    try:
        with tenant_context(tenant):
            barrier.wait()
            fn()
    except BaseException as exc:
        errors.append(exc)
    finally:
        connections.close_all()


def test_concurrent_resolutions_lose_no_update(world, django_db_blocker, db) -> None:
    """16 threads on their own connections resolve 20 outcomes each into the same bins."""
    tenant = world["beta"].tenant
    threads_n, per_thread = 16, 20
    action_type = "race_send"
    with django_db_blocker.unblock():
        ids: list[int] = []

        def setup() -> None:
            for i in range(threads_n * per_thread):
                ids.append(record(f"cal-race-{i}", 0.75, action_type=action_type).id)

        errors: list[BaseException] = []
        t = threading.Thread(target=_in_thread, args=(tenant, setup, threading.Barrier(1), errors))
        t.start()
        t.join()
        barrier = threading.Barrier(threads_n)
        chunks = [ids[i::threads_n] for i in range(threads_n)]
        workers = [
            threading.Thread(
                target=_in_thread,
                args=(
                    tenant,
                    lambda chunk=chunk: [
                        outcome_services.transition_outcomes(
                            ids=[pk], status="positive", score=1.0, source="event", reason="race"
                        )
                        for pk in chunk
                    ],
                    barrier,
                    errors,
                ),
            )
            for chunk in chunks
        ]
        try:
            [w.start() for w in workers]
            [w.join(60) for w in workers]
            assert not errors
            with tenant_context(tenant):
                sums = selectors.bin_sums(action_type=action_type)
                assert sums.n[7] == threads_n * per_thread
                assert sums.sum_y[7] == threads_n * per_thread
                assert sums.sum_p[7] == pytest.approx(0.75 * threads_n * per_thread)
            # Their windows closed long ago: the learning job (on its own connection)
            # puts each exactly once in the window's fine bucket (0.75: bin 37).
            learned: list[int] = []
            t = threading.Thread(
                target=_in_thread,
                args=(
                    tenant,
                    lambda: learned.append(services.learn(action_type=action_type).learned),
                    threading.Barrier(1),
                    errors,
                ),
            )
            t.start()
            t.join()
            assert learned == [threads_n * per_thread] and not errors
            with tenant_context(tenant):
                window = selectors.window_sums(action_type=action_type, half_life=0)
                assert window.n[stats.fine_of(0.75)] == threads_n * per_thread
                assert window.total == threads_n * per_thread
        finally:

            def cleanup() -> None:
                OutcomeRecord.objects.filter(action_id__startswith="cal-race-").delete()
                CalibrationBin.objects.filter(action_type=action_type).delete()
                CalibrationBucket.objects.filter(action_type=action_type).delete()
                CalibrationWindow.objects.filter(action_type=action_type).delete()
                CountedOutcome.objects.filter(outcome_id__in=ids).delete()
                from outcomes.models import Conversation

                Conversation.objects.filter(external_id__startswith="c-cal-race-").delete()

            t = threading.Thread(
                target=_in_thread, args=(tenant, cleanup, threading.Barrier(1), errors)
            )
            t.start()
            t.join()


def _fill(action_type: str, p: float, n: int, successes: int) -> None:
    """n outcomes of actions taken on T0 (their windows long closed) at confidence p,
    `successes` of them positive, resolved and learned from."""
    recorded = outcome_services.record_outcomes(
        items=[
            outcome_services.OutcomeInput(
                action_id=f"{action_type}-{i}",
                conversation_id=f"c-{action_type}-{i}",
                action_type=action_type,
                predicted_confidence=p,
                outcome_type="email_engagement",
                occurred_at=T0 + timedelta(minutes=i),
            )
            for i in range(n)
        ]
    )
    ids = [r.id for r in recorded]
    for status, chosen in (("positive", ids[:successes]), ("negative", ids[successes:])):
        outcome_services.transition_outcomes(
            ids=chosen, status=status, score=None, source="event", reason="test"
        )
    assert services.learn(action_type=action_type).learned == n


def test_recalibrate_moves_an_overconfident_policy_and_logs_it(in_alpha) -> None:
    from calibration.models import BehaviorPolicy, CalibrationAdjustment

    _fill("pitch", 0.85, 60, 20)
    dry = services.recalibrate(action_type="pitch", dry_run=True)
    assert (dry.scale, dry.threshold) == (0.9, 0.7)
    assert not CalibrationAdjustment.objects.exists()  # a dry run changes nothing
    assert not BehaviorPolicy.objects.filter(action_type="pitch").exists()
    services.recalibrate(action_type="pitch")
    services.recalibrate(action_type="pitch")
    policy = selectors.policy_for(action_type="pitch")
    assert (policy.confidence_scale, policy.escalation_threshold) == (0.8, 0.8)
    log = list(CalibrationAdjustment.objects.filter(action_type="pitch").order_by("id"))
    assert [(a.before_scale, a.after_scale) for a in log] == [(1.0, 0.9), (0.9, 0.8)]
    assert log[0].triggered_bins[0]["index"] == 8
    answer = selectors.calibrate(action_type="pitch", confidence=0.85)
    fitted = stats.monotone_map(
        selectors.window_sums(action_type="pitch"), scale=0.8, prior_weight=5
    )
    assert answer.method == "bins" and answer.sample_count == 60
    assert answer.calibrated_confidence == pytest.approx(float(fitted(0.85)), abs=1e-12)
    assert answer.calibrated_confidence < 0.5 and answer.escalate  # 20 of 60 succeeded


def test_a_rerun_of_the_same_run_takes_no_second_step(in_alpha) -> None:
    """A recalibration task redelivered after its worker died carries the same id: the
    types it already adjusted are skipped; another run adjusts again."""
    from calibration.models import CalibrationAdjustment

    _fill("rerun", 0.85, 60, 20)
    assert services.recalibrate(action_type="rerun", run_id="task-1").scale == 0.9
    assert services.recalibrate(action_type="rerun", run_id="task-1") is None
    assert selectors.policy_for(action_type="rerun").confidence_scale == 0.9
    assert services.recalibrate(action_type="rerun", run_id="task-2").scale == 0.8
    runs = CalibrationAdjustment.objects.filter(action_type="rerun").order_by("id")
    assert list(runs.values_list("run_id", "after_scale")) == [("task-1", 0.9), ("task-2", 0.8)]


def test_tenant_settings_drive_the_check_and_the_map(in_alpha) -> None:
    from calibration.models import CalibrationSettings

    CalibrationSettings.objects.create(min_samples=100, max_step=0.05, prior_weight=2)
    _fill("tuned", 0.85, 60, 20)
    assert services.recalibrate(action_type="tuned") is None  # 60 < 100 samples
    assert selectors.calibrate(action_type="tuned", confidence=0.85).method == "scale"
    _fill("tuned_more", 0.85, 200, 60)
    proposal = services.recalibrate(action_type="tuned_more")
    assert (proposal.scale, proposal.threshold) == (0.95, 0.65)
    answer = selectors.calibrate(action_type="tuned_more", confidence=0.85)
    fitted = stats.monotone_map(
        selectors.window_sums(action_type="tuned_more"), scale=0.95, prior_weight=2
    )
    assert answer.calibrated_confidence == pytest.approx(float(fitted(0.85)), abs=1e-12)


def test_cold_start_changes_nothing(in_alpha) -> None:
    _fill("quiet", 0.95, 9, 0)
    assert services.recalibrate(action_type="quiet") is None
    assert selectors.policy_for(action_type="quiet").confidence_scale == 1.0


def test_revert_restores_the_previous_policy(in_alpha) -> None:
    from calibration.models import CalibrationAdjustment
    from learning.errors import Conflict

    _fill("revert_me", 0.85, 60, 20)
    services.recalibrate(action_type="revert_me")
    services.recalibrate(action_type="revert_me")
    first, second = CalibrationAdjustment.objects.filter(action_type="revert_me").order_by("id")
    with pytest.raises(Conflict):
        services.revert_adjustment(adjustment_id=first.pk, user=in_alpha.users["admin"])
    services.revert_adjustment(adjustment_id=second.pk, user=in_alpha.users["admin"])
    services.revert_adjustment(adjustment_id=first.pk, user=in_alpha.users["admin"])
    policy = selectors.policy_for(action_type="revert_me")
    assert (policy.confidence_scale, policy.escalation_threshold) == (1.0, 0.6)
    assert policy.version == 4  # two steps, two reverts: each change is a version
    with pytest.raises(Conflict):
        services.revert_adjustment(adjustment_id=first.pk, user=in_alpha.users["admin"])


def test_curves_of_every_type_equal_each_curve(in_alpha, django_assert_max_num_queries) -> None:
    _fill("pitch", 0.85, 60, 20)
    _fill("nudge", 0.35, 30, 20)
    services.recalibrate(action_type="pitch")  # a stored policy for one type only
    with django_assert_max_num_queries(3):  # bins, policies, windows
        together = selectors.curves()
    assert together == [selectors.curve(t) for t in ("nudge", "pitch")]
    assert [c["policy"]["confidence_scale"] for c in together] == [1.0, 0.9]


def test_each_action_carries_the_policy_version_in_force_when_it_was_taken(in_alpha) -> None:
    """Versions come into force as the policy changes (an adjustment, a revert); an action
    before the first change ran under version 0, the defaults."""
    from datetime import timedelta

    from calibration.models import CalibrationAdjustment, PolicyVersion
    from outcomes.models import OutcomeRecord
    from outcomes.tests.factories import OutcomeFactory, today_noon

    _fill("versioned", 0.85, 60, 20)
    services.recalibrate(action_type="versioned")
    services.recalibrate(action_type="versioned")
    latest = CalibrationAdjustment.objects.filter(action_type="versioned").first()
    services.revert_adjustment(adjustment_id=latest.pk, user=in_alpha.users["admin"])
    versions = PolicyVersion.objects.filter(action_type="versioned").order_by("version")
    assert [(v.version, v.cause, v.confidence_scale) for v in versions] == [
        (1, "adjustment", 0.9),
        (2, "adjustment", 0.8),
        (3, "revert", 0.9),
    ]
    noon = today_noon()
    for version, days in ((1, 30), (2, 20), (3, 10)):  # v-30 was taken as version 1 began
        PolicyVersion.objects.filter(action_type="versioned", version=version).update(
            valid_from=noon - timedelta(days=days)
        )
    for days in (40, 30, 25, 15, 5):
        OutcomeFactory(action_id=f"v-{days}", action_type="versioned", days_ago=days)
    OutcomeFactory(action_id="other-type", action_type="send_email", days_ago=5)
    stamped = dict(
        OutcomeRecord.objects.exclude(action_id__startswith="versioned-")
        .annotate(v=selectors.version_in_force())
        .values_list("action_id", "v")
    )
    assert stamped == {"v-40": 0, "v-30": 1, "v-25": 1, "v-15": 2, "v-5": 3, "other-type": 0}
