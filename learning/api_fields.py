"""Serializer fields shared by every app's API."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import django_filters
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination

from learning.errors import InvalidInput


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_type(field: serializers.Field) -> tuple[Callable[[Any], bool], str] | None:
    """The JSON type a body's field takes, as a check and the message when it fails."""
    text = (lambda v: isinstance(v, str)), "Must be a string."
    if isinstance(field, serializers.BooleanField):
        return (lambda v: isinstance(v, bool)), "Must be true or false."
    if isinstance(field, serializers.IntegerField):
        return (lambda v: _is_number(v) and isinstance(v, int)), "Must be a whole number."
    if isinstance(field, serializers.FloatField):
        return _is_number, "Must be a number."
    if isinstance(field, serializers.CharField | serializers.DateTimeField | serializers.DateField):
        return text
    if isinstance(field, serializers.ChoiceField):
        return text if all(isinstance(c, str) for c in field.choices) else None
    return None


class JsonBody(serializers.Serializer):
    """A request body whose fields take exactly the JSON type its schema gives them: DRF
    alone would store 0 as "0" in a text field, take "1" for true and "5" for 5 (found
    by Schemathesis' negative_data_rejection). A query string's serializer is not one:
    every value of a query string is text."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors: dict[str, list[str]] = {}
            for field in self._writable_fields:
                value = data.get(field.field_name)
                expected = None if value is None else _json_type(field)
                if expected is not None and not expected[0](value):
                    errors[str(field.field_name)] = [expected[1]]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class FiniteFloatField(serializers.FloatField):
    """A JSON number: not a string, not a boolean, not NaN or infinity (as the agent's
    outcome bodies, which msgspec checks)."""

    default_error_messages = {"finite": "Must be a finite number."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("finite")
        return value


MAX_DAYS = 365


def whole_number(text: str) -> bool:
    """ASCII digits only (str.isdigit also takes '²', which int() refuses)."""
    return text.isascii() and text.isdigit()


def days_param(raw: str | None, *, default: int = 30) -> int:
    """The `?days=` of a report: a whole number from 1 to MAX_DAYS."""
    value = default if raw is None else raw
    text = str(value)
    if not whole_number(text) or not 1 <= int(text) <= MAX_DAYS:
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
        return super().filter(qs, as_utc(value))


def as_utc(value: datetime | None) -> datetime | None:
    """A parsed time in UTC (PostgreSQL refuses offsets past ±15:59 that Python accepts),
    clamped to the years Python can hold."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted out of range
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=` (1 to MAX_PAGE) and `?offset=` (0 up) as whole numbers; anything else is a
    400 naming the parameter, where DRF would quietly fall back to its defaults."""

    max_limit = MAX_PAGE = 1000
    MAX_OFFSET = 1_000_000_000

    def _param(self, request: Any, name: str, low: int, high: int) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        if not whole_number(raw) or not low <= int(raw) <= high:
            raise InvalidInput(f"A whole number from {low} to {high:,}.", field=name)
        return int(raw)

    def get_limit(self, request: Any) -> int | None:
        limit = self._param(request, self.limit_query_param, 1, self.MAX_PAGE)
        return self.default_limit if limit is None else limit

    def get_offset(self, request: Any) -> int:
        return self._param(request, self.offset_query_param, 0, self.MAX_OFFSET) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        bounds = {
            self.limit_query_param: (1, self.MAX_PAGE),
            self.offset_query_param: (0, self.MAX_OFFSET),
        }
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"] |= {"minimum": low, "maximum": high}
        return parameters


def time_range(field_name: str) -> tuple[UtcDateTimeFilter, UtcDateTimeFilter]:
    """The `…_after` (from, inclusive) and `…_before` (until, exclusive) filters of a time."""
    return (
        UtcDateTimeFilter(field_name=field_name, lookup_expr="gte"),
        UtcDateTimeFilter(field_name=field_name, lookup_expr="lt"),
    )


class StrictFilterSet(django_filters.FilterSet):
    """A filter given empty (`?status=`, `?occurred_after=`) is refused where the schema
    says what it must be (a choice, a time), rather than read as no filter at all. Free
    text filters may be empty."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            if type(filter_) is not django_filters.CharFilter and self.data.get(name) == "":
                self.form.add_error(name, "Give a value, or leave the parameter out.")
                valid = False
        return valid
