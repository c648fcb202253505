"""The soak: `make soak`, an hour of steady load against the server `make run` is running.

Locust (headless, bench/soakfile.py) offers a constant arrival rate (LOAD_RATE requests/s,
default 20, from LOAD_USERS users, by default 3 per request/s, each at LOAD_RATE/LOAD_USERS:
nine in ten the agent, one in ten managers) for LOAD_SECONDS (default 3600), while
`make run`'s worker and beat run and the expiry sweep falls due (a fifth of the actions are
back-dated so their windows end during the soak). Every LOAD_INTERVAL seconds (300, or a tenth of a shorter run) it
prints the interval: throughput and p95 (overall and per request type), resident memory of
every process of `make run` (and of its PostgreSQL backends), Celery queue depth, and the
outcomes waiting and resolved. At the end: a final expiry sweep, the counts checked
against the tenant, the pass criteria, .data/bench/results-soak.json and a chart,
.data/bench/soak.png. `make bench` prints the last soak's summary.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.load import _manager_token

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".data" / "bench"
SAMPLE_SECONDS = 5.0
QUEUE_DRAIN_SECONDS = 60  # the queues must be empty this soon after the load stops
SWEEP_WAIT_SECONDS = 180  # the final sweep must have settled every due outcome by then
# Flat: throughput of every interval 2..n within ±10 % of their median (the offered rate
# is constant); p95: the median of the last 3 intervals within +50 % of the median of the
# intervals before them, 2..n-3 (a shared machine: other work moves p95 by tens of %); RSS of each process: the highest of the last 3
# intervals within +10 % or +20 MB (the larger) of interval 2's.
THROUGHPUT_BAND = 0.10
P95_BAND = 0.50
RSS_GROWTH = (0.10, 20.0)
BLOCKS = "▁▂▃▄▅▆▇█"


# -- the processes of `make run` -------------------------------------------------------


def _run_pid() -> int:
    path = ROOT / ".data" / "web-url.json"
    if not path.exists():
        raise SystemExit(f"No {path}: start `make run` first (in this checkout).")
    return int(json.loads(path.read_text())["pid"])


def _label(proc: Any, parent_label: str) -> str:
    cmd = " ".join(proc.cmdline())
    if "gunicorn" in cmd:
        return "web worker" if parent_label == "web (gunicorn master)" else "web (gunicorn master)"
    if "uvicorn" in cmd:
        return "websockets (uvicorn)"
    if "celery" in cmd and " beat" in cmd:
        return "celery beat"
    if "celery" in cmd and " worker" in cmd:
        return (
            "celery worker child" if parent_label.startswith("celery worker") else "celery worker"
        )
    if "build_demo_history" in cmd:
        return "demo history"
    if "config.run" in cmd:
        return "make run (supervisor)"
    return proc.name()


def processes(root: int) -> dict[str, Any]:
    """{label: psutil.Process} for `make run` and every process under it; siblings with
    one label are numbered in their start order (web worker 1, 2, …)."""
    import psutil

    found: dict[str, list[Any]] = defaultdict(list)

    def walk(proc: Any, parent_label: str) -> None:
        try:
            label = _label(proc, parent_label)
            found[label].append(proc)
            for child in proc.children():
                walk(child, label)
        except psutil.Error:
            return

    walk(psutil.Process(root), "")
    named: dict[str, Any] = {}
    for label, procs in found.items():
        procs.sort(key=lambda p: (p.create_time(), p.pid))
        for i, proc in enumerate(procs, 1):
            named[f"{label} {i}" if len(procs) > 1 else label] = proc
    return named


def rss_mb(named: dict[str, Any]) -> dict[str, float]:
    import psutil

    sizes = {}
    for label, proc in named.items():
        try:
            sizes[label] = proc.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return sizes


def postgres_mb(database: str) -> tuple[float, int]:
    """The private memory (RSS less shared pages) of the PostgreSQL backends serving this
    database, summed, and how many there are (the server may be shared: its own processes
    are not ours to count)."""
    import psutil
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
        pids = [row[0] for row in cursor.fetchall()]
    total = 0.0
    for pid in pids:
        try:
            info = psutil.Process(pid).memory_info()
        except psutil.Error:
            continue
        total += (info.rss - info.shared) / 2**20
    return total, len(pids)


# -- Celery queues and the tenant's outcomes ------------------------------------------


def queue_depths(client: Any) -> dict[str, int]:
    """Messages waiting in each queue of config/queues.py (kombu's Redis transport keeps
    one list per priority step under the global key prefix)."""
    from django.conf import settings

    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    depths = {}
    for queue in settings.QUEUES.values():
        keys = [f"{prefix}{queue}"] + [f"{prefix}{queue}\x06\x16{p}" for p in (3, 6, 9)]
        depths[queue] = sum(int(client.llen(key)) for key in keys)
    return depths


def outcome_counts(run: str, at: float) -> dict[str, int]:
    """This run's records in the tenant (the caller is in its context)."""
    from datetime import UTC, datetime

    from django.db.models import Count, Q

    from feedback.models import FeedbackEntry
    from outcomes.models import OutcomeRecord, Signal

    now = datetime.fromtimestamp(at, UTC)
    mine = OutcomeRecord.objects.filter(action_id__startswith=run)
    counts = mine.aggregate(
        actions=Count("id"),
        waiting=Count("id", filter=Q(status="pending", window_expires_at__gt=now)),
        overdue=Count("id", filter=Q(status="pending", window_expires_at__lte=now)),
        due=Count("id", filter=Q(window_expires_at__lte=now)),
        by_signal=Count("id", filter=Q(signal_source="event")),
        by_sweep=Count("id", filter=Q(signal_source="automatic")),
    )
    counts["signals"] = Signal.objects.filter(signal_id__startswith=run).count()
    counts["feedback"] = FeedbackEntry.objects.filter(target_id__startswith=run).count()
    return counts


