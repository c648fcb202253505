"""Learning efficacy scored against the truth, over many seeds. No database: the product's
own pure pieces (calibration.stats, adjust, drift) driven the way the product drives them.

A simulated agent of each shape sends raw confidences p (rounded to 2 decimals); its
outcomes are counted into fine bins per day (DAY outcomes a day) of the current window;
every CHECK outcomes the periodic check runs (the drift test, a restart of the window on
an alarm, one damped policy step); the calibrated confidence is the map the API would
answer with at that moment. Its error is the *true* error E|c(p) - P(y=1|p)| over the
agent's confidence distribution (known here), next to the raw confidence's and that of
scikit-learn's IsotonicRegression fitted with hindsight on the same window's outcomes
(for a drift: the post-change outcomes).

Run alone: `python -m bench.efficacy [seeds]` prints the table; `make bench` includes it.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sklearn.isotonic import IsotonicRegression

from calibration import adjust, drift, stats

DAY = 200
CHECK = 50
POINT = 100  # outcomes between two scorings
TOTAL = 20_000
EVAL = 4_000  # confidences the true error is averaged over
SETTLE = 2_000


def logistic(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


Truth = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Shape:
    name: str
    before: Truth
    draw: Callable[[np.random.Generator, int], np.ndarray]
    after: Truth | None = None  # the truth from half-way on, for a drift

    def truth(self, p: np.ndarray, outcome: int, total: int) -> np.ndarray:
        if self.after is not None and outcome >= total // 2:
            return self.after(p)
        return self.before(p)


def uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(0.02, 1.0, n)


def confident(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.beta(5, 1.5, n)


SHAPES = [
    Shape("linear 0.6·p", lambda p: 0.6 * p, uniform),
    Shape("S-shape", lambda p: logistic(8 * (p - 0.55)), uniform),
    Shape("steep S, confident agent", lambda p: logistic(20 * (p - 0.8)), confident),
    Shape("wiggle", lambda p: np.clip(p + 0.12 * np.sin(4 * np.pi * p), 0, 1), uniform),
    Shape("drift 0.6·p → 0.3+0.7·p", lambda p: 0.6 * p, uniform, lambda p: 0.3 + 0.7 * p),
    Shape("drift p → 0.5·p", lambda p: p, uniform, lambda p: 0.5 * p),
]


def true_error(fitted: Callable[[np.ndarray], np.ndarray], p: np.ndarray, truth: Truth) -> float:
    return float(np.mean(np.abs(fitted(p) - truth(p))))


def simulate(shape: Shape, seed: int, total: int = TOTAL) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    settings = adjust.AdjustmentSettings()
    scale, threshold = 1.0, 0.6
    periods: list[stats.BinSums] = []
    state = drift.DriftState()
    window_p: list[np.ndarray] = []  # the current window's outcomes, for hindsight isotonic
    window_y: list[np.ndarray] = []
    post_p: list[np.ndarray] = []  # and the post-change ones
    post_y: list[np.ndarray] = []
    alarms: list[int] = []
    moves: list[tuple[int, float]] = []  # (outcomes so far, scale change)
    points: list[dict[str, float]] = []
    eval_p = np.round(shape.draw(rng, EVAL), 2)
    change = total // 2 if shape.after else None
    for start in range(0, total, CHECK):
        p = np.round(shape.draw(rng, CHECK), 2)
        y = (rng.uniform(0, 1, CHECK) < shape.truth(p, start, total)).astype(float)
        block = stats.BinSums.from_samples(p, y, fine=True)
        if not periods or start % DAY == 0:
            periods.append(block)
        else:
            periods[-1] = periods[-1] + block
        window_p.append(p)
        window_y.append(y)
        if change is not None and start >= change:
            post_p.append(p)
            post_y.append(y)
        window = stats.decayed(periods, settings.half_life)
        verdict = drift.check(
            state,
            p,
            y,
            keys=list(range(start, start + CHECK)),
            window=window,
            scale=scale,
            prior_weight=settings.prior_weight,
            min_samples=settings.min_samples,
            alpha=1 / settings.drift_alarm_every,
            floor=settings.drift_tolerance,
        )
        if verdict.alarm:  # the window restarts where the evidence began
            alarms.append(start + CHECK)
            kept = int(verdict.since) - (start + CHECK - sum(len(b) for b in window_p))
            recent_p = np.concatenate(window_p)[kept:]
            recent_y = np.concatenate(window_y)[kept:]
            window_p, window_y = [recent_p], [recent_y]
            periods = [stats.BinSums.from_samples(recent_p, recent_y, fine=True)]
            window = stats.decayed(periods, settings.half_life)
        display = window.coarse()
        proposal = adjust.propose(
            scale=scale,
            threshold=threshold,
            flagged=adjust.flagged_bins(display, settings, scale=scale),
            settings=settings,
            sums=display,
        )
        if proposal is not None:
            moves.append((start + CHECK, proposal.scale - scale))
            scale, threshold = proposal.scale, proposal.threshold
        done = start + CHECK
        if done % POINT:
            continue
        after_change = change is not None and done > change
        truth_now = shape.after if after_change else shape.before
        fitted, _ = stats.calibration_map(
            window,
            scale=scale,
            prior_weight=settings.prior_weight,
            min_samples=settings.min_samples,
        )
        point = {
            "outcomes": done,
            "product": true_error(fitted, eval_p, truth_now),
            "raw": true_error(lambda v: v, eval_p, truth_now),
        }
        seen_p, seen_y = (post_p, post_y) if after_change else (window_p, window_y)
        if seen_p and (done % 1000 == 0 or (change and 0 < done - change <= 1000)):
            xs, ys = np.concatenate(seen_p), np.concatenate(seen_y)
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(xs, ys)
            point["isotonic"] = true_error(iso.predict, eval_p, truth_now)
        points.append(point)
    return summarise(shape, points, alarms, moves, change, total)


def summarise(
    shape: Shape,
    points: list[dict[str, float]],
    alarms: list[int],
    moves: list[tuple[int, float]],
    change: int | None,
    total: int,
) -> dict[str, Any]:
    final = points[-1]
    # Oscillation: the policy reversing its direction once it has 2,000 outcomes of the
    # current regime to go on (before, a reversal corrects an early step on noise).
    settled = [
        d for at, d in moves if at > SETTLE and (change is None or not 0 < at - change <= SETTLE)
    ]
    reversals = sum(1 for a, b in itertools.pairwise(settled) if a * b < 0)
    result: dict[str, Any] = {
        "shape": shape.name,
        "final_product": final["product"],
        "final_isotonic": final["isotonic"],
        "final_raw": final["raw"],
        "final_ratio": final["product"] / final["isotonic"],
        "reversals": reversals,
        "false_alarms": sum(1 for a in alarms if change is None or a <= change),
        "worse_than_raw": POINT
        * sum(1 for pt in points if pt["product"] > pt["raw"] and pt["raw"] > 0.01),
    }
    if change is not None:
        after = [a - change for a in alarms if a > change]
        at = next(pt for pt in points if pt["outcomes"] == change + 1000)
        result.update(
            alarm_after=after[0] if after else None,
            post_1000_product=at["product"],
            post_1000_isotonic=at["isotonic"],
            post_1000_ratio=at["product"] / at["isotonic"],
            post_worse_than_raw=POINT
            * sum(1 for pt in points if pt["outcomes"] > change and pt["product"] > pt["raw"]),
        )
    return result


def spread(values: list[Any], fmt: str = ".3f") -> str:
    """Mean and 90 % range (5th to 95th percentile) over seeds."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(arr):
        return "-"
    low, high = np.percentile(arr, [5, 95])
    return f"{arr.mean():{fmt}} ({low:{fmt}} to {high:{fmt}})"


