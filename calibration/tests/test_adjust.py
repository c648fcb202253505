from __future__ import annotations

import numpy as np
import pytest

from calibration import adjust, stats

SETTINGS = adjust.AdjustmentSettings()


def sums_for(p: float, n: int, successes: int) -> stats.BinSums:
    return stats.BinSums.from_samples([p] * n, [1.0] * successes + [0.0] * (n - successes))


def test_overconfident_lowers_scale_and_raises_threshold_damped() -> None:
    flagged = adjust.flagged_bins(sums_for(0.85, 100, 40), SETTINGS)  # gap 0.45
    assert [(b.index, b.count) for b in flagged] == [(8, 100)]
    proposal = adjust.propose(scale=1.0, threshold=0.6, flagged=flagged, settings=SETTINGS)
    assert (proposal.scale, proposal.threshold) == (0.9, 0.7)  # at most 0.10 per cycle
    assert proposal.reason.startswith("overconfident by 0.450")


def test_underconfident_moves_the_other_way_by_the_gap() -> None:
    flagged = adjust.flagged_bins(sums_for(0.35, 400, 208), SETTINGS)  # gap -0.17
    proposal = adjust.propose(scale=1.0, threshold=0.6, flagged=flagged, settings=SETTINGS)
    assert proposal.scale == pytest.approx(1.1) and proposal.threshold == pytest.approx(0.5)


def test_cold_start_bins_never_trigger() -> None:
    assert adjust.flagged_bins(sums_for(0.95, 9, 0), SETTINGS) == []


def test_noise_does_not_trigger() -> None:
    # Gap 0.2 with 12 samples: the Wilson interval still contains the prediction.
    sums = sums_for(0.75, 12, 7)
    curve = stats.calibration_curve(sums)[7]
    assert curve.ci_low <= 0.75 <= curve.ci_high
    assert adjust.flagged_bins(sums, SETTINGS) == []


def test_small_gaps_do_not_trigger() -> None:
    assert adjust.flagged_bins(sums_for(0.65, 1000, 530), SETTINGS) == []  # gap 0.12


@pytest.mark.parametrize("scale,threshold,expected", [(0.55, 0.85, (0.5, 0.9)), (0.5, 0.9, None)])
def test_bounds_hold(scale, threshold, expected) -> None:
    flagged = adjust.flagged_bins(sums_for(0.85, 100, 10), SETTINGS)
    proposal = adjust.propose(scale=scale, threshold=threshold, flagged=flagged, settings=SETTINGS)
    assert (None if proposal is None else (proposal.scale, proposal.threshold)) == expected


def test_gap_is_weighted_by_count() -> None:
    p = [0.85] * 300 + [0.25] * 100
    y = [1.0] * 120 + [0.0] * 180 + [1.0] * 50 + [0.0] * 50  # gaps 0.45 and -0.25
    flagged = adjust.flagged_bins(stats.BinSums.from_samples(p, y), SETTINGS)
    proposal = adjust.propose(scale=1.0, threshold=0.6, flagged=flagged, settings=SETTINGS)
    assert proposal.mean_gap == pytest.approx(np.average([0.45, -0.25], weights=[300, 100]))


def test_bins_are_judged_after_the_current_scale() -> None:
    """Once the scale has absorbed the bias, the same bins stop triggering: the policy
    settles instead of drifting to its bound."""
    sums = sums_for(0.85, 400, 204)  # actual 0.51: overconfident by 0.34 at scale 1
    assert [b.index for b in adjust.flagged_bins(sums, SETTINGS)] == [8]
    assert adjust.flagged_bins(sums, SETTINGS, scale=0.6) == []  # 0.51 predicted: settled
    (still,) = adjust.flagged_bins(sums, SETTINGS, scale=0.8)  # 0.68 vs 0.51
    assert still.scaled_predicted == pytest.approx(0.68) and still.gap == pytest.approx(0.17)


def test_tenant_settings_change_the_step_and_bounds() -> None:
    narrow = adjust.AdjustmentSettings(max_step=0.05, scale_bounds=(0.9, 1.2))
    flagged = adjust.flagged_bins(sums_for(0.85, 100, 40), narrow)
    proposal = adjust.propose(scale=1.0, threshold=0.6, flagged=flagged, settings=narrow)
    assert (proposal.scale, proposal.threshold) == (0.95, 0.65)
    proposal = adjust.propose(scale=0.92, threshold=0.6, flagged=flagged, settings=narrow)
    assert proposal.scale == 0.9


def test_a_shape_no_scale_can_fix_leaves_the_scale_alone() -> None:
    """Overconfident low bins and underconfident high ones: lowering the scale would help
    the first and hurt the second more, so the check flags bins but proposes nothing
    (the bin map corrects the shape) instead of swinging the scale every cycle."""
    p = [0.25] * 200 + [0.85] * 400
    y = [1.0] * 10 + [0.0] * 190 + [1.0] * 392 + [0.0] * 8  # 0.05 and 0.98 actual
    sums = stats.BinSums.from_samples(p, y)
    flagged = adjust.flagged_bins(sums, SETTINGS)
    assert [b.index for b in flagged] == [2]  # only the overconfident low bin triggers
    assert adjust.propose(scale=1.0, threshold=0.6, flagged=flagged, settings=SETTINGS) is not None
    assert (
        adjust.propose(scale=1.0, threshold=0.6, flagged=flagged, settings=SETTINGS, sums=sums)
        is None
    )
    # 0.9 would give 0.765 against 0.98 at n=400: worse overall than the low bin's gain.
    assert adjust.scaled_error(sums, SETTINGS, 0.9) > adjust.scaled_error(sums, SETTINGS, 1.0)
