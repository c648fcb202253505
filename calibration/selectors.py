from __future__ import annotations

from dataclasses import dataclass

from calibration import stats
from calibration.models import (
    DEFAULT_CONFIDENCE_SCALE,
    DEFAULT_ESCALATION_THRESHOLD,
    BehaviorPolicy,
    CalibrationBin,
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


def policy_for(*, action_type: str) -> Policy:
    """The stored policy, or the defaults for an action type not adjusted yet."""
    stored = BehaviorPolicy.objects.filter(action_type=action_type).first()
    if stored is None:
        return Policy(action_type, DEFAULT_CONFIDENCE_SCALE, DEFAULT_ESCALATION_THRESHOLD)
    return Policy(action_type, stored.confidence_scale, stored.escalation_threshold)


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


def calibrate(*, action_type: str, confidence: float) -> Calibrated:
    """The agent's raw confidence, scaled by its policy (clipped to [0, 1]), and whether
    that is below the escalation threshold."""
    policy = policy_for(action_type=action_type)
    calibrated = min(1.0, max(0.0, confidence * policy.confidence_scale))
    return Calibrated(
        action_type,
        confidence,
        calibrated,
        policy.escalation_threshold,
        calibrated < policy.escalation_threshold,
    )
