"""A Celery worker killed (SIGKILL) in the middle of a sweep, and of a recalibration, on the
real broker: the task is redelivered to another worker (acks_late), and in the end every
outcome is resolved exactly once, every calibration bin holds exactly the resolved
outcomes, and every policy moved exactly one step."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from calibration.models import (
    BehaviorPolicy,
    CalibrationAdjustment,
    CalibrationBin,
    CountedOutcome,
)
from outcomes import services
from outcomes.models import Conversation, OutcomeRecord
from tests.browser_support import committed
from tests.celery_support import worker_process

# The session's test database (set up only for tests marked as using it); the work
# itself runs on other connections, committed.
pytestmark = pytest.mark.django_db

N = 12_000


def test_a_worker_killed_mid_sweep_leaves_every_outcome_resolved_once(
    world, django_db_blocker
) -> None:
    from config.celery import app

    tenant = world["beta"].tenant
    queue = f"{settings.QUEUES['sweeps']}-crash"
    long_ago = timezone.now() - timedelta(days=40)  # every window closed: all expire
    with django_db_blocker.unblock():

        def seed() -> None:
            for start in range(0, N, 2000):
                services.record_outcomes(
                    items=[
                        services.OutcomeInput(
                            action_id=f"crash-{i}",
                            conversation_id=f"crash-c{i % 50}",
                            action_type="crash_email",
                            predicted_confidence=0.65,
                            outcome_type="email_engagement",
                            occurred_at=long_ago,
                        )
                        for i in range(start, start + 2000)
                    ]
                )

        committed(tenant, seed)
        first = worker_process(queue, "first", visibility=3600)
        second = None
        try:
            with tenant_context(tenant):
                result = app.send_task(
                    "outcomes.sweep", kwargs={"window": "expiry", "batch_size": 100}, queue=queue
                )
            expired = lambda: OutcomeRecord.objects.filter(  # noqa: E731
                action_id__startswith="crash-", status="expired"
            ).count()
            deadline = time.monotonic() + 60
            done = 0
            while done == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
                done = committed(tenant, expired)
            first.send_signal(signal.SIGKILL)  # mid-sweep: some batches committed, not all
            first.wait(timeout=10)
            at_kill = committed(tenant, expired)
            assert 0 < at_kill < N, f"killed at {at_kill} of {N}"
            # Another worker restores the unacknowledged task after its visibility timeout.
            second = worker_process(queue, "second", visibility=2)
            assert result.get(timeout=120)["window"] == "expiry"
            # A sweep handles a bounded number of batches per run and goes on in fresh
            # tasks on the same queue: wait for the last of them.
            deadline = time.monotonic() + 120
            while committed(tenant, expired) < N and time.monotonic() < deadline:
                time.sleep(0.2)

            def tally() -> dict:
                outcomes = OutcomeRecord.objects.filter(action_id__startswith="crash-")
                ids = list(outcomes.values_list("pk", flat=True))
                bins = CalibrationBin.objects.filter(action_type="crash_email")
                return {
                    "expired": outcomes.filter(status="expired").count(),
                    "pending": outcomes.filter(status="pending").count(),
                    "counted": CountedOutcome.objects.filter(outcome_id__in=ids).count(),
                    "in_bins": sum(b.n for b in bins),
                    "bin_6": [b.n for b in bins if b.bin_index == 6],
                }

            assert committed(tenant, tally) == {
                "expired": N,
                "pending": 0,
                "counted": N,
                "in_bins": N,
                "bin_6": [N],  # 0.65 falls in (0.6, 0.7]
            }
            print(f"killed after {at_kill} of {N} outcomes; the redelivered sweep did the rest")
        finally:
            for worker in (first, second):
                if worker is not None and worker.poll() is None:
                    worker.terminate()
                    worker.wait(timeout=30)

            def cleanup() -> None:
                ids = list(
                    OutcomeRecord.objects.filter(action_id__startswith="crash-").values_list(
                        "pk", flat=True
                    )
                )
                CountedOutcome.objects.filter(outcome_id__in=ids).delete()
                OutcomeRecord.objects.filter(pk__in=ids).delete()
                CalibrationBin.objects.filter(action_type="crash_email").delete()
                Conversation.objects.filter(external_id__startswith="crash-c").delete()

            committed(tenant, cleanup)


TYPES = 300
PER_TYPE = 12


def test_a_worker_killed_mid_recalibration_moves_each_policy_one_step(
    world, django_db_blocker
) -> None:
    """300 overconfident action types (12 outcomes each at 0.85, 2 successes). The worker
    dies after adjusting some; the redelivered task (same id) adjusts only the rest."""
    from config.celery import app

    tenant = world["beta"].tenant
    queue = f"{settings.QUEUES['sweeps']}-crashcal"
    types = [f"crashcal_{i:03d}" for i in range(TYPES)]
    with django_db_blocker.unblock():

        def seed() -> None:
            recorded = services.record_outcomes(
                items=[
                    services.OutcomeInput(
                        action_id=f"crashcal-{t}-{i}",
                        conversation_id=f"crashcal-c{i}",
                        action_type=t,
                        predicted_confidence=0.85,
                        outcome_type="email_engagement",
                        occurred_at=timezone.now() - timedelta(days=30),  # windows closed
                    )
                    for t in types
                    for i in range(PER_TYPE)
                ]
            )
            ids = [r.id for r in recorded]
            wins = [r.id for r in recorded if r.action_id.endswith(("-0", "-1"))]
            for status, chosen in (("positive", wins), ("negative", sorted(set(ids) - set(wins)))):
                services.transition_outcomes(
                    ids=chosen, status=status, score=None, source="event", reason="seed"
                )

        committed(tenant, seed)
        adjusted = lambda: CalibrationAdjustment.objects.filter(  # noqa: E731
            action_type__startswith="crashcal_"
        ).count()
        first = worker_process(queue, "first", visibility=3600)
        second = None
        try:
            with tenant_context(tenant):
                result = app.send_task("calibration.recalibrate", queue=queue)
            deadline = time.monotonic() + 60
            done = 0
            while done == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
                done = committed(tenant, adjusted)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            at_kill = committed(tenant, adjusted)
            assert 0 < at_kill < TYPES, f"killed at {at_kill} of {TYPES}"
            second = worker_process(queue, "second", visibility=2)
            changed = result.get(timeout=120)
            assert 0 < len([t for t in changed if t.startswith("crashcal_")]) <= TYPES - at_kill

            def tally() -> dict:
                adjustments = CalibrationAdjustment.objects.filter(action_type__in=types)
                outcomes = OutcomeRecord.objects.filter(action_type__in=types)
                ids = list(outcomes.values_list("pk", flat=True))
                return {
                    "adjustments": adjustments.count(),
                    "types adjusted": adjustments.values("action_type").distinct().count(),
                    "runs": set(adjustments.values_list("run_id", flat=True)),
                    "scales": set(
                        BehaviorPolicy.objects.filter(action_type__in=types).values_list(
                            "confidence_scale", flat=True
                        )
                    ),
                    "resolved": outcomes.exclude(status="pending").count(),
                    "counted": CountedOutcome.objects.filter(outcome_id__in=ids).count(),
                    "in_bins": sum(
                        CalibrationBin.objects.filter(action_type__in=types).values_list(
                            "n", flat=True
                        )
                    ),
                }

            assert committed(tenant, tally) == {
                "adjustments": TYPES,  # one each: none twice, none missed
                "types adjusted": TYPES,
                "runs": {result.id},
                "scales": {0.9},  # one damped step down from 1.0
                "resolved": TYPES * PER_TYPE,
                "counted": TYPES * PER_TYPE,
                "in_bins": TYPES * PER_TYPE,
            }
            print(f"killed after {at_kill} of {TYPES} types; the redelivery adjusted the rest")
        finally:
            for worker in (first, second):
                if worker is not None and worker.poll() is None:
                    worker.terminate()
                    worker.wait(timeout=30)

            def cleanup() -> None:
                ids = list(
                    OutcomeRecord.objects.filter(action_type__in=types).values_list("pk", flat=True)
                )
                CountedOutcome.objects.filter(outcome_id__in=ids).delete()
                OutcomeRecord.objects.filter(pk__in=ids).delete()
                for model in (CalibrationBin, BehaviorPolicy, CalibrationAdjustment):
                    model.objects.filter(action_type__in=types).delete()
                Conversation.objects.filter(external_id__startswith="crashcal-c").delete()

            committed(tenant, cleanup)
