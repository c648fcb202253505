"""Rep, manager and executive dashboards over a big tenant: SIZE outcomes (1,000,000 by
default, 100,000 with QUICK) and SIZE / 5 feedback entries; SIZES=1000000,10000000 runs
each size in turn (a fill already of that size is reused)."""

from __future__ import annotations

import os
from typing import Any

from bench.environment import BenchEnv, run_product

ROLES = ("rep", "manager", "executive")


def target_ms(outcomes: int) -> int:
    """The uncached p95 each view must stay under: 100 ms up to 1,000,000 outcomes,
    150 ms beyond (10,000,000)."""
    return 100 if outcomes <= 1_000_000 else 150


def sizes(quick: bool) -> list[int]:
    raw = os.environ.get("SIZES") or os.environ.get("SIZE") or ""
    given = [int(part.replace("_", "")) for part in raw.split(",") if part.strip()]
    return given or [100_000 if quick else 1_000_000]


def run(bench: BenchEnv, quick: bool) -> list[dict[str, Any]]:
    rows = []
    for outcomes in sizes(quick):
        feedback = outcomes // 5
        result = run_product(bench, "bench.dashboards_product", str(outcomes), str(feedback))
        target = target_ms(outcomes)
        for role in ROLES:
            uncached, cached = result[f"{role}_uncached"], result[f"{role}_cached"]
            naive = result[f"{role}_naive"]
            rows.append(
                {
                    "benchmark": f"{role} dashboard API, {outcomes:,} outcomes, "
                    f"{feedback:,} feedback",
                    "rows": outcomes,
                    "product": f"p50 {uncached['p50_ms']:.0f} / p95 {uncached['p95_ms']:.0f} ms "
                    f"(cached p95 {cached['p95_ms']:.1f} ms)",
                    "baseline_value": f"p95 {naive['p95_ms']:.0f} ms",
                    "baseline": "naive aggregate over raw rows",
                    "ratio": round(naive["p95_ms"] / uncached["p95_ms"], 2),
                    "target": f"p95 <= {target} ms",
                    "meets_target": uncached["p95_ms"] <= target,
                    "details": {**result, "role": role},
                }
            )
    return rows
