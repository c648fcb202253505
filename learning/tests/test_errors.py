from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import OperationalError

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


def test_database_outage_is_a_retryable_503() -> None:
    response = api_exception_handler(OperationalError("connection refused"), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
