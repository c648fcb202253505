"""Celery worker processes for the tests that need real ones (queues, crashes): this
interpreter, the real broker under this run's prefix, the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def database_url() -> str:
    """The test database, as a URL for the worker processes."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    if host.startswith("/"):  # a socket directory (the embedded PostgreSQL): percent-encoded
        host = quote(host, safe="")
    return f"postgresql://{user}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def worker_process(queue: str, name: str, *, visibility: int | None = None) -> subprocess.Popen:
    """A solo-pool worker consuming `queue` only."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "LL_REDIS_PREFIX": settings.REDIS_PREFIX,
        "LL_TESTING": "1",
    }
    if visibility is not None:
        env["CELERY_VISIBILITY_TIMEOUT"] = str(visibility)
    command = [
        sys.executable, "-m", "celery", "-A", "config.celery:app", "worker",
        "--pool", "solo", "--queues", queue, "--hostname", f"{name}@%h",
        "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    return subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
