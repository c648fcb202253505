from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from calibration import drift, stats
from calibration.adjust import AdjustmentSettings
from calibration.models import (
    DEFAULT_CONFIDENCE_SCALE,
    DEFAULT_ESCALATION_THRESHOLD,
    AdjustmentKind,
    BehaviorPolicy,
    CalibrationAdjustment,
    CalibrationBin,
    CalibrationSettings,
    CalibrationWindow,
    PolicyVersion,
)
from calibration.words import in_words, learning_in_words
from learning.tenancy.db import binary_cursor


def adjustment_settings() -> AdjustmentSettings:
    """The tenant's settings, or the seeds' defaults when none were saved."""
    row = CalibrationSettings.objects.filter(pk=1).first()
    if row is None:
        return AdjustmentSettings()
    return AdjustmentSettings(
        min_samples=row.min_samples,
        gap_threshold=row.gap_threshold,
        max_step=row.max_step,
        scale_bounds=(row.scale_min, row.scale_max),
        threshold_bounds=(row.threshold_min, row.threshold_max),
        prior_weight=row.prior_weight,
        half_life=row.half_life,
        drift_tolerance=row.drift_tolerance,
        drift_alarm_every=row.drift_alarm_every,
        drift_check_every=row.drift_check_every,
    )


def bin_sums(*, action_type: str) -> stats.BinSums:
    """The action type's 10 bins as sums (zeros for bins not created yet)."""
    rows = [(0.0, 0.0, 0.0, 0.0, 0.0)] * stats.N_BINS
    for b in CalibrationBin.objects.filter(action_type=action_type):
        rows[b.bin_index] = (b.n, b.sum_y, b.sum_p, b.sum_p2, b.sum_py)
    return stats.BinSums.from_rows(rows)


def window_sums(
    *, action_type: str, half_life: int | None = None, before_day: date | None = None
) -> stats.BinSums:
    """The fine sums of the action type's current window: the buckets of its current
    epoch (matured outcomes, by the day their actions were taken; only the days before
    `before_day` if given), each day weighed by the half-life in outcomes
    (stats.decay_weights, in SQL), with effective counts (stats.scaled_to_effective).
    One query."""
    if half_life is None:
        half_life = adjustment_settings().half_life
    with binary_cursor() as cursor:
        cursor.execute(
            """
            WITH b AS (
                SELECT day, fine_index, n, sum_y, sum_p, sum_p2, sum_py
                  FROM calibration_calibrationbucket
                 WHERE action_type = %(t)s
                   AND epoch = coalesce((SELECT epoch FROM calibration_calibrationwindow
                                          WHERE action_type = %(t)s), 0)
                   AND (%(before)s::date IS NULL OR day < %(before)s::date)
            ), d AS (
                SELECT day, sum(n)::float8 AS n FROM b GROUP BY day
            ), w AS (
                SELECT day,
                       CASE WHEN %(h)s::float8 > 0
                            THEN power(0.5::float8, least(
                                     (sum(n) OVER (ORDER BY day DESC) - n / 2) / %(h)s::float8,
                                     1000.0))
                            ELSE 1.0 END AS w
                  FROM d
            )
            SELECT fine_index, sum(w * n), sum(w * w * n), sum(w * sum_y), sum(w * sum_p),
                   sum(w * sum_p2), sum(w * sum_py)
              FROM b JOIN w USING (day) GROUP BY fine_index
            """,
            {"t": action_type, "h": half_life, "before": before_day},
        )
        rows = cursor.fetchall()
    columns = np.zeros((6, stats.N_FINE))
    for index, *values in rows:
        columns[:, index] = values
    return stats.scaled_to_effective(columns[0], columns[1], list(columns[2:]))


def window_days(*, action_type: str) -> list[tuple[date, float]]:
    """The days of the action type's current window with their outcome counts, oldest
    first (for drift.reference_cutoff)."""
    with binary_cursor() as cursor:
        cursor.execute(
            """
            SELECT day, sum(n)::float8 FROM calibration_calibrationbucket
             WHERE action_type = %(t)s
               AND epoch = coalesce((SELECT epoch FROM calibration_calibrationwindow
                                      WHERE action_type = %(t)s), 0)
             GROUP BY day ORDER BY day
            """,
            {"t": action_type},
        )
        return [(day, float(n)) for day, n in cursor.fetchall()]


def restarts_since(when: Any) -> list[CalibrationAdjustment]:
    """The restarts of learning after a drift alarm since `when`, newest first."""
    return list(
        CalibrationAdjustment.objects.filter(kind=AdjustmentKind.RESTART, created_at__gte=when)
    )


def action_types() -> list[str]:
    return list(
        CalibrationBin.objects.values_list("action_type", flat=True)
        .distinct()
        .order_by("action_type")
    )


@dataclass(frozen=True)
class Policy:
    action_type: str
    confidence_scale: float
    escalation_threshold: float
    version: int = 0


