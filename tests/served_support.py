"""The product's web server as `make run` starts it (config.run.web_commands: gunicorn's
sync workers), on the test database, for tests that need real processes and real sockets;
and a Redis server of its own, which a test may empty or stop without touching the Redis
the rest of the run uses."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from bench.environment import free_port
from config.run import web_commands

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A throwaway redis-server on loopback (no persistence); its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def served(*, workers: int, redis_url: str, **environment: str) -> Iterator[int]:
    """gunicorn with `workers` sync workers on the test database; its port. Everything it
    started is stopped afterwards (its own process group)."""
    db = connection.settings_dict
    user, host, db_port = (
        db.get("USER") or "postgres",
        db.get("HOST") or "127.0.0.1",
        db.get("PORT"),
    )
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{user}@{host}:{db_port or 5432}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "LL_REDIS_PREFIX": settings.REDIS_PREFIX,
        "LL_TESTING": "1",
        "DEBUG": "false",  # as in production
        "SECRET_KEY": settings.SECRET_KEY,  # the world's personal tokens are derived from it
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        **environment,
    }
    command = web_commands("127.0.0.1", str(port), str(free_port()))["web"]
    process = subprocess.Popen(  # noqa: S603 - this interpreter, the product's command
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the web server did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
