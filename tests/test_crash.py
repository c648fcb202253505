"""A Celery worker killed (SIGKILL) in the middle of a sweep, on the real broker: the sweep
is redelivered to another worker (acks_late), and in the end every outcome is resolved
exactly once and every calibration bin holds exactly the resolved outcomes."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from calibration.models import CalibrationBin, CountedOutcome
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
