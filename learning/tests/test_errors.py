from __future__ import annotations

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
