"""Calibration benchmarks: bin updates under contention vs raw UPDATEs, the statistics on
10^7 samples vs scikit-learn, and the learning efficacy of the calibration loop."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import psycopg

from bench.environment import BenchEnv, run_product

WRITERS = 32
RAW_BINS = "bench_raw.calibration_bins"


def raw_updates(bench: BenchEnv, writers: int, total: int) -> tuple[float, int]:
    """`UPDATE bins SET n = n + 1, …` per resolution, autocommit, `writers` connections."""
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench_raw")
        conn.execute(f"DROP TABLE IF EXISTS {RAW_BINS}")
        conn.execute(
            f"CREATE TABLE {RAW_BINS} (LIKE {bench.schema}.calibration_calibrationbin "
            "INCLUDING ALL)"
        )
        conn.execute(
            f"INSERT INTO {RAW_BINS} (action_type, bin_index, n, sum_y, sum_p, sum_p2, sum_py, "
            "updated_at) SELECT 'contention', k, 0, 0, 0, 0, 0, now() FROM generate_series(0, 9) k"
        )
    barrier = threading.Barrier(writers + 1)

    def writer(w: int) -> None:
        with psycopg.connect(bench.database_url, autocommit=True) as conn:
            barrier.wait()
            for i in range(w, total, writers):
                p, y = (i % 10) / 10 + 0.05, float(i % 3 != 0)
                conn.execute(
                    f"UPDATE {RAW_BINS} SET n = n + 1, sum_y = sum_y + %s, sum_p = sum_p + %s, "
                    "sum_p2 = sum_p2 + %s, sum_py = sum_py + %s, updated_at = now() "
                    "WHERE action_type = 'contention' AND bin_index = %s",
                    [y, p, p * p, p * y, i % 10],
                )

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    with psycopg.connect(bench.database_url) as conn:
        counted = conn.execute(f"SELECT sum(n) FROM {RAW_BINS}").fetchone()[0]
    return seconds, int(counted)


def contention(bench: BenchEnv, quick: bool) -> dict[str, Any]:
    total = 4_000 if quick else 20_000
    raw_seconds, raw_count = raw_updates(bench, WRITERS, total)
    result = run_product(bench, "bench.contention_product", str(WRITERS), str(total))
    assert raw_count == total, (raw_count, total)
    exact = result["bin_total"] == total and result["per_bin_ok"]
    ratio = raw_seconds / result["seconds"]
    return {
        "benchmark": f"bin updates, {WRITERS} writers, same 10 bins",
        "rows": total,
        "product_rows_per_s": round(total / result["seconds"]),
        "baseline_rows_per_s": round(total / raw_seconds),
        "baseline": "raw UPDATE n = n + 1",
        "ratio": round(ratio, 3),
        "target": ">= 0.70, counts exact",
        "meets_target": ratio >= 0.7 and exact,
        "counts_exact": exact,
    }


def math(quick: bool) -> dict[str, Any]:
    """Brier score, calibration curve and ECE of 10^7 samples: ours vs scikit-learn."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    from calibration import stats

    n = 1_000_000 if quick else 10_000_000
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, n)
    y = (rng.uniform(0, 1, n) < 0.7 * p + 0.1).astype(float)

    def ours() -> tuple[float, np.ndarray, float]:
        sums = stats.BinSums.from_samples(p, y)
        curve = [b for b in stats.calibration_curve(sums) if b.count]
        return (
            stats.brier_score(sums),
            np.array([b.actual_rate for b in curve]),
            stats.expected_calibration_error(sums),
        )

    def reference() -> tuple[float, np.ndarray, float]:
        prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
        counts = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], p), minlength=10)
        counts = counts[counts > 0]
        ece = float(np.sum(counts * np.abs(prob_true - prob_pred)) / n)
        return brier_score_loss(y, p), prob_true, ece

    def best_of(fn: Any) -> tuple[float, Any]:
        times, result = [], None
        for _ in range(3):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        return min(times), result

    ours_s, (brier, rates, ece) = best_of(ours)
    ref_s, (ref_brier, ref_rates, ref_ece) = best_of(reference)
    equal = (
        abs(brier - ref_brier) < 1e-9
        and np.allclose(rates, ref_rates, rtol=0, atol=1e-9)
        and abs(ece - ref_ece) < 1e-9
    )
    return {
        "benchmark": f"Brier, curve and ECE of {n:,} samples",
        "rows": n,
        "product_rows_per_s": round(n / ours_s),
        "baseline_rows_per_s": round(n / ref_s),
        "baseline": "scikit-learn",
        "ratio": round(ref_s / ours_s, 3),
        "target": "equal results, faster (> 1)",
        "meets_target": equal and ours_s < ref_s,
        "equal_results": equal,
    }


def efficacy(bench: BenchEnv, quick: bool) -> list[dict[str, Any]]:
    """The calibration loop end to end through the API (bench/efficacy_product.py), one
    seed: scored by the true error (bench/efficacy.py does many seeds without HTTP)."""
    total = 1_000 if quick else 5_000
    runs = run_product(bench, "bench.efficacy_product", bench.agent_key, str(total))
    rows = []
    for run_ in runs:
        ours, offline = run_["true_error_product"], run_["true_error_isotonic"]
        rows.append(
            {
                "benchmark": f"the loop through the API: {run_['action_type']} (true error)",
                "rows": run_["outcomes"],
                "product": f"{ours:.4f}",
                "baseline_value": f"{offline:.4f}",
                "baseline": "offline isotonic (hindsight)",
                "ratio": round(offline / ours, 3),
                "target": "<= 1.2x offline, no flips",
                "meets_target": ours <= 1.2 * offline and run_["sign_flips_after_2000"] == 0,
                "details": run_,
            }
        )
    return rows


def chart(results: list[dict[str, Any]]) -> list[str]:
    """ECE of the raw and of the calibrated confidence over the last 1,000 outcomes, at each
    checkpoint, as bars."""
    lines = []
    for row in results:
        details = row.get("details")
        if not details or "checkpoints" not in details:
            continue
        lines.append(
            f"{details['action_type']}: ECE over the last 1,000 outcomes "
            f"(raw ░, calibrated █; hold-out raw {details['holdout_ece_raw']:.3f})"
        )
        for point in details["checkpoints"][3::4]:
            raw_bar = "░" * round(point["ece_raw_last_1000"] * 200)
            cal_bar = "█" * round(point["ece_calibrated_last_1000"] * 200)
            lines.append(
                f"  {point['outcomes']:>6,}  scale {point['scale']:.2f}  "
                f"raw {point['ece_raw_last_1000']:.3f} {raw_bar}"
            )
            lines.append(
                f"  {'':>6}  {'':>10}  cal {point['ece_calibrated_last_1000']:.3f} {cal_bar}"
            )
    return lines


def run(bench: BenchEnv, quick: bool) -> list[dict[str, Any]]:
    return [contention(bench, quick), math(quick), *efficacy(bench, quick)]
