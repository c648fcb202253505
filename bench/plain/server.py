"""The plain DRF app (bench.plain) in a database of its own, served by gunicorn with the
same workers as the product."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.environment import ROOT, BenchEnv, _psycopg, free_port, process_tree
from config.run import web_workers


class PlainServer:
    """`conn_max_age`: Django's CONN_MAX_AGE for the app (60: persistent connections, as
    Django's deployment checklist advises; 0: a new connection per request, its default).
    Each server has a database of its own (`database`)."""

    def __init__(self, bench: BenchEnv, conn_max_age: int = 60) -> None:
        parts = urlsplit(bench.env["DATABASE_URL"])
        name = parts.path.lstrip("/") + f"_plain{conn_max_age}"
        self.database = name
        url = urlunsplit(parts._replace(path=f"/{name}"))
        admin = _psycopg(urlunsplit(parts._replace(path="/postgres")))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LL_TESTING")},
            "PLAIN_DATABASE_URL": url,
            "PLAIN_CONN_MAX_AGE": str(conn_max_age),
            "DJANGO_SETTINGS_MODULE": "bench.plain.settings",
        }
        django = [sys.executable, "-m", "django"]
        run = {"cwd": ROOT, "env": self.env, "check": True}
        subprocess.run([*django, "migrate", "--run-syncdb", "-v", "0"], **run)  # type: ignore[call-overload]
        self.key = (
            subprocess.run(
                [
                    *django,
                    "shell",
                    "-c",
                    "from django.contrib.auth.models import User; "
                    "from rest_framework.authtoken.models import Token; "
                    "print(Token.objects.create(user=User.objects.create(username='agent')).key)",
                ],
                capture_output=True,
                text=True,
                **run,  # type: ignore[arg-type]
            )
            .stdout.strip()
            .splitlines()[-1]
        )  # (the shell first says what it imported)
        self.port = free_port()
        log = open(ROOT / ".data" / "bench" / f"plain{conn_max_age}-server.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "bench.plain.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(web_workers()),
                "--worker-class",
                "sync",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/outcomes/", timeout=1)
            except urllib.error.HTTPError:
                return  # it answers (401: no token)
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the plain app did not start; see .data/bench/plain*-server.log")

    api = "/"

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
