"""The calibration curve body the spec fixes, the policy and calibrate endpoints."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from django_tenants.utils import tenant_context
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from calibration import services as calibration_services
from calibration.models import BehaviorPolicy
from outcomes import services as outcome_services
from outcomes.models import OutcomeRecord

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def resolve_many(world, confidences, successes, action_type="send_email"):
    with tenant_context(world.tenant):
        for i, (p, ok) in enumerate(zip(confidences, successes, strict=True)):
            outcome = outcome_services.record_outcome(
                item=outcome_services.OutcomeInput(
                    action_id=f"{action_type}-{i}",
                    conversation_id=f"c{i}",
                    action_type=action_type,
                    predicted_confidence=float(p),
                    outcome_type="email_engagement",
                    occurred_at=T0,
                )
            )
            outcome_services.transition_outcomes(
                ids=[outcome.id],
                status="positive" if ok else "negative",
                score=1.0 if ok else 0.0,
                source="event",
                reason="test",
            )
        # Their windows closed long ago: the learning job takes them in.
        calibration_services.learn(action_type=action_type)


def test_curve_body(alpha, client) -> None:
    rng = np.random.default_rng(11)
    p = np.round(rng.uniform(0, 1, 200), 2)
    y = rng.uniform(0, 1, 200) < p * 0.8
    resolve_many(alpha, p, y)
    body = client.get(alpha.url("api/v1/calibration/send_email/"), **alpha.bearer("agent")).json()
    assert body["action_type"] == "send_email" and body["sample_count"] == 200
    assert body["brier_score"] == pytest.approx(brier_score_loss(y.astype(float), p), abs=1e-9)
    assert len(body["bins"]) == 10
    assert [b["lower"] for b in body["bins"]] == pytest.approx(np.linspace(0, 0.9, 10))
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10)
    nonempty = [b for b in body["bins"] if b["count"]]
    assert [b["actual_rate"] for b in nonempty] == pytest.approx(prob_true, abs=1e-9)
    assert [b["mean_predicted"] for b in nonempty] == pytest.approx(prob_pred, abs=1e-9)
    assert all(b["ci_low"] <= b["actual_rate"] <= b["ci_high"] for b in nonempty)
    assert body["policy"] == {"confidence_scale": 1.0, "escalation_threshold": 0.6, "version": 0}
    assert body["reliability"] - body["resolution"] + body["uncertainty"] + body[
        "within_bin_variance"
    ] - 2 * body["within_bin_covariance"] == pytest.approx(body["brier_score"], abs=1e-9)
    listing = client.get(alpha.url("api/v1/calibration/"), **alpha.bearer("rep")).json()
    assert [c["action_type"] for c in listing] == ["send_email"]


def test_curve_of_an_unseen_action_type(alpha, client) -> None:
    body = client.get(alpha.url("api/v1/calibration/escalate/"), **alpha.bearer("agent")).json()
    assert (body["sample_count"], body["brier_score"], body["ece"]) == (0, 0.25, 0.0)
    assert [b["count"] for b in body["bins"]] == [0] * 10
    assert all(b["actual_rate"] is None for b in body["bins"])


def test_bad_action_type_is_400(alpha, client) -> None:
    response = client.get(alpha.url("api/v1/calibration/Not%20A%20Type!/"), **alpha.bearer("agent"))
    assert response.status_code == 400


def test_policy_and_calibrate(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        BehaviorPolicy.objects.create(
            action_type="send_email", confidence_scale=0.8, escalation_threshold=0.5, version=3
        )
    policies = client.get(alpha.url("api/v1/policy/"), **alpha.bearer("agent")).json()
    assert policies == {
        "policies": [
            {
                "action_type": "send_email",
                "confidence_scale": 0.8,
                "escalation_threshold": 0.5,
                "version": 3,
            }
        ]
    }

    def calibrate(**body):
        return client.post(
            alpha.url("api/v1/calibrate/"),
            data=json.dumps(body),
            content_type="application/json",
            **alpha.bearer("agent"),
        )

    answer = calibrate(action_type="send_email", confidence=0.75).json()
    assert answer["calibrated_confidence"] == pytest.approx(0.6)
    assert (answer["escalation_threshold"], answer["escalate"]) == (0.5, False)
    assert answer["policy_version"] == 3
    assert calibrate(action_type="send_email", confidence=0.5).json()["escalate"] is True
    assert calibrate(action_type="new_type", confidence=0.5).json() == {
        "action_type": "new_type",
        "confidence": 0.5,
        "calibrated_confidence": 0.5,
        "escalation_threshold": 0.6,
        "escalate": True,
        "method": "scale",
        "sample_count": 0,
        "policy_version": 0,
        "learns_from": {
            "outcomes": 0,
            "matured_until": None,
            "window_started_at": None,
            "waiting": 0,
            "waiting_since": None,
            "checked_at": None,
            "in_words": "No action has a final result yet (a result is final when its window "
            "closes: 7 days for an email, 30 for a deal), so the agent is told its own "
            "confidence, scaled by its policy.",
        },
    }
    for bad in (
        {"action_type": "send_email", "confidence": 1.2},
        {"action_type": "send_email"},
        {"confidence": 0.5},
        {"action_type": "send_email", "confidence": "NaN"},
    ):
        response = calibrate(**bad)
        assert response.status_code == 400
        assert set(response.json()) <= {"action_type", "confidence"}


def test_tenants_have_their_own_bins(alpha, beta, client) -> None:
    resolve_many(alpha, [0.9, 0.9], [True, False], action_type="isolation_check")
    assert (
        client.get(
            alpha.url("api/v1/calibration/isolation_check/"), **alpha.bearer("agent")
        ).json()["sample_count"]
        == 2
    )
    body = client.get(
        beta.url("api/v1/calibration/isolation_check/"), **beta.bearer("agent")
    ).json()
    assert body["sample_count"] == 0
    with tenant_context(beta.tenant):
        assert not OutcomeRecord.objects.exists()


def test_admin_reverts_an_adjustment_and_managers_only_read(alpha, client) -> None:
    from calibration import services
    from calibration.models import CalibrationAdjustment

    with tenant_context(alpha.tenant):
        resolve_many(alpha, [0.85] * 60, [True] * 20 + [False] * 40, action_type="adm_type")
        services.recalibrate(action_type="adm_type")
        adjustment = CalibrationAdjustment.objects.get(action_type="adm_type")
    alpha.login(client, "manager")
    url = alpha.url("admin/calibration/calibrationadjustment/")
    assert "adm_type" in client.get(url).content.decode()
    client.post(url, {"action": "revert", "_selected_action": [adjustment.pk]})
    with tenant_context(alpha.tenant):
        adjustment.refresh_from_db()
        assert adjustment.reverted_at is None  # a manager cannot revert
    alpha.login(client, "admin")
    client.post(url, {"action": "revert", "_selected_action": [adjustment.pk]})
    with tenant_context(alpha.tenant):
        adjustment.refresh_from_db()
        assert adjustment.reverted_by.username == "alpha-admin"


def test_admins_edit_the_settings_managers_only_read_them(alpha, client) -> None:
    from calibration.models import CalibrationSettings

    url = alpha.url("admin/calibration/calibrationsettings/1/change/")
    form = {
        "min_samples": 25,
        "gap_threshold": 0.1,
        "max_step": 0.05,
        "scale_min": 0.6,
        "scale_max": 1.4,
        "threshold_min": 0.35,
        "threshold_max": 0.85,
        "prior_weight": 30,
        "half_life": 50_000,
        "drift_tolerance": 0.1,
        "drift_check_every": 250,
        "drift_alarm_every": 100_000,
    }
    alpha.login(client, "manager")
    client.get(alpha.url("admin/calibration/calibrationsettings/"))
    with tenant_context(alpha.tenant):
        assert not CalibrationSettings.objects.exists()  # a manager's visit creates nothing
    alpha.login(client, "admin")
    response = client.get(alpha.url("admin/calibration/calibrationsettings/"))
    assert response.status_code == 302 and response["Location"].endswith("/1/change/")
    assert client.post(url, {**form, "scale_min": 1.6}).status_code == 200  # form error
    with tenant_context(alpha.tenant):
        assert CalibrationSettings.objects.get().scale_min == 0.5  # unchanged
    assert client.post(url, form).status_code == 302
    alpha.login(client, "manager")
    assert client.get(url).status_code == 200
    assert client.post(url, {**form, "min_samples": 1}).status_code == 403
    with tenant_context(alpha.tenant):
        from calibration import selectors

        settings = selectors.adjustment_settings()
        assert (settings.min_samples, settings.scale_bounds, settings.prior_weight) == (
            25,
            (0.6, 1.4),
            30,
        )