def policy_for(*, action_type: str) -> Policy:
    """The stored policy, or the defaults for an action type not adjusted yet."""
    stored = BehaviorPolicy.objects.filter(action_type=action_type).first()
    if stored is None:
        return Policy(action_type, DEFAULT_CONFIDENCE_SCALE, DEFAULT_ESCALATION_THRESHOLD)
    return Policy(action_type, stored.confidence_scale, stored.escalation_threshold, stored.version)


def version_in_force(*, action_type: str = "action_type", at: str = "occurred_at") -> Coalesce:
    """An expression for querysets of actions (another app's: they name their fields): the
    version of the action type's policy in force at that time, 0 before its first change."""
    latest = (
        PolicyVersion.objects.filter(
            action_type=OuterRef(action_type), valid_from__lte=OuterRef(at)
        )
        .order_by("-valid_from", "-version")
        .values("version")[:1]
    )
    return Coalesce(Subquery(latest), Value(0))


def policies() -> list[Policy]:
    """A policy for every action type that has bins or a stored policy."""
    names = set(action_types()) | set(BehaviorPolicy.objects.values_list("action_type", flat=True))
    return [policy_for(action_type=name) for name in sorted(names)]


@dataclass(frozen=True)
class Calibrated:
    action_type: str
    confidence: float
    calibrated_confidence: float
    escalation_threshold: float
    escalate: bool
    method: str  # "scale" before the bins hold min_samples outcomes, then "bins"
    sample_count: int
    policy_version: int
    learns_from: dict[str, Any]


def calibrate(*, action_type: str, confidence: float) -> Calibrated:
    """The agent's raw confidence made calibrated, and whether that is below the
    escalation threshold.

    The map comes from the action type's current window (`window_sums`: the matured
    outcomes since its last restart, forgotten with the tenant's half-life; an outcome
    matures when its result window closes, so quick replies cannot inflate it). Until the window
    holds `min_samples` effective outcomes it is the policy's damped scale,
    `min(1, scale * p)`; after that the monotone map of `stats.monotone_map`: isotonic
    regression over the fine bins' success rates, each shrunk towards the scaled
    confidence, so sparse bins lean on the policy and full ones on what happened.
    """
    settings = adjustment_settings()
    policy, window = _policy_and_window(action_type)
    sums = window_sums(action_type=action_type, half_life=settings.half_life)
    fitted, method = stats.calibration_map(
        sums,
        scale=policy.confidence_scale,
        prior_weight=settings.prior_weight,
        min_samples=settings.min_samples,
    )
    calibrated = min(1.0, max(0.0, float(fitted(confidence))))
    return Calibrated(
        action_type,
        confidence,
        calibrated,
        policy.escalation_threshold,
        calibrated < policy.escalation_threshold,
        method,
        round(sums.total),
        policy.version,
        learns_from(window, outcomes=round(sums.total)),
    )


def _policy_and_window(action_type: str) -> tuple[Policy, CalibrationWindow | None]:
    """The policy (or the defaults) and the window row of an action type, in one query."""
    with binary_cursor() as cursor:
        cursor.execute(
            """
            SELECT p.confidence_scale, p.escalation_threshold, p.version, w.id, w.epoch,
                   w.started_at, w.learned_at, w.matured_until, w.waiting, w.pending,
                   w.waiting_since
              FROM (SELECT %(t)s::text AS t) x
              LEFT JOIN calibration_behaviorpolicy p ON p.action_type = x.t
              LEFT JOIN calibration_calibrationwindow w ON w.action_type = x.t
            """,
            {"t": action_type},
        )
        row = cursor.fetchone()
    if row is None:  # pragma: no cover - the SELECT always returns a row
        return Policy(action_type, DEFAULT_CONFIDENCE_SCALE, DEFAULT_ESCALATION_THRESHOLD), None
    scale, threshold, version, window_id, *rest = row
    policy = (
        Policy(action_type, scale, threshold, version)
        if scale is not None
        else Policy(action_type, DEFAULT_CONFIDENCE_SCALE, DEFAULT_ESCALATION_THRESHOLD)
    )
    if window_id is None:
        return policy, None
    epoch, started_at, learned_at, matured_until, waiting, pending, waiting_since = rest
    return policy, CalibrationWindow(
        id=window_id,
        action_type=action_type,
        epoch=epoch,
        started_at=started_at,
        learned_at=learned_at,
        matured_until=matured_until,
        waiting=waiting,
        pending=pending,
        waiting_since=waiting_since,
    )


def learns_from(window: CalibrationWindow | None, *, outcomes: int) -> dict[str, Any]:
    """What the map learns from and what still waits, with a sentence saying so."""
    waiting = (window.waiting + window.pending) if window else 0
    found = {
        "outcomes": outcomes,
        "matured_until": window.matured_until if window else None,
        "window_started_at": window.started_at if window else None,
        "waiting": waiting,
        "waiting_since": window.waiting_since if window and waiting else None,
        "checked_at": window.learned_at if window else None,
    }
    return {**found, "in_words": learning_in_words(found)}


