"""When the agent's confidence is off, and how far to move its policy. Pure, no Django.

A bin is miscalibrated when it has at least `min_samples` outcomes, its gap between the
confidence the policy makes of it (the mean predicted value times the current scale) and
the actual success rate exceeds `gap_threshold`, and its Wilson interval excludes that
confidence (so sampling noise alone never moves the policy). Judging the scaled confidence,
not the raw one, is what lets the policy settle: once the scale has absorbed a bias the
bins stop triggering, instead of pushing the scale on to its bound.

The policy moves by the count-weighted mean gap of the flagged bins, but never by
more than `max_step` per cycle, and stays inside its bounds: an overconfident agent gets a
lower confidence scale and a higher escalation threshold (more caution); an
underconfident one the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration import stats


@dataclass(frozen=True)
class AdjustmentSettings:
    min_samples: int = 10
    gap_threshold: float = 0.15
    max_step: float = 0.10
    scale_bounds: tuple[float, float] = (0.5, 1.5)
    threshold_bounds: tuple[float, float] = (0.3, 0.9)
    # Pseudo-outcomes at the scaled confidence per display bin's width, when fitting the
    # monotone map (spread over its fine bins).
    prior_weight: float = 5.0
    # The window: outcomes after which an outcome counts half (0: never forgets).
    half_life: int = 100_000
    # The drift test (calibration.drift): the tolerance floor (log-odds), the alarm's
    # evidence, and how many matured outcomes it reads between two updates of its
    # reference (and of the window's map).
    drift_tolerance: float = 0.05
    drift_alarm_every: int = 100_000
    drift_check_every: int = 250


@dataclass(frozen=True)
class FlaggedBin:
    index: int
    count: int
    mean_predicted: float  # the agent's raw confidence
    scaled_predicted: float  # what the current policy makes of it: min(1, scale * raw)
    actual_rate: float
    gap: float  # scaled predicted - actual rate: > 0 overconfident
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Proposal:
    scale: float
    threshold: float
    mean_gap: float
    reason: str


def flagged_bins(
    sums: stats.BinSums, settings: AdjustmentSettings, *, scale: float = 1.0
) -> list[FlaggedBin]:
    flagged = []
    for k, b in enumerate(stats.calibration_curve(sums)):
        if b.count < settings.min_samples or b.mean_predicted is None or b.actual_rate is None:
            continue
        scaled = min(1.0, scale * b.mean_predicted)
        gap = scaled - b.actual_rate
        if abs(gap) > settings.gap_threshold and not b.ci_low <= scaled <= b.ci_high:
            flagged.append(
                FlaggedBin(
                    k, b.count, b.mean_predicted, scaled, b.actual_rate, gap, b.ci_low, b.ci_high
                )
            )
    return flagged


def scaled_error(sums: stats.BinSums, settings: AdjustmentSettings, scale: float) -> float:
    """Count-weighted mean |min(1, scale * p̄_k) - ō_k| over the bins with enough samples:
    how far off the policy's confidence is. None of the bins qualify: 0."""
    enough = sums.n >= settings.min_samples
    if not enough.any():
        return 0.0
    n = sums.n[enough]
    predicted = np.minimum(1.0, scale * sums.sum_p[enough] / n)
    return float(np.sum(n * np.abs(predicted - sums.sum_y[enough] / n)) / n.sum())


# A step must lower the scaled error by at least this much (half a point): two scales
# about as good as each other do not trade places every few checks as the window moves.
MIN_IMPROVEMENT = 0.005


def propose(
    *,
    scale: float,
    threshold: float,
    flagged: list[FlaggedBin],
    settings: AdjustmentSettings,
    sums: stats.BinSums | None = None,
) -> Proposal | None:
    """The next policy, or None when nothing is flagged or the bounds allow no move.

    With the bins' `sums`, a move is also refused when it would not lower the
    `scaled_error` by at least MIN_IMPROVEMENT: a distortion no single scale can fix (say
    overconfident low bins and underconfident high ones) then leaves the scale alone, for
    the bin map to handle, instead of swinging it back and forth every cycle.
    """
    if not flagged:
        return None
    counts = np.array([b.count for b in flagged], dtype=float)
    mean_gap = float(np.average([b.gap for b in flagged], weights=counts))
    step = min(abs(mean_gap), settings.max_step)
    direction = -1.0 if mean_gap > 0 else 1.0  # overconfident: scale down
    new_scale = float(np.clip(scale + direction * step, *settings.scale_bounds))
    new_threshold = float(np.clip(threshold - direction * step, *settings.threshold_bounds))
    if np.isclose(new_scale, scale) and np.isclose(new_threshold, threshold):
        return None
    if (
        sums is not None
        and scaled_error(sums, settings, new_scale)
        > scaled_error(sums, settings, scale) - MIN_IMPROVEMENT
    ):
        return None
    kind = "overconfident" if mean_gap > 0 else "underconfident"
    bins = ", ".join(
        f"confidence {b.index * 100 // stats.N_BINS}-{(b.index + 1) * 100 // stats.N_BINS} % "
        f"({b.scaled_predicted:.2f} predicted, {b.actual_rate:.2f} actual, {b.count} outcomes)"
        for b in flagged
    )
    return Proposal(
        round(new_scale, 6),
        round(new_threshold, 6),
        mean_gap,
        f"{kind} by {abs(mean_gap):.3f} on average: {bins}",
    )
