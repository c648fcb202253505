"""Outcome ingest through the real ASGI server vs raw psycopg into an identical table."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg

from bench.environment import BenchEnv, DatabaseCpu, Server, cpu_seconds
from bench.plain.server import PlainServer

RAW_TABLE = "bench_raw.outcomes"
COLUMNS = (
    "action_id",
    "conversation_id",
    "rep_id",
    "action_type",
    "predicted_confidence",
    "outcome_type",
    "attributes",
    "occurred_at",
    "window_expires_at",
    "status",
    "score",
    "signal_source",
    "resolution_reason",
    "resolved_by_id",
    "label_comment",
    "resolved_at",
    "created_at",
)


def items(n: int, run: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "action_id": f"{run}-{i}",
            "conversation_id": f"{run}-conv-{i % 200}",
            "action_type": "send_email",
            "predicted_confidence": round((i % 97) / 97, 3),
            "outcome_type": "email_engagement",
            "attributes": {"channel": "email", "persona": "cfo", "hour_of_day": i % 24},
            "occurred_at": (now - timedelta(minutes=i % 600)).isoformat(),
        }
        for i in range(n)
    ]


def raw_row(item: dict[str, Any]) -> tuple[Any, ...]:
    occurred = datetime.fromisoformat(item["occurred_at"])
    return (
        item["action_id"],
        1,
        None,
        item["action_type"],
        item["predicted_confidence"],
        item["outcome_type"],
        json.dumps(item["attributes"]),
        occurred,
        occurred + timedelta(days=7),
        "pending",
        None,
        "",
        "",
        None,
        "",
        None,
        datetime.now(UTC),
    )


def prepare_raw_table(bench: BenchEnv) -> None:
    """Both sides start from empty tables of the same shape and indexes."""
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        conn.execute(
            f"TRUNCATE {bench.schema}.outcomes_signal, "
            f"{bench.schema}.outcomes_outcomerecord, "
            f"{bench.schema}.outcomes_conversation CASCADE"
        )
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench_raw")
        conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        conn.execute(
            f"CREATE TABLE {RAW_TABLE} (LIKE {bench.schema}.outcomes_outcomerecord "
            "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )


class _NoDelayConnection(http.client.HTTPConnection):
    """Nagle off on every socket it opens, as real HTTP clients have (urllib3, httpx):
    without it every POST waits for a delayed ACK between its header and body segments.
    It reopens when the server closes (gunicorn's sync workers close after each answer)."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _connection(port: int, timeout: float) -> http.client.HTTPConnection:
    conn = _NoDelayConnection("127.0.0.1", port, timeout=timeout)
    conn.connect()
    return conn


def _threads(
    concurrency: int,
    work: list[Any],
    fn: Callable[[Any, list[Any]], None],
    setup: Callable[[], Any],
) -> float:
    chunks = [work[i::concurrency] for i in range(concurrency)]
    barrier = threading.Barrier(concurrency + 1)
    errors: list[BaseException] = []

    def worker(chunk: list[Any]) -> None:
        state = setup()
        barrier.wait()
        try:
            fn(state, chunk)
        except BaseException as exc:  # reported after the run
            errors.append(exc)
        finally:
            barrier.wait()
            close = getattr(state, "close", None)
            if close:
                close()

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    barrier.wait()
    elapsed = time.perf_counter() - start
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return elapsed


def api_single(server: Server, key: str, concurrency: int, n: int) -> float:
    work = items(n, f"single{concurrency}-{uuid.uuid4().hex[:6]}")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post_all(conn: http.client.HTTPConnection, chunk: list[Any]) -> None:
        for item in chunk:
            conn.request("POST", server.api + "outcomes/", json.dumps(item).encode(), headers)
            response = conn.getresponse()
            response.read()
            if response.status != 201:
                raise RuntimeError(f"POST outcomes/: {response.status}")

    return _threads(
        concurrency,
        work,
        post_all,
        lambda: _connection(server.port, 60),
    )


def raw_single(bench: BenchEnv, concurrency: int, n: int) -> float:
    work = [raw_row(i) for i in items(n, f"rawsingle{concurrency}-{uuid.uuid4().hex[:6]}")]
    statement = (
        f"INSERT INTO {RAW_TABLE} ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    )

    def insert_all(conn: psycopg.Connection, chunk: list[Any]) -> None:
        for row in chunk:
            conn.execute(statement, row)

    return _threads(
        concurrency, work, insert_all, lambda: psycopg.connect(bench.database_url, autocommit=True)
    )


def api_bulk(server: Server, key: str, size: int, requests: int) -> float:
    bodies = [
        json.dumps(items(size, f"bulk{size}-{uuid.uuid4().hex[:6]}")) for _ in range(requests)
    ]
    conn = _connection(server.port, 300)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    start = time.perf_counter()
    for body in bodies:
        conn.request("POST", server.api + "outcomes/bulk/", body.encode(), headers)
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST outcomes/bulk/: {response.status} {payload[:300]!r}")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def raw_copy(bench: BenchEnv, size: int, requests: int) -> float:
    batches = [
        [raw_row(i) for i in items(size, f"rawcopy{size}-{uuid.uuid4().hex[:6]}")]
        for _ in range(requests)
    ]
    with psycopg.connect(bench.database_url) as conn:
        start = time.perf_counter()
        for batch in batches:
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY {RAW_TABLE} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
            ):
                for row in batch:
                    copy.write_row(row)
            conn.commit()
        return time.perf_counter() - start


class _Side:
    """One side of the single-POST comparison: how to post `n` actions at a concurrency,
    the web server's processes, and the databases whose PostgreSQL CPU is its own."""

    def __init__(
        self,
        post: Callable[[int, int], float],
        servers: list[Any],
        cpu: DatabaseCpu,
    ) -> None:
        self.post, self.servers, self.cpu = post, servers, cpu
        self.seconds = self.app = self.db = 0.0
        self.requests = 0

    def measure(self, concurrency: int, n: int) -> None:
        """Adds one run of `n` requests: its seconds, and the CPU seconds of the web
        server's processes and of PostgreSQL for this side's databases."""
        app_pids = [pid for server in self.servers for pid in server.pids()]
        app_before = cpu_seconds(app_pids)
        self.cpu.start()
        self.seconds += self.post(concurrency, n)
        self.db += self.cpu.seconds()
        self.app += cpu_seconds(app_pids) - app_before
        self.requests += n

    def figures(self) -> dict[str, float]:
        return {
            "rps": self.requests / self.seconds,
            "app_ms": self.app / self.requests * 1000,
            "db_ms": self.db / self.requests * 1000,
        }


# The product and the two plain apps take turns, ROUNDS times, so that whatever else the
# machine does weighs on all of them alike.
ROUNDS = 3


def run(bench: BenchEnv, server: Server, quick: bool) -> list[dict[str, Any]]:
    prepare_raw_table(bench)
    persistent = PlainServer(bench, conn_max_age=60)
    per_request = PlainServer(bench, conn_max_age=0)
    product_db = urlsplit(bench.env["DATABASE_URL"]).path.lstrip("/")
    scale = 0.2 if quick else 1.0
    results = []
    try:
        for concurrency, n in ((1, int(1000 * scale)), (16, int(3000 * scale))):
            sides = {
                "product": _Side(
                    lambda c, n: api_single(server, bench.agent_key, c, n),
                    [server],
                    DatabaseCpu(bench.database_url, [product_db]),
                ),
                "persistent": _Side(
                    lambda c, n: api_single(persistent, persistent.key, c, n),  # type: ignore[arg-type]
                    [persistent],
                    DatabaseCpu(bench.database_url, [persistent.database]),
                ),
                "per_request": _Side(
                    lambda c, n: api_single(per_request, per_request.key, c, n),  # type: ignore[arg-type]
                    [per_request],
                    DatabaseCpu(bench.database_url, [per_request.database], exited=True),
                ),
            }
            for side in sides.values():
                side.post(concurrency, 50)  # warm-up
            for round_ in range(ROUNDS):
                print(f"  single POST, concurrency {concurrency}: round {round_ + 1}/{ROUNDS}")
                for side in sides.values():
                    side.measure(concurrency, n // ROUNDS)
            raw = _Side(  # (its connections close before the measurement ends)
                lambda c, n: raw_single(bench, c, n),
                [],
                DatabaseCpu(bench.database_url, [product_db], exited=True),
            )
            raw.measure(concurrency, n)
            product = sides["product"].figures()
            for name in ("persistent", "per_request"):
                results.append(
                    _single_row(
                        concurrency,
                        sides["product"].requests,
                        name,
                        product,
                        sides[name].figures(),
                        raw.figures(),
                    )
                )
    finally:
        persistent.stop()
        per_request.stop()
    for size, requests in ((1000, max(int(10 * scale), 2)), (10_000, max(int(3 * scale), 1))):
        api_bulk(server, bench.agent_key, size, 1)  # warm-up
        api = api_bulk(server, bench.agent_key, size, requests)
        raw_seconds = raw_copy(bench, size, requests)
        results.append(
            _row(
                f"ingest bulk of {size:,}",
                size * requests,
                api,
                raw_seconds,
                "COPY",
                target=0.7 if size >= 10_000 else 0.5,
            )
        )
    return results


PLAIN = {
    "persistent": "plain DRF app, gunicorn, CONN_MAX_AGE=60",
    "per_request": "plain DRF app, gunicorn, CONN_MAX_AGE=0",
}


def _single_row(
    concurrency: int,
    n: int,
    name: str,
    product: dict[str, float],
    plain: dict[str, float],
    raw: dict[str, float],
) -> dict[str, Any]:
    """POST outcomes/ against the plain DRF app doing the same (both under gunicorn as
    make run serves, the same workers), with the CPU per request of each side (the web
    server's processes; PostgreSQL's for that side's database) and of raw psycopg. The
    target: 1.5 times the plain app's requests per second, spending no more of
    PostgreSQL's CPU per request."""
    ratio = product["rps"] / plain["rps"]
    return {
        "benchmark": f"ingest single POST, concurrency {concurrency}",
        "rows": n,
        "product": f"{product['rps']:,.0f} req/s; CPU/req app {product['app_ms']:.2f} ms, "
        f"db {product['db_ms']:.2f} ms",
        "baseline_value": f"{plain['rps']:,.0f} req/s; app {plain['app_ms']:.2f} ms, "
        f"db {plain['db_ms']:.2f} ms (raw psycopg: {raw['rps']:,.0f}/s, db {raw['db_ms']:.2f} ms)",
        "baseline": PLAIN[name],
        "ratio": round(ratio, 3),
        "target": ">= 1.5x plain, db CPU/req <= plain's",
        "meets_target": ratio >= 1.5 and product["db_ms"] <= plain["db_ms"],
        "details": {"product": product, "plain_drf": plain, "raw_psycopg": raw},
    }


def _row(
    name: str, rows: int, api: float, raw: float, baseline: str, target: float
) -> dict[str, Any]:
    return {
        "benchmark": name,
        "rows": rows,
        "product_seconds": round(api, 3),
        "baseline_seconds": round(raw, 3),
        "product_rows_per_s": round(rows / api),
        "baseline_rows_per_s": round(rows / raw),
        "ratio": round(raw / api, 3),
        "baseline": baseline,
        "target": f">= {target:.0%} of baseline",
        "meets_target": raw / api >= target,
    }
