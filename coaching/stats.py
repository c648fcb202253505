"""The statistics behind coaching patterns: one level against the rest as a 2x2 table,
with the conversation as the unit of evidence.

- Clustering: actions come in conversations (one prospect, several actions, credit shared
  by every pending action when a deal moves), so the actions of one conversation succeed
  or fail together and are not independent trials. Each comparison gets a design effect
  D = (variance of the difference clustered by conversation, the sandwich estimator) /
  (the same estimator with every action its own cluster), both with the residuals around
  the pooled rate (the hypothesis tested), at least 1; its counts are divided by D (the
  Rao-Scott correction, Rao & Scott 1992: the effective number of independent actions)
  before the test and the interval. A conversation with actions at several levels of a
  dimension (several action types) is one cluster with a part on each side: the
  sandwich's cross terms carry the covariance of the two sides. When every conversation
  holds one action D is 1 and everything below is the plain test on the counts.
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
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from calibration.stats import Z_95, wilson_interval


@dataclass(frozen=True)
class Clusters:
    """How one level's actions fall into conversations, as sums over the conversations c
    of its dimension (within its stratum): n and s are c's actions and successes at the
    level, tn and ts its actions and successes at every level of the dimension. Enough
    for a variance clustered by conversation without a row per conversation; summed over
    a dimension's levels, n_tn, n_ts and s_ts are the dimension's sums of tn², tn·ts, ts²
    and `share` its number of conversations."""

    conversations: int  # with an action at the level
    alone: int  # of those, the ones with no action at another level of the dimension
    share: float  # sum of n / tn
    nn: float
    ss: float
    ns: float
    n_tn: float
    n_ts: float
    s_tn: float
    s_ts: float

    @classmethod
    def independent(cls, successes: int, trials: int) -> Clusters:
        """Every action a conversation of its own."""
        s, n = successes, trials
        return cls(n, n, n, n, s, s, n, s, s, s)


@dataclass(frozen=True)
class Cell:
    """Successes and trials of one level of one dimension, in one stratum."""

    stratum: str  # the outcome type the rates are comparable within ("" for all)
    dimension: str
    level: str
    successes: int
    trials: int
    clusters: Clusters | None = None  # None: every action its own conversation

    @property
    def sums(self) -> Clusters:
        return self.clusters or Clusters.independent(self.successes, self.trials)

    @property
    def conversations(self) -> int:
        return self.sums.conversations


def clustered_cells(
    stratum: str,
    dimension: str,
    levels: Sequence[str | None],
    conversations: Sequence[Hashable],
    successes: Sequence[int],
) -> list[Cell]:
    """The cells of one dimension from one row per action (its level, None when not
    recorded; its conversation; 1 for a success): what outcomes.selectors computes in SQL,
    for simulations and tests."""
    keep = [i for i, level in enumerate(levels) if level is not None]
    if not keep:
        return []
    names, level_of = np.unique(np.array([levels[i] for i in keep], dtype=str), return_inverse=True)
    _, conversation_of = np.unique(
        np.array([str(conversations[i]) for i in keep]), return_inverse=True
    )
    y = np.array([successes[i] for i in keep], dtype=float)
    pair_key = conversation_of.astype(np.int64) * len(names) + level_of
    pairs, pair_of = np.unique(pair_key, return_inverse=True)
    n = np.bincount(pair_of).astype(float)
    s = np.bincount(pair_of, weights=y)
    pair_conversation, pair_level = pairs // len(names), pairs % len(names)
    tn = np.bincount(pair_conversation, weights=n)[pair_conversation]
    ts = np.bincount(pair_conversation, weights=s)[pair_conversation]

    def per_level(weights: Any) -> Any:
        return np.bincount(pair_level, weights=weights, minlength=len(names))

    sums = [
        per_level(np.ones_like(n)),
        per_level((n == tn).astype(float)),
        per_level(n / tn),
        per_level(n * n),
        per_level(s * s),
        per_level(n * s),
        per_level(n * tn),
        per_level(n * ts),
        per_level(s * tn),
        per_level(s * ts),
    ]
    level_successes = np.rint(per_level(s)).astype(int)
    level_trials = np.rint(per_level(n)).astype(int)
    out = []
    for k, name in enumerate(names):
        conversations_k, alone_k, *moments = (float(column[k]) for column in sums)
        out.append(
            Cell(
                stratum,
                dimension,
                str(name),
                int(level_successes[k]),
                int(level_trials[k]),
                Clusters(int(conversations_k), int(alone_k), *moments),
            )
        )
    return out


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


@dataclass(frozen=True)
class DimensionTotals:
    """A dimension's totals within its stratum (the sums of its levels' cells)."""

    levels: int
    successes: int
    trials: int
    conversations: int
    tn_tn: float
    tn_ts: float
    ts_ts: float


def _dimensions(cells: Sequence[Cell]) -> dict[tuple[str, str], DimensionTotals]:
    grouped: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        grouped.setdefault((cell.stratum, cell.dimension), []).append(cell)
    return {
        key: DimensionTotals(
            levels=len(group),
            successes=sum(c.successes for c in group),
            trials=sum(c.trials for c in group),
            conversations=round(sum(c.sums.share for c in group)),
            tn_tn=sum(c.sums.n_tn for c in group),
            tn_ts=sum(c.sums.n_ts for c in group),
            ts_ts=sum(c.sums.s_ts for c in group),
        )
        for key, group in grouped.items()
    }


def _ratio(clustered: float, clusters: int, independent: float, actions: int) -> float:
    """The design effect from the two sums of squared influences, each with its
    small-sample factor (G/(G-1) as statsmodels' cluster covariance, N/(N-1) likewise),
    never below 1: a comparison never claims more information than independent actions
    would give."""
    if clusters >= actions or independent <= 0:
        return 1.0  # one action per conversation: the plain test
    if clusters < 2:
        return float(actions)  # one conversation is one piece of evidence
    ratio = (clusters / (clusters - 1) * clustered) / (actions / (actions - 1) * independent)
    return max(1.0, ratio)


def design_effect(cell: Cell, dimension: DimensionTotals) -> float:
    """Of the difference between `cell`'s rate and the rest of its dimension's.

    With p the pooled rate and, for conversation c, e = s - p·n (its residual at the level)
    and E = ts - p·tn (over the whole dimension), the difference's influence of c is
    u = a·e - E/N2 with a = 1/N1 + 1/N2 (the rest's residual is E - e): the cluster-robust
    variance is the sum of u² over conversations, expanded below into the sums `Clusters`
    keeps."""
    sums = cell.sums
    n1, s1 = cell.trials, cell.successes
    n2, s2 = dimension.trials - n1, dimension.successes - s1
    n = n1 + n2
    p = (s1 + s2) / n
    a = 1 / n1 + 1 / n2
    ee = sums.ss - 2 * p * sums.ns + p * p * sums.nn
    e_big = sums.s_ts - p * (sums.s_tn + sums.n_ts) + p * p * sums.n_tn
    big = dimension.ts_ts - 2 * p * dimension.tn_ts + p * p * dimension.tn_tn
    clustered = a * a * ee - 2 * a / n2 * e_big + big / (n2 * n2)
    independent = (s1 * (1 - p) ** 2 + (n1 - s1) * p * p) / n1**2 + (
        s2 * (1 - p) ** 2 + (n2 - s2) * p * p
    ) / n2**2
    return _ratio(clustered, dimension.conversations, independent, n)


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
    dimensions = _dimensions(cells)
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
        deff = _ratio(clustered, cell.conversations, independent, n)
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


# --- randomised experiments: a two-sample sequential test ---------------------------------

EXPERIMENT_ALPHA = 0.05  # the chance of any decision between two equally good versions
PROMOTE_AFTER = 10  # the seeds' floors, in observations
DEMOTE_AFTER = 20
PAIR_HORIZON = 200  # an observation waits for a partner of the other arm at most this many
PAIR_BETS = (0.05, 0.1, 0.2, 0.4, 0.8)  # the constant bets mixed, for each direction


def _log_mean_exp(terms: Sequence[float]) -> float:
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms) / len(terms))


def pair_log_evidence(treatment_better: int, control_better: int) -> tuple[float, float]:
    """The logs of the evidence that the treatment is better and that it is worse, after
    `treatment_better` discordant pairs won by the treatment and `control_better` by the
    control: each the mean over PAIR_BETS of the wealth (1 + b)^won (1 - b)^lost of
    always betting the fraction b on that side."""
    better = [treatment_better * math.log1p(b) + control_better * math.log1p(-b) for b in PAIR_BETS]
    worse = [treatment_better * math.log1p(-b) + control_better * math.log1p(b) for b in PAIR_BETS]
    return _log_mean_exp(better), _log_mean_exp(worse)


class ArmTest:
    """A two-arm test of "both versions succeed equally often", valid although it is
    checked after every observation, with the common rate unknown and free to drift, at any
    split of the observations between the arms; it decides nothing while an arm is
    unobserved.

    Pairs. Each observation is paired with the newest still-unpaired observation of the
    other arm, in arrival order; an observation that waits more than `horizon` (200)
    observations for a partner is dropped. The pairing looks only at the arms and the
    order, never at the outcomes; its state is the waiting arm and its waiting observations
    (at most horizon + 1). The newest partner rather than the oldest: when one arm is
    observed more, the oldest waiting one is about `horizon` observations old, the newest a
    median 1, and the pairs are as many within 2 %; with a common rate falling from 90 % to 10 %
    at a 20 % share, the oldest partner demoted 15 % of equal versions, the newest 2 %
    (bench/scenarios/experiments/09-equal-collapsing.json).

    The coin. Two paired observations succeed independently with chances p_t (the
    treatment's) and p_c; given that exactly one succeeded (a discordant pair), it is the
    treatment's with probability p_t(1 - p_c) / (p_t(1 - p_c) + p_c(1 - p_t)): exactly 1/2
    when p_t = p_c, whatever the rate and however many observations each arm gets, and
    independently of the earlier pairs (other observations). Concordant pairs (both sent
    unedited or both edited) carry no evidence and are only counted.

    The wealth. For a bet b, (1 + b)^won (1 - b)^lost over the discordant pairs (won: the
    treatment's draft the unedited one) is a non-negative martingale of mean 1 under a fair
    coin. The mean over the bets PAIR_BETS is the evidence that the treatment is better; its
    mirror (1 - b)^won (1 + b)^lost, the evidence that it is worse; their average, the
    test's evidence, is a test martingale, so by Ville's inequality it ever reaches 1/alpha
    (20) with probability at most alpha (5 %), however often it is looked at. At 20 the
    side with more wins decides, promoted or demoted, once there are PROMOTE_AFTER or
    DEMOTE_AFTER observations. In effect each direction has alpha/2 to itself (its own
    evidence at 40 decides alone) plus what the other adds; between versions that differ,
    a decision in the wrong direction also has probability at most alpha (that side's
    evidence is then a supermartingale). The evidence depends only on the counts, not their
    order. At the best bet it grows by about (2q - 1)²/2 per discordant pair, q the
    treatment's chance of winning one: +5 points from 2 % to 7 % gives q = 0.79 but only
    9 % of pairs discordant; from 30 % to 35 %, q = 0.56 and 44 % discordant. Five constant
    bets mixed (rather than one shrunk plug-in bet or a Beta mixture) were the best
    compromise measured: the most power at +5 points without slowing large differences.

    Assumptions, under "equally good": (1) every observation succeeds with the common rate
    of its moment, independently of the others, whichever its arm; (2) which arm the next
    observation comes from does not depend on earlier outcomes (conversations are
    independent; an arm may draft less often, but not in response to results). The test is
    then exact when the common rate is the same at the two moments of each pair: it may
    drift over the experiment, but not appreciably within a pair's span (at most `horizon`
    observations, a median 1). A pair whose rates differ by e in log-odds has a coin within
    e/4 of fair; a rate falling from 30 % to 18 % over 24,000 observations moves e ~ 3e-5
    per observation.
    """

    def __init__(
        self,
        *,
        treatment_better: int = 0,
        control_better: int = 0,
        same: int = 0,
        observations: int = 0,
        waiting: dict[str, Any] | None = None,
        horizon: int = PAIR_HORIZON,
    ) -> None:
        self.treatment_better = treatment_better  # discordant pairs the treatment won
        self.control_better = control_better  # … the control won
        self.same = same  # concordant pairs
        self.observations = observations  # all of them: paired, waiting or dropped
        self.horizon = horizon
        waiting = waiting or {}
        self.waiting_treatment = waiting.get("arm") == "treatment"
        # [arrival number, 1 if it succeeded], oldest first (the arrival: `observations`
        # before it, counting from 0)
        self.waiting: list[list[int]] = [[int(n), int(s)] for n, s in waiting.get("queue", [])]
        self.log_better = self.log_worse = 0.0  # the logs of each direction's evidence
        self.log_wealth = 0.0  # the log of the test's evidence: their average
        self._weigh()

    def observe(self, *, treatment: bool, success: bool) -> int | None:
        """Take one observation: +1 if it completes a pair the treatment won, -1 one the
        control won, 0 a concordant pair, None if it waits for a partner."""
        arrival = self.observations
        self.observations += 1
        stale = 0
        while stale < len(self.waiting) and self.waiting[stale][0] < arrival - self.horizon:
            stale += 1
        del self.waiting[:stale]
        if not self.waiting or self.waiting_treatment == treatment:
            self.waiting_treatment = treatment
            self.waiting.append([arrival, int(success)])
            return None
        partner = bool(self.waiting.pop()[1])
        if success == partner:
            self.same += 1
            return 0
        if success == treatment:  # the treatment's succeeded, the control's failed
            self.treatment_better += 1
        else:
            self.control_better += 1
        self._weigh()
        return 1 if success == treatment else -1

    def _weigh(self) -> None:
        self.log_better, self.log_worse = pair_log_evidence(
            self.treatment_better, self.control_better
        )
        self.log_wealth = _log_mean_exp([self.log_better, self.log_worse])

    def waiting_state(self) -> dict[str, Any]:
        """The waiting observations as JSON: {"arm": …, "queue": [[arrival, 0|1], …]}."""
        if not self.waiting:
            return {}
        arm = "treatment" if self.waiting_treatment else "control"
        return {"arm": arm, "queue": [list(w) for w in self.waiting]}

    @property
    def pairs(self) -> int:
        return self.treatment_better + self.control_better + self.same

    @property
    def discordant(self) -> int:
        return self.treatment_better + self.control_better

    @property
    def evidence(self) -> float:
        return math.exp(min(self.log_wealth, 700.0))

    def decided(self, alpha: float) -> bool:
        return self.log_wealth >= math.log(1 / alpha)

    def decision(self, alpha: float = EXPERIMENT_ALPHA) -> str | None:
        """ "promoted" or "demoted" once the evidence is decisive and the floor for that
        direction is reached; None while undecided (always while an arm is unobserved:
        no pair, evidence 1)."""
        if not self.decided(alpha):
            return None
        better = self.treatment_better > self.control_better  # never equal at 1/alpha > 1
        if self.observations < (PROMOTE_AFTER if better else DEMOTE_AFTER):
            return None
        return "promoted" if better else "demoted"
