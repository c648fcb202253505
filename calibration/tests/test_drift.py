"""Forgetting and the drift alarm: the test's error rates by simulation, the window's
sums in SQL against their definition, and a restart end to end."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from django_tenants.utils import tenant_context

from calibration import drift, selectors, services, stats
from calibration.models import (
    AdjustmentKind,
    CalibrationAdjustment,
    CalibrationBucket,
    CalibrationWindow,
)
from learning.errors import Conflict
from outcomes import services as outcome_services

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def exact_snapshot(truth, count: float = 5_000.0) -> drift.Snapshot:
    """A map equal to the truth, resting on `count` outcomes per display bin."""
    x = np.linspace(0, 1, 201)
    return drift.Snapshot(list(x), list(truth(x)), [count] * stats.N_BINS)


def test_with_no_change_false_alarms_are_rarer_than_promised() -> None:
    """An e-detector alarming at 1/alpha waits at least 1/alpha outcomes on average for a
    false alarm. At alpha = 0.01 (100 outcomes), 200 runs of 3,000 outcomes of a
    calibrated map: the mean time to a false alarm (runs without one count as 3,000) is
    far beyond 100, and at the product's alpha (1e-5) none rings at all."""
    truth = lambda p: 0.6 * p  # noqa: E731
    rng = np.random.default_rng(11)
    waits, default_alarms = [], 0
    for _ in range(200):
        p = rng.uniform(0, 1, 3_000)
        y = (rng.uniform(0, 1, 3_000) < truth(p)).astype(float)
        state = drift.DriftState(snapshot=exact_snapshot(truth))
        verdict = drift.test(state, p, y, alpha=0.01)
        waits.append(verdict.at + 1 if verdict.alarm else 3_000)
        default_alarms += drift.test(drift.DriftState(snapshot=exact_snapshot(truth)), p, y).alarm
    assert np.mean(waits) > 100 * 5
    assert default_alarms == 0


def test_a_change_rings_within_a_few_hundred_outcomes_and_says_where_it_began() -> None:
    rng = np.random.default_rng(12)
    state = drift.DriftState(snapshot=exact_snapshot(lambda p: 0.6 * p))
    p = rng.uniform(0, 1, 3_000)
    truth = np.where(np.arange(3_000) < 1_000, 0.6 * p, 0.3 + 0.7 * p)  # changes at 1,000
    y = (rng.uniform(0, 1, 3_000) < truth).astype(float)
    verdict = drift.test(state, p, y, keys=[f"o{i}" for i in range(3_000)])
    assert verdict.alarm and 1_000 < verdict.at < 1_400
    began = int(verdict.since[1:])
    assert 900 <= began <= verdict.at  # the restart keeps what came after the change


def test_the_bets_never_make_a_factor_negative() -> None:
    """Extreme maps and outcomes: log1p never sees a factor <= 0 (it would raise)."""
    rng = np.random.default_rng(13)
    for q in (0.001, 0.5, 0.999):
        state = drift.DriftState(snapshot=exact_snapshot(lambda p, q=q: np.full_like(p, q)))
        p = rng.uniform(0, 1, 2_000)
        drift.test(state, p, np.ones(2_000), alpha=1e-300)
        drift.test(state, p, np.zeros(2_000), alpha=1e-300)
        assert np.isfinite(state.log_wealth)


def test_state_survives_json() -> None:
    state = drift.DriftState(snapshot=exact_snapshot(lambda p: p))
    drift.test(state, [0.2, 0.9], [1.0, 0.0], keys=["a", "b"])
    again = drift.DriftState.from_json(state.to_json())
    assert again == state and drift.DriftState.from_json({}) == drift.DriftState()


def test_no_monitoring_before_the_map_rests_on_data() -> None:
    state = drift.DriftState()
    sparse = stats.BinSums.from_samples([0.5] * 20, [1.0] * 20, fine=True)
    verdict = drift.check(
        state, [0.5], [0.0], window=sparse, scale=1.0, prior_weight=5, min_samples=10
    )
    assert verdict.tested == 0 and state.snapshot is not None  # next time: the reference
    assert drift.test(state, [0.5] * 50, [0.0] * 50).tested == 0  # 20 < 100 outcomes


@pytest.fixture
def in_alpha(alpha):
    with tenant_context(alpha.tenant):
        yield alpha


def resolve(action_type: str, p: np.ndarray, y: np.ndarray, start: int = 0) -> None:
    """Record and resolve outcomes through the product's own services, in one batch each."""
    recorded = outcome_services.record_outcomes(
        items=[
            outcome_services.OutcomeInput(
                action_id=f"{action_type}-{start + i}",
                conversation_id=f"cv-{action_type}-{start + i}",
                action_type=action_type,
                predicted_confidence=float(v),
                outcome_type="email_engagement",
                occurred_at=T0,
            )
            for i, v in enumerate(p)
        ]
    )
    ids = [r.id for r in recorded]
    for status in ("positive", "negative"):
        chosen = [i for i, ok in zip(ids, y, strict=True) if ok == (status == "positive")]
        outcome_services.transition_outcomes(
            ids=chosen, status=status, score=None, source="event", reason="test"
        )


