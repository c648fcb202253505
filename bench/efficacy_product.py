"""The learning loop end to end, as an agent with known miscalibration lives it.

For each action type the simulated agent draws raw confidences p (round to 2 decimals, as
agents send them), asks `POST calibrate/` for each action, records the actions with
`POST outcomes/bulk/` (raw p as predicted_confidence) and reports what happened with
`POST signals/`, all through the product's HTTP stack (Django's test client: middleware,
authentication, DRF). Every 250 outcomes the 6-hourly check runs (calibration.services.
recalibrate, what the beat job calls). The truth: success = 0.6·p for send_email, an
S-shaped distortion for schedule_meeting.

At the end the final calibrated confidence and scikit-learn's IsotonicRegression, fitted
with hindsight on all the same outcomes, are scored by their true error E|c(p) - P(y=1|p)|
over a fresh sample of the agent's confidences (the truth is known here), and by ECE on a
hold-out sample. One seed: bench/efficacy.py scores the same loop over many seeds without
the HTTP stack. Prints JSON.
"""

import itertools
import json
import os
import sys
from datetime import UTC, datetime, timedelta

import django
import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.test import Client  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from sklearn.isotonic import IsotonicRegression  # noqa: E402

from calibration import selectors, services, stats  # noqa: E402
from calibration.models import (  # noqa: E402
    BehaviorPolicy,
    CalibrationAdjustment,
    CalibrationBin,
    CalibrationBucket,
    CalibrationWindow,
    CountedOutcome,
    PolicyVersion,
)
from learning.tenancy.models import Tenant  # noqa: E402
from outcomes.models import OutcomeRecord, Signal  # noqa: E402

TRUTH = {
    "send_email": lambda p: 0.6 * p,
    "schedule_meeting": lambda p: 1 / (1 + np.exp(-8 * (p - 0.55))),
}
OUTCOME = {
    "send_email": ("email_engagement", "replied", "bounced"),
    "schedule_meeting": ("meeting_outcome", "meeting_attended", "meeting_no_show"),
}
BLOCK = 250
HOLDOUT = 20_000
# Actions are dated in the past, one a minute from here, so their result windows have
# closed when the signals come in and the learning run takes them at once (the product
# learns from an outcome once its window closes).
START = datetime.now(UTC) - timedelta(days=60)
key, total = sys.argv[1], int(sys.argv[2])
api = "/t/bench/api/v1/"
client = Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {key}")
tenant = Tenant.objects.get(slug="bench")


def post(path: str, body: object) -> dict:
    response = client.post(api + path, body, content_type="application/json")
    assert response.status_code in (200, 201), (path, response.status_code, response.content)
    return response.json()


def ece(c: np.ndarray, y: np.ndarray) -> float:
    return stats.expected_calibration_error(stats.BinSums.from_samples(c, y))


