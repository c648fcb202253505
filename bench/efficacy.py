"""Learning efficacy on realistic traffic, scored against the truth, over many seeds. No
database: the product's own pure pieces (calibration.stats, adjust, drift) driven on the
product's schedule, on traffic a scenario file describes (bench/scenario.py).

What the product does, simulated here on the clock:
- results arrive when the traffic says (a reply within hours, silence at the window's end,
  found by the hourly expiry sweep);
- every 15 minutes the learning job (calibration.services.learn) takes the outcomes that
  have *matured* (their window closed, everything older settled), in the order their
  actions were taken, `drift_check_every` at a time: each batch is added to the window's
  per-day sums (by the day the action was taken), tested by the drift test against the
  reference map, and the reference is refitted from the window before the current run of
  evidence; an alarm restarts the window where the evidence began;
- every 6 hours the policy moves one damped step (calibration.services.recalibrate);
- the calibrated confidence is the map `POST calibrate/` answers with at that moment.

Its error is the *true* error E|c(p) - P(y=1|p)| over the agent's confidence distribution
(known here), at the truth of the newest matured action, next to the raw confidence's and
that of scikit-learn's IsotonicRegression fitted with hindsight on the matured outcomes of
the same regime.

    python -m bench.efficacy                          # every shipped scenario, 20 seeds
    python -m bench.efficacy --scenario FILE --seeds 50 --json OUT

`make bench` runs the shipped scenarios (bench/scenarios/efficacy/) with a table each.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sklearn.isotonic import IsotonicRegression

from bench.scenario import Scenario, Traffic, shipped
from calibration import adjust, drift, stats

TICK = 1 / 96  # the learning job: every 15 minutes
POLICY_EVERY = 24  # ticks: the policy step every 6 hours
SCORE_EVERY = 4  # ticks: the error is scored every hour
EVAL = 4_000  # confidences the true error is averaged over
REGIME_MATURED = 1_000  # the target holds once this many outcomes of a regime matured
ISOTONIC_EVERY = 5_000  # matured outcomes between two hindsight fits in the JSON

# The targets.
RATIO_TARGET = 1.2
WORSE_THAN_RAW_TARGET = 500


@dataclass
class Window:
    """The current epoch's per-day fine sums (by the day the action was taken)."""

    days: dict[int, stats.BinSums] = field(default_factory=dict)

    def add(self, t: np.ndarray, p: np.ndarray, y: np.ndarray) -> None:
        day = np.floor(t).astype(int)
        for d in np.unique(day):
            chosen = day == d
            block = stats.BinSums.from_samples(p[chosen], y[chosen], fine=True)
            key = int(d)
            self.days[key] = self.days[key] + block if key in self.days else block

    def sums(self, half_life: int, before_day: int | None = None) -> stats.BinSums:
        periods = [self.days[d] for d in sorted(self.days) if before_day is None or d < before_day]
        return stats.decayed(periods, half_life)


def true_error(fitted: Any, p: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(fitted(p) - truth)))


def hindsight(p: np.ndarray, y: np.ndarray) -> Any:
    """scikit-learn's isotonic regression of the outcomes (aggregated per distinct p, with
    weights: the same fit, faster)."""
    values, inverse = np.unique(p, return_inverse=True)
    counts = np.bincount(inverse).astype(float)
    rates = np.bincount(inverse, weights=y) / counts
    return IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
        values, rates, sample_weight=counts
    )


