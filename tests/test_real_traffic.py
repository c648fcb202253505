"""Learning from results as they really arrive, through the API: replies within hours,
silence only when the 7-day window ends. What the agent is told must not depend on that
order (calibration.services.learn learns an outcome once its window has closed)."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from calibration.models import AdjustmentKind, CalibrationAdjustment
from outcomes import sweeps

DAYS = 35
PER_DAY = 100


def test_a_stationary_agent_with_late_failures_is_not_taken_for_a_change(alpha, client) -> None:
    """A month of an agent whose success is 0.6·p, and its latest week: replies came
    within hours, the silent failures of the latest week still wait for their window. The
    learning run rings no drift alarm, and `calibrate/` answers within 0.04 of the truth
    while saying what still waits."""
    rng = np.random.default_rng(24)
    api = alpha.url("api/v1/")
    headers = alpha.bearer("agent")
    now = timezone.now()
    start = now - timedelta(days=DAYS)
    n = DAYS * PER_DAY
    taken = [start + timedelta(days=DAYS * i / n) for i in range(n)]
    p = np.round(rng.uniform(0.02, 1.0, n), 2)
    works = rng.uniform(0, 1, n) < 0.6 * p
    reply_after = rng.exponential(6, n)  # hours
    for first in range(0, n, 500):
        items = [
            {
                "action_id": f"rt-{i}",
                "conversation_id": f"rt-c{i}",
                "action_type": "late_email",
                "predicted_confidence": float(p[i]),
                "outcome_type": "email_engagement",
                "occurred_at": taken[i].isoformat(),
            }
            for i in range(first, min(first + 500, n))
        ]
        response = client.post(
            api + "outcomes/bulk/", items, content_type="application/json", **headers
        )
        assert response.status_code in (200, 201), response.content
    replied = 0
    for i in np.flatnonzero(works):
        at = taken[i] + timedelta(hours=float(reply_after[i]))
        if at >= now:
            continue
        body = {
            "conversation_id": f"rt-c{i}",
            "action_id": f"rt-{i}",
            "kind": "replied",
            "signal_id": f"rt-s{i}",
            "occurred_at": at.isoformat(),
        }
        response = client.post(api + "signals/", body, content_type="application/json", **headers)
        assert response.status_code == 201, response.content
        replied += 1
    with tenant_context(alpha.tenant):
        sweeps.run_sweep(window="expiry", now=now)  # the silences whose window ended
        call_command("recalibrate", "--tenant", alpha.slug, stdout=io.StringIO())
        assert not CalibrationAdjustment.objects.filter(
            action_type="late_email", kind=AdjustmentKind.RESTART
        ).exists()
    probes = np.round(np.linspace(0.05, 0.95, 19), 2)
    answers = [
        client.post(
            api + "calibrate/",
            {"action_type": "late_email", "confidence": float(v)},
            content_type="application/json",
            **headers,
        ).json()
        for v in probes
    ]
    calibrated = np.array([a["calibrated_confidence"] for a in answers])
    assert np.mean(np.abs(calibrated - 0.6 * probes)) < 0.04
    learns = answers[0]["learns_from"]
    # The latest 7 days wait: about 700 actions, their replies shown but not yet learned.
    recent = sum(1 for t in taken if t > now - timedelta(days=7))
    assert learns["waiting"] == recent
    assert abs(learns["outcomes"] - (n - recent)) <= 0.01 * n  # effective, after forgetting
    assert f"{recent:,} newer actions" in learns["in_words"]
    assert "still inside the result window" in learns["in_words"]
    # What people see counts every reply at once: the display bins hold the latest
    # week's replies too, the window (what the map learns from) only the matured days.
    curve = client.get(api + "calibration/late_email/", **headers).json()
    assert curve["window"]["waiting"] == recent
    assert curve["window"]["outcomes"] == n - recent
    assert curve["sample_count"] > n - recent
    assert replied
