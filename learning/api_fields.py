"""Serializer fields shared by every app's API."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import django_filters
from rest_framework import serializers


class FiniteFloatField(serializers.FloatField):
    """A JSON number: not a boolean, not NaN or infinity."""

    default_error_messages = {"finite": "Must be a finite number."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("finite")
        return value


MAX_DAYS = 365


def days_param(raw: str | None, *, default: int = 30) -> int:
    """The `?days=` of a report: a whole number from 1 to MAX_DAYS."""
    from learning.errors import InvalidInput

    value = default if raw is None else raw
    text = str(value)
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise InvalidInput(f"A whole number of days from 1 to {MAX_DAYS}.", field="days")
    return int(text)


def days_parameter(description: str = "The last N days, 1 to 365 (default 30).") -> Any:
    """The OpenAPI declaration of `?days=`, with the bounds `days_param` enforces."""
    from drf_spectacular.utils import OpenApiParameter

    return OpenApiParameter(
        "days",
        {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
        description=description,
    )


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 filter value, turned to UTC before it reaches PostgreSQL (which refuses
    offsets past ±15:59 that Python accepts) and clamped to the years Python can hold."""

    def filter(self, qs: Any, value: Any) -> Any:
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:  # year 1 or 9999 shifted out of range
                value = (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)
        return super().filter(qs, value)
