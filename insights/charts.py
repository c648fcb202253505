"""Charts drawn on the server, as PNG bytes, for the emailed reports.

Email clients run no JavaScript, so the report's charts are images. matplotlib's
object-oriented API (a `Figure` with its own Agg canvas, no pyplot) keeps no global state,
so workers may draw in threads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

INK = "#1d2330"
MUTED = "#8a93a6"
BLUE = "#2f6fde"
GREEN = "#1f9d68"
BAR = "#c9d6ee"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def _frame(figure: Figure, title: str) -> None:
    figure.suptitle(title, x=0.01, ha="left", fontsize=11, color=INK)


def trend(
    labels: Sequence[str], counts: Sequence[int], rates: Sequence[float | None], *, title: str
) -> bytes:
    """Bars of activity per period with the success rate as a line on a second axis."""
    figure = Figure(figsize=(6.4, 2.6))
    _frame(figure, title)
    axis = figure.add_subplot()
    positions = list(range(len(labels)))
    axis.bar(positions, counts, color=BAR, label="actions")
    axis.set_ylabel("actions", color=MUTED, fontsize=8)
    axis.tick_params(labelsize=7, colors=MUTED)
    step = max(1, len(labels) // 7)
    axis.set_xticks(positions[::step], [labels[i] for i in positions[::step]])
    rate_axis = axis.twinx()
    points = [(i, r) for i, r in zip(positions, rates, strict=True) if r is not None]
    if points:
        rate_axis.plot(
            [i for i, _ in points], [r for _, r in points], color=BLUE, marker="o", markersize=3
        )
    rate_axis.set_ylim(0, 1)
    rate_axis.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    rate_axis.set_ylabel("success rate", color=BLUE, fontsize=8)
    rate_axis.tick_params(labelsize=7, colors=MUTED)
    for spine in (*axis.spines.values(), *rate_axis.spines.values()):
        spine.set_visible(False)
    return _png(figure)


def rates(
    labels: Sequence[str],
    values: Sequence[float | None],
    notes: Sequence[str],
    *,
    title: str,
    baseline: float | None = None,
) -> bytes:
    """One horizontal bar per label (a rate in [0, 1]), with a note at the end of each bar
    (e.g. how many outcomes it rests on) and an optional baseline line."""
    height = 0.6 + 0.32 * max(len(labels), 1)
    figure = Figure(figsize=(6.4, height))
    _frame(figure, title)
    axis = figure.add_subplot()
    positions = list(range(len(labels)))
    widths = [v or 0.0 for v in values]
    axis.barh(positions, widths, color=GREEN, height=0.6)
    for y, width, note in zip(positions, widths, notes, strict=True):
        axis.text(min(width, 0.82) + 0.01, y, note, va="center", fontsize=7, color=INK)
    if baseline is not None:
        axis.axvline(baseline, color=MUTED, linestyle="--", linewidth=1)
    axis.set_yticks(positions, list(labels))
    axis.invert_yaxis()
    axis.set_xlim(0, 1)
    axis.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axis.tick_params(labelsize=7, colors=MUTED)
    for spine in axis.spines.values():
        spine.set_visible(False)
    return _png(figure)
