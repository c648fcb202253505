"""Exports against slow clients. A gunicorn sync worker streams one export for as long as
its client takes to read it, so each export takes a slot, per user and per tenant
(insights.streaming): one more is refused at once with a 429, and the workers it would
have held stay free for everyone else (/healthz answers). The served test runs the
product's real gunicorn; docs/deploy.md requires a buffering proxy in front as well."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from insights import streaming
from learning import services
from learning.models import Role
from outcomes import services as outcome_services
from tests.served_support import private_redis, served

DEAD = "redis://127.0.0.1:1/0"
EXPORT = "api/v1/exports/outcomes.csv"


def _hold(client: Any, world: Any, role: str) -> Any:
    response = client.get(world.url(EXPORT), **world.bearer(role))
    assert response.status_code == 200
    return response  # not read, not closed: its slot stays taken


def _finish(response: Any) -> None:
    """Read to the end: the test client then closes the response (as a server would),
    which gives the slot back."""
    b"".join(response.streaming_content)


def test_one_export_more_than_a_user_may_run_is_refused_at_once(alpha, client, settings) -> None:
    settings.EXPORTS_PER_USER, settings.EXPORTS_PER_TENANT = 2, 4
    held = [_hold(client, alpha, "executive") for _ in range(2)]
    try:
        refused = client.get(alpha.url(EXPORT), **alpha.bearer("executive"))
        assert refused.status_code == 429
        assert refused["Retry-After"] == str(streaming.RETRY_AFTER_SECONDS)
        body = refused.json()
        assert body["limit"] == "EXPORTS_PER_USER" and body["max_concurrent"] == 2
        assert "at most 2 per user" in body["detail"]
        # someone else of the tenant still exports
        held.append(_hold(client, alpha, "manager"))
        _finish(held.pop(0))  # one finished: the user may start another
        held.append(_hold(client, alpha, "executive"))
    finally:
        for response in held:
            _finish(response)


def test_the_tenant_has_a_limit_of_its_own(alpha, client, settings) -> None:
    settings.EXPORTS_PER_USER, settings.EXPORTS_PER_TENANT = 2, 3
    held = [_hold(client, alpha, role) for role in ("executive", "executive", "manager")]
    try:
        refused = client.get(alpha.url(EXPORT), **alpha.bearer("admin"))
        assert refused.status_code == 429 and refused.json()["limit"] == "EXPORTS_PER_TENANT"
    finally:
        for response in held:
            _finish(response)


def test_a_slot_nobody_renews_lapses(alpha, settings, monkeypatch) -> None:
    """A process that died (killed mid-export) leaves slots that nobody renews: they stop
    counting after the lease."""
    settings.EXPORTS_PER_USER, settings.EXPORTS_PER_TENANT = 1, 4
    monkeypatch.setattr(streaming, "SLOT_LEASE_SECONDS", 0.3)
    slot = streaming.take_export_slot(schema="t_alpha", user="ghost")
    assert slot is not None
    streaming._held.pop(slot.name)  # as if its process were gone: never renewed, released
    with pytest.raises(streaming.TooManyExports):
        streaming.take_export_slot(schema="t_alpha", user="ghost")
    time.sleep(0.5)
    again = streaming.take_export_slot(schema="t_alpha", user="ghost")
    assert again is not None
    again.release()


def test_with_redis_down_exports_are_not_limited(alpha, client, settings) -> None:
    settings.EXPORTS_PER_USER, settings.EXPORTS_PER_TENANT = 1, 1
    settings.CACHES = {
        "default": {"BACKEND": "learning.redis_cache.SharedRedisCache", "LOCATION": DEAD}
    }
    held = [_hold(client, alpha, "executive") for _ in range(3)]
    for response in held:
        _finish(response)


# --- served: the product's gunicorn, real sockets ------------------------------------------

SLOW_SLUG = "slowexp"
ROWS, BODY = 3000, "x" * 4000  # a 12 MB export: far more than the sockets' buffers hold
USER_CAP = 2


@pytest.fixture(scope="module")
def big_tenant(world: Any, django_db_blocker: Any) -> Iterator[tuple[str, str]]:
    """A tenant of its own (committed; dropped afterwards) with an executive and a large
    outcomes export; (slug, the executive's token)."""
    with django_db_blocker.unblock():
        tenant, _ = services.create_tenant(slug=SLOW_SLUG)
        try:
            with tenant_context(tenant):
                user = services.create_user(
                    username="slow-exec", role=Role.EXECUTIVE, password="correct-horse-battery"
                )[0]
                token = services.issue_user_token(user=user).raw
                items = [
                    outcome_services.OutcomeInput(
                        action_id=f"slow-{i}",
                        conversation_id=f"slow-c{i % 50}",
                        action_type="send_email",
                        predicted_confidence=0.5,
                        outcome_type="email_engagement",
                        occurred_at=_now(),
                        content=outcome_services.Content(channel="email", body=BODY),
                    )
                    for i in range(ROWS)
                ]
                for start in range(0, ROWS, 500):
                    outcome_services.record_outcomes(items=items[start : start + 500])
            yield SLOW_SLUG, token
        finally:
            connections.close_all()
            tenant.delete(force_drop=True)


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


class SlowReader:
    """An export request whose client reads 64 kB and then nothing: a tiny receive buffer,
    so the server's worker soon blocks writing to it."""

    def __init__(self, port: int, path: str, token: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        received = b""
        while len(received) < 64 * 1024:
            chunk = self.sock.recv(16 * 1024)
            assert chunk, "the server closed the export early"
            received += chunk
        self.status = int(received.split(b" ", 2)[1])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        self.sock.close()  # a reset: the worker's next write fails and it lets go


def _get(
    port: int, path: str, token: str | None = None, timeout: float = 5
) -> tuple[int, Any, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = conn.getresponse()
        return response.status, response, response.read(64 * 1024)
    finally:
        conn.close()


def test_slow_export_readers_get_their_slots_and_no_more(big_tenant) -> None:
    slug, token = big_tenant
    path = f"/t/{slug}/{EXPORT}"
    with (
        private_redis() as url,
        served(workers=USER_CAP + 2, redis_url=url, EXPORTS_PER_USER=str(USER_CAP)) as port,
    ):
        readers = [SlowReader(port, path, token) for _ in range(USER_CAP)]
        try:
            assert [reader.status for reader in readers] == [200] * USER_CAP
            started = time.monotonic()
            status, response, body = _get(port, path, token)
            refused_in = time.monotonic() - started
            assert status == 429, body
            assert response.getheader("Retry-After") == str(streaming.RETRY_AFTER_SECONDS)
            assert json.loads(body)["limit"] == "EXPORTS_PER_USER"
            assert refused_in < 2
            started = time.monotonic()
            assert _get(port, "/healthz")[0] == 200
            assert time.monotonic() - started < 2
        finally:
            for reader in readers:
                reader.close()
        # the readers gone, their workers let go and their slots come back
        deadline = time.monotonic() + 20
        while (status := _get(port, path, token, timeout=30)[0]) == 429:
            assert time.monotonic() < deadline, "the slots did not come back"
            time.sleep(0.2)
        assert status == 200
