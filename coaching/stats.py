"""The statistics behind coaching patterns: one level against the rest as a 2x2 table,
with the conversation as the unit of evidence.

- Clustering: actions come in conversations, whose actions succeed or fail together, so
  each comparison's counts are divided by its design effect (coaching.clusters: the
  variance clustered by conversation over the independent one, at least 1; the Rao-Scott
  correction) before the test and the interval. When every conversation holds one action
  it is 1 and everything below is the plain test on the counts.
- The test: Fisher's exact test when any expected (effective) count is under 5, else the
  pooled two-proportion z-test (whose z² is the chi-square statistic without Yates'
  correction; on effective counts it is the cluster-robust score test).
- Many comparisons: Benjamini-Hochberg over every test of one run
  (`scipy.stats.false_discovery_control`), so about q or fewer of what is reported is noise.
- The effect: the difference of the two rates with Newcombe's hybrid score interval
  (method 10 of Newcombe 1998, built from two Wilson intervals: calibration.stats's,
  the project's one) on the effective counts, and patterns are ranked
  by how far that interval stays from zero, not by the raw difference: a large effect on
  twelve outcomes ranks below a moderate one on a thousand.
- Sizes: a side is tested when it holds at least `min_group` conversations.
- A fixed bar (improvement areas): a level is below a success rate only when a one-sided
  test says so (exact binomial on small effective counts, else the score z-test), in the
  same run's Benjamini-Hochberg family; not when its point estimate is below.

The randomised experiments' sequential test is coaching.sequential's (re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from calibration.stats import Z_95, wilson_interval
from coaching.clusters import Cell, design_effect, dimension_totals, variance_ratio

# Re-exported: coaching.services, the tests and migration 0005 take the cells and the
# experiments' sequential test from here too.
from coaching.clusters import Clusters as Clusters
from coaching.clusters import clustered_cells as clustered_cells
from coaching.sequential import DEMOTE_AFTER as DEMOTE_AFTER
from coaching.sequential import EXPERIMENT_ALPHA as EXPERIMENT_ALPHA
from coaching.sequential import PAIR_BETS as PAIR_BETS
from coaching.sequential import PAIR_HORIZON as PAIR_HORIZON
from coaching.sequential import PROMOTE_AFTER as PROMOTE_AFTER
from coaching.sequential import ArmTest as ArmTest
from coaching.sequential import pair_log_evidence as pair_log_evidence


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
    conversations: int = 0  # with an action at the level
    rest_conversations: int = 0  # with an action at another level
    design_effect: float = 1.0  # the counts were divided by this for the test and interval

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


def interval(
    successes: float, trials: float, design_effect: float = 1.0, z: float = Z_95
) -> tuple[float, float]:
    """Wilson interval of a rate on the effective counts (divided by the design effect)."""
    low, high = wilson_interval(successes / design_effect, trials / design_effect, z)
    return float(low), float(high)


def newcombe(a: float, n1: float, b: float, n2: float, z: float = Z_95) -> tuple[float, float]:
    """Interval for p1 - p2 (Newcombe's hybrid score method); counts may be effective
    (fractional) ones."""
    p1, p2 = a / n1, b / n2
    l1, u1 = interval(a, n1, z=z)
    l2, u2 = interval(b, n2, z=z)
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


def two_by_two(a: float, n1: float, b: float, n2: float) -> tuple[float, str]:
    """(two-sided p, test) for successes a of n1 against b of n2 (effective counts may be
    fractional: Fisher's test takes them rounded)."""
    table = np.array([[a, n1 - a], [b, n2 - b]], dtype=float)
    total = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    if (expected < 5).any():
        counts = np.rint(table).astype(int)
        return float(_scipy_stats().fisher_exact(counts).pvalue), "fisher"
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
            c.rest_conversations,
            c.conversations,
            c.design_effect,
        )
        out.append((mirror, adjusted))
    return out


def compare(cells: Sequence[Cell], *, min_group: int) -> list[Comparison]:
    """Each level against the rest of its dimension in its stratum, when both sides have
    at least `min_group` conversations."""
    dimensions = dimension_totals(cells)
    seen: set[tuple[str, str]] = set()
    comparisons = []
    for cell in cells:
        key = (cell.stratum, cell.dimension)
        dimension = dimensions[key]
        if dimension.levels == 2 and key in seen:
            continue  # two levels: the second against the first is the same test again
        seen.add(key)
        rest_s, rest_n = dimension.successes - cell.successes, dimension.trials - cell.trials
        rest_conversations = dimension.conversations - cell.sums.alone
        if min(cell.conversations, rest_conversations) < max(min_group, 1):
            continue
        deff = design_effect(cell, dimension)
        effective = (cell.successes / deff, cell.trials / deff, rest_s / deff, rest_n / deff)
        p, test = two_by_two(*effective)
        low, high = newcombe(*effective)
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
                conversations=cell.conversations,
                rest_conversations=rest_conversations,
                design_effect=deff,
            )
        )
    return comparisons


