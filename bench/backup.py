"""One tenant backed up and restored (manage.py backup_tenant / restore_tenant) against what
an operator would type instead: plain `pg_dump --format=custom --schema` of the same schema
and plain `pg_restore --single-transaction` into a fresh database. The product adds the
row counts in the dump's snapshot, the public rows, a checksum and the tar (backup); the
checks, the checksum and the tenant rows (restore). Target: within 25 % of the plain tools.
"""

from __future__ import annotations

from typing import Any

from bench.environment import BenchEnv, run_product


def run(bench: BenchEnv, quick: bool) -> list[dict[str, Any]]:
    outcomes = 100_000 if quick else 1_000_000
    got = run_product(bench, "bench.backup_product", str(outcomes))
    rows = []
    for what, product, baseline, baseline_name in (
        (
            "backup_tenant",
            got["backup_seconds"],
            got["plain_dump_seconds"],
            "plain pg_dump -Fc --schema",
        ),
        (
            "restore_tenant (fresh database)",
            got["restore_seconds"],
            got["plain_restore_seconds"],
            "plain pg_restore --single-transaction",
        ),
    ):
        ratio = baseline / product if product else 0.0
        size = (
            f", {got['backup_bytes'] / 1e6:.1f} MB (plain {got['plain_dump_bytes'] / 1e6:.1f} MB)"
            if what == "backup_tenant"
            else ""
        )
        rows.append(
            {
                "benchmark": f"{what}: tenant of {outcomes:,} outcomes, {got['rows']:,} rows{size}",
                "rows": got["rows"],
                "product": f"{product:.2f} s",
                "baseline_value": f"{baseline:.2f} s",
                "baseline": baseline_name,
                "ratio": round(ratio, 2),
                "target": "ratio >= 0.80",
                "meets_target": ratio >= 0.8,
                "details": got,
            }
        )
    return rows
