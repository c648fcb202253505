"""A separate benchmark database with one tenant, and the ASGI server under test."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BENCH_SLUG = "bench"


@dataclass
class BenchEnv:
    database_url: str  # the benchmark database (psycopg URL)
    schema: str  # the bench tenant's schema
    agent_key: str
    env: dict[str, str]  # environment for processes that use the product's settings


def _bench_database_url(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_bench"
    return urlunsplit(parts._replace(path="/" + name))


def prepare() -> BenchEnv:
    """Create (or reuse) the benchmark database, migrate it, create the bench tenant."""
    url = _bench_database_url(os.environ["DATABASE_URL"])
    name = urlsplit(url).path.lstrip("/")
    admin = url.replace(f"/{name}", "/postgres", 1)
    with psycopg.connect(_psycopg(admin), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = {
        **{k: v for k, v in os.environ.items() if k != "LL_TESTING"},  # production settings
        "DATABASE_URL": url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LL_REDIS_PREFIX": f"llbench-{name}",  # two benchmark databases can share a Redis
        "SESSION_COOKIE_SECURE": "false",
        "REQUEST_LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate_schemas", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [*manage, "create_tenant", BENCH_SLUG, "--json"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    key = subprocess.run(
        [*manage, "create_agent_key", BENCH_SLUG, "bench", "--json"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return BenchEnv(
        database_url=_psycopg(url), schema="t_bench", agent_key=json.loads(key)["key"], env=env
    )


def _psycopg(url: str) -> str:
    """dj-database-url accepts a %2F-quoted socket path as host; psycopg wants ?host=."""
    parts = urlsplit(url)
    if parts.hostname and parts.hostname.startswith("%2f"):
        from urllib.parse import unquote

        host = unquote(parts.netloc.split("@")[-1])
        user = parts.netloc.split("@")[0] if "@" in parts.netloc else "postgres"
        return f"postgresql://{user}@/{parts.path.lstrip('/')}?host={host}"
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """The product's web server exactly as `make run` starts it (config.run.web_commands:
    gunicorn's sync workers for HTTP; the websocket server is not needed here)."""

    def __init__(self, bench: BenchEnv) -> None:
        from config.run import web_commands

        self.port = free_port()
        log = open(ROOT / ".data" / "bench" / "server.log", "w")  # noqa: SIM115
        command = web_commands("127.0.0.1", str(self.port), str(free_port()))["web"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=bench.env, stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start; see .data/bench/server.log")

    def pids(self) -> list[int]:
        """The server's processes (gunicorn's arbiter and its workers)."""
        return process_tree(self.process.pid)

    @property
    def api(self) -> str:
        return f"/t/{BENCH_SLUG}/api/v1/"

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def process_tree(pid: int) -> list[int]:
    """`pid` and its direct children (Linux /proc): a gunicorn arbiter and its workers."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return [pid]
    return [pid, *(int(child) for child in text.split())]


def run_product(bench: BenchEnv, module: str, *args: str) -> Any:
    """Run a `bench.*_product` module with the product's settings in its own process (as
    a worker or web process would) and return the JSON its last output line holds. Its
    progress (stderr) shows as it goes."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=bench.env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU these processes have used so far (Linux /proc; 0 if gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (postmaster and backends): what
    the database spends is measured from their CPU."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class DatabaseCpu:
    """CPU seconds PostgreSQL spends for some databases only, whatever else the machine's
    server is doing (other databases' work is not counted): the backends connected to
    them, sampled from /proc when the measurement starts and ends (a backend that starts
    meanwhile counts from zero). With `exited`, the backends that exit meanwhile count too,
    read from the postmaster's reaped-children times: needed where every request opens
    its own connection, and machine-wide (another database's connection that closes
    meanwhile is counted as well, for what it spent meanwhile)."""

    def __init__(self, database_url: str, databases: list[str], *, exited: bool = False) -> None:
        self.database_url = database_url
        self.databases = databases
        self.exited = exited
        self._before: dict[int, float] = {}
        self._reaped = 0.0

    def _pids(self) -> list[int]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)"
                " AND pid <> pg_backend_pid()",
                [self.databases],
            ).fetchall()
            self._postmaster = _parent(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        return [row[0] for row in rows]

    def start(self) -> None:
        self._before = {pid: cpu_seconds([pid]) for pid in self._pids()}
        self._reaped = _reaped_children_seconds(self._postmaster)
        self._all_before = {pid: cpu_seconds([pid]) for pid in postgres_pids()}

    def seconds(self) -> float:
        pids = self._pids()
        spent = sum(cpu_seconds([pid]) - self._before.get(pid, 0.0) for pid in pids)
        if self.exited:
            # a backend reaped meanwhile adds its whole life's CPU: what it had spent
            # before the start (any database's, read then) is not this measurement's
            alive = set(postgres_pids())
            earlier = sum(cpu for pid, cpu in self._all_before.items() if pid not in alive)
            spent += _reaped_children_seconds(self._postmaster) - self._reaped - earlier
        return spent


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _reaped_children_seconds(pid: int) -> float:
    """User + system CPU of the exited children `pid` has reaped (cutime, cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