def simulate(scenario: Scenario, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    traffic = scenario.traffic(rng)
    eval_p = scenario.draw_confidence(rng, EVAL)
    settings = adjust.AdjustmentSettings()
    regimes = scenario.regime_of(traffic.t)
    loop = Loop(scenario, traffic, settings)
    points: list[dict[str, Any]] = []
    scored_regimes: set[int] = set()
    last_scored, last_fit = 0, 0
    ticks = int(np.ceil((scenario.days + scenario.window_days + 1) / TICK))
    for tick in range(1, ticks + 1):
        now = tick * TICK
        loop.learn(now)
        if tick % POLICY_EVERY == 0:
            loop.policy_step()
        final = tick == ticks
        if not final and (tick % SCORE_EVERY or loop.learned == last_scored):
            continue
        if loop.learned == 0:
            continue
        newest = traffic.t[loop.learned - 1]
        truth = scenario.truth(eval_p, newest)
        regime = int(regimes[loop.learned - 1])
        point: dict[str, Any] = {
            "day": round(float(now), 4),
            "matured": loop.learned,
            "newest_action_day": round(float(newest), 4),
            "regime": regime,
            "calibrated": true_error(loop.map(), eval_p, truth),
            "raw": true_error(lambda v: v, eval_p, truth),
            "new_since_last": loop.learned - last_scored,
        }
        of_regime = np.flatnonzero(regimes[: loop.learned] == regime) if regime >= 0 else []
        first_of_regime = regime >= 0 and regime not in scored_regimes
        if first_of_regime and len(of_regime) >= REGIME_MATURED:
            scored_regimes.add(regime)
            point["regime_matured_1000"] = True
        if (
            regime >= 0
            and len(of_regime)
            and (
                point.get("regime_matured_1000")
                or final
                or loop.learned - last_fit >= ISOTONIC_EVERY
            )
        ):
            iso = hindsight(traffic.p[of_regime], traffic.y[of_regime])
            point["isotonic"] = true_error(iso.predict, eval_p, truth)
            last_fit = loop.learned
        points.append(point)
        last_scored = loop.learned
    return {"seed": seed, "outcomes": len(traffic.t), "points": points, "alarms": loop.alarms}


class Loop:
    """The product's learning loop on one action type, as the beat schedule drives it."""

    def __init__(self, scenario: Scenario, traffic: Traffic, settings: adjust.AdjustmentSettings):
        self.scenario, self.traffic, self.settings = scenario, traffic, settings
        self.scale, self.threshold = 1.0, 0.6
        self.window = Window()
        self.state = drift.DriftState()
        self.learned = 0  # the matured prefix (in action order) already learned
        self.unresolved = 0  # the first action whose result is not known yet
        self.epoch_start = 0  # the first outcome of the current window
        self.alarms: list[dict[str, Any]] = []

    def learn(self, now: float) -> None:
        traffic = self.traffic
        n = len(traffic.t)
        while self.unresolved < n and traffic.resolved[self.unresolved] <= now:
            self.unresolved += 1
        # Matured: the window closed before the oldest action still waiting for a result
        # (calibration.services.learn's frontier), so everything before it is settled.
        frontier = now
        if self.unresolved < n:
            frontier = min(now, float(traffic.window_end[self.unresolved]))
        matured = int(np.searchsorted(traffic.window_end, frontier, side="left"))
        every = self.settings.drift_check_every
        for start in range(self.learned, matured, every):
            self.batch(start, min(start + every, matured))
        self.learned = max(self.learned, matured)

    def batch(self, start: int, end: int) -> None:
        traffic, settings = self.traffic, self.settings
        chosen = slice(start, end)
        self.window.add(traffic.t[chosen], traffic.p[chosen], traffic.y[chosen])

        verdict = drift.check(
            self.state,
            traffic.p[chosen],
            traffic.y[chosen],
            keys=list(range(start, end)),
            days=[(d, s.total) for d, s in sorted(self.window.days.items())],
            day_of=lambda key: int(np.floor(traffic.t[int(key)])),
            reference=lambda day: self.window.sums(settings.half_life, before_day=day),
            scale=self.scale,
            prior_weight=settings.prior_weight,
            min_samples=settings.min_samples,
            alpha=1 / settings.drift_alarm_every,
            floor=settings.drift_tolerance,
        )
        if verdict.alarm:
            at = start + int(verdict.at or 0)
            since = int(verdict.since)
            self.alarms.append(
                {
                    "matured": at + 1,
                    "action_day": round(float(traffic.t[at]), 4),
                    "since_day": round(float(traffic.t[since]), 4),
                    "true": self.is_true(self.epoch_start, at),
                }
            )
            self.window = Window()
            kept = slice(since, end)
            self.window.add(traffic.t[kept], traffic.p[kept], traffic.y[kept])
            self.epoch_start = since

    def is_true(self, first: int, at: int) -> bool:
        """A change of the truth between the window's first outcome and the alarm's."""
        began, rang = self.traffic.t[first], self.traffic.t[at]
        return any(start <= rang and settled >= began for start, settled in self.scenario.changes())

    def sums(self) -> stats.BinSums:
        return self.window.sums(self.settings.half_life)

    def policy_step(self) -> None:
        display = self.sums().coarse()
        proposal = adjust.propose(
            scale=self.scale,
            threshold=self.threshold,
            flagged=adjust.flagged_bins(display, self.settings, scale=self.scale),
            settings=self.settings,
            sums=display,
        )
        if proposal is not None:
            self.scale, self.threshold = proposal.scale, proposal.threshold

    def map(self) -> stats.MonotoneMap:
        fitted, _ = stats.calibration_map(
            self.sums(),
            scale=self.scale,
            prior_weight=self.settings.prior_weight,
            min_samples=self.settings.min_samples,
        )
        return fitted


# Scoring ---------------------------------------------------------------------------------
def summarise(scenario: Scenario, run: dict[str, Any]) -> dict[str, Any]:
    points = run["points"]
    ratios_1000 = [
        pt["calibrated"] / pt["isotonic"]
        for pt in points
        if pt.get("regime_matured_1000") and pt.get("isotonic")
    ]
    final = points[-1]
    worse = sum(
        pt["new_since_last"] for pt in points if pt["calibrated"] > pt["raw"] and pt["raw"] > 0.01
    )
    changes = scenario.changes()
    detected = []
    for began, _ in changes:
        after = [a for a in run["alarms"] if a["true"] and a["action_day"] >= began]
        detected.append(after[0]["action_day"] - began if after else None)
    return {
        "final_calibrated": final["calibrated"],
        "final_raw": final["raw"],
        "final_isotonic": final.get("isotonic"),
        "final_ratio": final["calibrated"] / final["isotonic"] if final.get("isotonic") else None,
        "ratios_1000": ratios_1000,
        "worse_than_raw": worse,
        "false_alarms": sum(1 for a in run["alarms"] if not a["true"]),
        "detected_after_days": detected,
    }


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def spread(values: list[Any], fmt: str = ".3f") -> str:
    """Mean and 90 % range (5th to 95th percentile) over seeds."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(arr):
        return "-"
    low, high = np.percentile(arr, [5, 95])
    return f"{arr.mean():{fmt}} ({low:{fmt}} to {high:{fmt}})"


def verdict(result: dict[str, Any]) -> tuple[bool, list[str]]:
    """The issue's targets, on the 95th percentile over seeds."""
    runs = result["summaries"]
    misses = []
    ratios = [r for s in runs for r in s["ratios_1000"]]
    finals = [s["final_ratio"] for s in runs if s["final_ratio"] is not None]
    if (percentile(ratios, 95) or 0) > RATIO_TARGET:
        misses.append(f"> {RATIO_TARGET}x isotonic once 1,000 of a regime matured")
    if (percentile(finals, 95) or 0) > RATIO_TARGET:
        misses.append(f"final > {RATIO_TARGET}x isotonic")
    if max(s["worse_than_raw"] for s in runs) > WORSE_THAN_RAW_TARGET:
        misses.append(f"worse than raw > {WORSE_THAN_RAW_TARGET} outcomes")
    if sum(s["false_alarms"] for s in runs):
        misses.append("false drift alarm")
    missed = sum(1 for s in runs for d in s["detected_after_days"] if d is None)
    if missed:
        misses.append(f"{missed} change(s) not detected")
    return not misses, misses


def run_scenario(scenario: Scenario, seeds: int) -> dict[str, Any]:
    runs, summaries = [], []
    for seed in range(seeds):
        run = simulate(scenario, seed)
        runs.append(run)
        summaries.append(summarise(scenario, run))
        print(f"  efficacy: {scenario.name}: seed {seed + 1}/{seeds}", file=sys.stderr, flush=True)
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "outcomes": runs[0]["outcomes"] if runs else 0,
        "changes": len(scenario.changes()),
        "runs": runs,
        "summaries": summaries,
    }