def test_counting_fills_todays_fine_buckets_of_the_current_epoch(in_alpha) -> None:
    rng = np.random.default_rng(14)
    p = np.round(rng.uniform(0, 1, 300), 2)
    y = rng.uniform(0, 1, 300) < p
    resolve("offer", p, y)
    buckets = CalibrationBucket.objects.filter(action_type="offer")
    assert {(b.epoch, b.day) for b in buckets} == {(0, datetime.now(UTC).date())}
    expected = stats.BinSums.from_samples(p, y, fine=True)
    got = selectors.window_sums(action_type="offer", half_life=0)
    for a, b in zip(got.columns(), expected.columns(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)
    # The display bins are the same outcomes.
    np.testing.assert_allclose(selectors.bin_sums(action_type="offer").n, expected.coarse().n)


def test_the_window_in_sql_weighs_days_as_the_definition_does(in_alpha) -> None:
    rng = np.random.default_rng(15)
    periods = []
    for day in range(1, 8):
        n = int(rng.integers(20, 300))
        p, y = rng.uniform(0, 1, n), (rng.uniform(0, 1, n) < 0.4).astype(float)
        sums = stats.BinSums.from_samples(p, y, fine=True)
        periods.append(sums)
        CalibrationBucket.objects.bulk_create(
            CalibrationBucket(
                action_type="weighed",
                epoch=0,
                day=date(2026, 9, day),
                fine_index=k,
                n=sums.n[k],
                sum_y=sums.sum_y[k],
                sum_p=sums.sum_p[k],
                sum_p2=sums.sum_p2[k],
                sum_py=sums.sum_py[k],
            )
            for k in range(stats.N_FINE)
            if sums.n[k]
        )
    CalibrationBucket.objects.create(  # another epoch is not in the window
        action_type="weighed", epoch=1, day=date(2026, 9, 9), fine_index=3, n=99, sum_y=9
    )
    expected = stats.decayed(periods, half_life=500)
    got = selectors.window_sums(action_type="weighed", half_life=500)
    for a, b in zip(got.columns(), expected.columns(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    CalibrationWindow.objects.create(action_type="weighed", epoch=1)
    assert selectors.window_sums(action_type="weighed").n.sum() == 99


def test_a_change_restarts_the_window_and_is_logged(in_alpha) -> None:
    """600 outcomes at 0.6·p, a check (the reference map), then the agent changes to
    0.3 + 0.7·p: the next check rings, the window restarts with the outcomes since the
    change began, the log says so, and the calibrated confidence follows the new truth."""
    rng = np.random.default_rng(16)
    p = np.round(rng.uniform(0.02, 1, 2_000), 2)
    y = rng.uniform(0, 1, 2_000) < 0.6 * p
    resolve("switch", p, y)
    assert services.check_drift(action_type="switch").tested == 0  # the reference is taken
    assert services.check_drift(action_type="switch") is None  # nothing new
    p2 = np.round(rng.uniform(0.02, 1, 600), 2)
    y2 = rng.uniform(0, 1, 600) < 0.3 + 0.7 * p2
    resolve("switch", p2, y2, start=2_000)
    verdict = services.check_drift(action_type="switch")
    assert verdict is not None and verdict.alarm
    window = CalibrationWindow.objects.get(action_type="switch")
    assert window.epoch == 1 and window.drift_state["snapshot"] is None
    kept = selectors.window_sums(action_type="switch", half_life=0).total
    assert 300 <= kept <= 600  # the outcomes since the evidence began, about the change
    restart = CalibrationAdjustment.objects.get(action_type="switch")
    assert restart.kind == AdjustmentKind.RESTART and "Calibration changed" in restart.reason
    assert f"{int(kept):,} outcomes" in restart.reason
    with pytest.raises(Conflict):
        services.revert_adjustment(adjustment_id=restart.pk, user=in_alpha.users["admin"])
    answer = selectors.calibrate(action_type="switch", confidence=0.5)
    assert answer.calibrated_confidence == pytest.approx(0.65, abs=0.1)  # the new truth
    assert selectors.restarts_since(T0) == [restart]
    # The display bins still count every outcome once.
    assert selectors.bin_sums(action_type="switch").total == 2_600
    # Managers hear of it: an alert about the action type, with the log's reason.
    from insights import alerts

    opened = alerts.evaluate().opened
    changed = [a for a in opened if a.rule == "calibration_changed"]
    assert [a.subject for a in changed] == ["switch"] and restart.reason in changed[0].message
    curve = selectors.curve("switch")["window"]
    assert curve["restarts"] == 1 and curve["outcomes"] == int(kept) and curve["since"]


def test_rebuild_puts_outcomes_since_the_restart_in_the_current_epoch(in_alpha) -> None:
    rng = np.random.default_rng(17)
    p = np.round(rng.uniform(0.02, 1, 400), 2)
    resolve("rebuilt", p, rng.uniform(0, 1, 400) < p)
    CalibrationWindow.objects.create(action_type="rebuilt", epoch=2, started_at=T0)
    # Resolved before T0 only in the history: none, all resolved now, after T0.
    before = selectors.window_sums(action_type="rebuilt", half_life=0).total
    assert before == 0  # counted into epoch 0 before the window row existed
    assert services.rebuild_bins(action_type="rebuilt") == 400
    assert selectors.window_sums(action_type="rebuilt", half_life=0).total == 400
    assert set(
        CalibrationBucket.objects.filter(action_type="rebuilt").values_list("epoch", flat=True)
    ) == {2}
