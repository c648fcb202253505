"""Actions come in conversations, so the design effect of a comparison: how a level's
actions fall into conversations, and how much that inflates the variance of a rate.

The actions of one conversation (one prospect, several actions, credit shared by every
pending action when a deal moves) succeed or fail together and are not independent
trials. A comparison's design effect D is the variance of the difference clustered by
conversation (the sandwich estimator) over the same estimator with every action its own
cluster, both with the residuals around the pooled rate (the hypothesis tested), at least
1; coaching.stats divides the counts by D (the Rao-Scott correction, Rao & Scott 1992)
before the test and the interval. A conversation with actions at several levels of a
dimension is one cluster with a part on each side: the sandwich's cross terms carry the
covariance of the two sides. Pure numpy, no Django.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


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
class DimensionTotals:
    """A dimension's totals within its stratum (the sums of its levels' cells)."""

    levels: int
    successes: int
    trials: int
    conversations: int
    tn_tn: float
    tn_ts: float
    ts_ts: float


def dimension_totals(cells: Sequence[Cell]) -> dict[tuple[str, str], DimensionTotals]:
    """Each (stratum, dimension)'s totals over its levels' cells."""
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


def variance_ratio(clustered: float, clusters: int, independent: float, actions: int) -> float:
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
    return variance_ratio(clustered, dimension.conversations, independent, n)
