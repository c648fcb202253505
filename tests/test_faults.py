"""Faults: Redis gone while the agent posts and people look at dashboards. Redis carries
the cache, the live pushes and Celery's broker; the data path is PostgreSQL alone, so
outcomes are stored and resolved, the calibration bins counted in the same transaction,
and nothing waits for Redis to come back."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client
from django_tenants.utils import tenant_context

from calibration.models import CalibrationBin
from outcomes.models import OutcomeRecord

DEAD = "redis://127.0.0.1:1/0"  # nothing listens there: every call is a refused connection


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "learning.redis_cache.SharedRedisCache",
            "LOCATION": DEAD,
            "KEY_PREFIX": "faults",
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [DEAD]}}
    }
    with pytest.raises(Exception):  # noqa: B017 - any connection error proves it is down
        caches["default"].get("probe")
    yield


def test_the_agent_and_people_carry_on_while_redis_is_down(alpha, client, redis_down) -> None:
    agent = alpha.bearer("agent")
    body = {
        "action_id": "fault-1",
        "conversation_id": "fault-c",
        "action_type": "send_email",
        "predicted_confidence": 0.8,
        "outcome_type": "email_engagement",
    }
    created = client.post(
        alpha.url("api/v1/outcomes/"), body, content_type="application/json", **agent
    )
    assert created.status_code == 201, created.content
    signal = {"conversation_id": "fault-c", "action_id": "fault-1", "kind": "replied"}
    resolved = client.post(
        alpha.url("api/v1/signals/"), signal, content_type="application/json", **agent
    )
    assert resolved.status_code in (200, 201), resolved.content
    with tenant_context(alpha.tenant):
        assert OutcomeRecord.objects.get(action_id="fault-1").status == "positive"
        (bin_,) = CalibrationBin.objects.filter(action_type="send_email", n__gt=0)
        assert (bin_.bin_index, bin_.n, bin_.sum_y) == (7, 1, 1)
    # a retry after a lost answer is still a replay
    again = client.post(
        alpha.url("api/v1/outcomes/"), body, content_type="application/json", **agent
    )
    assert again.status_code == 200
    # dashboards are computed without their cache
    alpha.login(client, "manager")
    assert client.get(alpha.url("manager/")).status_code == 200
    alpha.login(client, "executive")
    assert client.get(alpha.url("api/v1/analytics/executive/")).json()["totals"]["positive"] == 1
    # sign-in works without its rate-limit counters
    anonymous = Client()
    wrong = anonymous.post(alpha.url("login/"), {"username": "x", "password": "y"})
    assert wrong.status_code == 200, wrong.content
    assert b"match" in wrong.content, wrong.content.decode()[-1500:]
