"""Similar conversations and the proposals' check over 1,000,000 inbound messages, through
pg_trgm's GIN index (bench/similar_product.py), against the same query in raw SQL."""

from __future__ import annotations

from typing import Any

from bench.environment import BenchEnv, run_product


def run(bench: BenchEnv, quick: bool) -> list[dict[str, Any]]:
    messages = 100_000 if quick else 1_000_000
    result = run_product(bench, "bench.similar_product", str(messages))
    base = result["baseline"]
    rows = []
    for who in ("executive", "rep"):
        product = result[who]
        rows.append(
            {
                "benchmark": f"similar conversations ({who}), {messages:,} inbound messages",
                "rows": messages,
                "product": f"p50 {product['p50_ms']:.0f} ms, p95 {product['p95_ms']:.0f} ms",
                "baseline_value": f"p50 {base['p50_ms']:.0f} ms, p95 {base['p95_ms']:.0f} ms",
                "baseline": "one raw SQL statement, same index"
                + (
                    f" (no index: {result['seqscan_one_ms']:,} ms)"
                    if result["seqscan_one_ms"]
                    else ""
                ),
                "ratio": round(base["p95_ms"] / product["p95_ms"], 2),
                "target": "p95 < 300 ms, index used",
                "meets_target": product["p95_ms"] < 300 and result["index_used"],
                "details": {k: v for k, v in result.items() if k != "explain"},
            }
        )
    check = result["proposal_check"]
    rows.append(
        {
            "benchmark": f"a proposal's check (5 replies), {messages:,} inbound messages",
            "rows": messages,
            "product": f"p50 {check['p50_ms']:.0f} ms, p95 {check['p95_ms']:.0f} ms",
            "baseline_value": f"index built in {result['index_build_s']} s, "
            f"{result['index_mb']} MB",
            "baseline": "(the index's cost)",
            "ratio": 1.0,
            "target": "p95 < 1 s",
            "meets_target": check["p95_ms"] < 1000,
            "details": {"explain": result["explain"]},
        }
    )
    return rows