def run(seeds: int = 20, total: int = TOTAL) -> list[dict[str, Any]]:
    results = []
    for shape in SHAPES:
        runs = []
        for seed in range(seeds):
            runs.append(simulate(shape, seed, total))
            print(
                f"  efficacy: {shape.name}: seed {seed + 1}/{seeds}",
                file=sys.stderr,
                flush=True,
            )
        results.append({"shape": shape.name, "drift": "alarm_after" in runs[0], "runs": runs})
    return results


def percentile(values: list[Any], q: float) -> float:
    return float(np.percentile([v for v in values if v is not None], q))


def verdict(result: dict[str, Any]) -> tuple[bool, list[str]]:
    """The issue's targets, on the 95th percentile over seeds (the top of the 90 % range)."""
    runs = result["runs"]
    misses = []
    if percentile([r["final_ratio"] for r in runs], 95) > 1.2:
        misses.append("final error > 1.2x isotonic")
    if max(r["worse_than_raw"] for r in runs) > 500:
        misses.append("worse than raw > 500 outcomes")
    if max(r["reversals"] for r in runs) > 0:
        misses.append("policy reversals after settling")
    if sum(r["false_alarms"] for r in runs):
        misses.append("false drift alarm")
    if result["drift"]:
        if percentile([r["post_1000_ratio"] for r in runs], 95) > 1.2:
            misses.append("1,000 after the change > 1.2x isotonic")
        if any(r["alarm_after"] is None for r in runs):
            misses.append("change not detected")
    return not misses, misses


def table(results: list[dict[str, Any]]) -> Table:
    seeds = len(results[0]["runs"]) if results else 0
    out = Table(
        "shape",
        "calibrated",
        "isotonic (hindsight)",
        "raw",
        "calibrated / isotonic",
        "after a change: alarm after",
        "1,000 after: calibrated / isotonic",
        "outcomes worse than raw (max)",
        "false alarms",
        "ok",
        title=f"Learning efficacy: true error E|c(p) - P(y=1|p)| after {TOTAL:,} outcomes, "
        f"mean (90 % range) over {seeds} seeds",
    )
    for result in results:
        runs = result["runs"]
        ok, misses = verdict(result)
        out.add_row(
            result["shape"],
            spread([r["final_product"] for r in runs]),
            spread([r["final_isotonic"] for r in runs]),
            spread([r["final_raw"] for r in runs]),
            spread([r["final_ratio"] for r in runs]),
            spread([r.get("alarm_after") for r in runs], ",.0f") if result["drift"] else "-",
            spread([r.get("post_1000_ratio") for r in runs]) if result["drift"] else "-",
            f"{max(r['worse_than_raw'] for r in runs):,}",
            f"{sum(r['false_alarms'] for r in runs)}",
            "yes" if ok else "NO: " + "; ".join(misses),
        )
    return out


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per shape for `make bench`'s summary table."""
    out = []
    for result in results:
        runs = result["runs"]
        product = float(np.mean([r["final_product"] for r in runs]))
        isotonic = float(np.mean([r["final_isotonic"] for r in runs]))
        ok, misses = verdict(result)
        out.append(
            {
                "benchmark": f"learning efficacy: {result['shape']} (true error)",
                "rows": TOTAL * len(runs),
                "product": f"{product:.4f}",
                "baseline_value": f"{isotonic:.4f}",
                "baseline": "offline isotonic (hindsight)",
                "ratio": round(isotonic / product, 3),
                "target": "<= 1.2x isotonic (95th pct)",
                "meets_target": ok,
                "misses": misses,
            }
        )
    return out


if __name__ == "__main__":
    Console(width=200).print(table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20)))
