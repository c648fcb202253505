"""Each role against each page and endpoint that exists."""

from __future__ import annotations

import pytest

ROLES = ["rep", "manager", "executive", "admin"]

# page -> roles that get 200 (everyone else signed in gets 403)
PAGES = {
    "rep/": {"rep", "manager", "executive", "admin"},
    "manager/": {"manager", "executive", "admin"},
    "executive/": {"executive", "admin"},
}
LANDING = {"rep": "/rep/", "manager": "/manager/", "executive": "/executive/", "admin": "/admin/"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", list(PAGES))
def test_role_pages(alpha, client, role, page) -> None:
    alpha.login(client, role)
    expected = 200 if role in PAGES[page] else 403
    assert client.get(alpha.url(page)).status_code == expected


@pytest.mark.parametrize("page", [*PAGES, "", "admin/"])
def test_pages_send_anonymous_users_to_login(alpha, client, page) -> None:
    response = client.get(alpha.url(page))
    assert response.status_code == 302
    assert "/t/alpha/" in response["Location"] and "login" in response["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_landing_goes_to_the_role_view(alpha, client, role) -> None:
    alpha.login(client, role)
    response = client.get(alpha.url(""))
    assert response.status_code == 302
    assert response["Location"] == "/t/alpha" + LANDING[role]


@pytest.mark.parametrize(
    "role,expected", [("rep", 302), ("manager", 200), ("executive", 302), ("admin", 200)]
)
def test_admin_is_for_managers_and_admins(alpha, client, role, expected) -> None:
    alpha.login(client, role)
    assert client.get(alpha.url("admin/")).status_code == expected


@pytest.mark.parametrize("role", ["agent", *ROLES])
def test_me_says_who_is_calling(alpha, client, role) -> None:
    body = client.get(alpha.url("api/v1/me/"), **alpha.bearer(role)).json()
    assert body["role"] == role
    assert body["kind"] == ("agent" if role == "agent" else "user")
    assert body["username"] == ("agent:alpha-agent" if role == "agent" else f"alpha-{role}")
    assert body["manager"] == ("alpha-manager" if role == "rep" else None)


def test_me_with_session_and_without_credentials(alpha, client) -> None:
    assert client.get(alpha.url("api/v1/me/")).status_code in (401, 403)
    alpha.login(client, "executive")
    assert client.get(alpha.url("api/v1/me/")).json()["username"] == "alpha-executive"


@pytest.mark.parametrize("path", ["api/v1/schema/", "api/v1/docs/", "api/v1/redoc/"])
def test_api_schema_and_docs_are_served_without_cdn(alpha, client, path) -> None:
    response = client.get(alpha.url(path))
    assert response.status_code == 200
    body = response.content.decode()
    assert "cdn.jsdelivr" not in body and "unpkg.com" not in body


def test_schema_points_at_the_tenant(alpha, client) -> None:
    schema = client.get(alpha.url("api/v1/schema/") + "?format=json").json()
    assert schema["servers"] == [{"url": "http://testserver/t/alpha"}]
    assert "/api/v1/me/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_schema_has_every_spec_endpoint_and_no_generator_warnings(alpha, client) -> None:
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    schema = client.get(alpha.url("api/v1/schema/") + "?format=json").json()
    problems = {**GENERATOR_STATS._warn_cache, **GENERATOR_STATS._error_cache}
    assert not problems, list(problems)
    for path in (
        "outcomes/",
        "outcomes/bulk/",
        "outcomes/{id}/",
        "outcomes/{id}/label/",
        "signals/",
        "feedback/",
        "feedback/summary/",
        "feedback/prompts/",
        "drafts/",
        "calibration/{action_type}/",
        "policy/",
        "calibrate/",
    ):
        assert f"/api/v1/{path}" in schema["paths"], path
