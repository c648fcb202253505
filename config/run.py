"""`make run`: prepare the database and the demo tenant, run web, worker and beat, and
build the demo's history behind them.

Runs under config.embedded, which provides DATABASE_URL and REDIS_URL. The pages answer
as soon as the demo tenant and its people exist; the 30 days of history then fill in
(`manage.py build_demo_history`, its step shown on the pages and here). Ctrl-C stops
everything; so does any process that dies, and so does a start that fails: every process
started here (and the processes they start) is stopped before this one exits.
"""

from __future__ import annotations

import compileall
import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from config.embedded import die_with_parent
from config.queues import queue_names

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parent.parent
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
# How long the web server may take to answer /healthz (a slow machine, a cold disk); a
# server that exits meanwhile fails the start at once.
WEB_START_SECONDS = float(os.environ.get("LL_WEB_START_SECONDS", "180"))
STOP_SECONDS = 20


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def compile_sources() -> None:
    """Byte-compile the project (a no-op when nothing changed): every process started
    below imports it, and a machine with PYTHONDONTWRITEBYTECODE set would otherwise
    compile it from source in each of them."""
    skip = re.compile(r"/(\.venv|\.data|\.git|node_modules)/")
    compileall.compile_dir(ROOT, quiet=1, rx=skip, workers=0)


def ensure_database(url: str) -> None:
    """Create the database named in DATABASE_URL if the server lacks it."""
    name = urlsplit(url).path.lstrip("/")
    admin_url = url.replace(f"/{name}", "/postgres", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare_static() -> None:
    """With DEBUG on, the app serves static files from their sources (whitenoise's
    finders): only the folder must exist. Otherwise collect them (and compress them) once."""
    if os.environ.get("DEBUG", "").lower() in ("1", "true", "yes", "on"):
        (ROOT / ".data" / "static").mkdir(parents=True, exist_ok=True)
    else:
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)


