"""Tasks run through the real broker, in the schema of the tenant that queued them."""

from __future__ import annotations

import time

from django.core.cache import cache
from django_tenants.utils import schema_context, tenant_context

from learning import tasks


def test_task_runs_in_the_tenant_that_queued_it(alpha, beta, celery_worker) -> None:
    results = {}
    for world in (alpha, beta):
        with tenant_context(world.tenant):
            results[world.slug] = tasks.ping.delay()
    for world in (alpha, beta):
        # The worker sees the committed world: one user per role in each tenant.
        assert results[world.slug].get(timeout=20) == {
            "schema": world.tenant.schema_name,
            "users": 4,
        }


def test_task_queued_in_public_runs_in_public(alpha, celery_worker) -> None:
    with schema_context("public"):
        result = tasks.ping.delay()
    assert result.get(timeout=20)["schema"] == "public"


def test_fan_out_reaches_every_ready_tenant_once_per_period(alpha, beta, celery_worker) -> None:
    # First run: one task per tenant, each in its own schema (the ping result says which).
    assert tasks.fan_out("learning.ping", period_seconds=3600, jitter_seconds=0) == 2
    # Beat restarted or the message redelivered in the same period: nothing is sent again.
    assert tasks.fan_out("learning.ping", period_seconds=3600, jitter_seconds=0) == 0


def test_fan_out_tasks_execute_in_each_tenant(alpha, beta, celery_worker) -> None:
    schemas = {alpha.tenant.schema_name, beta.tenant.schema_name}
    cache.delete_many([f"{schema}:last-ping" for schema in schemas])
    assert tasks.fan_out("learning.ping", period_seconds=60, jitter_seconds=0) == 2
    deadline = time.monotonic() + 20
    seen: set[str] = set()
    while time.monotonic() < deadline and seen != schemas:
        seen = {schema for schema in schemas if cache.get(f"{schema}:last-ping")}
        time.sleep(0.1)
    assert seen == schemas
