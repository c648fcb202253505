"""Cache keys that cannot cross tenants: every key starts with the current schema."""

from __future__ import annotations

from learning.tenancy.context import current_schema_name


def tenant_key(*parts: object) -> str:
    return ":".join([current_schema_name(), *map(str, parts)])
