"""Has the agent's calibration changed? An anytime-valid test, outcome by outcome. Pure.

The calibrated confidence q = c(p) comes from the map fitted before the outcome (a
snapshot taken at the previous check, so q is known before y is). If nothing changed, in
every display bin the success rate is within a tolerance eps_b of q:
|E[y - q | bin b]| <= eps_b, where eps_b is a floor (`tolerance`, 0.05) plus two standard
errors of the map's own estimate in that bin (its effective count there).

The test bets against that hypothesis: a wealth is multiplied, outcome by outcome, by
1 + lambda(y - q) - |lambda|eps_b, where the bet lambda is chosen before y from the recent
residuals of the same bin (betting only where they exceed the tolerance, towards their
sign, and at most half of what keeps the factor non-negative). Under the hypothesis each
factor has expectation at most 1 (an e-value given the past). The wealth restarts at 1
whenever it falls below 1 (an e-CUSUM detector: evidence lost on noise before a change
does not delay the alarm after it), and the alarm rings when it reaches 1/alpha. For such
an e-detector the expected number of outcomes before a false alarm is at least 1/alpha
(Shin, Ramdas & Rinaldo (2024), "E-detectors: a nonparametric framework for sequential
change detection"; the bets' bounds as in Waudby-Smith & Ramdas (2024), "Estimating means
of bounded random variables by betting"). With the default alpha of 1e-5: on average at
least 100,000 outcomes of an action type between two false alarms; bench/efficacy.py
shows how rare they are in practice.

The guarantee assumes the map was within eps_b of the truth when it was taken (the reason
for the floor and the standard errors) and that outcomes, given their confidence, are
independent. The outcome where the wealth last restarted is where the change most likely
began: the window restarts from there.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from calibration import stats

# An alarm at a wealth of 1/alpha: on average at least 1/alpha outcomes between false alarms.
DEFAULT_ALPHA = 1e-5
DEFAULT_TOLERANCE = 0.05
STANDARD_ERRORS = 2.0
# The residuals that size the bets forget at this rate per outcome of the bin, so they
# follow a change instead of averaging it with a long calibrated past.
MEMORY = 0.9
# Monitoring starts when the map rests on this many (effective) outcomes.
MIN_MONITORED = 100


@dataclass
class Snapshot:
    """The map as it was at a check: its points, and its effective count per display bin."""

    x: list[float]
    fitted: list[float]
    counts: list[float]

    @classmethod
    def of(cls, fitted: stats.MonotoneMap, sums: stats.BinSums) -> Snapshot:
        return cls(
            [float(v) for v in fitted.x],
            [float(v) for v in fitted.fitted],
            [float(v) for v in sums.coarse().n],
        )

    def __call__(self, p: ArrayLike) -> np.ndarray:
        return np.interp(np.asarray(p, dtype=float), self.x, self.fitted)


@dataclass
class DriftState:
    """The test's running state, kept between checks (JSON in the database)."""

    log_wealth: float = 0.0
    tested: int = 0
    # The key (caller's: an outcome's position) of the first outcome of the current run of
    # evidence, i.e. after the wealth last restarted: where a change most likely began.
    run_start: Any = None
    # Per display bin: forgetting sums of weights, residuals and squared residuals.
    weight: list[float] = field(default_factory=lambda: [0.0] * stats.N_BINS)
    residual: list[float] = field(default_factory=lambda: [0.0] * stats.N_BINS)
    squared: list[float] = field(default_factory=lambda: [0.0] * stats.N_BINS)
    snapshot: Snapshot | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DriftState:
        if not data:
            return cls()
        snapshot = data.get("snapshot")
        return cls(
            log_wealth=float(data.get("log_wealth", 0.0)),
            tested=int(data.get("tested", 0)),
            run_start=data.get("run_start"),
            weight=list(data.get("weight") or [0.0] * stats.N_BINS),
            residual=list(data.get("residual") or [0.0] * stats.N_BINS),
            squared=list(data.get("squared") or [0.0] * stats.N_BINS),
            snapshot=Snapshot(**snapshot) if snapshot else None,
        )

    @property
    def evidence(self) -> float:
        return evidence(self.log_wealth)

    def reset(self) -> None:
        """Start over (after an alarm): no wealth, no residuals, no reference map."""
        self.__init__()  # type: ignore[misc]


def evidence(log_wealth: float) -> float:
    """A wealth from its log: how many times likelier the outcomes are under a change."""
    return math.exp(min(log_wealth, 700.0))


