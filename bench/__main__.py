from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import environment, ingest, sweep


def main() -> int:
    quick = os.environ.get("QUICK") not in (None, "", "0")
    console = Console()
    out_dir = environment.ROOT / ".data" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    console.print("[bold]Preparing the benchmark database and tenant…")
    bench = environment.prepare()
    results = []
    server = environment.Server(bench)
    try:
        console.print("[bold]Ingest through the ASGI server vs raw psycopg…")
        results += ingest.run(bench, server, quick)
    finally:
        server.stop()
    console.print("[bold]Sweep vs one SQL statement…")
    results += sweep.run(bench, quick)

    table = Table(
        "benchmark",
        "rows",
        "product rows/s",
        "baseline rows/s",
        "baseline",
        "ratio",
        "target",
        "ok",
        title="Learning Loop benchmarks (ratio = product / baseline throughput)",
    )
    for r in results:
        table.add_row(
            r["benchmark"],
            f"{r['rows']:,}",
            f"{r['product_rows_per_s']:,}",
            f"{r['baseline_rows_per_s']:,}",
            r["baseline"],
            f"{r['ratio']:.2f}",
            r["target"],
            "yes" if r["meets_target"] else "NO",
        )
    console.print(table)
    path = Path(out_dir / "results.json")
    path.write_text(json.dumps({"quick": quick, "results": results}, indent=2))
    console.print(f"Written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