def autovacuum_on() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return bool(cursor.fetchone()[0] == "on")


def analyze() -> float:
    """ANALYZE the database (what autovacuum does as tables grow), in seconds. Without it
    the planner keeps the estimates of empty tables: after 24 minutes of this load (5,500
    conversations, 19,000 outcomes) the manager dashboard's qualification query took
    15.2 / 33.2 / 38.7 s over 7 / 30 / 90 days (its first-action probe scanned the whole
    period's index per conversation), and 0.39 / 0.81 / 0.57 s once analyzed."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return round(time.perf_counter() - began, 2)


# -- the request log -------------------------------------------------------------------


def read_log(path: Path) -> list[tuple[float, str, float, int, bool]]:
    rows = []
    with path.open() as lines:
        for line in lines:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 5:
                rows.append(
                    (float(parts[0]), parts[1], float(parts[2]), int(parts[3]), parts[4] == "1")
                )
    return rows


def p95(values: list[float]) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[max(0, math.ceil(0.95 * len(values)) - 1)]  # nearest rank


def interval_stats(rows: list, start: float, seconds: float) -> dict[str, Any]:
    times: dict[str, list[float]] = defaultdict(list)
    failures = 0
    for when, name, ms, _status, ok in rows:
        if start <= when < start + seconds:
            times[name].append(ms)
            times["all"].append(ms)
            failures += not ok
    return {
        "rps": round(len(times["all"]) / seconds, 2),
        "p95_ms": p95(times["all"]),
        "failures": failures,
        "by_type": {
            name: {"rps": round(len(ms) / seconds, 2), "p95_ms": p95(ms)}
            for name, ms in sorted(times.items())
            if name != "all"
        },
    }


# -- the run ---------------------------------------------------------------------------


def main() -> int:
    host = os.environ.get("LOAD_HOST", "http://127.0.0.1:8000")
    slug = os.environ.get("LOAD_TENANT", "demo")
    seconds = int(os.environ.get("LOAD_SECONDS", "3600"))
    rate = float(os.environ.get("LOAD_RATE", "20"))
    # each user offers one request every 3 s: a user waiting on a slow answer (up to 3 s)
    # still keeps its pace, so the arrival rate stays the offered one
    users = int(os.environ.get("LOAD_USERS") or round(3 * rate))
    interval = int(os.environ.get("LOAD_INTERVAL") or min(300, max(10, seconds // 10)))
    console = Console(width=max(150, Console().width))
    try:
        urllib.request.urlopen(f"{host}/healthz", timeout=5).read()
    except OSError:
        console.print(f"[red]Nothing answers at {host}: run `make run` in another terminal.")
        return 2
    agent_key, token = _manager_token(slug)  # sets Django up

    import redis
    from django.conf import settings
    from django_tenants.utils import tenant_context

    from learning.tenancy.selectors import ready_tenant_by_slug

    tenant = ready_tenant_by_slug(slug=slug)
    assert tenant is not None
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    database = settings.DATABASES["default"]["NAME"]
    root = _run_pid()
    # A server with autovacuum off (CI machines) never gathers statistics: the soak then
    # analyzes the database every interval in its stead (LOAD_ANALYZE=0: never).
    stand_in = os.environ.get("LOAD_ANALYZE", "auto") != "0" and not autovacuum_on()
    if stand_in:
        console.print(f"autovacuum is off: ANALYZE now and every {interval} s in its stead")
        analyze()

    run = f"soak{uuid.uuid4().hex[:8]}"
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / "soak-requests.tsv"
    log.write_text("")
    start = time.time()
    end = start + seconds
    console.print(
        f"[bold]Soak {run}: {rate:g} requests/s offered by {users} users for {seconds} s "
        f"against {host}/t/{slug}/, reported every {interval} s…"
    )
    env = {
        **os.environ,
        "LL_TENANT": f"/t/{slug}",
        "LL_AGENT_KEY": agent_key,
        "LL_USER_TOKEN": token,
        "LL_SOAK_RUN": run,
        "LL_SOAK_LOG": str(log),
        "LL_SOAK_END": str(end),
        "LL_SOAK_AGENT_RATE": str(rate / users),
        "LL_SOAK_MANAGER_RATE": str(rate / users),
    }
    locust = subprocess.Popen(
        [
            sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "soakfile.py"),
            "--headless", "--users", str(users), "--spawn-rate", str(users),
            "--run-time", f"{seconds}s", "--host", host, "--only-summary",
            "--loglevel", "WARNING", "--stop-timeout", "10",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip

    samples: list[dict[str, Any]] = []  # every SAMPLE_SECONDS: time, rss, queues
    intervals: list[dict[str, Any]] = []
    next_report = start + interval
    while True:
        running = locust.poll() is None
        now = time.time()
        named = processes(root)
        sizes = rss_mb(named)
        pg, backends = postgres_mb(database)
        sizes[f"postgres backends ({database})"] = pg
        samples.append(
            {"t": now - start, "rss": sizes, "queues": queue_depths(broker), "backends": backends}
        )
        while next_report <= now and next_report <= end + SAMPLE_SECONDS:
            with tenant_context(tenant):
                counts = outcome_counts(run, now)
            row = _interval(read_log(log), samples, start, next_report - interval, interval)
            row["outcomes"] = counts
            row["load_average"] = round(os.getloadavg()[0], 2)
            row["analyze_s"] = analyze() if stand_in else None
            intervals.append(row)
            console.print(_progress(len(intervals), row), highlight=False)
            next_report += interval
        if not running:
            break
        time.sleep(max(0.5, min(SAMPLE_SECONDS, next_report - time.time())))
    locust.wait()
    stopped = time.time()

    # After the load: the queues drain, then one last expiry sweep (what beat sends every
    # few minutes, sent now) settles every outcome whose window ended.
    drained_after = None
    while time.time() - stopped < QUEUE_DRAIN_SECONDS + 30:
        if sum(queue_depths(broker).values()) == 0:
            drained_after = round(time.time() - stopped, 1)
            break
        time.sleep(1)
    with tenant_context(tenant):
        at_stop = outcome_counts(run, stopped)
        from config.celery import app as celery_app

        celery_app.send_task("outcomes.sweep", kwargs={"window": "expiry"})
        deadline = time.time() + SWEEP_WAIT_SECONDS
        final = outcome_counts(run, stopped)
        while final["overdue"] and time.time() < deadline:
            time.sleep(2)
            final = outcome_counts(run, stopped)
    sent = _sent(read_log(log))
    result = {
        "run": run,
        "host": host,
        "seconds": seconds,
        "rate": rate,
        "users": users,
        "interval": interval,
        "started": start,
        "analyze_every_interval": stand_in,
        "load_average": os.getloadavg(),
        "intervals": intervals,
        "samples": samples,
        "sent": sent,
        "at_stop": at_stop,
        "final": final,
        "drained_after": drained_after,
    }
    result["criteria"] = criteria(result)
    path = OUT / "results-soak.json"
    path.write_text(json.dumps(result, indent=1))
    chart(result, OUT / "soak.png")
    summary(console, result)
    console.print(f"Written to {path} and {OUT / 'soak.png'}")
    return 0 if all(c["ok"] for c in result["criteria"]) else 1


def _interval(rows: list, samples: list, start: float, begin: float, seconds: int) -> dict:
    row = interval_stats(rows, begin, seconds)
    row["end_s"] = round(begin + seconds - start)
    inside = [s for s in samples if begin - start <= s["t"] < begin - start + seconds]
    rss: dict[str, float] = {}
    for sample in inside:
        for label, mb in sample["rss"].items():
            rss[label] = max(rss.get(label, 0.0), round(mb, 1))
    row["rss_mb"] = rss
    row["queue_max"] = max((sum(s["queues"].values()) for s in inside), default=0)
    return row


def _sent(rows: list) -> dict[str, dict[str, int]]:
    """What the load generator was answered, per request type and status."""
    sent: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for _when, name, _ms, status, _ok in rows:
        sent[name][str(status)] += 1
    return {name: dict(statuses) for name, statuses in sent.items()}


def _progress(n: int, row: dict[str, Any]) -> str:
    python = sum(mb for label, mb in row["rss_mb"].items() if not label.startswith("postgres"))
    out = row["outcomes"]
    return (
        f"[{row['end_s'] // 60:>2}:{row['end_s'] % 60:02d}] #{n}: {row['rps']:.1f} req/s, p95 {row['p95_ms']:.0f} ms, "
        f"{row['failures']} failed, load {row['load_average']:.1f} | RSS {python:.0f} MB (Python, {len(row['rss_mb']) - 1} "
        f"processes) | queue max {row['queue_max']} | outcomes: {out['actions']} stored, "
        f"{out['waiting']} waiting, {out['overdue']} overdue, {out['by_sweep']} by sweep, "
        f"{out['by_signal']} by signal"
    )


# -- pass criteria -----------------------------------------------------------------------


def criteria(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    steady = result["intervals"][1:]  # the first interval warms up

    def add(name: str, ok: bool, detail: str) -> None:
        rows.append({"criterion": name, "ok": bool(ok), "detail": detail})

    if len(steady) >= 4:
        rps = [r["rps"] for r in steady]
        median = statistics.median(rps)
        worst = max(rps, key=lambda v: abs(v - median))
        add(
            "throughput flat",
            all(abs(v - median) <= THROUGHPUT_BAND * median for v in rps),
            f"intervals 2..n: median {median:.1f} req/s, furthest {worst:.1f} "
            f"(band ±{THROUGHPUT_BAND:.0%})",
        )
        p95s = [r["p95_ms"] for r in steady]
        base, last = statistics.median(p95s[:-3]), statistics.median(p95s[-3:])
        add(
            "p95 flat",
            last <= base * (1 + P95_BAND),
            f"median of the last 3 intervals {last:.0f} ms vs {base:.0f} ms before them "
            f"(intervals 2..n-3; at most +{P95_BAND:.0%})",
        )
        first, tail = steady[0]["rss_mb"], steady[-3:]
        grown = []
        for label, mb in first.items():
            if label.startswith("postgres") or label == "demo history":
                continue
            latest = max((r["rss_mb"].get(label, 0.0) for r in tail), default=0.0)
            if latest > mb + max(RSS_GROWTH[0] * mb, RSS_GROWTH[1]):
                grown.append(f"{label} {mb:.0f}->{latest:.0f} MB")
        add(
            "RSS flat (every Python process)",
            not grown,
            ", ".join(grown)
            or f"{len(first) - 1} processes: last 3 intervals within +10 % / +20 MB of interval 2",
        )
    else:
        add("flat (needs 5 intervals)", False, f"only {len(result['intervals'])} intervals")
    drained = result["drained_after"]
    add(
        "no queue backlog",
        drained is not None and drained <= QUEUE_DRAIN_SECONDS,
        f"queues empty {drained} s after the load stopped (at most {QUEUE_DRAIN_SECONDS} s)"
        if drained is not None
        else "queues never emptied",
    )
    sent, final = result["sent"], result["final"]
    for what, name in (
        ("actions", "POST outcomes/"),
        ("signals", "POST signals/"),
        ("feedback", "POST feedback/"),
    ):
        created = sent.get(name, {}).get("201", 0)
        add(
            f"{what} exact",
            created == final[what],
            f"{created} answered 201, {final[what]} stored",
        )
    failed = sum(
        n for statuses in sent.values() for s, n in statuses.items() if not s.startswith("2")
    )
    add("no failed request", failed == 0, f"{failed} answered other than 2xx")
    add(
        "every due outcome resolved",
        final["overdue"] == 0 and final["due"] > 0,
        f"{final['due']} windows ended by the stop; {result['at_stop']['overdue']} still "
        f"pending at the stop, {final['overdue']} after the final sweep",
    )
    return rows


# -- reporting ---------------------------------------------------------------------------


def spark(values: list[float]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(BLOCKS[int((v - low) / span * (len(BLOCKS) - 1))] for v in values)


def summary(console: Console, result: dict[str, Any]) -> None:
    """The soak's table per interval, sparklines and its pass criteria (also printed by
    `make bench` for the last soak)."""
    intervals = result["intervals"]
    table = Table(
        title=f"Soak: {result['rate']:g} req/s offered for {result['seconds']} s, "
        f"every {result['interval']} s ({result['host']})"
    )
    for column in ("end", "req/s", "p95 ms", "failed", "web MB", "worker MB", "beat MB",
                   "ws MB", "load", "queue", "waiting", "overdue", "by sweep", "by signal"):  # fmt: skip
        table.add_column(column, justify="right")
    for row in intervals:
        rss, out = row["rss_mb"], row["outcomes"]

        def total(prefix: str, rss: dict[str, float] = rss) -> str:
            return f"{sum(mb for label, mb in rss.items() if label.startswith(prefix)):.0f}"

        table.add_row(
            f"{row['end_s'] // 60}:{row['end_s'] % 60:02d}", f"{row['rps']:.1f}", f"{row['p95_ms']:.0f}",
            str(row["failures"]), total("web"), total("celery worker"), total("celery beat"),
            total("websockets"), f"{row['load_average']:.1f}", str(row["queue_max"]), str(out["waiting"]),
            str(out["overdue"]), str(out["by_sweep"]), str(out["by_signal"]),
        )  # fmt: skip
    console.print(table)
    if intervals:
        labels = sorted({label for row in intervals for label in row["rss_mb"]})
        lines = [
            f"  req/s   {spark([r['rps'] for r in intervals])}",
            f"  p95     {spark([r['p95_ms'] for r in intervals])}",
        ] + [
            f"  {label:<34} {spark([r['rss_mb'].get(label, 0.0) for r in intervals])} "
            f"{intervals[0]['rss_mb'].get(label, 0.0):.0f} -> {intervals[-1]['rss_mb'].get(label, 0.0):.0f} MB"
            for label in labels
        ]
        for line in lines:
            console.print(line, highlight=False)
    verdicts = Table(title="Soak pass criteria")
    for column in ("criterion", "ok", "detail"):
        verdicts.add_column(column)
    for c in result["criteria"]:
        verdicts.add_row(c["criterion"], "yes" if c["ok"] else "NO", c["detail"])
    console.print(verdicts)


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    intervals, samples = result["intervals"], result["samples"]
    minutes = [r["end_s"] / 60 for r in intervals]
    fig, axes = plt.subplots(4, 1, figsize=(11, 14), sharex=True)
    ax = axes[0]
    ax.plot(minutes, [r["rps"] for r in intervals], "k-o", label="all")
    for name in sorted({n for r in intervals for n in r["by_type"]}):
        ax.plot(minutes, [r["by_type"].get(name, {}).get("rps", 0) for r in intervals], label=name)
    ax.set_ylabel("requests/s")
    ax.set_title(
        f"Soak: {result['rate']:g} req/s offered, {result['seconds'] // 60} min, "
        f"per {result['interval'] // 60 or result['interval']}{' min' if result['interval'] >= 60 else ' s'}"
    )
    ax.legend(fontsize=7, ncol=3)
    ax = axes[1]
    ax.plot(minutes, [r["p95_ms"] for r in intervals], "k-o", label="all")
    for name in sorted({n for r in intervals for n in r["by_type"]}):
        ax.plot(
            minutes, [r["by_type"].get(name, {}).get("p95_ms", 0) for r in intervals], label=name
        )
    ax.set_ylabel("p95 ms")
    ax.legend(fontsize=7, ncol=3)
    ax = axes[2]
    times = [s["t"] / 60 for s in samples]
    for label in sorted({label for s in samples for label in s["rss"]}):
        ax.plot(times, [s["rss"].get(label) for s in samples], label=label)
    ax.set_ylabel("RSS MB (postgres: private)")
    ax.legend(fontsize=7, ncol=3)
    ax = axes[3]
    ax.plot(times, [sum(s["queues"].values()) for s in samples], "b-", label="Celery queue depth")
    ax.set_ylabel("messages waiting")
    twin = ax.twinx()
    twin.plot(
        minutes, [r["outcomes"]["overdue"] for r in intervals], "r-o", label="outcomes overdue"
    )
    twin.plot(
        minutes, [r["outcomes"]["by_sweep"] for r in intervals], "g-o", label="resolved by sweep"
    )
    twin.set_ylabel("outcomes")
    ax.legend(loc="upper left", fontsize=7)
    twin.legend(loc="upper right", fontsize=7)
    ax.set_xlabel("minutes")
    analyzed = [m for m, r in zip(minutes, intervals, strict=True) if r.get("analyze_s")]
    for panel in axes:
        for m in analyzed:
            panel.axvline(m, color="grey", linestyle=":")
    if analyzed:
        axes[0].set_title(axes[0].get_title() + " (dotted: ANALYZE, autovacuum being off)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def last(console: Console, out_dir: Path = OUT, *, redraw: bool = False) -> dict | None:
    """Print the last soak's summary from its results (`make bench` does; so does
    `python -m bench.soak report`, which also judges it again and redraws its chart)."""
    path = out_dir / "results-soak.json"
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    if redraw:
        result["criteria"] = criteria(result)
        path.write_text(json.dumps(result, indent=1))
        chart(result, out_dir / "soak.png")
    summary(console, result)
    return result


if __name__ == "__main__":
    if sys.argv[1:] == ["report"]:
        raise SystemExit(0 if last(Console(width=150), redraw=True) else 1)
    raise SystemExit(main())
