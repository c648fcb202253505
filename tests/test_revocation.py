"""A revoked agent key stops at once in a process that remembers it, whatever Redis does:
the revoking process cannot reach Redis, the Redis keys are gone, or Redis was emptied
(FLUSHDB, as a restart without persistence leaves it). The remembered key is checked
against the tenant's credentials version in PostgreSQL (learning.selectors), which the
revocation bumps in its own transaction; Redis plays no part.

The process that remembers the key is the product's gunicorn with one worker, so the
request after the revocation is served by the very process that remembered the key."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from learning import selectors, services
from tests.browser_support import committed
from tests.served_support import private_redis, served

DEAD = "redis://127.0.0.1:1/0"  # nothing listens there: every call is a refused connection


@pytest.fixture(scope="module")
def server(world: Any, django_db_blocker: Any) -> Iterator[tuple[int, str]]:
    """(port, its Redis URL): one worker, on a Redis of its own."""
    with (
        django_db_blocker.unblock(),
        private_redis() as url,
        served(workers=1, redis_url=url) as port,
    ):
        yield port, url


def _me(port: int, key: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/t/alpha/api/v1/me/", headers={"Authorization": f"Bearer {key}"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _cache_at(settings_fixture: Any, url: str) -> None:
    settings_fixture.CACHES = {
        "default": {
            "BACKEND": "learning.redis_cache.SharedRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"{settings.REDIS_PREFIX}:cache",
        }
    }


def _remembered_key(world: Any, port: int, name: str) -> str:
    tenant = world["alpha"].tenant
    _key, raw = committed(tenant, lambda: services.create_agent_key(name=name))
    assert _me(port, raw) == 200  # looked up and remembered
    assert _me(port, raw) == 200  # used from memory
    return raw


def _revoke(world: Any, name: str) -> None:
    assert committed(world["alpha"].tenant, lambda: services.revoke_agent_keys(name=name)) == 1


def test_revoked_while_redis_is_out_of_the_revokers_reach(world, server, settings) -> None:
    port, _url = server
    raw = _remembered_key(world, port, "revoke-unreachable")
    _cache_at(settings, DEAD)
    with pytest.raises(redis.ConnectionError):
        caches["default"].get("probe")  # this process cannot reach Redis
    started = time.monotonic()
    _revoke(world, "revoke-unreachable")
    assert _me(port, raw) == 401
    assert time.monotonic() - started < 5


def test_revoked_after_the_redis_keys_were_deleted(world, server, settings) -> None:
    port, url = server
    _cache_at(settings, url)  # the revoker and the server share this Redis
    raw = _remembered_key(world, port, "revoke-deleted")
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match="*"):
        client.delete(key)
    _revoke(world, "revoke-deleted")
    assert _me(port, raw) == 401


def test_revoked_after_redis_was_emptied(world, server, settings) -> None:
    port, url = server
    _cache_at(settings, url)
    raw = _remembered_key(world, port, "revoke-flushed")
    redis.Redis.from_url(url).flushdb()
    _revoke(world, "revoke-flushed")
    assert _me(port, raw) == 401
    other = _remembered_key(world, port, "revoke-flushed-2")  # Redis empty again, then revoked
    redis.Redis.from_url(url).flushdb()
    _revoke(world, "revoke-flushed-2")
    assert _me(port, other) == 401


def test_a_remembered_key_costs_one_read_of_the_version_and_no_redis(
    alpha, client, settings
) -> None:
    """The hot path: a remembered key is one primary-key read of the tenant's version (no
    lookup of the key), and works the same with Redis down."""
    with tenant_context(alpha.tenant):
        _key, raw = services.create_agent_key(name="memo-cost")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get(alpha.url("api/v1/me/"), **headers).status_code == 200
    _cache_at(settings, DEAD)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(alpha.url("api/v1/me/"), **headers).status_code == 200
    credential_queries = [q["sql"] for q in queries if "learning_" in q["sql"]]
    assert credential_queries == ["SELECT version FROM learning_credentialsversion WHERE id = 1"], (
        queries.captured_queries
    )
    with tenant_context(alpha.tenant):
        before = selectors.credentials_version()
        services.revoke_agent_keys(name="memo-cost")
        assert selectors.credentials_version() == before + 1
    assert client.get(alpha.url("api/v1/me/"), **headers).status_code == 401


def test_a_revocation_rolled_back_revokes_nothing(alpha, client) -> None:
    from django.db import transaction

    with tenant_context(alpha.tenant):
        _key, raw = services.create_agent_key(name="memo-rollback")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get(alpha.url("api/v1/me/"), **headers).status_code == 200
    with tenant_context(alpha.tenant):
        before = selectors.credentials_version()
        with pytest.raises(RuntimeError), transaction.atomic():
            services.revoke_agent_keys(name="memo-rollback")
            raise RuntimeError("undo")
        assert selectors.credentials_version() == before
    assert client.get(alpha.url("api/v1/me/"), **headers).status_code == 200
