"""The sweep task on the real broker: a bounded run per task over a large backlog."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from calibration.models import CalibrationBin, CountedOutcome
from outcomes import services, tasks
from outcomes.models import Conversation, OutcomeRecord
from tests.browser_support import committed

pytestmark = pytest.mark.django_db

N = 95


def test_a_sweep_over_a_backlog_goes_on_in_fresh_tasks(world, celery_worker) -> None:
    tenant = world["alpha"].tenant
    long_ago = timezone.now() - timedelta(days=40)  # every window closed: all expire

    def seed() -> None:
        services.record_outcomes(
            items=[
                services.OutcomeInput(
                    action_id=f"bounded-{i}",
                    conversation_id=f"bounded-c{i % 5}",
                    action_type="bounded_email",
                    predicted_confidence=0.5,
                    outcome_type="email_engagement",
                    occurred_at=long_ago,
                )
                for i in range(N)
            ]
        )

    def expired() -> int:
        return OutcomeRecord.objects.filter(
            action_id__startswith="bounded-", status="expired"
        ).count()

    committed(tenant, seed)
    try:
        with tenant_context(tenant):
            first = tasks.sweep.delay(window="expiry", batch_size=10, max_batches=3)
        result = first.get(timeout=30)
        # the first run stopped after 3 batches of 10 and queued the rest
        assert result["examined"] == 30 and result["continued_after"] is not None
        deadline = time.monotonic() + 30
        while committed(tenant, expired) < N and time.monotonic() < deadline:
            time.sleep(0.1)
        assert committed(tenant, expired) == N
    finally:

        def cleanup() -> None:
            ids = list(
                OutcomeRecord.objects.filter(action_id__startswith="bounded-").values_list(
                    "pk", flat=True
                )
            )
            CountedOutcome.objects.filter(outcome_id__in=ids).delete()
            OutcomeRecord.objects.filter(pk__in=ids).delete()
            CalibrationBin.objects.filter(action_type="bounded_email").delete()
            Conversation.objects.filter(external_id__startswith="bounded-c").delete()

        committed(tenant, cleanup)


def test_a_bounded_sweep_says_where_it_stopped(alpha) -> None:
    from outcomes import sweeps

    long_ago = timezone.now() - timedelta(days=40)
    with tenant_context(alpha.tenant):
        services.record_outcomes(
            items=[
                services.OutcomeInput(
                    action_id=f"b-{i}",
                    conversation_id="b-c",
                    action_type="send_email",
                    predicted_confidence=0.5,
                    outcome_type="email_engagement",
                    occurred_at=long_ago,
                )
                for i in range(25)
            ]
        )
        first = sweeps.run_sweep(window="expiry", batch_size=10, max_batches=2)
        assert (first.examined, first.resolved) == (20, {"expired": 20})
        rest = sweeps.run_sweep(
            window="expiry", batch_size=10, max_batches=2, after=first.stopped_after or 0
        )
        assert (rest.examined, rest.stopped_after) == (5, None)  # done: nothing to continue
