"""The statistics against scikit-learn and scipy, on random and on round-number data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.calibration import calibration_curve as sk_curve
from sklearn.metrics import brier_score_loss

from calibration import stats

TOL = 1e-9


def random_data(seed: int, n: int = 5000):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, n)
    y = (rng.uniform(0, 1, n) < 0.6 * p + 0.1).astype(float)
    return p, y


def round_data(seed: int, n: int = 3000):
    """Agents send round confidences: every edge value appears, 0 and 1 included."""
    rng = np.random.default_rng(seed)
    p = rng.choice(np.round(np.linspace(0, 1, 21), 2), n)
    y = (rng.uniform(0, 1, n) < p).astype(float)
    return p, y


DATASETS = [random_data(1), random_data(2, 50), round_data(3), round_data(4, 40)]


@pytest.mark.parametrize("p,y", DATASETS)
def test_curve_matches_scikit_learn(p, y) -> None:
    sums = stats.BinSums.from_samples(p, y)
    prob_true, prob_pred = sk_curve(y, p, n_bins=10, strategy="uniform")
    curve = [b for b in stats.calibration_curve(sums) if b.count]
    assert len(curve) == len(prob_true)
    np.testing.assert_allclose([b.actual_rate for b in curve], prob_true, rtol=0, atol=TOL)
    np.testing.assert_allclose([b.mean_predicted for b in curve], prob_pred, rtol=0, atol=TOL)
    assert sum(b.count for b in stats.calibration_curve(sums)) == len(p)


@pytest.mark.parametrize("p,y", DATASETS)
def test_brier_matches_scikit_learn(p, y) -> None:
    sums = stats.BinSums.from_samples(p, y)
    assert stats.brier_score(sums) == pytest.approx(brier_score_loss(y, p), abs=TOL)


@pytest.mark.parametrize("p,y", DATASETS)
def test_decomposition_is_exact(p, y) -> None:
    sums = stats.BinSums.from_samples(p, y)
    d = stats.decomposition(sums)
    rebuilt = (
        d.reliability
        - d.resolution
        + d.uncertainty
        + d.within_bin_variance
        - 2 * d.within_bin_covariance
    )
    assert rebuilt == pytest.approx(brier_score_loss(y, p), abs=TOL)
    # Against the raw-sample definitions.
    bins = stats.bin_index(p)
    base = y.mean()
    rel = res = wbv = wbc = 0.0
    for k in np.unique(bins):
        pk, yk = p[bins == k], y[bins == k]
        rel += len(pk) * (pk.mean() - yk.mean()) ** 2
        res += len(pk) * (yk.mean() - base) ** 2
        wbv += np.sum((pk - pk.mean()) ** 2)
        wbc += np.sum((pk - pk.mean()) * (yk - yk.mean()))
    n = len(p)
    assert (d.reliability, d.resolution, d.within_bin_variance, d.within_bin_covariance) == (
        pytest.approx(rel / n, abs=TOL),
        pytest.approx(res / n, abs=TOL),
        pytest.approx(wbv / n, abs=TOL),
        pytest.approx(wbc / n, abs=TOL),
    )
    assert d.uncertainty == pytest.approx(base * (1 - base), abs=TOL)


@pytest.mark.parametrize("p,y", DATASETS)
def test_ece_and_mce(p, y) -> None:
    sums = stats.BinSums.from_samples(p, y)
    prob_true, prob_pred = sk_curve(y, p, n_bins=10, strategy="uniform")
    counts = np.bincount(stats.bin_index(p), minlength=10)
    weights = counts[counts > 0] / len(p)
    assert stats.expected_calibration_error(sums) == pytest.approx(
        np.sum(weights * np.abs(prob_true - prob_pred)), abs=TOL
    )
    assert stats.maximum_calibration_error(sums) == pytest.approx(
        np.max(np.abs(prob_true - prob_pred)), abs=TOL
    )


@pytest.mark.parametrize(
    "p,expected", [(0.0, 0), (0.1, 0), (0.10000001, 1), (0.7, 6), (0.8, 7), (0.95, 9), (1.0, 9)]
)
def test_bin_edges_follow_scikit_learn(p, expected) -> None:
    assert int(stats.bin_index(p)) == expected


@pytest.mark.parametrize("k,n", [(0, 1), (8, 10), (10, 10), (37, 120), (1, 1000)])
def test_wilson_interval_matches_scipy(k, n) -> None:
    low, high = stats.wilson_interval(k, n)
    reference = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert (float(low), float(high)) == (
        pytest.approx(reference.low, abs=1e-9),
        pytest.approx(reference.high, abs=1e-9),
    )


def test_no_data() -> None:
    empty = stats.BinSums.from_samples([], [])
    assert stats.brier_score(empty) == 0.25
    assert stats.expected_calibration_error(empty) == 0.0
    assert stats.maximum_calibration_error(empty) == 0.0
    curve = stats.calibration_curve(empty)
    assert len(curve) == 10 and all(b.count == 0 and b.actual_rate is None for b in curve)
    assert (curve[0].ci_low, curve[0].ci_high) == (0.0, 1.0)
    assert [(b.lower, b.upper) for b in curve][:2] == [(0.0, 0.1), (0.1, 0.2)]


def test_sums_from_database_rows_equal_sums_from_samples() -> None:
    p, y = round_data(9, 500)
    sums = stats.BinSums.from_samples(p, y)
    rows = list(zip(sums.n, sums.sum_y, sums.sum_p, sums.sum_p2, sums.sum_py, strict=True))
    again = stats.BinSums.from_rows(rows)
    assert stats.brier_score(again) == stats.brier_score(sums)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_isotonic_fit_matches_scikit_learn(seed) -> None:
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 1, 40))
    y = rng.uniform(0, 1, 40)
    w = rng.integers(1, 50, 40).astype(float)
    xs, fitted = stats.isotonic_fit(x, y, w)
    reference = IsotonicRegression(out_of_bounds="clip").fit(x, y, sample_weight=w)
    probe = rng.uniform(-0.1, 1.1, 500)
    np.testing.assert_allclose(fitted, reference.predict(x), rtol=0, atol=TOL)
    np.testing.assert_allclose(
        np.interp(probe, xs, fitted), reference.predict(probe), rtol=0, atol=TOL
    )


@pytest.mark.parametrize("p,y", DATASETS)
def test_monotone_map_is_isotonic_over_the_fine_bins(p, y) -> None:
    from sklearn.isotonic import IsotonicRegression

    sums = stats.BinSums.from_samples(p, y, fine=True)
    fitted = stats.monotone_map(sums, scale=0.8, prior_weight=5)
    x, rate, weight = stats.anchor_points(sums, scale=0.8, prior_weight=5)
    assert len(x) == stats.N_FINE and np.all(np.diff(x) > 0)  # one point per fine bin
    nonempty = sums.n > 0
    np.testing.assert_allclose(weight, sums.n + 1.0)  # 5 pseudo-outcomes per 0.1: 1 per bin
    np.testing.assert_allclose(
        rate[nonempty],
        (sums.sum_y[nonempty] + np.minimum(1, 0.8 * x[nonempty])) / (sums.n[nonempty] + 1),
    )
    reference = IsotonicRegression(out_of_bounds="clip").fit(x, rate, sample_weight=weight)
    probe = np.linspace(-0.05, 1.05, 221)
    np.testing.assert_allclose(fitted(probe), reference.predict(probe), rtol=0, atol=TOL)
    assert np.all(np.diff(fitted(np.linspace(0, 1, 1001))) >= 0)  # monotone


def test_monotone_map_follows_the_data_as_bins_fill() -> None:
    rng = np.random.default_rng(9)
    p = rng.uniform(0, 1, 20_000)
    y = (rng.uniform(0, 1, 20_000) < 0.6 * p).astype(float)
    sums = stats.BinSums.from_samples(p, y, fine=True)
    fitted = stats.monotone_map(sums, scale=1.0, prior_weight=5)
    probe = np.array([0.15, 0.45, 0.75, 0.99])
    np.testing.assert_allclose(fitted(probe), 0.6 * probe, atol=0.03)  # the truth
    empty = stats.monotone_map(stats.BinSums.empty(fine=True), scale=0.7, prior_weight=5)
    np.testing.assert_allclose(empty(probe), 0.7 * probe, atol=0.01)  # no data: the scale


def test_the_top_of_a_confident_agent_is_not_pulled_down() -> None:
    """No end point at (1, scale) and a prior of one pseudo-outcome per 0.02: where the
    data is dense near 1 the map says what happened there (the old map was 0.1 low)."""
    rng = np.random.default_rng(4)
    p = rng.beta(5, 1.5, 20_000)
    truth = 1 / (1 + np.exp(-20 * (p - 0.8)))
    y = (rng.uniform(0, 1, 20_000) < truth).astype(float)
    fitted = stats.monotone_map(
        stats.BinSums.from_samples(p, y, fine=True), scale=0.8, prior_weight=5
    )
    probe = np.array([0.9, 0.95, 0.99])
    np.testing.assert_allclose(fitted(probe), 1 / (1 + np.exp(-20 * (probe - 0.8))), atol=0.03)


def test_fine_bins_nest_in_the_display_bins() -> None:
    values = [*np.round(np.linspace(0, 1, 1001), 3), *np.random.default_rng(3).uniform(0, 1, 5000)]
    fine = stats.fine_index(values)
    assert list(fine // stats.FINE_PER_BIN) == list(stats.bin_index(values))
    assert [stats.fine_of(float(v)) for v in values] == list(fine)
    p, y = round_data(5)
    coarse = stats.BinSums.from_samples(p, y, fine=True).coarse()
    display = stats.BinSums.from_samples(p, y)
    for a, b in zip(coarse.columns(), display.columns(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)


def test_decayed_sums_weigh_each_outcome_by_its_periods_half_life() -> None:
    """Against the definition, outcome by outcome: weight 0.5^(outcomes after the middle
    of its period / half-life); each bin's count the Kish effective size (Σw)²/Σw², its
    other sums Σw·x scaled by the same factor as the count."""
    rng = np.random.default_rng(8)
    days = [rng.integers(0, 400) for _ in range(12)]
    samples = [(rng.uniform(0, 1, n), (rng.uniform(0, 1, n) < 0.5).astype(float)) for n in days]
    periods = [stats.BinSums.from_samples(p, y, fine=True) for p, y in samples]
    got = stats.decayed(periods, half_life=1000)
    later = np.cumsum(days[::-1])[::-1] - np.asarray(days) / 2
    w = np.concatenate([np.full(n, 0.5 ** (a / 1000)) for n, a in zip(days, later, strict=True)])
    p = np.concatenate([s[0] for s in samples])
    y = np.concatenate([s[1] for s in samples])
    k = stats.fine_index(p)
    wn = np.bincount(k, w, stats.N_FINE)
    effective = wn**2 / np.where(wn > 0, np.bincount(k, w * w, stats.N_FINE), 1)
    factor = np.where(wn > 0, effective / np.where(wn > 0, wn, 1), 0)
    np.testing.assert_allclose(got.n, effective, rtol=1e-12)
    np.testing.assert_allclose(got.sum_y, factor * np.bincount(k, w * y, stats.N_FINE), rtol=1e-12)
    np.testing.assert_allclose(
        got.sum_py, factor * np.bincount(k, w * p * y, stats.N_FINE), rtol=1e-12
    )
    # Never forgetting: the plain sums.
    plain = stats.decayed(periods, half_life=0)
    np.testing.assert_allclose(plain.n, np.bincount(k, None, stats.N_FINE))
    np.testing.assert_allclose(plain.sum_p, np.bincount(k, p, stats.N_FINE))


def test_bin_of_one_value_agrees_with_bin_index() -> None:
    values = [*np.round(np.linspace(0, 1, 101), 2), *np.random.default_rng(3).uniform(0, 1, 500)]
    assert [stats.bin_of(float(v)) for v in values] == list(stats.bin_index(values))