def simulate(action_type: str, seed: int) -> dict:
    truth = TRUTH[action_type]
    outcome_type, yes, no = OUTCOME[action_type]
    with tenant_context(tenant):
        ids = OutcomeRecord.objects.filter(action_type=action_type).values("id")
        CountedOutcome.objects.filter(outcome_id__in=ids).delete()
        Signal.objects.filter(action_id__startswith=f"eff-{action_type}-").delete()
        OutcomeRecord.objects.filter(action_type=action_type).delete()
        for model in (
            CalibrationBin,
            CalibrationBucket,
            CalibrationWindow,
            BehaviorPolicy,
            PolicyVersion,
            CalibrationAdjustment,
        ):
            model.objects.filter(action_type=action_type).delete()
    rng = np.random.default_rng(seed)
    raw, used, success, escalated = [], [], [], 0
    checkpoints, moves = [], []
    for start in range(0, total, BLOCK):
        p = np.round(rng.uniform(0.05, 0.99, BLOCK), 2)
        y = rng.uniform(0, 1, BLOCK) < truth(p)
        for value in p:
            answer = post("calibrate/", {"action_type": action_type, "confidence": float(value)})
            used.append(answer["calibrated_confidence"])
            escalated += answer["escalate"]
        items = [
            {
                "action_id": f"eff-{action_type}-{start + i}",
                "conversation_id": f"eff-{action_type}-{start + i}",
                "action_type": action_type,
                "predicted_confidence": float(value),
                "outcome_type": outcome_type,
                "occurred_at": (START + timedelta(minutes=start + i)).isoformat(),
            }
            for i, value in enumerate(p)
        ]
        post("outcomes/bulk/", items)
        for item, ok in zip(items, y, strict=True):
            post(
                "signals/",
                {
                    "conversation_id": item["conversation_id"],
                    "action_id": item["action_id"],
                    "kind": yes if ok else no,
                    "occurred_at": item["occurred_at"],
                },
            )
        raw += list(p)
        success += list(y.astype(float))
        with tenant_context(tenant):
            before = selectors.policy_for(action_type=action_type).confidence_scale
            services.learn(action_type=action_type)
            proposal = services.recalibrate(action_type=action_type)
            policy = selectors.policy_for(action_type=action_type)
        if proposal is not None:
            moves.append(
                {"after": len(raw), "scale": proposal.scale, "change": proposal.scale - before}
            )
        recent = slice(-1000, None)
        checkpoints.append(
            {
                "outcomes": len(raw),
                "scale": policy.confidence_scale,
                "threshold": policy.escalation_threshold,
                "ece_calibrated_last_1000": ece(np.array(used[recent]), np.array(success[recent])),
                "ece_raw_last_1000": ece(np.array(raw[recent]), np.array(success[recent])),
            }
        )
        print(f"  {action_type}: {len(raw):,}/{total:,} outcomes", file=sys.stderr, flush=True)

    with tenant_context(tenant):
        sums = selectors.window_sums(action_type=action_type)
        settings = selectors.adjustment_settings()
        policy = selectors.policy_for(action_type=action_type)
        stored = CalibrationBin.objects.filter(action_type=action_type)
        assert sum(b.n for b in stored) == total  # every resolution counted once
    final, _ = stats.calibration_map(
        sums,
        scale=policy.confidence_scale,
        prior_weight=settings.prior_weight,
        min_samples=settings.min_samples,
    )
    for probe in (0.05, 0.33, 0.5, 0.77, 0.99):  # the API answers with this very map
        answer = post("calibrate/", {"action_type": action_type, "confidence": probe})
        assert abs(answer["calibrated_confidence"] - float(final(probe))) < 1e-12
    holdout_p = np.round(rng.uniform(0.05, 0.99, HOLDOUT), 2)
    holdout_y = (rng.uniform(0, 1, HOLDOUT) < truth(holdout_p)).astype(float)
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw, success)
    late = [m["change"] for m in moves if m["after"] > 2000]
    flips = sum(1 for a, b in itertools.pairwise(late) if a * b < 0)
    return {
        "action_type": action_type,
        "outcomes": total,
        "escalated": escalated,
        "checkpoints": checkpoints,
        "moves": moves,
        "sign_flips_after_2000": flips,
        "true_error_product": float(np.mean(np.abs(final(holdout_p) - truth(holdout_p)))),
        "true_error_isotonic": float(
            np.mean(np.abs(isotonic.predict(holdout_p) - truth(holdout_p)))
        ),
        "true_error_raw": float(np.mean(np.abs(holdout_p - truth(holdout_p)))),
        "holdout_ece_product": ece(final(holdout_p), holdout_y),
        "holdout_ece_isotonic": ece(isotonic.predict(holdout_p), holdout_y),
        "holdout_ece_raw": ece(holdout_p, holdout_y),
    }


print(json.dumps([simulate(t, seed) for seed, t in enumerate(TRUTH)]))
