"""`make run`: prepare the database and demo data, then run web, worker and beat.

Runs under config.embedded, which provides DATABASE_URL and REDIS_URL. Ctrl-C stops all
three processes cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from config.queues import queue_names

PYTHON = sys.executable
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def manage(*args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def ensure_database(url: str) -> None:
    """Create the database named in DATABASE_URL if the server lacks it."""
    name = urlsplit(url).path.lstrip("/")
    admin_url = url.replace(f"/{name}", "/postgres", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def wait_for_web(url: str, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the web server did not answer at {url}")


def main() -> int:
    os.environ.setdefault("PORT", PORT)
    step("database")
    ensure_database(os.environ["DATABASE_URL"])
    step("migrations (public schema and every tenant)")
    manage("migrate_schemas", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")
    step("periodic jobs")
    manage("setup_periodic_tasks")
    step("demo tenant")
    demo = json.loads(manage("seed_demo", "--json", capture=True))

    step("starting web (ASGI + websockets), Celery worker, Celery beat")
    processes = {
        "web": subprocess.Popen(
            [
                PYTHON,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                HOST,
                "--port",
                PORT,
                "--no-access-log",
                # The client's address is Django's to decide (TRUSTED_PROXIES), never a
                # header uvicorn would believe from loopback.
                "--no-proxy-headers",
                "--ws",
                "websockets-sansio",
                # Django runs sync views one at a time per ASGI process: one per core.
                "--workers",
                os.environ.get("WEB_CONCURRENCY") or str(os.cpu_count() or 1),
            ]
        ),
        "worker": subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config.celery:app",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--queues",
                # one worker for every workload here (docs/deploy.md splits them)
                ",".join(queue_names(os.environ.get("LL_REDIS_PREFIX") or "ll").values()),
            ]
        ),
        "beat": subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "config.celery:app", "beat", "--loglevel", "INFO"]
        ),
    }
    web = demo["web_url"]
    wait_for_web(f"http://{HOST}:{PORT}/healthz")
    if not demo["has_history"]:
        step("simulated agent history (posted through the API, as the agent would)")
        manage("simulate_agent", "--api-url", demo["api_url"], "--key", demo["agent_key"])
        manage("check_signals", "--tenant", demo["tenant"], "--window", "all")
        manage("simulate_reviewers", demo["tenant"])
        # The first 6-hourly calibration check now, so the demo starts with its log.
        manage("recalibrate", "--tenant", demo["tenant"])
        manage("refresh_rollups", "--tenant", demo["tenant"])
        manage("evaluate_alerts", "--tenant", demo["tenant"])
        manage("extract_coaching_patterns", "--tenant", demo["tenant"])
        manage("run_batch_learning", "--tenant", demo["tenant"])
        manage(
            "simulate_experiment",
            demo["tenant"],
            "--api-url",
            demo["api_url"],
            "--key",
            demo["agent_key"],
        )
    print(
        "\n"
        f"  Learning Loop is running.\n\n"
        f"  Demo workspace   {web}\n"
        f"  API root         {demo['api_url']}   (docs: {web}api/v1/docs/)\n"
        f"  Ops admin        http://{HOST}:{PORT}/admin/   (ops / {demo['password']})\n\n"
        f"  Sign in at {web}login/ with password {demo['password']!r} as:\n"
        + "".join(f"    {u['username']:<8} {u['role']}\n" for u in demo["users"])
        + f"\n  Agent key        {demo['agent_key']}\n"
        f"  Try: curl -H 'Authorization: Bearer {demo['agent_key']}' {demo['api_url']}me/\n\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with {process.returncode}; stopping.", flush=True)
                stopping, code = True, 1
                break
        time.sleep(0.5)
    step("stopping")
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
