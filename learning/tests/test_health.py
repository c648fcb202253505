from __future__ import annotations

from django.test import override_settings


def test_healthz(client, db) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_redis(client, db) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_is_503_when_redis_is_unreachable(client, db) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")


def test_favicon_ico_redirects_to_the_served_icon(client, alpha) -> None:
    for url in ("/favicon.ico", alpha.url("favicon.ico")):
        response = client.get(url)
        assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
