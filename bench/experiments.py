"""Randomised experiments, simulated from scenario files: how often the paired two-arm test
(coaching.sequential.ArmTest, checked after every observation with the product's floors, as
coaching.experiments uses it) promotes or demotes one of two equally good versions, at any
split of the observations and under a drifting rate, and how soon it finds a real
difference, by base rate. Next to it, the test it replaced (a bet on the arm of each
success, fair only when both arms are observed equally often), on the same observations.
No database.

A scenario is a JSON object (shipped ones in bench/scenarios/experiments/):

    {"name": "equal arms, 45 % treatment", "description": "one sentence",
     "days": 60,
     "actions_per_day": 400,               # or "actions_per_weekday": [7 numbers, Monday
                                           #   first], e.g. 0 at weekends
     "experiment": {"control_rate": 0.3, "treatment_rate": 0.3,
                    "treatment_share": 0.45,  # of the observations; 1.0: the control is
                                              #   never observed
                    "common_drift": [[0, 1.0], [30, 0.6]],  # optional: both rates times a
                                              #   piecewise-linear multiplier by day
                    "max_observations": 5000}}

- Every action is one observation (the first draft of one exposed conversation: whether
  an action drafts is not modelled, `treatment_share` says how the observations split);
  the first day is a Monday, a day's actions are spread over it at random, in time order.
- Its arm: the treatment with probability `treatment_share`, independently.
- Its result: sent unedited with probability (the arm's rate) x (the drift multiplier at
  its time, linear between the knots, constant beyond them), at most 1.
- The test sees the observations in time order and is checked after every one, up to
  `max_observations` or the end of the days: a run "promoted", "demoted" or "none".
- Targets: equal rates, under 5 % promoted and under 5 % demoted (alpha, at the
  scenario's split and drift); an arm never observed, no decision at all; rates that
  differ, no hard target but the correct direction (under 5 % decided the wrong way), and
  the power reported: the share of runs deciding correctly within the scenario.

    python -m bench.experiments [--scenario FILE]... [--runs N] [--json OUT] [--seed S]

Without --scenario it runs every shipped scenario. It prints the table per scenario (the
share of runs promoting and demoting, the median observations to a decision, the test
replaced on the same runs), writes with --json every run's decision (which, at which
observation, after how many pairs) and the summaries, and exits 1 if a target is missed.
Progress goes to stderr. `make bench` runs the shipped scenarios through `run(quick)`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.scenario import shipped as scenario_files
from bench.scenario import weekday_volumes
from coaching.sequential import DEMOTE_AFTER, EXPERIMENT_ALPHA, PROMOTE_AFTER, ArmTest

SEED = 2026


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    days: int
    per_weekday: tuple[int, ...]
    control_rate: float
    treatment_rate: float
    treatment_share: float
    drift: tuple[tuple[float, float], ...]  # (day, multiplier) knots; () for none
    max_observations: int
    raw: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        return cls.from_dict(json.loads(Path(path).read_text()))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        per_weekday = weekday_volumes(data)
        experiment = data["experiment"]
        share = float(experiment.get("treatment_share", 0.5))
        rates = float(experiment["control_rate"]), float(experiment["treatment_rate"])
        if not 0 <= share <= 1 or not all(0 <= r <= 1 for r in rates):
            raise ValueError("experiment: rates and treatment_share are between 0 and 1")
        drift = tuple((float(d), float(m)) for d, m in experiment.get("common_drift") or [])
        if any(b[0] <= a[0] for a, b in itertools.pairwise(drift)):
            raise ValueError("experiment.common_drift: knots in increasing day order")
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            days=int(data["days"]),
            per_weekday=per_weekday,
            control_rate=rates[0],
            treatment_rate=rates[1],
            treatment_share=share,
            drift=drift,
            max_observations=int(experiment.get("max_observations", 5_000)),
            raw=data,
        )

    @property
    def kind(self) -> str:
        """What a correct test does: "equal" (decide nothing, or rarely), "unobserved" (an
        arm never observed: decide nothing, ever), "better" or "worse" (the treatment)."""
        if self.treatment_share in (0.0, 1.0):
            return "unobserved"
        if self.treatment_rate == self.control_rate:
            return "equal"
        return "better" if self.treatment_rate > self.control_rate else "worse"

    def times(self, rng: np.random.Generator) -> np.ndarray:
        """The observations' times in days, in order, at most `max_observations`."""
        days = [
            d + np.sort(rng.uniform(0, 1, self.per_weekday[d % 7]))
            for d in range(self.days)
            if self.per_weekday[d % 7]
        ]
        return np.concatenate(days or [np.zeros(0)])[: self.max_observations]

    def multiplier(self, t: np.ndarray) -> np.ndarray:
        if not self.drift:
            return np.ones_like(t)
        days, values = zip(*self.drift, strict=True)
        return np.interp(t, days, values)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One run's observations: (treatment?, sent unedited?) in time order."""
        t = self.times(rng)
        treatment = rng.random(len(t)) < self.treatment_share
        rate = np.where(treatment, self.treatment_rate, self.control_rate) * self.multiplier(t)
        success = rng.random(len(t)) < np.clip(rate, 0.0, 1.0)
        return treatment, success


