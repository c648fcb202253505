from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import (
    backup,
    calibration,
    coaching,
    dashboards,
    efficacy,
    environment,
    experiments,
    export,
    firstrun,
    ingest,
    similar,
    soak,
    sweep,
    tenants,
)


def main() -> int:
    quick = os.environ.get("QUICK") not in (None, "", "0")
    console = Console(width=max(140, Console().width))
    out_dir = environment.ROOT / ".data" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    console.print("[bold]Preparing the benchmark database and tenant…")
    bench = environment.prepare()
    only = {name for name in os.environ.get("ONLY", "").split(",") if name}

    def wanted(group: str) -> bool:
        return not only or group in only

    results = []
    if wanted("firstrun"):
        console.print(
            "[bold]`make run` on a fresh clone: first start, second start, failed starts…"
        )
        results += firstrun.run(console)
    if wanted("ingest"):
        server = environment.Server(bench)
        try:
            console.print("[bold]Ingest as make run serves it, vs a plain DRF app and raw psycopg…")
            results += ingest.run(bench, server, quick)
        finally:
            server.stop()
    if wanted("sweep"):
        console.print("[bold]Sweep vs one SQL statement…")
        results += sweep.run(bench, quick)
    if wanted("dashboards"):
        console.print("[bold]Dashboards over a million outcomes…")
        results += dashboards.run(bench, quick)
    if wanted("export"):
        console.print("[bold]Exports of a million outcomes: streamed, in constant memory…")
        results += export.run(bench, quick)
    if wanted("calibration"):
        console.print("[bold]Calibration: contention, statistics, the loop through the API…")
        results += calibration.run(bench, quick)
    if wanted("similar"):
        console.print("[bold]Similar conversations over a million inbound messages…")
        results += similar.run(bench, quick)
    if wanted("backup"):
        console.print("[bold]One tenant backed up and restored, vs plain pg_dump/pg_restore…")
        results += backup.run(bench, quick)
    if wanted("tenants"):
        console.print("[bold]A thousand tenants: create, migrate, one beat hour, one web process…")
        results += tenants.run(bench, quick)
    learning = None
    if wanted("efficacy"):
        console.print("[bold]Learning efficacy against the truth, over many seeds…")
        learning = efficacy.run(5 if quick else 20)
        results += efficacy.rows(learning)
    patterns = None
    if wanted("coaching"):
        console.print("[bold]Coaching patterns on clustered traffic, simulated…")
        patterns = coaching.run(quick)
        results += coaching.rows(patterns)
    trials = None
    if wanted("experiments"):
        console.print("[bold]Randomised experiments, simulated…")
        trials = experiments.run(quick)
        results += experiments.rows(trials)

    table = Table(
        "benchmark",
        "rows",
        "product",
        "baseline value",
        "baseline",
        "ratio",
        "target",
        "ok",
        title="Learning Loop benchmarks (ratio: higher is better for the product)",
    )
    for r in results:
        table.add_row(
            r["benchmark"],
            f"{r['rows']:,}",
            r.get("product") or f"{r['product_rows_per_s']:,} rows/s",
            r.get("baseline_value") or f"{r['baseline_rows_per_s']:,} rows/s",
            r["baseline"],
            f"{r['ratio']:.2f}",
            r["target"],
            "yes" if r["meets_target"] else "NO",
        )
    console.print(table)
    if learning:
        console.print(efficacy.table(learning))
    if patterns:
        console.print(coaching.table(patterns))
    if trials:
        for part in experiments.tables(trials):
            console.print(part)
    for line in calibration.chart(results):
        console.print(line, highlight=False)
    load = _last_load(out_dir)
    if load:
        console.print(
            f"Last load test (`make load`, {load['users']} users, {load['seconds']} s): "
            f"{load['count']:,} requests, {load['failures']} failed, {load['rps']:.1f} req/s, "
            f"p50 {load['p50_ms']:.0f} ms, p95 {load['p95_ms']:.0f} ms, p99 {load['p99_ms']:.0f} ms",
            highlight=False,
        )
    if (soaked := soak.last(console, out_dir)) is not None:
        console.print(
            f"Last soak (`make soak`, {soaked['seconds']} s at {soaked['rate']:g} req/s): "
            f"{sum(c['ok'] for c in soaked['criteria'])} of {len(soaked['criteria'])} "
            "criteria met; chart in .data/bench/soak.png",
            highlight=False,
        )
    path = Path(
        out_dir / ("results.json" if not only else f"results-{'-'.join(sorted(only))}.json")
    )
    path.write_text(json.dumps({"quick": quick, "results": results, "load": load}, indent=2))
    console.print(f"Written to {path}")
    return 0


def _last_load(out_dir: Path) -> dict[str, Any] | None:
    """The totals of the last `make load` run, if any (it needs `make run`'s server, so
    `make bench` does not start it)."""
    path = out_dir / "results-load.json"
    if not path.exists():
        return None
    load = json.loads(path.read_text())
    total = next((r for r in load["results"] if r["request"] == "Aggregated"), None)
    if total is None:
        return None
    return {"users": load["users"], "seconds": load["seconds"], **total}


if __name__ == "__main__":
    sys.exit(main())
