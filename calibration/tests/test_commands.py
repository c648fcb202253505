from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import numpy as np
from django.core.management import call_command
from django_tenants.utils import tenant_context

from calibration import selectors, services
from calibration.models import CalibrationAdjustment, CalibrationBin, CountedOutcome
from outcomes import services as outcome_services
from outcomes import sweeps

T0 = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)


def history(world, n=120, action_type="offer"):
    rng = np.random.default_rng(3)
    with tenant_context(world.tenant):
        for i in range(n):
            p = 0.85 if i % 2 else round(float(rng.uniform(0, 1)), 2)
            recorded = outcome_services.record_outcome(
                item=outcome_services.OutcomeInput(
                    action_id=f"{action_type}-{i}",
                    conversation_id=f"cv-{i}",
                    action_type=action_type,
                    predicted_confidence=p,
                    outcome_type="email_engagement",
                    occurred_at=T0,
                )
            )
            if i % 3:
                outcome_services.transition_outcomes(
                    ids=[recorded.id],
                    status="positive" if i % 5 == 0 else "negative",
                    score=None,
                    source="event",
                    reason="test",
                )
        sweeps.run_sweep(window="expiry", now=T0 + timedelta(days=10))  # the rest expire


def test_rebuild_reproduces_the_incremental_bins(alpha) -> None:
    history(alpha)
    with tenant_context(alpha.tenant):
        incremental = selectors.bin_sums(action_type="offer")
        CalibrationBin.objects.all().delete()
        CountedOutcome.objects.all().delete()
        assert services.rebuild_bins() == 120
        rebuilt = selectors.bin_sums(action_type="offer")
        for field in ("n", "sum_y", "sum_p", "sum_p2", "sum_py"):
            np.testing.assert_allclose(getattr(rebuilt, field), getattr(incremental, field))
        assert CountedOutcome.objects.count() == 120
        # Rebuilding again changes nothing, and later resolutions still count once.
        assert services.rebuild_bins(action_type="offer") == 120


def test_recalibrate_dry_run_then_real(alpha) -> None:
    history(alpha)
    out = StringIO()
    call_command("recalibrate", "--tenant", "alpha", "--dry-run", stdout=out)
    assert "offer" in out.getvalue() and "dry run" in out.getvalue()
    with tenant_context(alpha.tenant):
        assert not CalibrationAdjustment.objects.exists()
    out = StringIO()
    call_command("recalibrate", "--tenant", "alpha", "--rebuild", stdout=out)
    assert "overconfident" in out.getvalue()
    with tenant_context(alpha.tenant):
        adjustment = CalibrationAdjustment.objects.get(action_type="offer")
        assert (adjustment.after_scale, adjustment.after_threshold) == (0.9, 0.7)
