"""/metrics: closed to all but the scraper's token, never a tenant's; what it says after a
known ingest, a failing task, a queue with tasks in it (config/metrics.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import redis
from celery import shared_task
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from learning.tenancy.db import binary_cursor
from outcomes.models import OutcomeRecord

TOKEN = "metrics-test-token-0123456789"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client: Client) -> Samples:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def action(number: int, **overrides: object) -> dict[str, object]:
    return {
        "action_id": f"metrics-{number}",
        "conversation_id": f"metrics-conv-{number}",
        "action_type": "send_email",
        "predicted_confidence": 0.7,
        "outcome_type": "email_engagement",
        "occurred_at": "2026-11-20T10:00:00Z",
        **overrides,
    }


# --- who may read it ------------------------------------------------------------------------


def test_without_a_configured_token_there_is_no_endpoint(client, db, settings) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_only_the_token_opens_it_and_only_outside_tenants(client, alpha, token) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    wrong_ones = (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer")
    for wrong in (*wrong_ones, "Bearer caf\u00e9", "Bearer \u00ff" * 3):
        assert client.get("/metrics", HTTP_AUTHORIZATION=wrong).status_code == 401, wrong
    # A tenant's agent key or a person's token is no metrics token.
    assert client.get("/metrics", **alpha.bearer("agent")).status_code == 401
    assert client.get("/metrics", **alpha.bearer("admin")).status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    # Never served under a tenant, token or not.
    for path in (alpha.url("metrics"), alpha.url("api/v1/metrics")):
        assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404, path
    # No session is started or needed.
    assert "Set-Cookie" not in client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


# --- what it says ---------------------------------------------------------------------------


def test_ingest_counts_per_tenant_and_the_backlog_is_what_the_database_holds(
    client, alpha, beta, token, django_capture_on_commit_callbacks
) -> None:
    before = scrape(client)
    with django_capture_on_commit_callbacks() as after_commit:
        created = alpha.api_post(client, "outcomes/bulk/", [action(n) for n in (1, 2)])
        assert created.status_code == 200, created.content
        assert created.json()["created"] == 2
        assert alpha.api_post(client, "outcomes/", action(3)).status_code == 201
        assert alpha.api_post(client, "outcomes/", action(3)).status_code == 200  # a replay
    before_commit = scrape(client)
    with tenant_context(alpha.tenant):  # what a commit in the request would run
        for callback in after_commit:
            callback()
    after = scrape(client)

    def ingested(samples: Samples, slug: str) -> float:
        return value(samples, "ll_outcomes_ingested_total", tenant=slug) or 0.0

    assert ingested(before_commit, "alpha") == ingested(before, "alpha")  # not committed yet
    assert ingested(after, "alpha") - ingested(before, "alpha") == 3
    assert ingested(after, "beta") == ingested(before, "beta")

    now = timezone.now()
    for world in (alpha, beta):
        with tenant_context(world.tenant):
            pending = OutcomeRecord.objects.filter(status="pending")
            oldest = pending.filter(window_expires_at__lte=now).order_by("window_expires_at")
            overdue = oldest.values_list("window_expires_at", flat=True).first()
            expected_waiting = pending.count()
        assert value(after, "ll_outcomes_waiting", tenant=world.slug) == expected_waiting
        lag = value(after, "ll_sweep_lag_seconds", tenant=world.slug)
        assert lag is not None
        if overdue is None:
            assert lag == 0
        else:  # the scrape's "now" was a moment before this test's
            assert 0 <= (now - overdue).total_seconds() - lag < 30
    assert value(after, "ll_outcomes_waiting", tenant="alpha") >= 3
    # The three actions of 2026-11-20 have a 7-day window, long over: the sweep is behind.
    with tenant_context(alpha.tenant):
        window_end = OutcomeRecord.objects.get(action_id="metrics-1").window_expires_at
    assert window_end == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert (
        value(after, "ll_sweep_lag_seconds", tenant="alpha")
        >= (now - window_end - timedelta(seconds=30)).total_seconds()
    )
    assert value(after, "ll_metrics_source_up", source="outcomes") == 1


def test_requests_are_labelled_by_route_never_by_tenant(client, alpha, token) -> None:
    before = scrape(client)
    assert alpha.api_post(client, "outcomes/", action(1)).status_code == 201
    missing = client.get(alpha.url("api/v1/outcomes/999999999/"), **alpha.bearer("agent"))
    assert missing.status_code == 404
    after = scrape(client)
    name = "django_http_responses_total_by_status_view_method_total"
    created = {"method": "POST", "status": "201", "view": "api-outcomes"}
    assert (value(after, name, **created) or 0) - (value(before, name, **created) or 0) == 1
    labels = {value for (name, pairs) in after for _, value in pairs if name.startswith("django")}
    assert not any(alpha.slug in label for label in labels), sorted(labels)


def test_database_statements_are_counted_server_bound_ones_too(alpha, token, client) -> None:
    name, labels = "django_db_execute_total", {"alias": "default", "vendor": "postgresql"}
    with tenant_context(alpha.tenant):
        OutcomeRecord.objects.exists()  # the tenant's search_path set: no SET below
        before = REGISTRY.get_sample_value(name, labels) or 0
        with binary_cursor() as cursor:  # ingest's cursor: bound on the server
            cursor.execute("SELECT 1")
            cursor.execute("SELECT %b::int", [2])
        with connection.cursor() as cursor:
            cursor.execute("SELECT 3")
        assert REGISTRY.get_sample_value(name, labels) == before + 3
    assert (value(scrape(client), name, **labels) or 0) >= before + 3


def test_queue_depth_is_read_from_the_broker(client, db, token, settings) -> None:
    settings.QUEUES = {"default": "mtest-default", "sweeps": "mtest-sweeps"}
    broker = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    keys = [f"{prefix}mtest-sweeps", f"{prefix}mtest-sweeps\x06\x166"]
    try:
        broker.rpush(keys[0], "t1", "t2")
        broker.rpush(keys[1], "t3")  # a message of priority 6 (kombu keeps it apart)
        samples = scrape(client)
    finally:
        broker.delete(*keys)
        broker.close()
    assert value(samples, "ll_celery_queue_length", queue="sweeps") == 3
    assert value(samples, "ll_celery_queue_length", queue="default") == 0
    assert value(samples, "ll_metrics_source_up", source="queues") == 1


def test_a_broker_out_of_reach_leaves_the_rest_of_the_scrape(client, db, token, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    samples = scrape(client)
    assert value(samples, "ll_metrics_source_up", source="queues") == 0
    assert value(samples, "ll_metrics_source_up", source="outcomes") == 1
    assert not [key for key in samples if key[0] == "ll_celery_queue_length"]


@shared_task(name="tests.metrics.boom")
def boom() -> None:
    raise ValueError("boom")


@shared_task(name="tests.metrics.flaky", bind=True, max_retries=5)
def flaky(self, failures: int) -> int:
    if self.request.retries < failures:
        raise self.retry(countdown=0)
    return self.request.retries


def test_task_failures_and_retries_are_counted_by_task(client, db, token) -> None:
    before = scrape(client)
    assert boom.apply().failed()
    assert boom.apply().failed()
    assert flaky.apply((2,)).get() == 2
    after = scrape(client)

    def delta(name: str, task: str) -> float:
        return (value(after, name, task=task) or 0) - (value(before, name, task=task) or 0)

    assert delta("ll_celery_task_failures_total", "tests.metrics.boom") == 2
    assert delta("ll_celery_task_retries_total", "tests.metrics.flaky") == 2
    assert delta("ll_celery_task_failures_total", "tests.metrics.flaky") == 0


def test_the_grafana_dashboard_is_valid_and_reads_only_metrics_we_serve() -> None:
    dashboard = json.loads(
        (settings.BASE_DIR / "docs" / "grafana" / "learning-loop.json").read_text()
    )
    assert dashboard["templating"]["list"][0]["name"] == "datasource"
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    assert len(expressions) >= 10
    served = (
        "ll_outcomes_ingested_total",
        "ll_outcomes_waiting",
        "ll_sweep_lag_seconds",
        "ll_celery_queue_length",
        "ll_celery_task_failures_total",
        "ll_prompts_sent_total",
        "ll_prompts_failed_total",
        "django_http_requests_latency_seconds_by_view_method_bucket",
        "django_http_responses_total_by_status_view_method_total",
        "django_db_execute_total",
        "django_db_query_duration_seconds_bucket",
    )
    for name in served:
        assert any(name in expr for expr in expressions), name
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