class Supervisor:
    """Processes started in their own process groups, all stopped together: each group
    gets SIGTERM, then SIGKILL after STOP_SECONDS, so a web server's or a worker's own
    children go too."""

    def __init__(self) -> None:
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            command,
            env={**os.environ, "LL_DEV_SERVERS": "1"},
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.processes[name] = process
        return process

    def exited(self, *, ignore: tuple[str, ...] = ()) -> str | None:
        for name, process in self.processes.items():
            if name not in ignore and process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            # the leader may be gone while its children linger: the group goes in any case
            _signal_group(process, signal.SIGKILL)
            if process.poll() is None:
                process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def ensure_port_free(port: str) -> None:
    """Fail at once when something already listens on HOST:port (another `make run`):
    otherwise its /healthz would pass for ours."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, int(port)))
        except OSError as exc:
            raise SystemExit(
                f"{HOST}:{port} is already in use ({exc.strerror}): is another `make run` "
                "running? Stop it, or choose other ports: PORT=8010 make run (websockets "
                "take the next port, or WS_PORT)"
            ) from None


def wait_for_web(url: str, supervisor: Supervisor) -> None:
    deadline = time.monotonic() + WEB_START_SECONDS
    while time.monotonic() < deadline:
        if (gone := supervisor.exited()) is not None:
            raise SystemExit(f"{gone} exited while starting; stopping.")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the web server did not answer at {url} in {WEB_START_SECONDS:.0f} s")


def web_workers() -> int:
    """gunicorn's sync workers: WEB_CONCURRENCY, else 2 per core and one more (its docs'
    rule: a worker waiting on PostgreSQL leaves the core to another)."""
    return int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)


def web_commands(host: str, port: str, websocket_port: str) -> dict[str, list[str]]:
    """How `make run` serves the product (the ingest bench starts the very same): HTTP
    over WSGI, websockets over ASGI on the next port."""
    return {
        "web": [
            PYTHON,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(web_workers()),
            "--worker-class",
            # one request at a time per process: measured against gthread (keep-alive) and
            # granian's WSGI server on the ingest bench, neither did better
            "sync",
            # a worker silent this long is restarted: room for a long export's stream
            "--timeout",
            "600",
            "--graceful-timeout",
            "10",
            "--log-level",
            "warning",
        ],
        "websockets": [
            PYTHON,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            host,
            "--port",
            websocket_port,
            "--no-access-log",
            # The client's address is Django's to decide (TRUSTED_PROXIES), never a
            # header uvicorn would believe from loopback.
            "--no-proxy-headers",
            "--ws",
            "websockets-sansio",
        ],
    }


def start_services(supervisor: Supervisor, websocket_port: str) -> None:
    for name, command in web_commands(HOST, PORT, websocket_port).items():
        supervisor.start(name, command)
    supervisor.start(
        "worker",
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
        ],
    )
    supervisor.start(
        "beat", [PYTHON, "-m", "celery", "-A", "config.celery:app", "beat", "--loglevel", "INFO"]
    )


def record_web_url(port: str) -> Path:
    """Say where the pages are served while this runs (`.data/web-url.json`, with this
    process's pid): the URLs `manage.py create_tenant` and other commands print then name
    this server's port (learning/tenancy/urls.py)."""
    from config.embedded import DATA_DIR

    wildcard = {"", "::", ".".join("0" * 4)}  # listening everywhere: reach it locally
    host = "127.0.0.1" if HOST in wildcard else HOST
    path = DATA_DIR / "web-url.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "url": f"http://{host}:{port}"}))
    return path


def banner(demo: dict[str, object]) -> str:
    web = demo["web_url"]
    users = demo["users"]
    assert isinstance(users, list)
    return (
        "\n"
        f"  Learning Loop is running.\n\n"
        f"  Demo workspace   {web}\n"
        f"  API root         {demo['api_url']}   (docs: {web}api/v1/docs/)\n"
        f"  Ops admin        http://{HOST}:{PORT}/admin/   (ops / {demo['password']})\n\n"
        f"  Sign in at {web}login/ with password {demo['password']!r} as:\n"
        + "".join(f"    {u['username']:<8} {u['role']}\n" for u in users)
        + f"\n  Agent key        {demo['agent_key']}\n"
        f"  Try: curl -H 'Authorization: Bearer {demo['agent_key']}' {demo['api_url']}me/\n\n"
        + (
            ""
            if demo["has_history"]
            else "  The demo's 30 days of history are being built now (a few minutes; the\n"
            "  pages show how far it is and fill in as it goes).\n\n"
        )
        + "  Ctrl-C stops everything.\n"
    )


def prepare_database() -> None:
    """The database, its migrations (public schema and every tenant) and the static files.
    Django runs here, in this one process (each `manage.py` costs a second)."""
    step("database")
    ensure_database(os.environ["DATABASE_URL"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    step("migrations (public schema and every tenant)")
    call_command("migrate_schemas", interactive=False, verbosity=0)
    prepare_static()


def prepare_demo() -> dict[str, Any]:
    """The periodic jobs and the demo tenant: what the banner shows (its URLs, people and
    agent key) and whether its history is built."""
    from django.core.management import call_command
    from django.db import connections

    step("periodic jobs")
    call_command("setup_periodic_tasks")
    step("demo tenant")
    out = io.StringIO()
    call_command("seed_demo", json=True, stdout=out)
    demo: dict[str, Any] = json.loads(out.getvalue())
    connections.close_all()
    return demo


def start_history(supervisor: Supervisor, demo: dict[str, Any]) -> None:
    """Build the demo's 30 days of history through its API, behind the running product."""
    supervisor.start(
        "history",
        [
            PYTHON,
            "manage.py",
            "build_demo_history",
            str(demo["tenant"]),
            "--api-url",
            str(demo["api_url"]),
            "--key",
            str(demo["agent_key"]),
        ],
    )


def watch(supervisor: Supervisor) -> int:
    """Run until a service exits (1); the history may end, and says so if it failed."""
    reported = False
    while True:
        history = supervisor.processes.get("history")
        if history is not None and not reported and history.poll() is not None:
            reported = True
            if history.returncode:
                print(
                    "The demo history stopped part-way (see above); the product runs on "
                    "and the next start finishes it.",
                    flush=True,
                )
        if (gone := supervisor.exited(ignore=("history",))) is not None:
            returncode = supervisor.processes[gone].returncode
            print(f"{gone} exited with {returncode}; stopping.", flush=True)
            return 1
        time.sleep(0.5)


def shared_metrics_directory() -> None:
    """With METRICS_TOKEN set, /metrics sums the counters of every process started here
    (gunicorn's workers, Celery's): an empty PROMETHEUS_MULTIPROC_DIR under .data, made
    before they start (docs/deploy.md, Metrics and error tracking)."""
    if not os.environ.get("METRICS_TOKEN") or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from config.embedded import DATA_DIR

    directory = DATA_DIR / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def main() -> int:
    os.environ.setdefault("PORT", PORT)
    with_history = os.environ.get("LL_DEMO_HISTORY", "1") != "0"
    websocket_port = os.environ.get("WS_PORT") or str(int(PORT) + 1)
    ensure_port_free(PORT)
    ensure_port_free(websocket_port)
    # the pages open their websocket on that port (settings.WEBSOCKET_PORT)
    os.environ["WEBSOCKET_PORT"] = websocket_port
    shared_metrics_directory()
    compile_sources()
    prepare_database()

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    supervisor = Supervisor()
    code = 0
    web_url_file: Path | None = None
    try:
        # The servers boot (a few seconds of imports) while the demo tenant is prepared.
        step(
            f"starting web (HTTP over WSGI on {PORT}, websockets over ASGI on "
            f"{websocket_port}), Celery worker, Celery beat"
        )
        start_services(supervisor, websocket_port)
        web_url_file = record_web_url(PORT)
        demo = prepare_demo()
        for port in (PORT, websocket_port):
            wait_for_web(f"http://{HOST}:{port}/healthz", supervisor)
        print(banner(demo), flush=True)
        if with_history and not demo["has_history"]:
            start_history(supervisor, demo)
        code = watch(supervisor)
    except KeyboardInterrupt:
        code = 0 if stopping else 130
    except SystemExit as exc:
        print(exc, flush=True)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        step("stopping")
        supervisor.stop()
        if web_url_file is not None:
            web_url_file.unlink(missing_ok=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
