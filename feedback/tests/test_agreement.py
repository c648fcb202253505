"""Agreement statistics against the reference implementations, to 1e-9."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from feedback import agreement
from feedback.agreement import cohen_kappa, krippendorff_alpha


@pytest.mark.parametrize("seed", range(25))
def test_cohen_kappa_matches_scikit_learn(seed) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 200))
    labels = ["positive", "negative", "neutral"][: int(rng.integers(2, 4))]
    a = list(rng.choice(labels, n))
    # a second rater who mostly agrees
    b = [x if rng.random() < 0.7 else rng.choice(labels) for x in a]
    weights = list(1 / rng.uniform(0.05, 1.0, n))
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-9)
    assert cohen_kappa(a, b, weights) == pytest.approx(
        cohen_kappa_score(a, b, sample_weight=weights), abs=1e-9
    )


def test_cohen_kappa_edges() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # one label: undefined
    assert cohen_kappa(["a", "b"], ["a", "b"]) == 1.0
    assert cohen_kappa(["a", "b"], ["b", "a"]) == -1.0
    with pytest.raises(ValueError):
        cohen_kappa(["a"], ["a", "b"])


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
@pytest.mark.parametrize("seed", range(25))
def test_krippendorff_alpha_matches_the_reference(seed, level) -> None:
    rng = np.random.default_rng(seed)
    raters, items = int(rng.integers(2, 6)), int(rng.integers(4, 60))
    truth = rng.integers(1, 6, items).astype(float)
    data = np.array(
        [
            [t if rng.random() < 0.75 else float(rng.integers(1, 6)) for t in truth]
            for _ in range(raters)
        ]
    )
    data[rng.random(data.shape) < 0.25] = np.nan  # missing ratings
    reference = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    ours = krippendorff_alpha(data, level)
    if math.isnan(reference):
        assert ours is None
    else:
        assert ours == pytest.approx(reference, abs=1e-9)


def test_krippendorff_alpha_on_a_published_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the nominal example
    # (4 observers, 12 units, values 1-5, missing as nan): alpha = 0.743.
    nan = np.nan
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    assert round(krippendorff_alpha(data, "nominal"), 3) == 0.743
    assert krippendorff_alpha([[1, 1], [1, 1]]) is None  # one value: undefined


def test_alpha_in_words_says_why_it_is_missing() -> None:
    same = np.array([[4.0, 4.0, 4.0], [4.0, 4.0, np.nan]])
    assert agreement.krippendorff_alpha(same, "ordinal") is None
    assert "same answer every time" in agreement.alpha_in_words(None, same)
    assert agreement.alpha_in_words(None, np.full((2, 3), np.nan)).startswith("not enough")
    assert agreement.alpha_in_words(0.7, same) == "substantial"
    assert agreement.in_words(-0.1).startswith("worse than chance")
