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

# The monotone map is fitted on finer bins: each display bin split in FINE_PER_BIN equal
# parts, with the display bins' own edges among them, so the fine bin of p lies in the
# display bin of p (fine // FINE_PER_BIN) and the display sums are sums of fine sums.
FINE_PER_BIN = 5
N_FINE = N_BINS * FINE_PER_BIN
FINE_EDGES: NDArray[np.float64] = np.concatenate(
    [np.linspace(EDGES[k], EDGES[k + 1], FINE_PER_BIN + 1)[:-1] for k in range(N_BINS)]
    + [np.array([1.0])]
)
FINE_INNER_EDGES: tuple[float, ...] = tuple(float(e) for e in FINE_EDGES[1:-1])


def bin_index(p: ArrayLike) -> NDArray[np.intp]:
    """scikit-learn's bins: [0, .1], (.1, .2], …, (.9, 1]. So 0.1 is bin 0 and 1.0 bin 9."""
    return np.searchsorted(EDGES[1:-1], np.asarray(p, dtype=float))


def bin_of(p: float) -> int:
    """`bin_index` of one value, without numpy's per-call cost (the same left-side search
    over the same edges)."""
    return bisect.bisect_left(INNER_EDGES, p)


def fine_index(p: ArrayLike) -> NDArray[np.intp]:
    """The fine bin of each value: the same left-open bins over FINE_EDGES."""
    return np.searchsorted(FINE_EDGES[1:-1], np.asarray(p, dtype=float))


def fine_of(p: float) -> int:
    """`fine_index` of one value."""
    return bisect.bisect_left(FINE_INNER_EDGES, p)


@dataclass(frozen=True)
class BinSums:
    """The five sums of each bin, as arrays: 10 display bins, or N_FINE fine ones
    (`from_samples(..., fine=True)`, `coarse()` adds them up into the display bins).
    Sums of exponentially decayed outcomes (`decayed`) keep the same shape, with the
    counts made effective sample sizes."""

    n: NDArray[np.float64]
    sum_y: NDArray[np.float64]
    sum_p: NDArray[np.float64]
    sum_p2: NDArray[np.float64]
    sum_py: NDArray[np.float64]

    @classmethod
    def from_samples(cls, p: ArrayLike, y: ArrayLike, *, fine: bool = False) -> BinSums:
        p_arr = np.asarray(p, dtype=float)
        y_arr = np.asarray(y, dtype=float)
        bins = fine_index(p_arr) if fine else bin_index(p_arr)
        size = N_FINE if fine else N_BINS

        def total(weights: NDArray[np.float64] | None) -> NDArray[np.float64]:
            return np.bincount(bins, weights=weights, minlength=size).astype(float)

        return cls(
            n=total(None),
            sum_y=total(y_arr),
            sum_p=total(p_arr),
            sum_p2=total(p_arr * p_arr),
            sum_py=total(p_arr * y_arr),
        )

    @classmethod
    def from_rows(cls, rows: list[tuple[float, float, float, float, float]]) -> BinSums:
        """From rows of (n, Σy, Σp, Σp², Σpy), in bin order (10, or N_FINE)."""
        columns = np.asarray(rows, dtype=float).reshape(len(rows), 5).T
        return cls(*columns)

    @classmethod
    def empty(cls, *, fine: bool = False) -> BinSums:
        size = N_FINE if fine else N_BINS
        return cls(*(np.zeros(size) for _ in range(5)))

    @property
    def total(self) -> float:
        return float(self.n.sum())

    @property
    def is_fine(self) -> bool:
        return len(self.n) == N_FINE

    def coarse(self) -> BinSums:
        """The display bins' sums of fine sums (each display bin is FINE_PER_BIN fine ones)."""
        if not self.is_fine:
            return self

        def add(values: NDArray[np.float64]) -> NDArray[np.float64]:
            return values.reshape(N_BINS, FINE_PER_BIN).sum(axis=1)

        return BinSums(*(add(v) for v in self.columns()))

    def columns(self) -> tuple[NDArray[np.float64], ...]:
        return (self.n, self.sum_y, self.sum_p, self.sum_p2, self.sum_py)

    def __add__(self, other: BinSums) -> BinSums:
        return BinSums(*(a + b for a, b in zip(self.columns(), other.columns(), strict=True)))


def decay_weights(day_counts: ArrayLike, half_life: float | None) -> NDArray[np.float64]:
    """The weight of each period (oldest first) when outcomes are forgotten with a
    half-life counted in outcomes: a period weighs 0.5^(a / half_life), where a is how
    many outcomes came after the middle of it (the outcomes of newer periods and half of
    its own). No half-life: every period weighs 1."""
    counts = np.asarray(day_counts, dtype=float)
    if not half_life:
        return np.ones_like(counts)
    newer = np.cumsum(counts[::-1])[::-1] - counts / 2
    return np.power(0.5, newer / half_life)


