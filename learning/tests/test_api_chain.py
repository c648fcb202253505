"""The agent's calls run a short middleware chain: no session, cookie, CSRF, messages or
page headers for a bearer API call; a page and its own (session) API calls keep all."""

from __future__ import annotations

from django.test import RequestFactory

from learning.api_http import is_bearer_api_call


def test_which_calls_are_bearer_api_calls() -> None:
    factory = RequestFactory()
    assert is_bearer_api_call(factory.get("/t/a/api/v1/me/", HTTP_AUTHORIZATION="Bearer x"))
    assert is_bearer_api_call(factory.get("/t/a/api/v1/me/", HTTP_AUTHORIZATION="bearer x"))
    assert not is_bearer_api_call(factory.get("/t/a/api/v1/me/"))
    assert not is_bearer_api_call(factory.get("/t/a/manager/", HTTP_AUTHORIZATION="Bearer x"))
    assert not is_bearer_api_call(factory.get("/t/a/api/v1/me/", HTTP_AUTHORIZATION="Basic x"))


def test_a_bearer_call_gets_no_page_machinery(alpha, client) -> None:
    response = client.get(alpha.url("api/v1/me/"), **alpha.bearer("agent"))
    assert response.status_code == 200
    assert not response.cookies  # no session, no CSRF cookie
    for header in ("Content-Security-Policy", "X-Frame-Options"):
        assert header not in response, header
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )
    wrong = client.get(alpha.url("api/v1/me/"), HTTP_AUTHORIZATION="Bearer llk_wrong")
    assert wrong.status_code == 401 and not wrong.cookies


def test_pages_and_their_own_api_calls_keep_it(alpha, client) -> None:
    alpha.login(client, "manager")
    page = client.get(alpha.url("manager/"))
    assert page.status_code == 200
    assert "Content-Security-Policy" in page and "X-Frame-Options" in page
    api = client.get(alpha.url("api/v1/analytics/manager/"))  # the dashboard's live refresh
    assert api.status_code == 200
    assert "X-Frame-Options" in api
    # a session call that changes something still needs its CSRF token
    client.handler.enforce_csrf_checks = True
    body = {"target_type": "message", "target_id": "x", "conversation_id": "c", "rating": 1}
    refused = client.post(alpha.url("api/v1/feedback/"), body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
