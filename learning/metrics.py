"""The product's own counters, for Prometheus, and the helpers the apps call to count.

Each app counts what it owns where it happens (outcomes' ingest, prompts' delivery); the
endpoint that serves them, the gauges computed at scrape time (outcomes waiting, sweep lag,
queue depth) and the Celery task signals are in config/metrics.py.

Counters live in the process that counts. Several processes (gunicorn workers, Celery
workers) share them through prometheus_client's multiprocess mode: set
PROMETHEUS_MULTIPROC_DIR to an empty directory before the processes start (docs/deploy.md);
unset, each process has its own registry and /metrics shows the answering one's.

Labels stay few: a tenant's slug (hundreds of tenants), a channel, a task's name; never an
id, a path or anything a client chooses.
"""

from __future__ import annotations

from functools import partial

from django.db import connection, transaction
from prometheus_client import Counter

OUTCOMES_INGESTED = Counter(
    "ll_outcomes_ingested",
    "Actions of the agent stored (created, not replays), by tenant.",
    ["tenant"],
)
PROMPTS_SENT = Counter(
    "ll_prompts_sent",
    "Prompts delivered to a person, by tenant and channel.",
    ["tenant", "channel"],
)
PROMPTS_FAILED = Counter(
    "ll_prompts_failed",
    "Prompts that could not be delivered (given up), by tenant and channel.",
    ["tenant", "channel"],
)
TASK_FAILURES = Counter(
    "ll_celery_task_failures", "Celery tasks that raised (Celery's task_failure).", ["task"]
)
TASK_RETRIES = Counter(
    "ll_celery_task_retries", "Celery tasks that asked to be retried (task_retry).", ["task"]
)


def current_tenant() -> str:
    """The label of the tenant the connection is set to: its slug, or the schema's name
    (a schema_context without a tenant row), or `public`."""
    tenant = getattr(connection, "tenant", None)
    slug = getattr(tenant, "slug", None)
    if slug:
        return str(slug)
    return str(getattr(connection, "schema_name", None) or "public")


def count_outcomes_ingested(count: int) -> None:
    """`count` actions stored by the current transaction: counted once it commits (never
    if it rolls back), in the tenant it stored them in."""
    if count:
        transaction.on_commit(partial(OUTCOMES_INGESTED.labels(current_tenant()).inc, count))


def count_prompts_sent(*, channel: str, count: int = 1) -> None:
    if count:
        PROMPTS_SENT.labels(current_tenant(), channel).inc(count)


def count_prompts_failed(*, channel: str, count: int = 1) -> None:
    if count:
        PROMPTS_FAILED.labels(current_tenant(), channel).inc(count)
