from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from calibration import stats
from calibration.adjust import AdjustmentSettings
from calibration.models import (
    DEFAULT_CONFIDENCE_SCALE,
    DEFAULT_ESCALATION_THRESHOLD,
    BehaviorPolicy,
    CalibrationAdjustment,
    CalibrationBin,
    CalibrationSettings,
    PolicyVersion,
)


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
    )


def bin_sums(*, action_type: str) -> stats.BinSums:
    """The action type's 10 bins as sums (zeros for bins not created yet)."""
    rows = [(0.0, 0.0, 0.0, 0.0, 0.0)] * stats.N_BINS
    for b in CalibrationBin.objects.filter(action_type=action_type):
        rows[b.bin_index] = (b.n, b.sum_y, b.sum_p, b.sum_p2, b.sum_py)
    return stats.BinSums.from_rows(rows)


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


def calibrate(*, action_type: str, confidence: float) -> Calibrated:
    """The agent's raw confidence made calibrated, and whether that is below the
    escalation threshold.

    Until the action type has `min_samples` resolved outcomes this is the policy's damped
    scale, `min(1, scale * p)`. After that it is the monotone map of `stats.monotone_map`:
    isotonic regression over the 10 bins' success rates, each bin shrunk towards the
    scaled confidence by `prior_weight` pseudo-outcomes, so sparse bins lean on the policy
    and full ones on what actually happened.
    """
    settings = adjustment_settings()
    policy = policy_for(action_type=action_type)
    sums = bin_sums(action_type=action_type)
    if sums.total < settings.min_samples:
        method = "scale"
        calibrated = min(1.0, max(0.0, confidence * policy.confidence_scale))
    else:
        method = "bins"
        fitted = stats.monotone_map(
            sums, scale=policy.confidence_scale, prior_weight=settings.prior_weight
        )
        calibrated = float(fitted(confidence))
    return Calibrated(
        action_type,
        confidence,
        calibrated,
        policy.escalation_threshold,
        calibrated < policy.escalation_threshold,
        method,
        int(sums.total),
        policy.version,
    )


def curve(action_type: str) -> dict[str, Any]:
    """Everything the reliability diagram and `GET calibration/{action_type}/` show."""
    return _curve(
        action_type, bin_sums(action_type=action_type), policy_for(action_type=action_type)
    )


def _curve(action_type: str, sums: stats.BinSums, policy: Policy) -> dict[str, Any]:
    decomposition = stats.decomposition(sums)
    return {
        "action_type": action_type,
        "sample_count": int(sums.total),
        "brier_score": stats.brier_score(sums),
        "ece": stats.expected_calibration_error(sums),
        "mce": stats.maximum_calibration_error(sums),
        **asdict(decomposition),
        "bins": [asdict(b) for b in stats.calibration_curve(sums)],
        "policy": {
            "confidence_scale": policy.confidence_scale,
            "escalation_threshold": policy.escalation_threshold,
            "version": policy.version,
        },
    }


def curves() -> list[dict[str, Any]]:
    """`curve` of every action type with bins, in two queries (the dashboards call it)."""
    rows: dict[str, list[tuple[float, float, float, float, float]]] = {}
    for b in CalibrationBin.objects.order_by("action_type"):
        bins = rows.setdefault(b.action_type, [(0.0, 0.0, 0.0, 0.0, 0.0)] * stats.N_BINS)
        bins[b.bin_index] = (b.n, b.sum_y, b.sum_p, b.sum_p2, b.sum_py)
    stored = {p.action_type: p for p in BehaviorPolicy.objects.filter(action_type__in=rows)}
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
        )
        for name, bins in rows.items()
    ]


def adjustment_log(*, limit: int = 20) -> list[CalibrationAdjustment]:
    return list(CalibrationAdjustment.objects.select_related("reverted_by")[:limit])
