"""Coaching patterns on clustered traffic, simulated: how often runs report noise.

Actions come in conversations: a prospect's several actions share what makes that
prospect easy or hard (a latent log-odds effect per conversation), and multi-touch
attribution gives some conversations' actions one outcome together. Tests that count
actions as independent trials then report patterns in noise. Each scenario
(bench/scenarios/coaching/*.json) is simulated many times and every run goes through the
product's statistics as coaching.services calls them (coaching.stats.find: segments and
action types against the rest, escalation stages against the other stages, action types
against the improvement bar, one Benjamini-Hochberg family; coaching.stats.flagged_stages).
No database. Beside it, the rule it replaced on the same data: the same tests on the
counts alone (each action its own conversation) and an improvement area wherever the
point estimate is below the bar.

A scenario (JSON):
    name, description      one sentence
    days, actions_per_day  the run's actions (all decided, one outcome type)
    conversations.actions  [low, high]: actions per conversation, uniform
    prospect_effect_sd     sd of the conversation's shared latent log-odds effect
    shared_attribution     share of conversations whose actions all get one outcome
    segments               {dimension: [levels]}, assigned uniformly at random
    per_action             dimensions assigned per action (default ["action_type"]);
                           the others are assigned once per conversation
    base_rate              the marginal success rate (the latent effect integrated out)
    effects                planted: [{"dimension", "level", "odds_ratio"}]
    escalation_rate        optional: actions escalated (marginal), with their own latent
                           per-conversation effect (sd: escalation_sd, default
                           prospect_effect_sd); the stages are `deal_stage`
    min_group, q, bar      the product's settings (defaults 30, 0.1, 0.4)

What is true: assignments are independent across dimensions, so a level of a dimension
without a planted effect succeeds as often as the rest of it, and a discovery there is
false; a level of a dimension with one differs from its rest (its rest holds the planted
level, or it is the planted level). An action type is truly below the bar when its rate
pooled over every run of the scenario is. Escalation effects are never planted: any
flagged stage is noise.

    python -m bench.coaching                       # the shipped scenarios
    python -m bench.coaching --scenario FILE --runs 500 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.scenario import shipped as scenario_files
from coaching import stats

STRATUM = "deal_progression"
STAGES = "escalation_by_stage"  # coaching.services.STAGES (that module needs Django)
RUNS, QUICK_RUNS = 500, 100


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    days: int
    actions_per_day: int
    conversation_actions: tuple[int, int]
    prospect_effect_sd: float
    shared_attribution: float
    segments: dict[str, list[str]]
    per_action: tuple[str, ...]
    base_rate: float
    effects: list[dict[str, Any]] = field(default_factory=list)
    escalation_rate: float | None = None
    escalation_sd: float | None = None
    min_group: int = 30
    q: float = 0.1
    bar: float = 0.4

    @classmethod
    def load(cls, path: Path) -> Scenario:
        raw = json.loads(path.read_text())
        low, high = raw.get("conversations", {}).get("actions", [1, 1])
        return cls(
            name=raw["name"],
            description=raw.get("description", ""),
            days=int(raw["days"]),
            actions_per_day=int(raw["actions_per_day"]),
            conversation_actions=(int(low), int(high)),
            prospect_effect_sd=float(raw.get("prospect_effect_sd", 0.0)),
            shared_attribution=float(raw.get("shared_attribution", 0.0)),
            segments={k: list(v) for k, v in raw["segments"].items()},
            per_action=tuple(raw.get("per_action", ["action_type"])),
            base_rate=float(raw["base_rate"]),
            effects=list(raw.get("effects", [])),
            escalation_rate=raw.get("escalation_rate"),
            escalation_sd=raw.get("escalation_sd"),
            min_group=int(raw.get("min_group", 30)),
            q=float(raw.get("q", 0.1)),
            bar=float(raw.get("bar", 0.4)),
        )

    @property
    def planted(self) -> set[tuple[str, str]]:
        return {(e["dimension"], e["level"]) for e in self.effects}


# Gauss-Hermite nodes for E[f(u)], u ~ N(0, sd²): the intercept that makes the marginal
# rate the scenario's base rate once the latent effect is integrated out.
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(60)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _expit(x: Any) -> Any:
    return 1 / (1 + np.exp(-x))


def intercept(rate: float, sd: float) -> float:
    low, high = -20.0, 20.0
    for _ in range(100):
        mid = (low + high) / 2
        if float((_WEIGHTS * _expit(mid + sd * _NODES)).sum()) < rate:
            low = mid
        else:
            high = mid
    return (low + high) / 2


@dataclass
class Simulated:
    conversation: Any  # per action
    levels: dict[str, Any]  # dimension -> level per action
    success: Any
    escalated: Any | None


def simulate(scenario: Scenario, rng: np.random.Generator) -> Simulated:
    total = scenario.days * scenario.actions_per_day
    low, high = scenario.conversation_actions
    sizes = rng.integers(low, high + 1, size=total // max(low, 1) + 1)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), total)) + 1]
    conversations = len(sizes)
    conversation = np.repeat(np.arange(conversations), sizes)[:total]
    levels = {}
    for dimension, names in scenario.segments.items():
        choices = np.array(names)
        if dimension in scenario.per_action:
            levels[dimension] = choices[rng.integers(0, len(names), total)]
        else:
            levels[dimension] = choices[rng.integers(0, len(names), conversations)][conversation]
    sd = scenario.prospect_effect_sd
    logit = intercept(scenario.base_rate, sd) + rng.normal(0, sd, conversations)[conversation]
    for effect in scenario.effects:
        hit = levels[effect["dimension"]] == effect["level"]
        logit = logit + np.where(hit, math.log(effect["odds_ratio"]), 0.0)
    p = _expit(logit)
    draw = rng.random(total)
    # Shared attribution: one draw for the whole conversation, at its actions' mean rate.
    shared = (rng.random(conversations) < scenario.shared_attribution)[conversation]
    mean_p = (np.bincount(conversation, weights=p) / np.bincount(conversation))[conversation]
    one_draw = rng.random(conversations)[conversation]
    success = np.where(shared, one_draw < mean_p, draw < p).astype(int)
    escalated = None
    if scenario.escalation_rate is not None:
        sd_e = sd if scenario.escalation_sd is None else scenario.escalation_sd
        latent = rng.normal(0, sd_e, conversations)[conversation]
        q_escalate = _expit(intercept(scenario.escalation_rate, sd_e) + latent)
        escalated = (rng.random(total) < q_escalate).astype(int)
    return Simulated(conversation, levels, success, escalated)


def _cells(sim: Simulated, clustered: bool) -> tuple[list[stats.Cell], list[stats.Cell]]:
    cells: list[stats.Cell] = []
    for dimension, level in sim.levels.items():
        found = stats.clustered_cells(
            STRATUM, dimension, list(level), sim.conversation, sim.success
        )
        cells += found if clustered else [_counts_only(c) for c in found]
    stages: list[stats.Cell] = []
    if sim.escalated is not None and "deal_stage" in sim.levels:
        found = stats.clustered_cells(
            STAGES, "deal_stage", list(sim.levels["deal_stage"]), sim.conversation, sim.escalated
        )
        stages = found if clustered else [_counts_only(c) for c in found]
    return cells, stages


def _counts_only(cell: stats.Cell) -> stats.Cell:
    return stats.Cell(cell.stratum, cell.dimension, cell.level, cell.successes, cell.trials)


def analyse(scenario: Scenario, sim: Simulated) -> dict[str, Any]:
    """One run through the product's statistics, and through the replaced rule."""
    overall = float(sim.escalated.mean()) if sim.escalated is not None else 0.0
    out: dict[str, Any] = {}
    for name, clustered in (("product", True), ("before", False)):
        cells, stages = _cells(sim, clustered)
        found = stats.find(
            cells,
            stages,
            min_group=scenario.min_group,
            q=scenario.q,
            bar=scenario.bar if clustered else None,
        )
        if clustered:
            named = sorted({t.level for t, _ in found.below_bar})
        else:  # the point estimate below the bar, over enough actions
            named = sorted(
                c.level
                for c in cells
                if c.dimension == "action_type"
                and c.trials >= scenario.min_group
                and c.successes / c.trials < scenario.bar
            )
        out[name] = {
            "found": [(c.dimension, c.level) for c, _ in found.segments],
            "stage_flagged": bool(stats.flagged_stages(found.stages, overall)),
            "named": named,
            "design_effects": [c.design_effect for c, _ in found.segments],
        }
    out["rates"] = {
        str(level): (int(sim.success[sim.levels["action_type"] == level].sum()), int(n))
        for level, n in zip(*np.unique(sim.levels["action_type"], return_counts=True), strict=True)
    }
    return out


