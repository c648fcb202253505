"""Sweep of many pending outcomes vs one equivalent set-based SQL statement."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench.environment import BenchEnv, run_product

OUTCOME_COLUMNS = (
    "action_id",
    "conversation_id",
    "action_type",
    "predicted_confidence",
    "outcome_type",
    "attributes",
    "occurred_at",
    "window_expires_at",
    "status",
    "signal_source",
    "resolution_reason",
    "label_comment",
    "created_at",
)

# The sweep's work as one statement: decide every pending outcome past its window.
BASELINE = """
UPDATE {schema}.outcomes_outcomerecord o
   SET status = CASE
         WHEN EXISTS (SELECT 1 FROM {schema}.outcomes_signal s
                       WHERE s.action_id = o.action_id AND s.kind IN ('replied', 'clicked'))
           THEN 'positive'
         WHEN EXISTS (SELECT 1 FROM {schema}.outcomes_signal s
                       WHERE s.action_id = o.action_id AND s.kind IN ('bounced', 'unsubscribed'))
           THEN 'negative'
         ELSE 'expired' END,
       signal_source = 'automatic', resolved_at = now()
 WHERE status = 'pending' AND window_expires_at <= now()
"""


def populate(bench: BenchEnv, total: int, with_signals: float) -> None:
    schema = bench.schema
    start = datetime.now(UTC) - timedelta(days=20)
    with psycopg.connect(bench.database_url) as conn:
        conn.execute(
            f"TRUNCATE {schema}.outcomes_signal, {schema}.outcomes_outcomerecord, "
            f"{schema}.outcomes_conversation CASCADE"
        )
        conn.execute(
            f"INSERT INTO {schema}.outcomes_conversation (external_id, deal_stage, created_at) "
            "SELECT 'sweep-conv-' || g, '', now() FROM generate_series(0, 9999) g"
        )
        first = conn.execute(f"SELECT min(id) FROM {schema}.outcomes_conversation").fetchone()[0]
        with (
            conn.cursor() as cursor,
            cursor.copy(
                f"COPY {schema}.outcomes_outcomerecord ({', '.join(OUTCOME_COLUMNS)}) FROM STDIN"
            ) as copy,
        ):
            for i in range(total):
                occurred = start + timedelta(seconds=i)
                copy.write_row(
                    (
                        f"sweep-{i}",
                        first + i % 10_000,
                        "send_email",
                        (i % 100) / 100,
                        "email_engagement",
                        "{}",
                        occurred,
                        occurred + timedelta(days=7),
                        "pending",
                        "",
                        "",
                        "",
                        occurred,
                    )
                )
        every = round(1 / with_signals)
        with (
            conn.cursor() as cursor,
            cursor.copy(
                f"COPY {schema}.outcomes_signal (conversation_id, action_id, kind, occurred_at, data, "
                "received_at) FROM STDIN"
            ) as copy,
        ):
            for i in range(0, total, every):
                occurred = start + timedelta(seconds=i, hours=3)
                copy.write_row(
                    (
                        first + i % 10_000,
                        f"sweep-{i}",
                        "replied" if i % (every * 4) else "bounced",
                        occurred,
                        "{}",
                        occurred,
                    )
                )
        conn.commit()
    vacuum(bench)


def vacuum(bench: BenchEnv) -> None:
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {bench.schema}.outcomes_outcomerecord")
        conn.execute(f"VACUUM ANALYZE {bench.schema}.outcomes_signal")


def reset(bench: BenchEnv) -> None:
    with psycopg.connect(bench.database_url) as conn:
        conn.execute(
            f"UPDATE {bench.schema}.outcomes_outcomerecord SET status = 'pending', "
            "signal_source = '', resolution_reason = '', resolved_at = NULL, score = NULL"
        )
        conn.commit()
    vacuum(bench)


def baseline(bench: BenchEnv) -> tuple[float, int]:
    with psycopg.connect(bench.database_url) as conn:
        start = time.perf_counter()
        cursor = conn.execute(BASELINE.format(schema=bench.schema))
        conn.commit()
        return time.perf_counter() - start, cursor.rowcount


def product(bench: BenchEnv) -> tuple[float, int]:
    """The product's expiry sweep, run in its own process as a worker would run it."""
    result = run_product(bench, "bench.sweep_product")
    return result["seconds"], result["resolved"]


def run(bench: BenchEnv, quick: bool) -> list[dict[str, Any]]:
    total = 100_000 if quick else 1_000_000
    populate(bench, total, with_signals=0.10)
    raw_seconds, raw_rows = baseline(bench)
    reset(bench)
    product_seconds, product_rows = product(bench)
    assert raw_rows == product_rows == total, (raw_rows, product_rows, total)
    return [
        {
            "benchmark": f"sweep of {total:,} pending, 10 % with signals",
            "rows": total,
            "product_seconds": round(product_seconds, 3),
            "baseline_seconds": round(raw_seconds, 3),
            "product_rows_per_s": round(total / product_seconds),
            "baseline_rows_per_s": round(total / raw_seconds),
            "ratio": round(raw_seconds / product_seconds, 3),
            "baseline": "one UPDATE statement",
            "target": "within 2x (ratio >= 0.5)",
            "meets_target": raw_seconds / product_seconds >= 0.5,
        }
    ]
