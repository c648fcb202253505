"""PostgreSQL restarting while the agent posts: the product's ASGI server (a process of
its own, with the production connection pool) reaches PostgreSQL through a relay that
drops every connection and refuses new ones for a while, as a restart or failover does.

Every response is a success or a 503 with Retry-After (never a 500); an agent that
retries stores each action exactly once; and a request the agent abandoned after a 503
left either all it would have written or none of it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from outcomes.models import Conversation, OutcomeRecord
from tests.browser_support import committed

# The session's test database (set up only for tests marked as using it); the work
# itself runs on other connections, committed.
pytestmark = pytest.mark.django_db

SINGLES = 240
BULKS = 12
BULK_SIZE = 50


class Relay:
    """A TCP relay to PostgreSQL. `cut()` drops every open connection and turns new ones
    away until `restore()`: what clients of a restarting PostgreSQL see."""

    def __init__(self, target: str | tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = threading.Event()
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            family = socket.AF_UNIX if isinstance(self.target, str) else socket.AF_INET
            upstream = socket.socket(family, socket.SOCK_STREAM)
            upstream.connect(self.target)
            with self.lock:
                self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                _shut(end)

    def cut(self) -> None:
        self.down.set()
        with self.lock:
            for end in self.open:
                _shut(end)
            self.open.clear()

    def restore(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def _shut(end: socket.socket) -> None:
    with contextlib.suppress(OSError):
        end.shutdown(socket.SHUT_RDWR)


def _postgres_address() -> str | tuple[str, int]:
    db = connection.settings_dict
    host, port = db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)
    return f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)


def _server(relay: Relay) -> tuple[subprocess.Popen, int]:
    db = connection.settings_dict
    port = socket.create_server(("127.0.0.1", 0))
    number = port.getsockname()[1]
    port.close()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{db.get('USER') or 'postgres'}@127.0.0.1:{relay.port}/"
        f"{db['NAME']}",
        "LL_REDIS_PREFIX": settings.REDIS_PREFIX,
        "LL_TESTING": "1",
        # as in production: with DEBUG on, Django would answer an outage met outside a
        # view (the tenant lookup) with its debug page, a 500
        "DEBUG": "false",
        "SECRET_KEY": "restart-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DB_POOL_MAX_SIZE": "4",  # as in production: pooled connections die in the restart
        "DB_POOL_TIMEOUT": "1",  # requests fail fast while PostgreSQL is away
    }
    arguments = ["--port", str(number), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "uvicorn", "config.asgi:application", *arguments],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", number), timeout=1).close()
            return server, number
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start")


class Agent:
    """Posts actions one request at a time, as the agent does, and keeps every status."""

    def __init__(self, port: int, prefix: str, key: str) -> None:
        self.port, self.prefix = port, prefix
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.statuses: Counter[int] = Counter()
        self.unavailable: list[dict[str, Any]] = []
        self.stored = 0
        self.met_outage = 0
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: Any) -> int:
        self.connection.request("POST", self.prefix + path, json.dumps(body), self.headers)
        response = self.connection.getresponse()
        payload = response.read()
        self.statuses[response.status] += 1
        if response.status == 503:
            self.unavailable.append(
                {"retry_after": response.getheader("Retry-After"), "body": json.loads(payload)}
            )
        elif response.status in (200, 201):
            self.stored += 1
        return response.status

    def deliver(self, path: str, body: Any) -> bool:
        """Post until stored, retrying after a 503; but every other request whose first
        attempt meets the outage is given up instead (False)."""
        deadline = time.monotonic() + 60
        first = True
        while time.monotonic() < deadline:
            if self.post(path, body) != 503:
                return True
            if first:
                self.met_outage += 1
                if self.met_outage % 2:
                    return False
            first = False
            time.sleep(0.1)
        raise AssertionError(f"{path} still unavailable after a minute")


def _action(i: int) -> dict[str, Any]:
    return {
        "action_id": f"restart-{i}",
        "conversation_id": f"restart-c{i}",  # one each: an orphan would show
        "action_type": "restart_email",
        "predicted_confidence": 0.5,
        "outcome_type": "email_engagement",
    }


def test_postgres_restart_during_ingest_gives_retryable_errors_and_no_half_writes(
    world, django_db_blocker
) -> None:
    tenant = world["alpha"].tenant
    relay = Relay(_postgres_address())
    server, port = _server(relay)
    agent = Agent(port, world["alpha"].prefix + "api/v1/", world["alpha"].agent_key)
    abandoned: list[list[int]] = []
    try:

        def ingest() -> None:
            index = 0
            for step in range(SINGLES + BULKS):
                if step % (SINGLES // BULKS + 1) == 0:
                    ids = list(range(index, index + BULK_SIZE))
                    body: Any = [_action(i) for i in ids]
                    path = "outcomes/bulk/"
                else:
                    ids, body, path = [index], _action(index), "outcomes/"
                index += len(ids)
                if not agent.deliver(path, body):
                    abandoned.append(ids)
                time.sleep(0.005)
            agent.sent = index  # type: ignore[attr-defined]

        writer = threading.Thread(target=ingest)
        writer.start()
        while agent.stored < 40 and writer.is_alive():
            time.sleep(0.01)
        relay.cut()  # PostgreSQL goes away mid-ingest...
        time.sleep(3)
        relay.restore()  # ...and comes back
        writer.join(timeout=300)
        assert not writer.is_alive()

        assert set(agent.statuses) <= {200, 201, 503}, agent.statuses
        assert agent.statuses[503] >= 2, "the outage was not noticed"
        assert abandoned, "no request was given up"
        assert all(u["retry_after"] == "5" for u in agent.unavailable)
        assert all("retry" in u["body"]["detail"] for u in agent.unavailable)

        with django_db_blocker.unblock():

            def stored() -> tuple[dict[str, int], set[str]]:
                outcomes = dict(
                    OutcomeRecord.objects.filter(action_id__startswith="restart-").values_list(
                        "action_id", "conversation__external_id"
                    )
                )
                conversations = set(
                    Conversation.objects.filter(external_id__startswith="restart-c").values_list(
                        "external_id", flat=True
                    )
                )
                return outcomes, conversations

            outcomes, conversations = committed(tenant, stored)
        sent = agent.sent  # type: ignore[attr-defined]
        given_up = {i for ids in abandoned for i in ids}
        for i in range(sent):
            action, conversation = f"restart-{i}", f"restart-c{i}"
            if i not in given_up:
                assert outcomes.get(action) == conversation, action  # stored, exactly once
            else:  # all or nothing: an outcome never without its conversation, nor the reverse
                assert (action in outcomes) == (conversation in conversations), action
        for ids in abandoned:  # a bulk request is all or nothing too
            assert len({f"restart-{i}" in outcomes for i in ids}) == 1, ids
        assert len(outcomes) == len(conversations)
        print(
            f"{sum(agent.statuses.values())} responses {dict(agent.statuses)}; "
            f"{len(abandoned)} requests abandoned after a 503; {len(outcomes)} actions stored"
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
        relay.close()

        def cleanup() -> None:
            OutcomeRecord.objects.filter(action_id__startswith="restart-").delete()
            Conversation.objects.filter(external_id__startswith="restart-c").delete()

        with django_db_blocker.unblock():
            committed(tenant, cleanup)
