"""Randomised experiments, simulated: how often the two-arm test promotes or demotes one of
two equally good versions when it is checked after every use, and how soon it decides a
real difference. Next to it, the rule it replaced: the entry alone against a baseline rate
estimated once from N uses and then taken as exact. No database: coaching.stats.ArmTest
and the product's floors, as coaching.experiments uses them.

Run alone: `python -m bench.experiments`; `make bench` includes it.
"""

from __future__ import annotations

import math
import statistics
import sys
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.special import betaln

from coaching.stats import DEMOTE_AFTER, EXPERIMENT_ALPHA, PROMOTE_AFTER, ArmTest

BASELINES = (0.1, 0.3, 0.5, 0.7, 0.9)
LIMIT = 1_000  # uses monitored, one check after each


def randomised(rng: np.random.Generator, control: float, treatment: float) -> tuple[str, int]:
    test = ArmTest()
    arms = rng.random(LIMIT) < 0.5
    draws = rng.random(LIMIT)
    for n in range(1, LIMIT + 1):
        arm = bool(arms[n - 1])
        test.observe(treatment=arm, success=bool(draws[n - 1] < (treatment if arm else control)))
        decision = test.decision(EXPERIMENT_ALPHA)
        if decision is not None:
            return decision, n
    return "running", LIMIT


def before(rng: np.random.Generator, rate: float, baseline_uses: int) -> str:
    """The replaced rule: a Bayes factor of the entry's uses against a baseline estimated
    from `baseline_uses` uses and treated as known (promote at 20 after 10 uses, demote
    after 20)."""
    estimate = min(max(rng.binomial(baseline_uses, rate) / baseline_uses, 1e-6), 1 - 1e-6)
    a, b = 2 * estimate, 2 * (1 - estimate)
    successes = np.cumsum(rng.random(LIMIT) < rate)
    threshold = math.log(1 / EXPERIMENT_ALPHA)
    for n in range(1, LIMIT + 1):
        s = int(successes[n - 1])
        f = n - s
        log_bf = (
            betaln(a + s, b + f)
            - betaln(a, b)
            - s * math.log(estimate)
            - f * math.log(1 - estimate)
        )
        if log_bf >= threshold:
            if s / n > estimate and n >= PROMOTE_AFTER:
                return "promoted"
            if s / n < estimate and n >= DEMOTE_AFTER:
                return "demoted"
    return "running"


def run(quick: bool = False) -> dict[str, Any]:
    rng = np.random.default_rng(2026)
    runs = 100 if quick else 400
    null, power, old = [], [], []
    for baseline in BASELINES:
        outcomes = [randomised(rng, baseline, baseline) for _ in range(runs)]
        null.append(
            {
                "baseline": baseline,
                "runs": runs,
                "false_promotion": sum(s == "promoted" for s, _ in outcomes) / runs,
                "false_demotion": sum(s == "demoted" for s, _ in outcomes) / runs,
            }
        )
        for lift in (0.1, 0.2):
            if baseline + lift > 1:
                continue
            tried = [randomised(rng, baseline, baseline + lift) for _ in range(runs // 2)]
            won = [n for s, n in tried if s == "promoted"]
            power.append(
                {
                    "baseline": baseline,
                    "lift": lift,
                    "promoted": len(won) / len(tried),
                    "wrongly_demoted": sum(s == "demoted" for s, _ in tried) / len(tried),
                    "median_uses": statistics.median(won) if won else None,
                }
            )
        for size in (30, 100, 1_000):
            decided = [before(rng, baseline, size) for _ in range(runs // 4)]
            old.append(
                {
                    "baseline": baseline,
                    "baseline_uses": size,
                    "false_promotion": decided.count("promoted") / len(decided),
                    "false_demotion": decided.count("demoted") / len(decided),
                }
            )
        print(f"  experiments: baseline {baseline}", file=sys.stderr, flush=True)
    return {"null": null, "power": power, "before": old}


def tables(result: dict[str, Any]) -> list[Table]:
    null = Table(
        "approval rate of both versions",
        "runs",
        "falsely promoted",
        "falsely demoted",
        "before: falsely promoted (baseline from 30 / 100 / 1,000 uses)",
        "before: falsely demoted (30 / 100 / 1,000)",
        title=f"Equal versions, checked after every use up to {LIMIT:,} uses "
        f"(target: under {EXPERIMENT_ALPHA:.0%} each)",
    )
    for row in result["null"]:
        old = [r for r in result["before"] if r["baseline"] == row["baseline"]]
        null.add_row(
            f"{row['baseline']:.0%}",
            f"{row['runs']:,}",
            f"{row['false_promotion']:.1%}",
            f"{row['false_demotion']:.1%}",
            " / ".join(f"{r['false_promotion']:.0%}" for r in old),
            " / ".join(f"{r['false_demotion']:.0%}" for r in old),
        )
    power = Table(
        "previous version",
        "new version",
        "promoted within 1,000 uses",
        "wrongly demoted",
        "median uses to promotion",
        title="A better new version: how soon the randomised test promotes it",
    )
    for row in result["power"]:
        power.add_row(
            f"{row['baseline']:.0%}",
            f"{row['baseline'] + row['lift']:.0%} (+{row['lift'] * 100:.0f} points)",
            f"{row['promoted']:.0%}",
            f"{row['wrongly_demoted']:.1%}",
            f"{row['median_uses']:,.0f}" if row["median_uses"] else "-",
        )
    return [null, power]


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    worst = max(max(r["false_promotion"], r["false_demotion"]) for r in result["null"])
    return [
        {
            "benchmark": "experiments: equal versions wrongly decided (worst baseline)",
            "rows": sum(r["runs"] for r in result["null"]) * LIMIT,
            "product": f"{worst:.1%}",
            "baseline_value": f"{EXPERIMENT_ALPHA:.0%}",
            "baseline": "the promised error rate",
            "ratio": round(EXPERIMENT_ALPHA / worst, 2) if worst else 99.0,
            "target": "< 5 % promoted, < 5 % demoted",
            "meets_target": worst < EXPERIMENT_ALPHA,
        }
    ]


if __name__ == "__main__":
    out = run()
    console = Console(width=160)
    for table in tables(out):
        console.print(table)
