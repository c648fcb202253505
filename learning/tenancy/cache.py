"""Cache keys that cannot cross tenants: every key starts with the current schema."""

from __future__ import annotations

from django.db import connection


def tenant_key(*parts: object) -> str:
    return ":".join([connection.schema_name, *map(str, parts)])