def decayed(periods: list[BinSums], half_life: float | None) -> BinSums:
    """The sums of consecutive periods (oldest first), each outcome weighted by its
    period's `decay_weights`, with each bin's count replaced by its effective sample size
    (Kish: (Σw)² / Σw², over the bin's outcomes) and its other sums scaled to match, so a
    decayed bin has the mean and the uncertainty of that many outcomes."""
    if not periods:
        return BinSums.empty(fine=True)
    stacked = np.array([p.columns() for p in periods])  # (periods, 5 sums, bins)
    counts = stacked[:, 0, :]
    weights = decay_weights(counts.sum(axis=1), half_life)[:, None]
    return scaled_to_effective(
        (weights * counts).sum(axis=0),
        (weights * weights * counts).sum(axis=0),
        [(weights * stacked[:, i, :]).sum(axis=0) for i in range(1, 5)],
    )


def scaled_to_effective(
    weighted_n: NDArray[np.float64],
    squared_n: NDArray[np.float64],
    weighted_sums: list[NDArray[np.float64]],
) -> BinSums:
    """Weighted sums (Σw, Σw², Σwy, Σwp, Σwp², Σwpy per bin) as sums of effective counts."""
    safe = np.where(squared_n > 0, squared_n, 1.0)
    effective = np.where(squared_n > 0, weighted_n * weighted_n / safe, 0.0)
    factor = np.where(weighted_n > 0, effective / np.where(weighted_n > 0, weighted_n, 1.0), 0.0)
    return BinSums(effective, *(factor * s for s in weighted_sums))


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
    """The points the monotone map is fitted to, one per fine bin: its success rate
    shrunk towards the scaled confidence `min(1, scale * p)` by prior_weight / FINE_PER_BIN
    pseudo-outcomes (prior_weight per display bin), at the bin's mean predicted value (its
    centre when empty). Weights are the counts plus the pseudo-outcomes. No end points are
    forced: outside the outermost points the map is flat, as the data leaves it."""
    if not sums.is_fine:
        raise ValueError("the monotone map is fitted on the fine bins")
    mean_p, _, nonempty = _rates(sums)
    centres = (FINE_EDGES[:-1] + FINE_EDGES[1:]) / 2
    x = np.where(nonempty, mean_p, centres)
    pseudo = prior_weight / FINE_PER_BIN
    prior = np.minimum(1.0, scale * x)
    rate = (sums.sum_y + pseudo * prior) / (sums.n + pseudo)
    return x, rate, sums.n + pseudo


def monotone_map(sums: BinSums, *, scale: float, prior_weight: float) -> MonotoneMap:
    """Isotonic regression over the fine bins' shrunk rates (`anchor_points`): a bin with
    n outcomes weighs what happened n : prior_weight / FINE_PER_BIN against the policy's
    `min(1, scale * p)`. With no data the map is the scaled confidence; as bins fill it
    becomes the isotonic fit of what happened, at a resolution of 0.02.

    Bins are disjoint and ordered, so their mean predicted values ascend; two equal
    points (a mean on the edge it shares with an empty neighbour's centre cannot happen,
    but rounding can) are nudged apart so the points stay distinct.
    """
    xs, ys, ws = anchor_points(sums, scale=scale, prior_weight=prior_weight)
    xs = np.maximum.accumulate(xs)
    for k in range(1, len(xs)):
        if xs[k] <= xs[k - 1]:
            xs[k] = np.nextafter(xs[k - 1], np.inf)
    x, fitted = isotonic_fit(xs, ys, ws)
    return MonotoneMap(x, fitted)


def scaled_map(scale: float) -> MonotoneMap:
    """p -> min(1, scale * p) as a MonotoneMap."""
    if scale <= 1:
        return MonotoneMap(np.array([0.0, 1.0]), np.array([0.0, scale]))
    return MonotoneMap(np.array([0.0, 1.0 / scale, 1.0]), np.array([0.0, 1.0, 1.0]))


def calibration_map(
    sums: BinSums, *, scale: float, prior_weight: float, min_samples: float
) -> tuple[MonotoneMap, str]:
    """What turns the agent's confidence into the calibrated one, and its name: the
    policy's scale ("scale") until the (fine, windowed) sums count `min_samples` effective
    outcomes, the `monotone_map` ("bins") after."""
    if sums.total < min_samples:
        return scaled_map(scale), "scale"
    return monotone_map(sums, scale=scale, prior_weight=prior_weight), "bins"
