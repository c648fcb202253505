"""Manager and executive dashboards over 1,000,000 outcomes and 200,000 feedback entries."""

from __future__ import annotations

from typing import Any

from bench.environment import BenchEnv, run_product


def run(bench: BenchEnv, quick: bool) -> list[dict[str, Any]]:
    outcomes, feedback = (100_000, 20_000) if quick else (1_000_000, 200_000)
    result = run_product(bench, "bench.dashboards_product", str(outcomes), str(feedback))
    rows = []
    for role in ("manager", "executive"):
        uncached, cached = result[f"{role}_uncached"], result[f"{role}_cached"]
        naive = result[f"{role}_naive"]
        rows.append(
            {
                "benchmark": f"{role} dashboard API, {outcomes:,} outcomes, {feedback:,} feedback",
                "rows": outcomes,
                "product": f"p95 {uncached['p95_ms']:.0f} ms (cached {cached['p95_ms']:.0f} ms)",
                "baseline_value": f"p95 {naive['p95_ms']:.0f} ms",
                "baseline": "naive aggregate over raw rows",
                "ratio": round(naive["p95_ms"] / uncached["p95_ms"], 2),
                "target": "p95 < 100 ms",
                "meets_target": uncached["p95_ms"] < 100,
                "details": {**result, "role": role},
            }
        )
    return rows
