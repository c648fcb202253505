"""Forgetting and the drift alarm: the test's error rates by simulation, the window's
sums in SQL against their definition, and a restart end to end."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from calibration import drift, selectors, services, stats
from calibration.models import (
    AdjustmentKind,
    CalibrationAdjustment,
    CalibrationBucket,
    CalibrationWindow,
    CountedOutcome,
)
from learning.errors import Conflict
from outcomes import services as outcome_services
from outcomes import sweeps
from outcomes.models import OutcomeRecord

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


def test_relative_changes_of_rare_and_common_successes_ring() -> None:
    """On the log-odds scale a rare success halving (0.08·p -> 0.03·p, a 0.025 shift on
    average) is as visible as a common one falling by a fifth: with a reference resting on
    5,000 outcomes a bin, both ring in each of 10 runs, and the same runs without the
    change never do."""
    rng = np.random.default_rng(21)
    for before, after, within in ((0.08, 0.03, 4_000), (0.6, 0.48, 25_000)):
        rang, quiet = [], 0
        for _ in range(10):
            p = rng.uniform(0.02, 1, within)
            draws = rng.uniform(0, 1, within)
            state = drift.DriftState(snapshot=exact_snapshot(lambda v, b=before: b * v))
            verdict = drift.test(state, p, (draws < after * p).astype(float))
            rang.append(verdict.alarm)
            state = drift.DriftState(snapshot=exact_snapshot(lambda v, b=before: b * v))
            quiet += drift.test(state, p, (draws < before * p).astype(float)).alarm
        assert all(rang) and quiet == 0, (before, after, rang, quiet)


def test_the_reference_leaves_out_the_newest_outcomes_and_the_run_of_evidence() -> None:
    days = [(0, 3_000.0), (1, 3_000.0), (2, 3_000.0), (3, 3_000.0), (4, 3_000.0)]
    # Half of a young window at most, by whole days: days 0 and 1 (6,000 of 15,000).
    assert drift.reference_cutoff(days, None, lag=10_000) == 2
    assert drift.reference_cutoff(days, None, lag=4_000) == 3  # the newest 6,000 >= 4,000
    assert drift.reference_cutoff(days, 1, lag=4_000) == 1  # a run of evidence since day 1
    assert drift.reference_cutoff([], None, lag=10_000) is None


def test_a_state_kept_before_two_detectors_still_loads() -> None:
    old = {"log_wealth": 2.5, "tested": 7, "run_start": ["2026-09-01T09:00:00+00:00", 3]}
    old |= {"weight": [1.0] * 10, "residual": [0.1] * 10, "squared": [0.2] * 10}
    state = drift.DriftState.from_json(old)
    assert len(state.detectors) == len(drift.MEMORIES) and state.tested == 7
    assert state.log_wealth == 2.5 and state.run_start == old["run_start"]


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
        state,
        [0.5],
        [0.0],
        days=[(0, 20.0)],
        day_of=lambda key: 0,
        reference=lambda day: sparse,
        scale=1.0,
        prior_weight=5,
        min_samples=10,
    )
    assert verdict.tested == 0 and state.snapshot is not None  # next time: the reference
    assert drift.test(state, [0.5] * 50, [0.0] * 50).tested == 0  # 20 < 100 outcomes


@pytest.fixture
def in_alpha(alpha):
    with tenant_context(alpha.tenant):
        yield alpha


def resolve(
    action_type: str, p: np.ndarray, y: np.ndarray, start: int = 0, at: datetime = T0
) -> list[int]:
    """Record and resolve outcomes of actions taken at `at` through the product's own
    services, in one batch each; returns their ids."""
    recorded = outcome_services.record_outcomes(
        items=[
            outcome_services.OutcomeInput(
                action_id=f"{action_type}-{start + i}",
                conversation_id=f"cv-{action_type}-{start + i}",
                action_type=action_type,
                predicted_confidence=float(v),
                outcome_type="email_engagement",
                occurred_at=at,
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
    return ids


def test_learning_fills_the_buckets_of_the_day_the_actions_were_taken(in_alpha) -> None:
    rng = np.random.default_rng(14)
    p = np.round(rng.uniform(0, 1, 300), 2)
    y = rng.uniform(0, 1, 300) < p
    resolve("offer", p, y)
    # Counted for people at once, learned from only by the learning run.
    assert selectors.bin_sums(action_type="offer").total == 300
    assert not CalibrationBucket.objects.filter(action_type="offer").exists()
    result = services.learn(action_type="offer")
    assert (result.learned, result.alarms) == (300, 0)
    assert services.learn(action_type="offer").learned == 0  # a rerun learns nothing twice
    buckets = CalibrationBucket.objects.filter(action_type="offer")
    assert {(b.epoch, b.day) for b in buckets} == {(0, T0.date())}
    expected = stats.BinSums.from_samples(p, y, fine=True)
    got = selectors.window_sums(action_type="offer", half_life=0)
    for a, b in zip(got.columns(), expected.columns(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)
    # The display bins are the same outcomes.
    np.testing.assert_allclose(selectors.bin_sums(action_type="offer").n, expected.coarse().n)


def test_an_outcome_waits_until_its_window_closes_and_everything_older_is_in(in_alpha) -> None:
    """A quick reply to a recent action is shown at once but learned only when its window
    has closed; a pending outcome whose window closed (the expiry sweep not run yet) holds
    back every outcome whose window closed after it."""
    now = timezone.now()
    (young,) = resolve("wait", np.array([0.8]), np.array([True]), at=now - timedelta(days=2))
    old = resolve("wait", np.array([0.8, 0.4]), np.array([True, False]), start=1, at=T0)
    (silent,) = outcome_services.record_outcomes(
        items=[
            outcome_services.OutcomeInput(
                action_id="wait-silent",
                conversation_id="cv-wait-silent",
                action_type="wait",
                predicted_confidence=0.5,
                outcome_type="email_engagement",
                occurred_at=T0 - timedelta(days=1),
            )
        ]
    )
    assert selectors.bin_sums(action_type="wait").total == 3  # people see all results
    assert services.learn(action_type="wait").learned == 0  # the silent one holds them back
    window = CalibrationWindow.objects.get(action_type="wait")
    assert (window.waiting, window.pending) == (3, 1)
    held = OutcomeRecord.objects.get(action_id="wait-silent").window_expires_at
    assert window.matured_until == held
    sweeps.run_sweep(window="expiry", now=now)  # silence: a failure, its window closed
    assert services.learn(action_type="wait").learned == 3  # the two old and the silent
    learned = set(
        CountedOutcome.objects.filter(learned_at__isnull=False).values_list("outcome_id", flat=True)
    )
    assert learned == {*old, silent.id} and young not in learned
    curve = selectors.curve("wait")["window"]
    assert curve["outcomes"] == 3 and curve["waiting"] == 1
    assert "learnt from 3 outcomes whose result is final" in curve["in_words"]
    assert "1 newer action (taken since" in curve["in_words"]
    answer = selectors.calibrate(action_type="wait", confidence=0.8).learns_from
    assert answer["waiting"] == 1 and answer["outcomes"] == 3


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
    for day in range(4):  # 500 actions a day for 4 days
        chosen = slice(500 * day, 500 * (day + 1))
        resolve("switch", p[chosen], y[chosen], start=500 * day, at=T0 + timedelta(days=day))
    first = services.learn(action_type="switch")
    # Tested from the third day on: the reference leaves out the newest half of a young
    # window (by whole days), so it rests on the first two days.
    assert (first.learned, first.alarms, first.tested) == (2_000, 0, 1_000)
    assert services.learn(action_type="switch").learned == 0  # nothing new
    p2 = np.round(rng.uniform(0.02, 1, 600), 2)
    y2 = rng.uniform(0, 1, 600) < 0.3 + 0.7 * p2
    resolve("switch", p2, y2, start=2_000, at=T0 + timedelta(days=4))
    assert services.learn(action_type="switch").alarms == 1
    window = CalibrationWindow.objects.get(action_type="switch")
    assert window.epoch == 1
    kept = selectors.window_sums(action_type="switch", half_life=0).total
    assert 300 <= kept <= 600  # the outcomes since the evidence began, about the change
    restart = CalibrationAdjustment.objects.get(action_type="switch")
    assert restart.kind == AdjustmentKind.RESTART and "Calibration changed" in restart.reason
    # It restarted from the outcomes known then; the rest of the run added the others.
    known = int(re.search(r"from the ([\d,]+) of their", restart.reason)[1].replace(",", ""))
    assert 0 < known < kept
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
