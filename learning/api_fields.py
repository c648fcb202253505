"""Serializer fields shared by every app's API."""

from __future__ import annotations

import math
from typing import Any

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
