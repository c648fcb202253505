"""Domain errors and the one place that turns them into API responses.

Services raise these; views never build error responses by hand. Every error that is the
caller's fault becomes a 4xx whose body names the offending field.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code: str = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code

    def as_data(self) -> dict[str, Any]:
        if self.field:
            return {self.field: [self.message]}
        return {"detail": self.message}


class InvalidInput(DomainError):
    pass


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class Forbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "forbidden"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_data(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DataError):
        # A value PostgreSQL cannot store or compare (out-of-range date, NUL byte, …) that
        # validation let through: the caller's input, so a 400; the transaction rolled back.
        return Response(
            {"detail": "A value in the request is out of range or malformed."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if is_transient(exc):
        # The client may retry: nothing was committed.
        return Response(
            {"detail": "The database is unavailable; retry later."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # A ValidationError raised with a bare list: every error body is an object.
        response.data = {"detail": response.data}
    return response


def is_transient(exc: Exception) -> bool:
    """The database out of reach (restarting, failing over, a connection cut): the
    transaction rolled back, so the caller may retry."""
    return isinstance(exc, (OperationalError, InterfaceError))