def curve(action_type: str) -> dict[str, Any]:
    """Everything the reliability diagram and `GET calibration/{action_type}/` show."""
    return _curve(
        action_type,
        bin_sums(action_type=action_type),
        policy_for(action_type=action_type),
        windows(action_type=action_type).get(action_type, _NO_WINDOW),
    )


_NO_WINDOW: dict[str, Any] = {
    "outcomes": 0,
    "since": None,
    "restarts": 0,
    "monitored": False,
    "evidence_of_change": None,
    "matured_until": None,
    "waiting": 0,
    "waiting_since": None,
    "checked_at": None,
    "in_words": learning_in_words(
        {"outcomes": 0, "matured_until": None, "waiting": 0, "window_started_at": None}
    ),
}


def windows(*, action_type: str | None = None) -> dict[str, dict[str, Any]]:
    """What each action type learns from now (one query): how many outcomes its current
    window holds (before forgetting), since when (None: from the start), how many times
    it restarted after a change, and whether the drift test watches it with how much
    evidence of a change so far (1 is none; the alarm rings at drift_alarm_every)."""
    with binary_cursor() as cursor:
        cursor.execute(
            """
            WITH counts AS (
                SELECT b.action_type, sum(b.n) AS n FROM calibration_calibrationbucket b
                  LEFT JOIN calibration_calibrationwindow w ON w.action_type = b.action_type
                 WHERE b.epoch = coalesce(w.epoch, 0)
                   AND (%(t)s::text IS NULL OR b.action_type = %(t)s::text)
                 GROUP BY 1
            )
            SELECT coalesce(w.action_type, c.action_type), coalesce(c.n, 0), w.started_at,
                   coalesce(w.epoch, 0), w.drift_state, w.matured_until,
                   coalesce(w.waiting, 0) + coalesce(w.pending, 0), w.waiting_since,
                   w.learned_at
              FROM calibration_calibrationwindow w
              FULL JOIN counts c ON c.action_type = w.action_type
             WHERE %(t)s::text IS NULL OR coalesce(w.action_type, c.action_type) = %(t)s::text
            """,
            {"t": action_type},
        )
        rows = cursor.fetchall()
    found: dict[str, dict[str, Any]] = {}
    for name, count, since, epoch, state_json, matured, waiting, waiting_since, at in rows:
        state = drift.DriftState.from_json(
            json.loads(state_json) if isinstance(state_json, str | bytes) else state_json
        )
        watched = drift.monitored(state.snapshot)
        found[name] = {
            "outcomes": int(count),
            "since": since,
            "restarts": int(epoch),
            "monitored": watched,
            "evidence_of_change": state.evidence if watched else None,
            "matured_until": matured,
            "waiting": int(waiting),
            "waiting_since": waiting_since if waiting else None,
            "checked_at": at,
        }
        found[name]["in_words"] = learning_in_words(
            {**found[name], "outcomes": int(count), "window_started_at": since}
        )
    return found


def _curve(
    action_type: str, sums: stats.BinSums, policy: Policy, window: dict[str, Any]
) -> dict[str, Any]:
    decomposition = stats.decomposition(sums)
    bins = stats.calibration_curve(sums)
    return {
        "action_type": action_type,
        "in_words": in_words(bins),
        "sample_count": int(sums.total),
        "brier_score": stats.brier_score(sums),
        "ece": stats.expected_calibration_error(sums),
        "mce": stats.maximum_calibration_error(sums),
        **asdict(decomposition),
        "bins": [asdict(b) for b in bins],
        "policy": {
            "confidence_scale": policy.confidence_scale,
            "escalation_threshold": policy.escalation_threshold,
            "version": policy.version,
        },
        "window": window,
    }


def curves() -> list[dict[str, Any]]:
    """`curve` of every action type with bins, in two queries (the dashboards call it)."""
    rows: dict[str, list[tuple[float, float, float, float, float]]] = {}
    for b in CalibrationBin.objects.order_by("action_type"):
        bins = rows.setdefault(b.action_type, [(0.0, 0.0, 0.0, 0.0, 0.0)] * stats.N_BINS)
        bins[b.bin_index] = (b.n, b.sum_y, b.sum_p, b.sum_p2, b.sum_py)
    stored = {p.action_type: p for p in BehaviorPolicy.objects.filter(action_type__in=rows)}
    learning = windows()
    return [
        _curve(
            name,
            stats.BinSums.from_rows(bins),
            Policy(
                name,
                stored[name].confidence_scale,
                stored[name].escalation_threshold,
                stored[name].version,
            )
            if name in stored
            else Policy(name, DEFAULT_CONFIDENCE_SCALE, DEFAULT_ESCALATION_THRESHOLD),
            learning.get(name, _NO_WINDOW),
        )
        for name, bins in rows.items()
    ]


def adjustment_log(*, limit: int = 20) -> list[CalibrationAdjustment]:
    return list(CalibrationAdjustment.objects.select_related("reverted_by")[:limit])