def summarise(scenario: Scenario, runs: list[dict[str, Any]]) -> dict[str, Any]:
    planted_dimensions = {d for d, _ in scenario.planted}
    pooled: dict[str, list[int]] = {}
    for r in runs:
        for level, (s, n) in r["rates"].items():
            sn = pooled.setdefault(level, [0, 0])
            sn[0] += s
            sn[1] += n
    truly_below = {level for level, (s, n) in pooled.items() if s / n < scenario.bar}
    result: dict[str, Any] = {
        "scenario": scenario.name,
        "description": scenario.description,
        "runs": len(runs),
        "actions": scenario.days * scenario.actions_per_day,
        "planted": sorted(f"{d}={level}" for d, level in scenario.planted),
        "escalations": scenario.escalation_rate is not None,
        "q": scenario.q,
        "type_rates": {k: s / n for k, (s, n) in sorted(pooled.items())},
    }
    for name in ("product", "before"):
        found = [r[name]["found"] for r in runs]
        false_share = [
            sum(d not in planted_dimensions for d, _ in f) / len(f) if f else 0.0 for f in found
        ]
        metrics: dict[str, Any] = {
            "any_pattern": sum(bool(f) for f in found) / len(runs),
            "false_discovery": float(np.mean(false_share)),
            "any_false": sum(any(d not in planted_dimensions for d, _ in f) for f in found)
            / len(runs),
            "stage_flagged": sum(r[name]["stage_flagged"] for r in runs) / len(runs),
            "false_improvement": sum(
                any(level not in truly_below for level in r[name]["named"]) for r in runs
            )
            / len(runs),
        }
        if scenario.planted:
            metrics["power"] = float(
                np.mean([len(scenario.planted & set(f)) / len(scenario.planted) for f in found])
            )
        deffs = [d for r in runs for d in r[name]["design_effects"]]
        metrics["median_design_effect"] = float(np.median(deffs)) if deffs else None
        result[name] = metrics
    return result