@dataclass(frozen=True)
class BarTest:
    """One level's success rate against a fixed bar, one-sided: is it below?"""

    stratum: str
    dimension: str
    level: str
    successes: int
    trials: int
    conversations: int
    bar: float
    test: str  # "binomial" (exact) or "z" (score)
    p_value: float
    ci_low: float  # Wilson interval of the rate, on the effective counts
    ci_high: float
    design_effect: float = 1.0

    @property
    def rate(self) -> float:
        return self.successes / self.trials

    @property
    def strength(self) -> float:
        """How far the interval stays below the bar."""
        return self.bar - self.ci_high


def below(s: float, n: float, bar: float) -> tuple[float, str]:
    """(one-sided p of "the rate is at least `bar`", test) for s successes of n: the exact
    binomial test when an expected count is under 5 (counts rounded), else the score z-test."""
    if not 0 < bar < 1:
        return 1.0, "z"  # nothing is below 0; 1 is not a bar a test can hold a rate to
    if n * bar < 5 or n * (1 - bar) < 5:
        k, m = round(s), max(1, round(n))
        return float(_scipy_stats().binomtest(k, m, bar, alternative="less").pvalue), "binomial"
    z = (s / n - bar) / math.sqrt(bar * (1 - bar) / n)
    return float(_scipy_stats().norm.cdf(z)), "z"


def below_bar(
    cells: Sequence[Cell], *, bar: float, min_group: int, dimension: str = "action_type"
) -> list[BarTest]:
    """Each level of `dimension` with at least `min_group` conversations against the bar.
    Its design effect: the clustered over the independent variance of its rate, with the
    residuals s - bar·n around the hypothesis' rate."""
    tests = []
    for cell in cells:
        if cell.dimension != dimension or cell.conversations < min_group:
            continue
        sums, s, n = cell.sums, cell.successes, cell.trials
        clustered = sums.ss - 2 * bar * sums.ns + bar * bar * sums.nn
        independent = s * (1 - bar) ** 2 + (n - s) * bar * bar
        deff = variance_ratio(clustered, cell.conversations, independent, n)
        p, test = below(s / deff, n / deff, bar)
        low, high = interval(s, n, deff)
        tests.append(
            BarTest(
                cell.stratum,
                cell.dimension,
                cell.level,
                s,
                n,
                cell.conversations,
                bar,
                test,
                p,
                low,
                high,
                deff,
            )
        )
    return tests


class Tested(Protocol):
    @property
    def p_value(self) -> float: ...

    @property
    def strength(self) -> float: ...


T = TypeVar("T", bound=Tested)


def adjusted(comparisons: Sequence[Tested]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values, in the same order."""
    if not comparisons:
        return []
    ps = np.array([c.p_value for c in comparisons])
    return [float(x) for x in _scipy_stats().false_discovery_control(ps, method="bh")]


def discoveries(comparisons: Sequence[T], *, q: float) -> list[tuple[T, float]]:
    """The comparisons whose adjusted p is at most q, strongest first."""
    kept = [(c, p) for c, p in zip(comparisons, adjusted(comparisons), strict=True) if p <= q]
    return sorted(kept, key=lambda pair: (-pair[0].strength, pair[1]))


@dataclass(frozen=True)
class Findings:
    """What one run found: every test in one Benjamini-Hochberg family."""

    tests: int
    segments: list[tuple[Comparison, float]]  # segment and action-type discoveries
    stages: list[tuple[Comparison, float]]  # stage discoveries, both sides of a pair
    actions: list[tuple[Comparison, float]]  # action-type discoveries, both sides of a pair
    below_bar: list[tuple[BarTest, float]] = field(default_factory=list)


def find(
    cells: Sequence[Cell],
    stages: Sequence[Cell],
    *,
    min_group: int,
    q: float,
    bar: float | None,
) -> Findings:
    """Segments (and action types) against the rest, escalation stages against the other
    stages, and action types against the bar (None: no bar), corrected together: every
    reported finding passed the same bar, so about q or fewer of all of them is noise."""
    comparisons = compare([*cells, *stages], min_group=min_group)
    bars = [] if bar is None else below_bar(cells, bar=bar, min_group=min_group)
    family: list[Comparison | BarTest] = [*comparisons, *bars]
    found = discoveries(family, q=q)
    stage_strata = {c.stratum for c in stages}
    compared = [(c, p) for c, p in found if isinstance(c, Comparison)]
    segments = [(c, p) for c, p in compared if c.stratum not in stage_strata]
    return Findings(
        tests=len(family),
        segments=segments,
        stages=with_mirrors([(c, p) for c, p in compared if c.stratum in stage_strata], stages),
        actions=with_mirrors([(c, p) for c, p in segments if c.dimension == "action_type"], cells),
        below_bar=[(c, p) for c, p in found if isinstance(c, BarTest)],
    )


def flagged_stages(
    stage_found: list[tuple[Comparison, float]], overall: float
) -> list[tuple[Comparison, float]]:
    """The stage discoveries worth a coach's time: escalating more than the other stages
    (tested, corrected with the run), and at least 20 % and twice the tenant's share."""
    return [
        (c, q) for c, q in stage_found if (c.effect or 0) > 0 and c.rate >= max(0.2, 2 * overall)
    ]
