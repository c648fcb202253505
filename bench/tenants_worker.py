"""The product's Celery worker for the `tenants` bench, which also records every task it
ran (name, kwargs, schema, state, its CPU and wall time) in a Redis list, so that the
bench can tell which of the hour's (job, tenant) pairs were left undone.

Run by bench.tenants as `python -m bench.tenants_worker`, with the product's settings.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import redis  # noqa: E402
from celery.signals import task_postrun, task_prerun  # noqa: E402
from django.conf import settings  # noqa: E402

from config.celery import app  # noqa: E402

RAN = "llbench:tenants:ran"
_started: dict[str, tuple[float, float]] = {}
_redis = redis.Redis.from_url(settings.REDIS_URL)


@task_prerun.connect
def _before(task_id: str, **_: Any) -> None:
    _started[task_id] = (time.process_time(), time.perf_counter())


@task_postrun.connect
def _after(task_id: str, task: Any, kwargs: dict[str, Any], state: str, **_: Any) -> None:
    cpu, wall = _started.pop(task_id, (time.process_time(), time.perf_counter()))
    headers = task.request.headers or {}
    schema = headers.get("_schema_name") or task.request.get("_schema_name")
    _redis.rpush(
        RAN,
        json.dumps(
            {
                "task": task.name,
                "kwargs": {k: v for k, v in kwargs.items()},
                "schema": schema,
                "state": state,
                "cpu": time.process_time() - cpu,
                "wall": time.perf_counter() - wall,
            }
        ),
    )


if __name__ == "__main__":
    app.worker_main(
        [
            "worker",
            "--queues",
            ",".join(settings.QUEUES.values()),
            "--concurrency",
            os.environ.get("BENCH_WORKER_CONCURRENCY", "2"),
            "--pool",
            "prefork",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
