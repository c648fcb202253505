"""Calibration statistics from per-bin sufficient statistics. Pure numpy, no Django.

Every figure is computed from five sums per bin, kept incrementally in the database:
n (count), Σy (successes), Σp (predicted), Σp² and Σp·y. They are enough for the exact
Brier score, the calibration curve, ECE/MCE and the full Murphy decomposition, without
reading raw outcomes. Definitions follow scikit-learn (`calibration_curve` with
`strategy="uniform"`, `brier_score_loss`); see shared/notes/statistics.md.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

N_BINS = 10
EDGES: NDArray[np.float64] = np.linspace(0.0, 1.0, N_BINS + 1)
NO_DATA_BRIER = 0.25  # the Brier score of always saying 0.5: the value with no data
Z_95 = 1.959963984540054


INNER_EDGES: tuple[float, ...] = tuple(float(e) for e in EDGES[1:-1])


def bin_index(p: ArrayLike) -> NDArray[np.intp]:
    """scikit-learn's bins: [0, .1], (.1, .2], …, (.9, 1]. So 0.1 is bin 0 and 1.0 bin 9."""
    return np.searchsorted(EDGES[1:-1], np.asarray(p, dtype=float))


def bin_of(p: float) -> int:
    """`bin_index` of one value, without numpy's per-call cost (the same left-side search
    over the same edges)."""
    return bisect.bisect_left(INNER_EDGES, p)


@dataclass(frozen=True)
class BinSums:
    """The five sums of each of the 10 bins, as arrays of length 10."""

    n: NDArray[np.float64]
    sum_y: NDArray[np.float64]
    sum_p: NDArray[np.float64]
    sum_p2: NDArray[np.float64]
    sum_py: NDArray[np.float64]

    @classmethod
    def from_samples(cls, p: ArrayLike, y: ArrayLike) -> BinSums:
        p_arr = np.asarray(p, dtype=float)
        y_arr = np.asarray(y, dtype=float)
        bins = bin_index(p_arr)

        def total(weights: NDArray[np.float64] | None) -> NDArray[np.float64]:
            return np.bincount(bins, weights=weights, minlength=N_BINS).astype(float)

        return cls(
            n=total(None),
            sum_y=total(y_arr),
            sum_p=total(p_arr),
            sum_p2=total(p_arr * p_arr),
            sum_py=total(p_arr * y_arr),
        )

    @classmethod
    def from_rows(cls, rows: list[tuple[float, float, float, float, float]]) -> BinSums:
        """From 10 rows of (n, Σy, Σp, Σp², Σpy), in bin order."""
        columns = np.asarray(rows, dtype=float).reshape(N_BINS, 5).T
        return cls(*columns)

    @property
    def total(self) -> float:
        return float(self.n.sum())


def brier_score(sums: BinSums) -> float:
    """mean((p - y)²) for binary y: (Σp² - 2Σpy + Σy) / N; 0.25 with no data."""
    total = sums.total
    if total == 0:
        return NO_DATA_BRIER
    return float((sums.sum_p2.sum() - 2 * sums.sum_py.sum() + sums.sum_y.sum()) / total)


def _rates(sums: BinSums) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    nonempty = sums.n > 0
    safe_n = np.where(nonempty, sums.n, 1.0)
    return sums.sum_p / safe_n, sums.sum_y / safe_n, nonempty


