"""The tenant the current database connection points at."""

from __future__ import annotations

from django.db import connection


def current_schema_name() -> str:
    return str(connection.schema_name)  # type: ignore[attr-defined]  # set by django-tenants
