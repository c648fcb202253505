"""How far reviewers agree. Pure numpy, no Django.

- `cohen_kappa(a, b, weights)`: two raters over the same items, chance-corrected agreement
  of nominal labels; with `weights` (e.g. 1 / inclusion probability) each item counts
  that much (as scikit-learn's `cohen_kappa_score(..., sample_weight=...)`).
- `krippendorff_alpha(data, level)`: any number of raters, missing ratings allowed
  (`nan`), nominal or ordinal values (as the `krippendorff` package's `alpha`). Built on
  the coincidence matrix: each item with m ≥ 2 values adds every ordered pair of its
  values with weight 1 / (m - 1); alpha = 1 - observed / expected disagreement.

Both are 1 for perfect agreement, 0 for agreement at chance level, below 0 for systematic
disagreement; None where they are undefined (too few paired values, or one value only).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray


def cohen_kappa(
    a: Sequence[object], b: Sequence[object], weights: Sequence[float] | None = None
) -> float | None:
    if len(a) != len(b):
        raise ValueError("both raters must rate the same items")
    if not a:
        return None
    labels = sorted({*a, *b}, key=str)
    index = {label: i for i, label in enumerate(labels)}
    w = np.ones(len(a)) if weights is None else np.asarray(weights, dtype=float)
    confusion = np.zeros((len(labels), len(labels)))
    for x, y, weight in zip(a, b, w, strict=True):
        confusion[index[x], index[y]] += weight
    total = confusion.sum()
    expected = np.outer(confusion.sum(axis=1), confusion.sum(axis=0)) / total
    disagree = 1.0 - np.eye(len(labels))
    expected_disagreement = float((disagree * expected).sum())
    if expected_disagreement == 0:
        return None  # one label only: agreement by chance is certain
    return 1.0 - float((disagree * confusion).sum()) / expected_disagreement


def _coincidences(data: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(values, coincidence matrix) of raters x items data with nan for missing."""
    values = np.unique(data[~np.isnan(data)])
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for unit in data.T:
        present = unit[~np.isnan(unit)]
        m = len(present)
        if m < 2:
            continue
        counts = np.zeros(len(values))
        for v in present:
            counts[index[v]] += 1
        # every ordered pair of distinct raters' values: n_c n_k, less the self-pairs
        o += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    return values, o


def krippendorff_alpha(data: ArrayLike, level: str = "nominal") -> float | None:
    """Krippendorff's alpha of `data`, raters x items (nan where a rater gave nothing)."""
    matrix = np.asarray(data, dtype=float)
    if matrix.ndim != 2:
        raise ValueError("data is raters x items")
    values, o = _coincidences(matrix)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if len(values) < 2 or n <= 1:
        return None
    if level == "nominal":
        delta = 1.0 - np.eye(len(values))
    elif level == "ordinal":
        cumulative = np.cumsum(n_c)
        delta = np.zeros((len(values), len(values)))
        for c in range(len(values)):
            for k in range(c + 1, len(values)):
                between = cumulative[k] - cumulative[c] + n_c[c]  # n_c + … + n_k
                delta[c, k] = delta[k, c] = (between - (n_c[c] + n_c[k]) / 2) ** 2
    else:
        raise ValueError(f"unknown level {level!r}: nominal or ordinal")
    observed = float((o * delta).sum())
    expected = float((np.outer(n_c, n_c) * delta).sum()) / (n - 1)
    if expected == 0:
        return None
    return 1.0 - observed / expected


def in_words(value: float | None) -> str:
    """An agreement figure in plain words (Landis and Koch's bands for kappa; Krippendorff
    asks for 0.8 to rely on labels, 0.667 for tentative use)."""
    if value is None:
        return "not enough judged items yet"
    if value < 0:
        return "worse than chance: reviewers read the guidelines differently"
    for bound, words in (
        (0.2, "slight: little better than chance"),
        (0.4, "fair"),
        (0.6, "moderate"),
        (0.8, "substantial"),
    ):
        if value < bound:
            return words
    return "almost perfect"


def alpha_in_words(alpha: float | None, data: ArrayLike) -> str:
    """Krippendorff's alpha of `data` in words, saying why it is missing when it is."""
    matrix = np.asarray(data, dtype=float)
    given = matrix[~np.isnan(matrix)] if matrix.size else matrix
    if alpha is None and given.size > 1 and np.unique(given).size == 1:
        return (
            "everyone gave the same answer every time: full agreement, "
            "but too little variety for alpha to measure it"
        )
    if alpha is None:
        return "not enough items judged by two reviewers yet"
    return in_words(alpha)