@dataclass(frozen=True)
class Verdict:
    alarm: bool
    tested: int  # outcomes tested in this call
    log_wealth: float
    at: int | None  # the position (in this call's outcomes) where the alarm rang
    since: Any = None  # on an alarm, the key of the outcome the evidence began at


def tolerances(snapshot: Snapshot, floor: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """eps_b of each display bin: the floor plus two standard errors of the map there."""
    counts = np.asarray(snapshot.counts, dtype=float)
    centres = (stats.EDGES[:-1] + stats.EDGES[1:]) / 2
    q = np.clip(snapshot(centres), 0.01, 0.99)
    safe = np.where(counts > 0, counts, 1.0)
    return np.where(counts > 0, floor + STANDARD_ERRORS * np.sqrt(q * (1 - q) / safe), 1.0)


def monitored(snapshot: Snapshot | None) -> bool:
    return snapshot is not None and sum(snapshot.counts) >= MIN_MONITORED


def test(
    state: DriftState,
    p: ArrayLike,
    y: ArrayLike,
    *,
    keys: list[Any] | None = None,
    alpha: float = DEFAULT_ALPHA,
    floor: float = DEFAULT_TOLERANCE,
) -> Verdict:
    """Feed outcomes (in the order they were counted, each with a key the caller can find
    it again by) to the test; stops at an alarm. Updates `state` in place. Nothing is
    tested before the snapshot is `monitored`."""
    snapshot = state.snapshot
    if snapshot is None or not monitored(snapshot):
        return Verdict(False, 0, state.log_wealth, None)
    p_arr = np.asarray(p, dtype=float)
    y_arr = np.asarray(y, dtype=float)
    q_arr = np.clip(snapshot(p_arr), 1e-6, 1 - 1e-6)
    bins = stats.bin_index(p_arr)
    eps = tolerances(snapshot, floor)
    threshold = math.log(1 / alpha)
    log_wealth = state.log_wealth
    weight, residual, squared = state.weight, state.residual, state.squared
    names = keys if keys is not None else list(range(state.tested, state.tested + len(bins)))
    for i, (b, q, outcome) in enumerate(
        zip(bins.tolist(), q_arr.tolist(), y_arr.tolist(), strict=True)
    ):
        tol = float(eps[b])
        w = weight[b]
        mean = residual[b] / (w + 1.0)  # shrunk towards no bias by one pseudo-outcome
        edge = abs(mean) - tol
        bet = 0.0
        if edge > 0:
            variance = (squared[b] + 0.25) / (w + 1.0)
            if mean > 0:  # underconfident: successes above q; the factor is least at y = 0
                bet = min(edge / variance, 0.5 / (q + tol))
            else:  # overconfident; the factor is least at y = 1
                bet = -min(edge / variance, 0.5 / (1 - q + tol))
        r = outcome - q
        # e-CUSUM: the wealth restarts at 1 rather than staying below it, so evidence
        # lost on noise before a change does not delay the alarm after it.
        if log_wealth <= 0.0 or state.run_start is None:
            log_wealth, state.run_start = 0.0, names[i]
        log_wealth += math.log1p(bet * r - abs(bet) * tol)
        weight[b] = MEMORY * w + 1.0
        residual[b] = MEMORY * residual[b] + r
        squared[b] = MEMORY * squared[b] + r * r
        if log_wealth >= threshold:
            state.log_wealth, state.tested = log_wealth, state.tested + i + 1
            return Verdict(True, i + 1, log_wealth, i, state.run_start)
    state.log_wealth, state.tested = log_wealth, state.tested + len(bins)
    return Verdict(False, len(bins), log_wealth, None)


def check(
    state: DriftState,
    p: ArrayLike,
    y: ArrayLike,
    *,
    keys: list[Any] | None = None,
    window: stats.BinSums,
    scale: float,
    prior_weight: float,
    min_samples: float,
    alpha: float = DEFAULT_ALPHA,
    floor: float = DEFAULT_TOLERANCE,
) -> Verdict:
    """One periodic check: test the outcomes counted since the last one against the map
    of then; on an alarm the state starts over (the caller restarts the window), else the
    snapshot becomes the map of the current `window` for the next check."""
    verdict = test(state, p, y, keys=keys, alpha=alpha, floor=floor)
    if verdict.alarm:
        state.reset()
        return verdict
    fitted, method = stats.calibration_map(
        window, scale=scale, prior_weight=prior_weight, min_samples=min_samples
    )
    state.snapshot = Snapshot.of(fitted, window) if method == "bins" else None
    return verdict
