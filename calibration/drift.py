"""Has the agent's calibration changed? An anytime-valid test, outcome by outcome. Pure.

Outcomes reach the test in the order their actions were taken, once matured (their
result window closed: calibration.services.learn), so the order results *arrive* in
carries no signal. The calibrated confidence q = c(p) comes from the reference map, fitted
before the outcome. If nothing changed, in every display bin the success rate r is within
a tolerance of q on the log-odds scale: |logit r - logit q| <= tau_b, where tau_b is a
floor (`tolerance`, 0.05: odds within about 5 %) plus two standard errors of the
reference's own estimate in that bin (its effective count there). On the log-odds scale
the same tolerance fits rare and common successes alike: 8 % -> 3 % is as visible as
60 % -> 30 %, and a fifth less success (p -> 0.8 p) is a change wherever p is.

The test bets against that hypothesis: a wealth is multiplied, outcome by outcome, by
1 + lambda (y - q_hi) for a bet on "more successes" (lambda > 0) or 1 + lambda (y - q_lo)
for a bet on fewer (lambda < 0), where q_lo < q < q_hi are the tolerance's bounds
(sigmoid(logit q -+ tau_b)). The bet is chosen before y from the recent residuals of the
same bin (betting only where they exceed the tolerance, towards their sign, and at most
half of what keeps the factor non-negative). Under the hypothesis each factor has
expectation at most 1 (an e-value given the past). The wealth restarts at 1 whenever it
falls below 1 (an e-CUSUM detector: evidence lost on noise before a change does not delay
the alarm after it), and the alarm rings when it reaches 1/alpha. For such an e-detector
the expected number of outcomes before a false alarm is at least 1/alpha (Shin, Ramdas &
Rinaldo (2024), "E-detectors: a nonparametric framework for sequential change detection";
the bets' bounds as in Waudby-Smith & Ramdas (2024), "Estimating means of bounded random
variables by betting"). With the default alpha of 1e-5: on average at least 100,000
outcomes of an action type between two false alarms.

The reference is the map of the outcomes *before* the current run of evidence (before the
outcome where the wealth last restarted; `reference_before`): while evidence of a change
builds up, the map it is tested against does not absorb the change, so a gradual change
is seen rather than followed.

The guarantee assumes: the reference was within tau_b of the truth when it was taken (the
reason for the floor and the standard errors), outcomes given their confidence are
independent (actions of one conversation are not quite: bench/efficacy measures the
alarm rate with shared outcomes in conversations), and outcomes reach the test complete
(matured) in action order. The outcome where the wealth last restarted is where the
change most likely began: the window restarts from there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from calibration import stats

# An alarm at a wealth of 1/alpha: on average at least 1/alpha outcomes between false alarms.
DEFAULT_ALPHA = 1e-5
# The floor of the tolerance, in log-odds: odds within about 5 % are no change.
DEFAULT_TOLERANCE = 0.05
# A bin the reference has no outcomes in: no bet there.
NO_TOLERANCE = 50.0
STANDARD_ERRORS = 2.0
# The residuals that size the bets forget at these rates per outcome of the bin: a quick
# detector (about the last 10 outcomes of a bin) for abrupt changes and a patient one
# (about the last 200) for small ones. Each alarms at len(MEMORIES) / alpha, so together
# they keep the 1 / alpha guarantee (their mean is an e-detector, and it is at least
# 1 / alpha whenever one of them reaches len(MEMORIES) / alpha).
MEMORIES = (0.9, 0.995)
# Monitoring starts when the map rests on this many (effective) outcomes.
MIN_MONITORED = 100
# The reference leaves out the newest outcomes, this many (at most half of the window's):
# a change slower than this still meets a reference from before it.
REFERENCE_LAG = 10_000
# A run of evidence holds the reference where it began only if it rests there on this
# many outcomes (a map of few outcomes is too uncertain to be held for long).
MIN_FROZEN = 2_000


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
class Detector:
    """One e-CUSUM of the test, with its own memory for sizing bets."""

    log_wealth: float = 0.0
    # The key (caller's: an outcome's position) of the first outcome of the current run of
    # evidence, i.e. after the wealth last restarted: where a change most likely began.
    run_start: Any = None
    # Per display bin: forgetting sums of weights, residuals and squared residuals.
    weight: list[float] = field(default_factory=lambda: [0.0] * stats.N_BINS)
    residual: list[float] = field(default_factory=lambda: [0.0] * stats.N_BINS)
    squared: list[float] = field(default_factory=lambda: [0.0] * stats.N_BINS)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Detector:
        return cls(
            log_wealth=float(data.get("log_wealth", 0.0)),
            run_start=data.get("run_start"),
            weight=list(data.get("weight") or [0.0] * stats.N_BINS),
            residual=list(data.get("residual") or [0.0] * stats.N_BINS),
            squared=list(data.get("squared") or [0.0] * stats.N_BINS),
        )


@dataclass
class DriftState:
    """The test's running state, kept between checks (JSON in the database): a detector
    per memory (MEMORIES), and the reference map."""

    tested: int = 0
    detectors: list[Detector] = field(default_factory=lambda: [Detector() for _ in MEMORIES])
    snapshot: Snapshot | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DriftState:
        if not data:
            return cls()
        snapshot = data.get("snapshot")
        stored = [Detector.from_json(d) for d in data.get("detectors") or []]
        if not stored and "weight" in data:  # one detector, as kept before
            stored = [Detector.from_json(data)]
        stored += [Detector() for _ in MEMORIES[len(stored) :]]
        return cls(
            tested=int(data.get("tested", 0)),
            detectors=stored[: len(MEMORIES)],
            snapshot=Snapshot(**snapshot) if snapshot else None,
        )

    @property
    def leading(self) -> Detector:
        """The detector with the most evidence now."""
        return max(self.detectors, key=lambda d: d.log_wealth)

    @property
    def log_wealth(self) -> float:
        return self.leading.log_wealth

    @property
    def run_start(self) -> Any:
        """Where the leading detector's run of evidence began (None: no run)."""
        leading = self.leading
        return leading.run_start if leading.log_wealth > 0 else None

    @property
    def evidence(self) -> float:
        return evidence(self.log_wealth)

    def restart_runs(self) -> None:
        """Drop the evidence gathered so far (the bets' residuals stay)."""
        for detector in self.detectors:
            detector.log_wealth, detector.run_start = 0.0, None

    def reset(self) -> None:
        """Start over (after an alarm): no wealth, no residuals, no reference map."""
        fresh = DriftState()
        self.tested, self.detectors, self.snapshot = fresh.tested, fresh.detectors, fresh.snapshot


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
    """tau_b of each display bin, in log-odds: the floor plus two standard errors of the
    reference's log-odds there (1 / sqrt(n q (1 - q)) for a rate q estimated from n)."""
    counts = np.asarray(snapshot.counts, dtype=float)
    centres = (stats.EDGES[:-1] + stats.EDGES[1:]) / 2
    q = np.clip(snapshot(centres), 0.01, 0.99)
    safe = np.where(counts > 0, counts * q * (1 - q), 1.0)
    return np.where(counts > 0, floor + STANDARD_ERRORS / np.sqrt(safe), NO_TOLERANCE)


