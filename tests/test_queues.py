"""Workloads on their own queues: two Celery workers on this machine, one per queue, on the
real broker and the test database; each task waits for the worker of its queue."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from tests.celery_support import worker_process

# The session's test database (set up only for tests marked as using it); the work
# itself runs on other connections, committed.
pytestmark = pytest.mark.django_db


@pytest.fixture
def start_worker(world, django_db_blocker) -> Iterator:
    started: list[subprocess.Popen] = []

    def start(queue: str, name: str) -> subprocess.Popen:
        worker = worker_process(queue, name)
        started.append(worker)
        return worker

    with django_db_blocker.unblock():
        yield start
    for worker in started:
        worker.terminate()
    for worker in started:
        worker.wait(timeout=30)


def test_each_queue_is_served_by_its_own_worker(world, start_worker) -> None:
    from config.celery import app

    routes = settings.CELERY_TASK_ROUTES
    assert routes["outcomes.sweep"]["queue"] == settings.QUEUES["sweeps"]
    assert routes["insights.send_reports"]["queue"] == settings.QUEUES["reports"]
    # This test's own queue names: the suite's in-process worker serves the real ones.
    sweeps, reports = (f"{settings.QUEUES[name]}-solo" for name in ("sweeps", "reports"))
    with tenant_context(world["alpha"].tenant):
        sweep = app.send_task("outcomes.sweep", kwargs={"window": "expiry"}, queue=sweeps)
        report = app.send_task("insights.send_reports", kwargs={"role": "manager"}, queue=reports)
    start_worker(sweeps, "sweeps")
    assert sweep.get(timeout=90)["window"] == "expiry"
    time.sleep(2)
    assert not report.ready()  # nobody serves the reports queue yet
    start_worker(reports, "reports")
    assert report.get(timeout=90) == {"sent": 0, "skipped": 0, "failed": 0, "posted": False}