class PreviousTest:
    """The test this one replaced, as it was: the wealth bets on the sign (+1 treatment,
    -1 control) x (+1 success, -1 failure) of every observation, its mean 0 under the
    hypothesis only when each observation is the treatment's with probability 1/2."""

    def __init__(self) -> None:
        self.log_wealth, self.observations, self.sign_sum = 0.0, 0, 0.0

    def observe(self, *, treatment: bool, success: bool) -> None:
        sign = (1 if treatment else -1) * (1 if success else -1)
        bet = max(-0.5, min(0.5, self.sign_sum / (self.observations + 4)))
        self.log_wealth += math.log1p(bet * sign)
        self.observations += 1
        self.sign_sum += sign

    def decision(self, alpha: float) -> str | None:
        if self.log_wealth < math.log(1 / alpha):
            return None
        better = self.sign_sum > 0
        if self.observations < (PROMOTE_AFTER if better else DEMOTE_AFTER):
            return None
        return "promoted" if better else "demoted"


def simulate(treatment: np.ndarray, success: np.ndarray) -> dict[str, Any]:
    """Both tests on one run's observations, each checked after every observation: the
    first decision of each and the observation it came at (None: no decision)."""
    test, previous = ArmTest(), PreviousTest()
    found: dict[str, Any] = {"decision": "none", "observations": None}
    before: dict[str, Any] = {"decision": "none", "observations": None}
    for n, (arm, result) in enumerate(zip(treatment.tolist(), success.tolist(), strict=True), 1):
        if found["observations"] is None:
            test.observe(treatment=arm, success=result)
            decision = test.decision(EXPERIMENT_ALPHA)
            if decision is not None:
                found = {"decision": decision, "observations": n, "pairs": test.pairs}
                found |= {"discordant": test.discordant}
        if before["observations"] is None:
            previous.observe(treatment=arm, success=result)
            decision = previous.decision(EXPERIMENT_ALPHA)
            if decision is not None:
                before = {"decision": decision, "observations": n}
        if found["observations"] is not None and before["observations"] is not None:
            break
    return {**found, "previous": before, "length": len(treatment)}


def summarise(scenario: Scenario, decisions: list[dict[str, Any]]) -> dict[str, Any]:
    runs = len(decisions)

    def shares(which: list[dict[str, Any]]) -> dict[str, Any]:
        promoted = [d["observations"] for d in which if d["decision"] == "promoted"]
        demoted = [d["observations"] for d in which if d["decision"] == "demoted"]
        decided = promoted + demoted
        return {
            "promoted": len(promoted) / runs,
            "demoted": len(demoted) / runs,
            "median_observations": statistics.median(decided) if decided else None,
        }

    new, old = shares(decisions), shares([d["previous"] for d in decisions])
    kind = scenario.kind
    if kind == "equal":
        meets = new["promoted"] < EXPERIMENT_ALPHA and new["demoted"] < EXPERIMENT_ALPHA
    elif kind == "unobserved":
        meets = new["promoted"] == new["demoted"] == 0
    else:
        right, wrong = ("promoted", "demoted") if kind == "better" else ("demoted", "promoted")
        new["power"], old["power"] = new[right], old[right]
        meets = new[wrong] < EXPERIMENT_ALPHA
    return {
        "kind": kind,
        "runs": runs,
        "observations": sum(d["length"] for d in decisions) / runs,
        **new,
        "previous": old,
        "meets_target": meets,
    }


