"""Exporting a million outcomes: `GET exports/outcomes.{csv,jsonl}` through the web server
as `make run` serves it, read to the end, while the server's resident memory is sampled;
against the export a user would write by hand, psql's COPY of the same columns to CSV.

The memory target is the point: the server's peak resident memory while it streams
must stay within a fixed margin of what it held before the request, whatever the size.
"""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.environment import BenchEnv, Server, run_product
from config.run import web_workers

MARGIN_MB = 64  # the most the server may grow while streaming, at any size
COPY_SQL = """
COPY (
  SELECT o.action_id, c.external_id, u.username, o.action_type, o.outcome_type,
         o.predicted_confidence, o.status, o.score, o.signal_source, o.resolution_reason,
         rb.username, o.occurred_at, o.window_expires_at, o.resolved_at,
         COALESCE((SELECT pv.version FROM calibration_policyversion pv
                    WHERE pv.action_type = o.action_type AND pv.valid_from <= o.occurred_at
                    ORDER BY pv.valid_from DESC, pv.version DESC LIMIT 1), 0),
         m.channel, m.subject, m.body, o.attributes
    FROM outcomes_outcomerecord o
    JOIN outcomes_conversation c ON c.id = o.conversation_id
    LEFT JOIN learning_user u ON u.id = o.rep_id
    LEFT JOIN learning_user rb ON rb.id = o.resolved_by_id
    LEFT JOIN outcomes_message m ON m.outcome_id = o.id
   ORDER BY o.occurred_at, o.id
) TO STDOUT WITH (FORMAT csv, HEADER)
"""


def rss_mb(pids: list[int]) -> float:
    """The resident memory of these processes together (the server's arbiter and its
    workers: whichever worker streams, its growth shows)."""
    total = 0.0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:  # a worker gone meanwhile
            continue
        total += next((int(x.split()[1]) / 1024 for x in lines if x.startswith("VmRSS:")), 0.0)
    return total


class Sampler:
    """The server's resident memory every 50 ms, while a request runs."""

    def __init__(self, server: Server) -> None:
        self.server, self.peak, self._stop = server, 0.0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.server.pids()))
            time.sleep(0.05)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self.thread.join()


def download(server: Server, path: str, token: str, progress: str = "") -> tuple[int, int, float]:
    """Bytes and lines of the body, and the seconds it took."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    start = time.perf_counter()
    connection.request("GET", server.api + path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    assert response.status == 200, response.read()[:300]
    size = lines = 0
    shown = 0
    while chunk := response.read(1 << 20):
        size += len(chunk)
        lines += chunk.count(b"\n")
        if progress and size - shown >= 50 << 20:
            shown = size
            print(f"  export: {progress} {size >> 20} MB", flush=True)
    connection.close()
    return size, lines, time.perf_counter() - start


def copy_baseline(bench: BenchEnv) -> tuple[int, float]:
    start = time.perf_counter()
    size = 0
    with psycopg.connect(bench.database_url) as conn:
        conn.execute(f"SET search_path TO {bench.schema}, public")
        with conn.cursor().copy(COPY_SQL) as copy:
            for chunk in copy:
                size += len(chunk)
    return size, time.perf_counter() - start


def run(bench: BenchEnv, quick: bool) -> list[dict[str, Any]]:
    outcomes = 100_000 if quick else 1_000_000
    token = run_product(bench, "bench.export_product", str(outcomes))["token"]
    server = Server(bench)
    rows = []
    try:
        # warm every worker (imports, caches), whichever one answers the measured request
        for _ in range(2 * web_workers()):
            for fmt in ("csv", "jsonl"):
                download(server, f"exports/outcomes.{fmt}?rep=nobody", token)
        size, baseline_seconds = copy_baseline(bench)
        print(f"  export: COPY baseline {size >> 20} MB in {baseline_seconds:.1f} s", flush=True)
        for fmt in ("csv", "jsonl"):
            before = rss_mb(server.pids())
            with Sampler(server) as sampler:
                size, lines, seconds = download(
                    server, f"exports/outcomes.{fmt}", token, progress=fmt
                )
            expected = outcomes + (1 if fmt == "csv" else 0)
            assert lines == expected, f"{fmt}: {lines} lines, expected {expected}"
            growth = sampler.peak - before
            product_rate = round(outcomes / seconds)
            baseline_rate = round(outcomes / baseline_seconds)
            rows.append(
                {
                    "benchmark": f"export {outcomes:,} outcomes as {fmt.upper()} "
                    f"({size >> 20} MB), server memory",
                    "rows": outcomes,
                    "product": f"{product_rate:,} rows/s, +{growth:.0f} MB peak",
                    "baseline_value": f"{baseline_rate:,} rows/s",
                    "baseline": "psql COPY of the same columns to CSV",
                    "ratio": round(product_rate / baseline_rate, 2),
                    "target": f"memory +< {MARGIN_MB} MB",
                    "meets_target": growth < MARGIN_MB,
                    "details": {
                        "bytes": size,
                        "seconds": round(seconds, 2),
                        "baseline_seconds": round(baseline_seconds, 2),
                        "rss_before_mb": round(before, 1),
                        "rss_peak_mb": round(sampler.peak, 1),
                    },
                }
            )
            print(
                f"  export: {fmt} {size >> 20} MB in {seconds:.1f} s, server "
                f"{before:.0f} MB -> peak {sampler.peak:.0f} MB",
                flush=True,
            )
        rows[-1]["details"]["abandoned_copy_cancelled"] = abandon(bench, server, token)
    finally:
        server.stop()
    return rows


def abandon(bench: BenchEnv, server: Server, token: str) -> bool:
    """A client that reads 1 MB and hangs up: its COPY must stop at once (cancelled), not
    run on to the end; the server then answers the next export as before."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.request(
        "GET", server.api + "exports/outcomes.csv", headers={"Authorization": f"Bearer {token}"}
    )
    connection.getresponse().read(1 << 20)
    connection.close()
    deadline = time.monotonic() + 10
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            running = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT%%' "
                "AND state = 'active' AND pid <> pg_backend_pid()"
            ).fetchone()
            if running and running[0] == 0:
                break
            time.sleep(0.2)
        else:
            return False
    size, _, _ = download(server, "exports/outcomes.csv?rep=export-rep-01", token)
    print(f"  export: an abandoned export stopped; the next one sent {size >> 10} kB", flush=True)
    return size > 0
