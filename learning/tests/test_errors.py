from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError

from learning.errors import Conflict, InvalidInput, NotFound, api_exception_handler


def test_domain_errors_become_4xx_with_field_messages() -> None:
    response = api_exception_handler(InvalidInput("Must be in [0, 1].", field="confidence"), {})
    assert (response.status_code, response.data) == (400, {"confidence": ["Must be in [0, 1]."]})
    assert api_exception_handler(NotFound("No such outcome."), {}).status_code == 404
    assert api_exception_handler(Conflict("Already resolved."), {}).data == {
        "detail": "Already resolved."
    }


def test_django_validation_errors_keep_their_fields() -> None:
    response = api_exception_handler(ValidationError({"rating": ["Out of range."]}), {})
    assert (response.status_code, response.data) == (400, {"rating": ["Out of range."]})


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_database_outage_is_a_retryable_503(error) -> None:
    response = api_exception_handler(error("connection refused"), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


@pytest.mark.parametrize(
    ("path", "kind", "marker"),
    [("api/v1/outcomes/", "application/json", "retry later"), ("rep/", "text/html", "again")],
)
def test_database_outage_before_any_view_is_a_retryable_503(
    alpha, client, monkeypatch, path, kind, marker
) -> None:
    """Out of reach while routing (no remembered route), before DRF: the error handler of
    the site turns it into a 503 too, JSON under the API, a bare page elsewhere."""
    from learning.tenancy import middleware

    def unreachable(*, slug: str) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(middleware.selectors, "ready_tenant_by_slug", unreachable)
    client.raise_request_exception = False
    response = client.get(alpha.url(path), **alpha.bearer("agent"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith(kind)
    assert marker in response.content.decode()


def test_other_errors_stay_500(alpha, client, monkeypatch) -> None:
    from learning.tenancy import middleware

    def broken(*, slug: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(middleware.selectors, "ready_tenant_by_slug", broken)
    client.raise_request_exception = False
    assert client.get(alpha.url("rep/")).status_code == 500


DEEP_LIST = "[" * 100_000
DEEP_ATTRIBUTES = '{"a":' * 5_000 + "1" + "}" * 5_000


@pytest.mark.parametrize(
    "path,role",
    [
        ("api/v1/outcomes/", "agent"),
        ("api/v1/outcomes/bulk/", "agent"),
        ("api/v1/signals/", "agent"),
        ("api/v1/drafts/", "agent"),
        ("api/v1/calibrate/", "agent"),
        ("api/v1/feedback/", "rep"),
        ("api/v1/feedback/links/", "rep"),
    ],
)
def test_deeply_nested_json_is_a_400_anywhere(alpha, client, path, role) -> None:
    for body in (DEEP_LIST, DEEP_ATTRIBUTES):
        response = client.post(
            alpha.url(path), body, content_type="application/json", **alpha.bearer(role)
        )
        assert response.status_code == 400, (path, response.content[:200])
        assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize("field", ["attributes", "data"])
def test_free_form_json_fields_are_limited_in_depth(alpha, client, field) -> None:
    nested: dict = {"leaf": 1}
    for _ in range(40):
        nested = {"a": nested}
    if field == "attributes":
        path, body = (
            "api/v1/outcomes/",
            {
                "action_id": "deep-1",
                "conversation_id": "deep-c",
                "action_type": "send_email",
                "predicted_confidence": 0.5,
                "outcome_type": "email_engagement",
                "attributes": nested,
            },
        )
    else:
        path, body = (
            "api/v1/signals/",
            {"conversation_id": "deep-c", "kind": "opened", "data": nested},
        )
    response = client.post(
        alpha.url(path), json.dumps(body), content_type="application/json", **alpha.bearer("agent")
    )
    assert response.status_code == 400
    assert "levels deep" in response.json()[field][0]


def test_a_500_under_the_api_is_json(alpha, client, monkeypatch, settings) -> None:
    from learning import api as learning_api

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    settings.DEBUG = False
    monkeypatch.setattr(learning_api.MeApi, "get", broken)
    client.raise_request_exception = False
    response = client.get(alpha.url("api/v1/me/"), **alpha.bearer("agent"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error; it has been logged."}


def test_binary_cursor_errors_are_djangos(alpha) -> None:
    """A lost connection under the bulk cursor must reach the handlers as Django's
    OperationalError (a retryable 503), not psycopg's (a 500)."""
    import psycopg
    from django_tenants.utils import tenant_context

    from learning.tenancy.db import binary_cursor

    with tenant_context(alpha.tenant), pytest.raises(OperationalError), binary_cursor():
        raise psycopg.OperationalError("server closed the connection unexpectedly")


def test_a_routine_403_or_404_is_one_line_without_a_traceback(alpha, client, caplog) -> None:
    import logging

    caplog.set_level(logging.INFO)
    alpha.login(client, "rep")
    assert client.get(alpha.url("manager/")).status_code == 403  # a page the role may not open
    api = client.get(alpha.url("api/v1/analytics/manager/"), **alpha.bearer("rep"))
    assert api.status_code == 403
    assert client.get(alpha.url("no-such-page/")).status_code == 404
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a 4xx"
    assert not [r for r in caplog.records if r.name == "django.request"]
    finished = [r for r in caplog.records if "request_finished" in str(r.msg)]
    assert [r.msg["code"] for r in finished] == [403, 403, 404]  # one line each


def test_development_mail_is_one_line_and_a_file(tmp_path, capsys, settings) -> None:
    from django.core.mail import get_connection, send_mail

    settings.EMAIL_FILE_PATH = str(tmp_path)
    connection = get_connection("config.mail.OneLineConsoleBackend")
    sent = send_mail(
        "Daily report",
        "Hello Maria\n" * 50,
        "ll@example.com",
        ["maria@example.com"],
        connection=connection,
    )
    assert sent == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "“Daily report” to maria@example.com" in out
    (saved,) = tmp_path.glob("*.eml")
    assert "Hello Maria" in saved.read_text() and "Subject: Daily report" in saved.read_text()
