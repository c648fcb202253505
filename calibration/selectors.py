from __future__ import annotations

from calibration import stats
from calibration.models import CalibrationBin


def bin_sums(*, action_type: str) -> stats.BinSums:
    """The action type's 10 bins as sums (zeros for bins not created yet)."""
    rows = [(0.0, 0.0, 0.0, 0.0, 0.0)] * stats.N_BINS
    for b in CalibrationBin.objects.filter(action_type=action_type):
        rows[b.bin_index] = (b.n, b.sum_y, b.sum_p, b.sum_p2, b.sum_py)
    return stats.BinSums.from_rows(rows)


def action_types() -> list[str]:
    return list(
        CalibrationBin.objects.values_list("action_type", flat=True)
        .distinct()
        .order_by("action_type")
    )
