"""A thousand tenants on one PostgreSQL: creating them, migrating them, one hour of beat's
schedule over them, and a web process serving them.

On the bench database, N tenants (TENANTS, default 1,000; QUICK 100) are created by
create_tenant (copied from the template), and 5 more with the template turned off
(migrated, the old way); one new migration is run over the N by django-tenants'
multiprocessing executor; one hour of every periodic job is fanned out to every tenant
and run by a real Celery worker (prefork, 2 processes), which records what it ran; a web
process serves each tenant twice. The bench tenants are dropped at the end (and at the
start, left over from an interrupted run).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import psycopg
import redis

from bench.environment import ROOT, BenchEnv, run_product

MODULE = "bench.tenants_product"
RAN = "llbench:tenants:ran"


def log(message: str) -> None:
    print(f"  tenants: {message}", file=sys.stderr, flush=True)


def run(bench: BenchEnv, quick: bool) -> list[dict[str, Any]]:
    count = int(os.environ.get("TENANTS") or (100 if quick else 1000))
    run_product(bench, MODULE, "drop")
    log(f"creating {count:,} tenants (and 5 migrated ones)")
    created = run_product(
        bench, MODULE, "create", str(count), os.environ.get("TENANTS_MIGRATED", "5")
    )
    try:
        with connections_peak(bench) as peak:
            migrated = run_product(bench, MODULE, "migrate")
        migrated["peak_connections"] = peak["connections"]
        hour = beat_hour(bench)
        log("a web process serving every tenant")
        web = run_product(bench, MODULE, "web")
    finally:
        log("dropping the bench tenants")
        run_product(bench, MODULE, "drop")
    return rows(count, created, migrated, hour, web)


def beat_hour(bench: BenchEnv) -> dict[str, Any]:
    store = redis.Redis.from_url(bench.env["REDIS_URL"])
    store.delete(RAN)
    before = database_counters(bench)
    worker = subprocess.Popen(
        [sys.executable, "-m", "bench.tenants_worker"],
        cwd=ROOT,
        env=bench.env,
        start_new_session=True,
    )
    with connections_peak(bench) as peak:
        return _beat_hour(bench, store, worker, before, peak)


def _beat_hour(
    bench: BenchEnv,
    store: redis.Redis,
    worker: subprocess.Popen[bytes],
    before: dict[str, float],
    peak: dict[str, int],
) -> dict[str, Any]:
    try:
        log("one hour of beat's jobs, fanned out to every tenant")
        sent = run_product(bench, MODULE, "hour")
        expected = Counter(key(*pair) for pair in sent["expected"])
        total = sum(expected.values())
        start = time.monotonic()
        seen, last_change, shown = 0, time.monotonic(), 0
        while seen < total and time.monotonic() - last_change < 120:
            time.sleep(1)
            now = store.llen(RAN)
            if now != seen:
                seen, last_change = now, time.monotonic()
            if seen * 10 // max(total, 1) > shown:
                shown = seen * 10 // max(total, 1)
                log(f"{seen:,}/{total:,} tasks run ({time.monotonic() - start:.0f} s)")
        seconds = time.monotonic() - start
        process = psutil.Process(worker.pid)
        tree = [process, *process.children(recursive=True)]
        worker_cpu = sum(p.cpu_times().user + p.cpu_times().system for p in tree)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    time.sleep(2)  # PostgreSQL publishes its statistics within a second
    after = database_counters(bench)
    records = [json.loads(raw) for raw in store.lrange(RAN, 0, -1)]
    store.delete(RAN)
    done = Counter(
        key(r["task"], r["kwargs"], r["schema"]) for r in records if r["state"] == "SUCCESS"
    )
    undone = expected - done
    by_task: Counter[str] = Counter()
    for r in records:
        by_task[r["task"]] += r["cpu"]
    return {
        "tenants": sent["tenants"],
        "tasks": total,
        "ran": sum(done.values()),
        "undone": sum(undone.values()),
        "undone_examples": [list(k) for k in list(undone)[:5]],
        "undone_by_task": dict(Counter(task for task, _, _ in undone.elements())),
        "slot_seconds": [round(s, 1) for s in sent["slot_seconds"]],
        "failed": sum(r["state"] != "SUCCESS" for r in records),
        "seconds": seconds,
        "task_cpu": sum(r["cpu"] for r in records),
        "task_wall": sum(r["wall"] for r in records),
        "worker_cpu": worker_cpu,
        "cpu_by_task": {k: round(v, 2) for k, v in by_task.most_common()},
        "db_active_ms": after["active_time"] - before["active_time"],
        "db_commits": after["xact_commit"] - before["xact_commit"],
        "db_blocks": (after["blks_hit"] + after["blks_read"])
        - (before["blks_hit"] + before["blks_read"]),
        "peak_connections": peak["connections"],
    }


def key(task: str, kwargs: dict[str, Any], schema: str) -> tuple[str, str, str]:
    return task, json.dumps(kwargs, sort_keys=True), schema


def database_counters(bench: BenchEnv) -> dict[str, float]:
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, blks_hit, blks_read, active_time FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return dict(zip(("xact_commit", "blks_hit", "blks_read", "active_time"), row, strict=True))


@contextmanager
def connections_peak(bench: BenchEnv) -> Iterator[dict[str, int]]:
    """The peak number of the bench database's connections (its pg_stat_activity polled
    every 0.1 s, the poller's own left out) while the block runs."""
    peak = {"connections": 0}
    stop = threading.Event()

    def poll() -> None:
        with psycopg.connect(bench.database_url, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                ).fetchone()
                peak["connections"] = max(peak["connections"], row[0] if row else 0)
                stop.wait(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        yield peak
    finally:
        stop.set()
        poller.join()


def rows(
    count: int,
    created: dict[str, Any],
    migrated: dict[str, Any],
    hour: dict[str, Any],
    web: dict[str, Any],
) -> list[dict[str, Any]]:
    cloned = sorted(created["cloned"])
    p50 = statistics.median(cloned)
    p95 = cloned[int(0.95 * (len(cloned) - 1))]
    slow = statistics.median(created["migrated"])
    cpu = statistics.median(created["cpu"])
    grown = created["database_bytes"] - created.get("database_bytes_before", 0)
    per_tenant_disk = grown / (count + len(created["migrated"]))
    per_tenant_migration = migrated["seconds"] / max(migrated["schemas"], 1)
    tenants = max(hour["tenants"], 1)
    cpu_per_tenant_hour = hour["worker_cpu"] / tenants
    db_per_tenant_hour = hour["db_active_ms"] / 1000 / tenants
    memory_per_tenant = (web["rss_after"] - web["rss_before"]) / max(web["tenants"], 1)
    return [
        {
            "benchmark": f"create_tenant x {count:,}: p50 (p95 {p95:.2f} s, total "
            f"{sum(cloned):.0f} s; CPU, client and PostgreSQL, {cpu:.3f} s; an empty tenant "
            f"{created['relations']} relations, {created['attributes']:,} columns, "
            f"{created['disk_bytes'] / 1024:.0f} KiB of tables, the database "
            f"+{per_tenant_disk / 1024:.0f} KiB)",
            "rows": count,
            "product": f"{p50:.3f} s copied",
            "baseline_value": f"{slow:.2f} s migrated",
            "baseline": "every migration run (median of 5)",
            "ratio": round(slow / p50, 2),
            "target": "<= 0.5 s",
            "meets_target": p50 <= 0.5,
        },
        {
            "benchmark": "create_tenant: CPU per tenant, this process and its PostgreSQL "
            "backend (the work itself, whatever the machine's load)",
            "rows": count,
            "product": f"{cpu:.3f} s CPU",
            "baseline_value": f"{p50:.3f} s wall",
            "baseline": "the wall time above",
            "ratio": round(p50 / cpu, 2),
            "target": "<= 0.5 s",
            "meets_target": cpu <= 0.5,
        },
        {
            "benchmark": f"migrate_schemas of one new migration over {migrated['schemas']:,} "
            f"tenants ({migrated['processes']} processes, peak "
            f"{migrated['peak_connections']} connections; total {migrated['seconds']:.0f} s)",
            "rows": migrated["schemas"],
            "product": f"{per_tenant_migration:.3f} s/tenant",
            "baseline_value": f"{migrated['migrated']:,} migrated",
            "baseline": "every tenant has the column",
            "ratio": round(migrated["migrated"] / max(migrated["schemas"], 1), 2),
            "target": "all tenants migrated",
            "meets_target": migrated["migrated"] == migrated["schemas"],
        },
        {
            "benchmark": f"beat hour over {hour['tenants']:,} tenants: {hour['tasks']:,} tasks, "
            f"worker CPU per tenant-hour (peak {hour['peak_connections']} connections, "
            f"{hour['seconds']:.0f} s wall)",
            "rows": hour["tasks"],
            "product": f"{cpu_per_tenant_hour:.3f} s CPU",
            "baseline_value": f"{db_per_tenant_hour:.3f} s DB",
            "baseline": "PostgreSQL active time per tenant-hour",
            "ratio": round(3600 / max(cpu_per_tenant_hour, 1e-9) / 1000, 2),
            "target": "undone 0 (ratio: thousands of tenants per worker core)",
            "meets_target": hour["undone"] == 0,
        },
        {
            "benchmark": "beat hour: the slowest of its twelve 5-minute slots, every job due "
            f"in it run for {hour['tenants']:,} tenants (slots: "
            f"{', '.join(f'{s:.0f}' for s in hour['slot_seconds'])} s)",
            "rows": hour["tasks"],
            "product": f"{max(hour['slot_seconds']):.0f} s",
            "baseline_value": "300 s",
            "baseline": "the slot's length",
            "ratio": round(300 / max(max(hour["slot_seconds"]), 1e-9), 2),
            "target": "< 300 s (else its tasks expire)",
            "meets_target": max(hour["slot_seconds"]) < 300,
        },
        {
            "benchmark": f"beat hour: jobs left undone of {hour['tasks']:,} (job, tenant) "
            f"pairs ({hour['failed']} failed)",
            "rows": hour["tasks"],
            "product": f"{hour['undone']} undone",
            "baseline_value": f"{hour['ran']:,} ran",
            "baseline": "the expected list",
            "ratio": round(hour["ran"] / max(hour["tasks"], 1), 3),
            "target": "undone 0",
            "meets_target": hour["undone"] == 0,
        },
        {
            "benchmark": f"web process serving {web['tenants']:,} tenants: memory per tenant "
            f"(rss {web['rss_before'] >> 20} -> {web['rss_after'] >> 20} MiB)",
            "rows": web["tenants"],
            "product": f"{memory_per_tenant / 1024:.1f} KiB/tenant",
            "baseline_value": f"{web['rss_before'] >> 20} MiB",
            "baseline": "the process before",
            "ratio": round(web["rss_before"] / max(web["rss_after"], 1), 3),
            "target": "<= 50 KiB per tenant",
            "meets_target": memory_per_tenant <= 50 * 1024 and web["statuses"] == [200],
        },
        {
            "benchmark": "web: a tenant's first request vs its second (p50)",
            "rows": web["tenants"],
            "product": f"{web['first_p50'] * 1000:.1f} ms first",
            "baseline_value": f"{web['second_p50'] * 1000:.1f} ms second",
            "baseline": "the same request again",
            "ratio": round(web["second_p50"] / web["first_p50"], 2),
            # what a person would not notice: a new tenant's first request loads that
            # schema's catalog into the connection (a few ms), once per connection
            "target": "first <= 20 ms",
            "meets_target": web["first_p50"] <= 0.020,
        },
    ]