def run_scenario(
    scenario: Scenario, runs: int, seed: int = SEED, progress: bool = True
) -> dict[str, Any]:
    # Each scenario its own stream: the same runs whichever others run with it.
    rng = np.random.default_rng([seed, zlib.crc32(scenario.name.encode())])
    decisions, started = [], time.monotonic()
    for i in range(runs):
        decisions.append(simulate(*scenario.draw(rng)))
        if progress and (i + 1) % max(1, runs // 4) == 0:
            print(
                f"  experiments: {scenario.name}: {i + 1}/{runs} runs "
                f"({time.monotonic() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    return {
        "name": scenario.name,
        "description": scenario.description,
        "scenario": scenario.raw,
        "summary": summarise(scenario, decisions),
        "decisions": decisions,
    }


def shipped() -> list[Path]:
    return scenario_files("experiments")


def run(
    quick: bool = False, paths: list[Path] | None = None, runs: int | None = None
) -> dict[str, Any]:
    """Every scenario (the shipped ones unless `paths`), `runs` runs each (quick 200, else
    1,000: about 20 s and 90 s; fewer runs make the < 5 % verdicts a matter of chance)."""
    runs = runs or (200 if quick else 1_000)
    results = [run_scenario(Scenario.load(p), runs) for p in paths or shipped()]
    return {"alpha": EXPERIMENT_ALPHA, "runs": runs, "seed": SEED, "scenarios": results}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def tables(result: dict[str, Any]) -> list[Table]:
    table = Table(
        "scenario",
        "rates: previous -> new (treatment share)",
        "runs",
        "promoted",
        "demoted",
        "median obs. to decision",
        "target",
        "ok",
        "test replaced: promoted / demoted",
        title=f"Experiments: the paired test checked after every observation (alpha "
        f"{EXPERIMENT_ALPHA:.0%}); equal rates: under {EXPERIMENT_ALPHA:.0%} each way; "
        "an arm never observed: never",
    )
    targets = {
        "equal": f"< {EXPERIMENT_ALPHA:.0%} each",
        "unobserved": "never",
        "better": "power (promoted)",
        "worse": "power (demoted)",
    }
    for s in result["scenarios"]:
        summary, raw = s["summary"], s["scenario"]["experiment"]
        median = summary["median_observations"]
        drift = " drifting" if raw.get("common_drift") else ""
        table.add_row(
            s["name"],
            f"{raw['control_rate']:.0%} -> {raw['treatment_rate']:.0%}{drift} "
            f"({raw.get('treatment_share', 0.5):.0%})",
            f"{summary['runs']:,}",
            _pct(summary["promoted"]),
            _pct(summary["demoted"]),
            f"{median:,.0f}" if median is not None else "-",
            targets[summary["kind"]],
            "yes" if summary["meets_target"] else "NO",
            f"{_pct(summary['previous']['promoted'])} / {_pct(summary['previous']['demoted'])}",
        )
    return [table]


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """`make bench`'s lines: the worst error over the equal-rate scenarios (any split,
    drift, an arm unobserved), and the lowest power over those that differ."""
    scenarios = [s["summary"] for s in result["scenarios"]]
    total = int(sum(s["observations"] * s["runs"] for s in scenarios))
    null = [s for s in scenarios if s["kind"] in ("equal", "unobserved")]
    differ = [s for s in scenarios if s["kind"] in ("better", "worse")]
    out = []
    if null:
        worst = max(max(s["promoted"], s["demoted"]) for s in null)
        before = max(max(s["previous"]["promoted"], s["previous"]["demoted"]) for s in null)
        out.append(
            {
                "benchmark": "experiments: equal versions wrongly decided "
                "(worst scenario: any split, drift)",
                "rows": total,
                "product": f"{worst:.1%}",
                "baseline_value": f"{before:.1%}",
                "baseline": "the test replaced (bet on the arm of each success)",
                "ratio": round(before / worst, 2) if worst else 99.0,
                "target": f"< {EXPERIMENT_ALPHA:.0%} promoted, < {EXPERIMENT_ALPHA:.0%} "
                "demoted; none with an arm unobserved",
                "meets_target": all(s["meets_target"] for s in null),
            }
        )
    if differ:
        lowest = min(s["power"] for s in differ)
        out.append(
            {
                "benchmark": "experiments: a real difference found within the scenario "
                "(lowest power over base rates)",
                "rows": total,
                "product": f"{lowest:.0%}",
                "baseline_value": "-",
                "baseline": "(power: no baseline)",
                "ratio": 1.0,
                "target": f"the right direction (wrong < {EXPERIMENT_ALPHA:.0%})",
                "meets_target": all(s["meets_target"] for s in differ),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.experiments", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--scenario",
        action="append",
        type=Path,
        help="a scenario file (repeatable); default: every file in bench/scenarios/experiments/",
    )
    parser.add_argument("--runs", type=int, default=200, help="runs per scenario (200)")
    parser.add_argument("--json", type=Path, help="write every run's decisions here")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    paths = args.scenario or shipped()
    started = time.monotonic()
    results = [run_scenario(Scenario.load(p), args.runs, args.seed) for p in paths]
    result = {"alpha": EXPERIMENT_ALPHA, "runs": args.runs, "seed": args.seed}
    result["scenarios"] = results
    print(f"  experiments: {time.monotonic() - started:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    console = Console(width=180)
    for table in tables(result):
        console.print(table)
    return 0 if all(s["summary"]["meets_target"] for s in results) else 1


if __name__ == "__main__":
    sys.exit(main())
