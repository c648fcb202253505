"""Test fixtures shared by every app.

The test database is migrated once per session, and two tenants, `alpha` and `beta`, are
created once with a user of each role, a personal token per user, an agent key and a web
session per user. That "world" is committed, so other threads and processes (a Celery
worker, the live ASGI server) see it too; tests must not change it. Each test still runs
in a transaction (the `db` fixture) that is rolled back afterwards.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.test import Client
from django_tenants.utils import tenant_context

from learning import services
from learning.models import Role, User
from learning.tenancy.models import Tenant

PASSWORD = "correct-horse-battery"
ROLES = [Role.REP, Role.MANAGER, Role.EXECUTIVE, Role.ADMIN]


@dataclass
class TenantWorld:
    tenant: Tenant
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    agent_key: str = ""

    @property
    def slug(self) -> str:
        return self.tenant.slug

    @property
    def prefix(self) -> str:
        return f"/t/{self.tenant.slug}/"

    def url(self, path: str = "") -> str:
        return self.prefix + path.lstrip("/")

    def bearer(self, role: str) -> dict[str, str]:
        raw = self.agent_key if role == "agent" else self.tokens[role]
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def api_post(self, client: Client, path: str, body: Any, role: str = "agent") -> Any:
        """POST `body` as JSON to the tenant's `api/v1/<path>` as `role` (default the agent)."""
        return client.post(
            self.url(f"api/v1/{path}"),
            data=json.dumps(body),
            content_type="application/json",
            **self.bearer(role),
        )

    def login(self, client: Client, role: str) -> Client:
        """Sign `client` in as this tenant's user of `role` (its committed session)."""
        client.cookies[f"{settings.SESSION_COOKIE_NAME}_{self.slug}"] = self.sessions[role]
        return client


def _build_tenant(slug: str) -> TenantWorld:
    tenant, _ = services.create_tenant(slug=slug, name=f"{slug.title()} Inc")
    world = TenantWorld(tenant=tenant)
    engine = import_module(settings.SESSION_ENGINE)
    with tenant_context(tenant):
        # The manager first: the rep reports to them.
        for role in sorted(ROLES, key=lambda role: role != Role.MANAGER):
            user, _ = services.create_user(
                username=f"{slug}-{role}",
                role=role,
                password=PASSWORD,
                manager_username=f"{slug}-manager" if role == Role.REP else None,
            )
            world.users[role] = user
            world.tokens[role] = services.issue_user_token(user=user).raw
            session = engine.SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            world.sessions[role] = session.session_key
        _, world.agent_key = services.create_agent_key(name=f"{slug}-agent")
    return world


@pytest.fixture(scope="session")
def world(django_db_setup: None, django_db_blocker: Any) -> dict[str, TenantWorld]:
    with django_db_blocker.unblock():
        return {slug: _build_tenant(slug) for slug in ("alpha", "beta")}


@pytest.fixture
def alpha(world: dict[str, TenantWorld], db: None) -> TenantWorld:
    return world["alpha"]


@pytest.fixture
def beta(world: dict[str, TenantWorld], db: None) -> TenantWorld:
    return world["beta"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """fan_out claims (task, tenant, period), cached dashboards and rate-limit counters
    live in the cache;
    forget them between tests (a rolled-back test never commits, so never invalidates).
    Keys live under this test run's own prefix, so nothing else is touched. The routes
    remembered in memory (a rolled-back tenant leaves no trace in the database) too."""
    yield
    from django.core.cache import cache

    from learning.selectors import forget_keys
    from learning.tenancy.selectors import forget_routes

    forget_routes()
    forget_keys()

    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    # fan-out claims, cached dashboards, rate-limit counters (django-ratelimit's "rl:"),
    # reports' Slack posts claimed per period
    for pattern in ("*fanout:*", "*analytics:*", "*rl:*", "*slackpost:*"):
        for key in client.scan_iter(match=f"{settings.REDIS_PREFIX}:cache:{pattern}"):
            client.delete(key)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_server_url(world: dict[str, TenantWorld], django_db_blocker: Any) -> Iterator[str]:
    """The real ASGI application (HTTP and websockets) served by uvicorn on loopback."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            "config.asgi:application",
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
            proxy_headers=False,  # as make run: the client address is Django's to decide
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    with django_db_blocker.unblock():
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "live server did not start"
        yield f"127.0.0.1:{port}"
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def celery_worker(world: dict[str, TenantWorld], django_db_blocker: Any) -> Iterator[Any]:
    """A Celery worker consuming this test run's queue on the real Redis broker."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    with (
        django_db_blocker.unblock(),
        start_worker(
            app,
            pool="threads",
            concurrency=2,
            queues=list(settings.QUEUES.values()),
            perform_ping_check=False,
            shutdown_timeout=10,
            loglevel="WARNING",
        ) as worker,
    ):
        yield worker