def wilson_interval(
    successes: ArrayLike, n: ArrayLike, z: float = Z_95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson score interval for a proportion; (0, 1) where n = 0. The project's one
    Wilson interval: calibration's bins and coaching's rates and Newcombe intervals."""
    k = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    safe = np.where(total > 0, total, 1.0)
    phat = k / safe
    denominator = 1 + z * z / safe
    centre = (phat + z * z / (2 * safe)) / denominator
    half = z * np.sqrt(phat * (1 - phat) / safe + z * z / (4 * safe * safe)) / denominator
    low = np.where(total > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(total > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    return low, high


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """wilson_interval of one proportion."""
    low, high = wilson_interval(successes, n, z)
    return float(low), float(high)


@dataclass(frozen=True)
class CurveBin:
    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    actual_rate: float | None
    ci_low: float
    ci_high: float


def calibration_curve(sums: BinSums) -> list[CurveBin]:
    """All 10 bins, empty ones with count 0 and no rates (scikit-learn drops them)."""
    mean_p, rate, nonempty = _rates(sums)
    low, high = wilson_interval(sums.sum_y, sums.n)
    return [
        CurveBin(
            lower=float(EDGES[k]),
            upper=float(EDGES[k + 1]),
            count=int(sums.n[k]),
            mean_predicted=float(mean_p[k]) if nonempty[k] else None,
            actual_rate=float(rate[k]) if nonempty[k] else None,
            ci_low=float(low[k]),
            ci_high=float(high[k]),
        )
        for k in range(N_BINS)
    ]


def expected_calibration_error(sums: BinSums) -> float:
    """Σ n_k/N |ō_k - p̄_k|; 0 with no data."""
    total = sums.total
    if total == 0:
        return 0.0
    mean_p, rate, _ = _rates(sums)
    return float(np.sum(sums.n * np.abs(rate - mean_p)) / total)


def maximum_calibration_error(sums: BinSums) -> float:
    """max |ō_k - p̄_k| over non-empty bins; 0 with no data."""
    mean_p, rate, nonempty = _rates(sums)
    if not nonempty.any():
        return 0.0
    return float(np.max(np.abs(rate - mean_p)[nonempty]))


@dataclass(frozen=True)
class Decomposition:
    """Murphy's decomposition over the 10 bins, with the within-bin terms that make it
    exact: brier = reliability - resolution + uncertainty + within_bin_variance
    - 2 * within_bin_covariance."""

    reliability: float
    resolution: float
    uncertainty: float
    within_bin_variance: float
    within_bin_covariance: float


def decomposition(sums: BinSums) -> Decomposition:
    total = sums.total
    if total == 0:
        return Decomposition(0.0, 0.0, NO_DATA_BRIER, 0.0, 0.0)
    mean_p, rate, nonempty = _rates(sums)
    base_rate = sums.sum_y.sum() / total
    safe_n = np.where(nonempty, sums.n, 1.0)
    wbv = np.where(nonempty, sums.sum_p2 - sums.sum_p * sums.sum_p / safe_n, 0.0)
    wbc = np.where(nonempty, sums.sum_py - sums.sum_p * sums.sum_y / safe_n, 0.0)
    return Decomposition(
        reliability=float(np.sum(sums.n * (mean_p - rate) ** 2) / total),
        resolution=float(np.sum(sums.n * (rate - base_rate) ** 2) / total),
        uncertainty=float(base_rate * (1 - base_rate)),
        within_bin_variance=float(wbv.sum() / total),
        within_bin_covariance=float(wbc.sum() / total),
    )


def isotonic_fit(
    x: ArrayLike, y: ArrayLike, w: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted isotonic (non-decreasing) regression by pool-adjacent-violators.

    `x` must be sorted ascending and distinct. Returns (x, fitted); predict with
    `np.interp(p, x, fitted)`, which is what scikit-learn's IsotonicRegression does with
    out_of_bounds="clip" (linear between the points, flat outside).
    """
    xs = np.asarray(x, dtype=float)
    values: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for yi, wi in zip(np.asarray(y, dtype=float), np.asarray(w, dtype=float), strict=True):
        values.append(float(yi))
        weights.append(float(wi))
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            total = weights[-2] + weights[-1]
            merged = (values[-2] * weights[-2] + values[-1] * weights[-1]) / total
            size = sizes[-2] + sizes[-1]
            del values[-1], weights[-1], sizes[-1]
            values[-1], weights[-1], sizes[-1] = merged, total, size
    fitted = np.repeat(np.asarray(values), sizes)
    return xs, fitted


@dataclass(frozen=True)
class MonotoneMap:
    """Raw confidence -> calibrated confidence, fitted to the bins (see `monotone_map`)."""

    x: NDArray[np.float64]
    fitted: NDArray[np.float64]

    def __call__(self, p: ArrayLike) -> NDArray[np.float64]:
        return np.interp(np.asarray(p, dtype=float), self.x, self.fitted)


def anchor_points(
    sums: BinSums, *, scale: float, prior_weight: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The points the monotone map is fitted to: each bin's success rate shrunk towards
    the scaled confidence by `prior_weight` pseudo-outcomes, at the bin's mean predicted
    value (its centre when empty), plus the two ends 0 and 1 at the scaled confidence.
    Weights are the bin counts plus the prior."""
    mean_p, _, nonempty = _rates(sums)
    centres = (EDGES[:-1] + EDGES[1:]) / 2
    x = np.where(nonempty, mean_p, centres)
    prior = np.minimum(1.0, scale * x)
    rate = (sums.sum_y + prior_weight * prior) / (sums.n + prior_weight)
    xs = np.concatenate([[0.0], x, [1.0]])
    ys = np.concatenate([[0.0], rate, [min(1.0, scale)]])
    ws = np.concatenate([[prior_weight], sums.n + prior_weight, [prior_weight]])
    return xs, ys, ws


def monotone_map(sums: BinSums, *, scale: float, prior_weight: float) -> MonotoneMap:
    """Isotonic regression over the 10 bins, blended with the scaled raw confidence by
    sample count: a bin with n outcomes weighs its observed rate n : prior_weight against
    the policy's `min(1, scale * p)`. With no data the map is the scaled confidence at the
    anchor points; as bins fill it becomes the isotonic fit of the observed rates.

    Bins are disjoint and ordered, so their mean predicted values are ascending; a bin
    whose mean sits exactly on a neighbour's (impossible for non-empty bins, possible only
    at the 0/1 anchors) is nudged so the points stay distinct.
    """
    xs, ys, ws = anchor_points(sums, scale=scale, prior_weight=prior_weight)
    xs = np.maximum.accumulate(xs)
    for k in range(1, len(xs)):
        if xs[k] <= xs[k - 1]:
            xs[k] = np.nextafter(xs[k - 1], np.inf)
    x, fitted = isotonic_fit(xs, ys, ws)
    return MonotoneMap(x, fitted)
