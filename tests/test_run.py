"""`make run`'s supervisor (config/run.py) on the real services: whatever way a start
ends (a child killed, a port taken, the supervisor itself killed), no process it started
is left behind. Every process of a run is found by a marker in its environment, which
the web server's, the worker's and beat's own children inherit."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from bench.firstrun import process_running
from bench.firstrun import processes_marked as marked

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Run:
    """`python -m config.run` with its own database, data folder, port and Redis prefix."""

    def __init__(self, database_url: str, data_dir: Path, port: int | None = None) -> None:
        self.mark = uuid.uuid4().hex
        self.port = port or free_port()
        env = {k: v for k, v in os.environ.items() if k != "LL_TESTING"}
        env.update(
            DEBUG="true",
            DATABASE_URL=database_url,
            LL_DATA_DIR=str(data_dir),
            LL_REDIS_PREFIX=f"llrun{self.mark[:8]}",
            LL_DEMO_HISTORY="0",
            LL_RUN_MARK=self.mark,
            PORT=str(self.port),
            WS_PORT=str(free_port()),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "config.run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []

    def wait_for(self, text: str, timeout: float = 120) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} in:\n{''.join(self.lines[-60:])}")

    def finish(self, timeout: float = 60) -> int:
        output, _ = self.process.communicate(timeout=timeout)
        self.lines.append(output)
        return self.process.returncode

    @property
    def output(self) -> str:
        return "".join(self.lines)


def gone_within(mark: str, seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while (left := marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"ll_run_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_killed_child_stops_the_whole_run_and_leaves_no_process(
    database_url: str, tmp_path: Path
) -> None:
    run = Run(database_url, tmp_path)
    try:
        run.wait_for("Learning Loop is running")
        # where it serves, for the URLs commands print meanwhile (learning.tenancy.urls)
        served = json.loads((tmp_path / "web-url.json").read_text())
        assert served["url"] == f"http://127.0.0.1:{run.port}"
        started = marked(run.mark)
        # the supervisor, web (its parent and one process per core), worker (and its pool), beat
        assert len(started) >= 6, run.output
        beat = process_running(run.mark, b"beat")
        assert beat is not None
        os.kill(beat, signal.SIGKILL)
        assert run.finish() == 1
        assert "beat exited with -9; stopping." in run.output
        assert gone_within(run.mark, 5) == set()
        assert not (tmp_path / "web-url.json").exists()
    finally:
        run.process.kill()


def test_a_taken_port_fails_the_start_at_once_and_starts_nothing(
    database_url: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = Run(database_url, tmp_path, port=taken.getsockname()[1])
        assert run.finish(timeout=30) == 1
    assert f"127.0.0.1:{run.port} is already in use" in run.output
    assert "PORT=8010 make run" in run.output
    assert "==> database" not in run.output
    assert marked(run.mark) == set()


def test_a_killed_supervisor_takes_its_children_with_it(database_url: str, tmp_path: Path) -> None:
    run = Run(database_url, tmp_path)
    try:
        run.wait_for("Learning Loop is running")
        assert len(marked(run.mark)) >= 6
        run.process.kill()  # SIGKILL: no chance to clean up; the children are told instead
        run.process.wait()
        assert gone_within(run.mark, 30) == set()
    finally:
        run.process.kill()