def run(seeds: int = 20, scenarios: list[Path] | None = None) -> list[dict[str, Any]]:
    return [run_scenario(Scenario.load(path), seeds) for path in scenarios or shipped("efficacy")]


def table(results: list[dict[str, Any]]) -> Table:
    seeds = len(results[0]["summaries"]) if results else 0
    out = Table(
        "scenario",
        "outcomes",
        "calibrated (final)",
        "isotonic (hindsight)",
        "raw",
        "calibrated / isotonic at 1,000 of a regime (95th pct)",
        "final ratio (95th pct)",
        "worse than raw (max)",
        "false alarms",
        "changes found (days after, mean)",
        "ok",
        title="Learning efficacy on realistic traffic: true error E|c(p) - P(y=1|p)|, mean "
        f"(90 % range) over {seeds} seeds; outcomes count once matured",
    )
    for result in results:
        s = result["summaries"]
        ok, misses = verdict(result)
        ratios = [r for x in s for r in x["ratios_1000"]]
        finals = [x["final_ratio"] for x in s if x["final_ratio"] is not None]
        delays = [d for x in s for d in x["detected_after_days"] if d is not None]
        found = len(delays)
        expected = result["changes"] * len(s)
        out.add_row(
            result["scenario"],
            f"{result['outcomes']:,}",
            spread([x["final_calibrated"] for x in s]),
            spread([x["final_isotonic"] for x in s]),
            spread([x["final_raw"] for x in s]),
            f"{percentile(ratios, 95):.2f}" if ratios else "-",
            f"{percentile(finals, 95):.2f}" if finals else "-",
            f"{max(x['worse_than_raw'] for x in s):,}",
            f"{sum(x['false_alarms'] for x in s)}",
            f"{found}/{expected} ({np.mean(delays):.1f})"
            if expected and delays
            else (f"0/{expected}" if expected else "-"),
            "yes" if ok else "NO: " + "; ".join(misses),
        )
    return out


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per scenario for `make bench`'s summary table."""
    out = []
    for result in results:
        s = result["summaries"]
        product = float(np.mean([x["final_calibrated"] for x in s]))
        isotonic = float(np.mean([x["final_isotonic"] or 0 for x in s]))
        ok, misses = verdict(result)
        out.append(
            {
                "benchmark": f"learning efficacy: {result['scenario']} (true error)",
                "rows": result["outcomes"] * len(s),
                "product": f"{product:.4f}",
                "baseline_value": f"{isotonic:.4f}",
                "baseline": "offline isotonic (hindsight)",
                "ratio": round(isotonic / product, 3) if product else 0.0,
                "target": "<= 1.2x isotonic (95th pct), no false alarm",
                "meets_target": ok,
                "misses": misses,
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.efficacy", description=__doc__)
    parser.add_argument("--scenario", action="append", type=Path, help="a scenario file")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write every seed's run here")
    args = parser.parse_args(argv)
    results = run(args.seeds, args.scenario)
    Console(width=220).print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
        print(f"Written to {args.json}", file=sys.stderr)
    return 0 if all(verdict(r)[0] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