def bounds(q: float, tau: float) -> tuple[float, float]:
    """How far below and above q the rate may be within tau on the log-odds scale."""
    logit = math.log(q / (1 - q))
    return q - _sigmoid(logit - tau), _sigmoid(logit + tau) - q


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


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
    """Feed outcomes (in the order their actions were taken, each with a key the caller
    can find it again by) to the test; stops at an alarm. Updates `state` in place.
    Nothing is tested before the snapshot is `monitored`."""
    snapshot = state.snapshot
    if snapshot is None or not monitored(snapshot):
        return Verdict(False, 0, state.log_wealth, None)
    p_arr = np.asarray(p, dtype=float)
    y_arr = np.asarray(y, dtype=float)
    q_arr = np.clip(snapshot(p_arr), 1e-6, 1 - 1e-6)
    bins = stats.bin_index(p_arr)
    taus = tolerances(snapshot, floor)
    threshold = math.log(len(state.detectors) / alpha)
    names = keys if keys is not None else list(range(state.tested, state.tested + len(bins)))
    detectors = list(zip(state.detectors, MEMORIES, strict=True))
    for i, (b, q, outcome) in enumerate(
        zip(bins.tolist(), q_arr.tolist(), y_arr.tolist(), strict=True)
    ):
        below, above = bounds(q, float(taus[b]))
        r = outcome - q
        for detector, memory in detectors:
            w = detector.weight[b]
            mean = detector.residual[b] / (w + 1.0)  # shrunk towards no bias by one pseudo-outcome
            bet = 0.0
            if mean > above:  # underconfident: successes above q_hi; least at y = 0
                variance = (detector.squared[b] + 0.25) / (w + 1.0)
                bet = min((mean - above) / variance, 0.5 / (q + above))
            elif mean < -below:  # overconfident: below q_lo; least at y = 1
                variance = (detector.squared[b] + 0.25) / (w + 1.0)
                bet = -min((-below - mean) / variance, 0.5 / (1 - q + below))
            # e-CUSUM: the wealth restarts at 1 rather than staying below it, so evidence
            # lost on noise before a change does not delay the alarm after it.
            if detector.log_wealth <= 0.0 or detector.run_start is None:
                detector.log_wealth, detector.run_start = 0.0, names[i]
            if bet > 0:
                detector.log_wealth += math.log1p(bet * (r - above))
            elif bet < 0:
                detector.log_wealth += math.log1p(bet * (r + below))
            detector.weight[b] = memory * w + 1.0
            detector.residual[b] = memory * detector.residual[b] + r
            detector.squared[b] = memory * detector.squared[b] + r * r
            if detector.log_wealth >= threshold:
                state.tested += i + 1
                return Verdict(True, i + 1, detector.log_wealth, i, detector.run_start)
    state.tested += len(bins)
    return Verdict(False, len(bins), state.log_wealth, None)


