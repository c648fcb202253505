"""The statistics behind coaching patterns: one level against the rest as a 2x2 table.

- The test: Fisher's exact test when any expected count is under 5, else the pooled
  two-proportion z-test (whose z² is the chi-square statistic without Yates' correction).
- Many comparisons: Benjamini-Hochberg over every comparison of one run
  (`scipy.stats.false_discovery_control`), so about q or fewer of what is reported is noise.
- The effect: the difference of the two rates with Newcombe's hybrid score interval
  (method 10 of Newcombe 1998, built from two Wilson intervals: calibration.stats's,
  the project's one), and patterns are ranked
  by how far that interval stays from zero, not by the raw difference: a large effect on
  twelve outcomes ranks below a moderate one on a thousand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from calibration.stats import Z_95, wilson


@dataclass(frozen=True)
class Cell:
    """Successes and trials of one level of one dimension, in one stratum."""

    stratum: str  # the outcome type the rates are comparable within ("" for all)
    dimension: str
    level: str
    successes: int
    trials: int


@dataclass(frozen=True)
class Comparison:
    stratum: str
    dimension: str
    level: str
    successes: int
    trials: int
    rest_successes: int
    rest_trials: int
    test: str  # "fisher" or "z"
    p_value: float
    effect: float  # level's rate minus the rest's
    ci_low: float
    ci_high: float

    @property
    def rate(self) -> float:
        return self.successes / self.trials

    @property
    def rest_rate(self) -> float:
        return self.rest_successes / self.rest_trials

    @property
    def strength(self) -> float:
        """How far the interval stays from zero (the conservative size of the effect)."""
        return self.ci_low if self.effect >= 0 else -self.ci_high


def newcombe(a: int, n1: int, b: int, n2: int, z: float = Z_95) -> tuple[float, float]:
    """Interval for p1 - p2 (Newcombe's hybrid score method)."""
    p1, p2 = a / n1, b / n2
    l1, u1 = wilson(a, n1, z)
    l2, u2 = wilson(b, n2, z)
    d = p1 - p2
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def _scipy_stats() -> Any:
    """scipy.stats, imported on first use: at module level it adds 0.5 s to every
    process start (web, worker, each manage.py command)."""
    from scipy import stats

    return stats


def two_by_two(a: int, n1: int, b: int, n2: int) -> tuple[float, str]:
    """(two-sided p, test) for successes a of n1 against b of n2."""
    table = np.array([[a, n1 - a], [b, n2 - b]], dtype=float)
    total = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    if (expected < 5).any():
        return float(_scipy_stats().fisher_exact(table.astype(int)).pvalue), "fisher"
    pooled = (a + b) / total
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0, "z"
    z = (a / n1 - b / n2) / se
    return float(2 * _scipy_stats().norm.sf(abs(z))), "z"


def with_mirrors(
    found: list[tuple[Comparison, float]], cells: Sequence[Cell]
) -> list[tuple[Comparison, float]]:
    """Discoveries plus, for a dimension of two levels (tested once, `compare`), the other
    level's side of the same test: the same p-values, the effect and interval negated."""
    levels: dict[tuple[str, str], int] = {}
    for cell in cells:
        levels[(cell.stratum, cell.dimension)] = levels.get((cell.stratum, cell.dimension), 0) + 1
    names = {(c.stratum, c.dimension, c.level) for c in cells}
    out = list(found)
    for c, adjusted in found:
        if levels.get((c.stratum, c.dimension)) != 2:
            continue
        other = next(
            level
            for (stratum, dimension, level) in names
            if (stratum, dimension) == (c.stratum, c.dimension) and level != c.level
        )
        mirror = Comparison(
            c.stratum,
            c.dimension,
            other,
            c.rest_successes,
            c.rest_trials,
            c.successes,
            c.trials,
            c.test,
            c.p_value,
            -c.effect,
            -c.ci_high,
            -c.ci_low,
        )
        out.append((mirror, adjusted))
    return out


def compare(cells: Sequence[Cell], *, min_group: int) -> list[Comparison]:
    """Each level against the rest of its dimension in its stratum, when both sides have
    at least `min_group` trials."""
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for cell in cells:
        s, n = totals.get((cell.stratum, cell.dimension), (0, 0))
        totals[(cell.stratum, cell.dimension)] = (s + cell.successes, n + cell.trials)
    sizes: dict[tuple[str, str], int] = {}
    for cell in cells:
        sizes[(cell.stratum, cell.dimension)] = sizes.get((cell.stratum, cell.dimension), 0) + 1
    seen: set[tuple[str, str]] = set()
    comparisons = []
    for cell in cells:
        key = (cell.stratum, cell.dimension)
        if sizes[key] == 2 and key in seen:
            continue  # two levels: the second against the first is the same test again
        seen.add(key)
        total_s, total_n = totals[(cell.stratum, cell.dimension)]
        rest_s, rest_n = total_s - cell.successes, total_n - cell.trials
        if cell.trials < min_group or rest_n < min_group:
            continue
        p, test = two_by_two(cell.successes, cell.trials, rest_s, rest_n)
        low, high = newcombe(cell.successes, cell.trials, rest_s, rest_n)
        comparisons.append(
            Comparison(
                stratum=cell.stratum,
                dimension=cell.dimension,
                level=cell.level,
                successes=cell.successes,
                trials=cell.trials,
                rest_successes=rest_s,
                rest_trials=rest_n,
                test=test,
                p_value=p,
                effect=cell.successes / cell.trials - rest_s / rest_n,
                ci_low=low,
                ci_high=high,
            )
        )
    return comparisons


def adjusted(comparisons: Sequence[Comparison]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values, in the same order."""
    if not comparisons:
        return []
    ps = np.array([c.p_value for c in comparisons])
    return [float(x) for x in _scipy_stats().false_discovery_control(ps, method="bh")]


def discoveries(comparisons: Sequence[Comparison], *, q: float) -> list[tuple[Comparison, float]]:
    """The comparisons whose adjusted p is at most q, strongest first."""
    kept = [(c, p) for c, p in zip(comparisons, adjusted(comparisons), strict=True) if p <= q]
    return sorted(kept, key=lambda pair: (-pair[0].strength, pair[1]))


# --- randomised experiments: a two-sample sequential test ---------------------------------

EXPERIMENT_ALPHA = 0.05  # the chance of any decision between two equally good versions
PROMOTE_AFTER = 10  # the seeds' floors, in observations
DEMOTE_AFTER = 20


@dataclass
class ArmTest:
    """A two-arm test of "both arms succeed equally often", valid although it is checked
    after every observation, with both rates unknown (no baseline taken as exact).

    Each experiment unit (a conversation) is assigned to the treatment with probability
    1/2, independently of everything else (a hash of the conversation). Under the
    hypothesis the arm of an observation is then independent of its result, so the sign
    s = (+1 treatment, -1 control) x (+1 success, -1 failure) has mean 0 whatever the
    common rate is. A wealth is multiplied by 1 + lambda*s, the bet lambda being the shrunk
    mean of the earlier signs (Kelly's bet for a +-1 outcome), clipped to [-1/2, 1/2]: a
    non-negative martingale under the hypothesis, so by Ville's inequality it reaches
    1/alpha with probability at most alpha, however often it is looked at. At 1/alpha the
    sign of the evidence decides: the treatment is better (promote) or worse (demote).
    Under a difference d = p_treatment - p_control the signs have mean d, and the wealth
    grows by about d²/2 per observation.
    """

    log_wealth: float = 0.0
    observations: int = 0
    sign_sum: float = 0.0

    def bet(self) -> float:
        return max(-0.5, min(0.5, self.sign_sum / (self.observations + 4)))

    def observe(self, *, treatment: bool, success: bool) -> None:
        sign = (1 if treatment else -1) * (1 if success else -1)
        self.log_wealth += math.log1p(self.bet() * sign)
        self.observations += 1
        self.sign_sum += sign

    def decided(self, alpha: float) -> bool:
        return self.log_wealth >= math.log(1 / alpha)

    def decision(self, alpha: float = EXPERIMENT_ALPHA) -> str | None:
        """ "promoted" or "demoted" once the evidence is decisive and the floor for that
        direction is reached; None while undecided."""
        if not self.decided(alpha):
            return None
        better = self.sign_sum > 0
        if self.observations < (PROMOTE_AFTER if better else DEMOTE_AFTER):
            return None
        return "promoted" if better else "demoted"

    @property
    def evidence(self) -> float:
        return math.exp(min(self.log_wealth, 700.0))
