"""What an operator watches: `/metrics`, for Prometheus (README, "Metrics and error tracking").

Served by the public URLconf only (never a tenant's), to a scraper that sends
`Authorization: Bearer <METRICS_TOKEN>`: a missing or wrong token is a 401; with
METRICS_TOKEN unset the endpoint does not exist (404). It does not trust the client's
address, since behind the proxy every request comes from the proxy's.

It serves
- django-prometheus' request metrics (per view name, method and status: a route's name,
  never a path or a tenant) and database metrics (statements, their durations, errors);
- the product's counters (learning.metrics: outcomes ingested, prompts sent and failed)
  and Celery's task failures and retries (counted here from Celery's signals);
- gauges read at each scrape (`BacklogCollector`): outcomes waiting and the sweep's lag
  per tenant (outcomes.selectors.backlog_of_schemas: indexed, 100 tenants a statement) and
  the length of each Celery queue in Redis (one pipelined round trip).

With PROMETHEUS_MULTIPROC_DIR set (it must be set before any process starts: gunicorn's
workers and Celery's share it) the counters of every process on the machine are summed;
unset, each process answers with its own.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

import prometheus_client
import redis
import structlog
from celery.signals import task_failure, task_retry
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from learning import metrics
from learning.access import public
from learning.tenancy.selectors import ready_tenants
from outcomes.selectors import backlog_of_schemas

logger = structlog.get_logger(__name__)

# Counters' `_created` series: one more series each that no panel reads.
prometheus_client.disable_created_metrics()

# kombu's Redis transport keeps a queue's messages of priority p > 0 in `<queue>\x06\x16<p>`.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


class BacklogCollector(Collector):
    """Gauges read at scrape time. A source out of reach yields `ll_metrics_source_up 0`
    and its gauges are left out: the scrape itself still answers."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "ll_metrics_source_up", "1 when the source answered this scrape.", labels=["source"]
        )
        seconds = GaugeMetricFamily(
            "ll_metrics_source_seconds",
            "Time this scrape took to read the source.",
            labels=["source"],
        )
        for source, read in (("outcomes", _outcome_gauges), ("queues", _queue_gauges)):
            start = time.perf_counter()
            try:
                families = read()
            except Exception as exc:  # a scrape reports what it could not read, never fails
                logger.warning("metrics_source_failed", source=source, error=type(exc).__name__)
                families = []
            seconds.add_metric([source], time.perf_counter() - start)
            up.add_metric([source], 1 if families else 0)
            yield from families
        yield up
        yield seconds


def _outcome_gauges() -> list[GaugeMetricFamily]:
    waiting = GaugeMetricFamily(
        "ll_outcomes_waiting",
        "Outcomes pending a result (window open or not swept).",
        labels=["tenant"],
    )
    lag = GaugeMetricFamily(
        "ll_sweep_lag_seconds",
        "How long ago the window of the oldest still-pending outcome ended (0: none).",
        labels=["tenant"],
    )
    slugs = dict(ready_tenants().values_list("schema_name", "slug"))
    now = timezone.now()
    for schema, backlog in sorted(backlog_of_schemas(schemas=list(slugs), now=now).items()):
        waiting.add_metric([slugs[schema]], backlog.waiting)
        behind = (now - backlog.overdue_since).total_seconds() if backlog.overdue_since else 0.0
        lag.add_metric([slugs[schema]], behind)
    return [waiting, lag]


def _queue_gauges() -> list[GaugeMetricFamily]:
    depth = GaugeMetricFamily(
        "ll_celery_queue_length", "Tasks waiting in the broker, by queue.", labels=["queue"]
    )
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in settings.QUEUES.values():
                for suffix in _PRIORITY_SUFFIXES:
                    pipe.llen(f"{prefix}{queue}{suffix}")
            lengths = pipe.execute()
    finally:
        client.close()
    per_queue = len(_PRIORITY_SUFFIXES)
    for index, workload in enumerate(settings.QUEUES):
        depth.add_metric([workload], sum(lengths[index * per_queue : (index + 1) * per_queue]))
    return [depth]


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


_backlog = CollectorRegistry(auto_describe=False)
_backlog.register(BacklogCollector())


def _authorised(request: HttpRequest) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    token: str = settings.METRICS_TOKEN
    # bytes: compare_digest refuses str with characters beyond ASCII (a 500, not a 401)
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@public  # it checks its own credential: the METRICS_TOKEN bearer
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        raise Http404  # no token configured: no endpoint
    if not _authorised(request):
        response = HttpResponse(
            "A bearer token is needed.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = prometheus_client.generate_latest(_registry()) + prometheus_client.generate_latest(
        _backlog
    )
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)


# --- Celery's signals: failures and retries by task name ------------------------------------


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or "unknown")


def count_task_failure(sender: Any = None, **_: Any) -> None:
    metrics.TASK_FAILURES.labels(_task_name(sender)).inc()


def count_task_retry(sender: Any = None, **_: Any) -> None:
    metrics.TASK_RETRIES.labels(_task_name(sender)).inc()


def connect() -> None:
    """Count Celery's task failures and retries in this process (config.apps, at start)."""
    task_failure.connect(count_task_failure, weak=False, dispatch_uid="ll-metrics-failure")
    task_retry.connect(count_task_retry, weak=False, dispatch_uid="ll-metrics-retry")