def run_scenario(scenario: Scenario, runs: int, seed: int = 2026) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    done = []
    for k in range(runs):
        done.append(analyse(scenario, simulate(scenario, rng)))
        if (k + 1) % 50 == 0 or k + 1 == runs:
            print(f"  coaching: {scenario.name}: run {k + 1}/{runs}", file=sys.stderr, flush=True)
    return summarise(scenario, done)


def shipped() -> list[Path]:
    return scenario_files("coaching")


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Every shipped scenario (for `make bench`)."""
    runs = QUICK_RUNS if quick else RUNS
    return [run_scenario(Scenario.load(path), runs) for path in shipped()]


def checks(result: dict[str, Any]) -> list[tuple[str, str, float, float, bool]]:
    """(what, target, product, before, met) for the scenario's targets: on data with no
    effect anywhere the share of runs reporting any pattern, on data with planted effects
    the false-discovery share (and power, reported), and in every scenario the share of
    runs naming a false improvement area and, when stages escalate, flagging a stage."""
    q, product, before = result["q"], result["product"], result["before"]
    out = []
    if result["planted"]:
        out.append(
            (
                "false-discovery share",
                f"<= {q:.0%}",
                product["false_discovery"],
                before["false_discovery"],
                product["false_discovery"] <= q,
            )
        )
        out.append(("power", ">= 80%", product["power"], before["power"], product["power"] >= 0.8))
    else:
        out.append(
            (
                "runs reporting any pattern",
                f"<= {q:.0%}",
                product["any_pattern"],
                before["any_pattern"],
                product["any_pattern"] <= q,
            )
        )
    if result["escalations"]:
        out.append(
            (
                "runs flagging an escalation stage",
                f"<= {q:.0%}",
                product["stage_flagged"],
                before["stage_flagged"],
                product["stage_flagged"] <= q,
            )
        )
    out.append(
        (
            "runs naming a false improvement area",
            f"<= {q:.0%}",
            product["false_improvement"],
            before["false_improvement"],
            product["false_improvement"] <= q,
        )
    )
    return out


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per scenario and target for `make bench`'s summary table."""
    out = []
    for result in results:
        for what, target, product, before, met in checks(result):
            power = what == "power"
            ratio = (product / before if before else 99.0) if power else None
            if ratio is None:
                ratio = before / product if product else (99.0 if before else 1.0)
            out.append(
                {
                    "benchmark": f"coaching: {result['scenario']}: {what}",
                    "rows": result["runs"] * result["actions"],
                    "product": f"{product:.1%}",
                    "baseline_value": f"{before:.1%}",
                    "baseline": "actions as independent trials, bar on the point estimate",
                    "ratio": round(ratio, 2),
                    "target": target,
                    "meets_target": met,
                    "misses": [] if met else [f"{what} {product:.1%} (target {target})"],
                }
            )
    return out


def table(results: list[dict[str, Any]]) -> Table:
    out = Table(
        "scenario",
        "runs",
        "any pattern",
        "false-discovery share",
        "power",
        "stage flagged",
        "false improvement area",
        "median D",
        "ok",
        title="Coaching on simulated conversations: product (before: actions as independent "
        "trials, improvement bar on the point estimate)",
    )

    def pair(result: dict[str, Any], key: str) -> str:
        product, before = result["product"].get(key), result["before"].get(key)
        if product is None:
            return "-"
        return f"{product:.1%} ({before:.1%})"

    for result in results:
        misses = [what for what, _, _, _, met in checks(result) if not met]
        deff = result["product"]["median_design_effect"]
        out.add_row(
            result["scenario"],
            f"{result['runs']:,}",
            pair(result, "any_pattern"),
            pair(result, "false_discovery") if result["planted"] else "-",
            pair(result, "power"),
            pair(result, "stage_flagged") if result["escalations"] else "-",
            pair(result, "false_improvement"),
            f"{deff:.2f}" if deff else "-",
            "yes" if not misses else "NO: " + "; ".join(misses),
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, action="append", help="A scenario file.")
    parser.add_argument("--runs", type=int, default=RUNS, help="Simulated runs per scenario.")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, help="Write the results here.")
    args = parser.parse_args(argv)
    paths = args.scenario or shipped()
    results = [run_scenario(Scenario.load(p), args.runs, args.seed) for p in paths]
    Console(width=200).print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "rows": rows(results)}, indent=2))
    return 0 if all(r["meets_target"] for r in rows(results)) else 1


if __name__ == "__main__":
    sys.exit(main())