def reference_cutoff(days: Sequence[tuple[Any, float]], run_day: Any, lag: float) -> Any:
    """The first day left out of the reference (None: none left out). `days` are the
    window's days with their outcome counts, oldest first. The reference holds the days
    before the newest `lag` outcomes (at most half of the window's), and before the day the
    current run of evidence began (`run_day`, None when there is none): while evidence of
    a change builds up, or while a change is too slow to build it within `lag` outcomes,
    the map it is tested against does not take the change in."""
    total = sum(n for _, n in days)
    cutoff, newer = None, 0.0
    for day, n in reversed(days):
        if newer >= min(lag, total / 2):
            break
        cutoff, newer = day, newer + n
    if run_day is not None and (cutoff is None or run_day < cutoff):
        cutoff = run_day
    return cutoff


def check(
    state: DriftState,
    p: ArrayLike,
    y: ArrayLike,
    *,
    keys: list[Any] | None = None,
    days: Sequence[tuple[Any, float]],
    day_of: Callable[[Any], Any],
    reference: Callable[[Any], stats.BinSums],
    scale: float,
    prior_weight: float,
    min_samples: float,
    alpha: float = DEFAULT_ALPHA,
    floor: float = DEFAULT_TOLERANCE,
    lag: float | None = None,
) -> Verdict:
    """One check: test the outcomes matured since the last one against the reference;
    on an alarm the state starts over (the caller restarts the window), else the
    reference becomes the map of `reference(cutoff)`: the window's sums of the days before
    `reference_cutoff` (`days`: the window's days and counts after this batch; `day_of`:
    the day of an outcome key)."""
    verdict = test(state, p, y, keys=keys, alpha=alpha, floor=floor)
    if verdict.alarm:
        state.reset()
        return verdict
    lag = REFERENCE_LAG if lag is None else lag
    run_day = day_of(state.run_start) if state.run_start is not None else None
    sums = reference(reference_cutoff(days, run_day, lag))
    if run_day is not None and sums.total < MIN_FROZEN:
        # Too little before the run to hold the reference there: it follows the window
        # (less the newest `lag` outcomes) while the run goes on.
        sums = reference(reference_cutoff(days, None, lag))
    fitted, method = stats.calibration_map(
        sums, scale=scale, prior_weight=prior_weight, min_samples=min_samples
    )
    state.snapshot = Snapshot.of(fitted, sums) if method == "bins" else None
    return verdict
