"""A psycopg cursor with server-side binding and binary parameters, inside the tenant.

Django's PostgreSQL cursors bind parameters on the client, which for big arrays means
quoting every element in Python. For bulk statements (`= ANY(%b)`, `unnest(%b)`) this
cursor binds on the server, and `%b` placeholders send parameters in binary. It is opened
on the connection Django already uses, after a Django cursor has set the tenant's
search_path, so it sees the same schema and takes part in the same transaction. Its
errors are Django's, as a Django cursor's would be (a connection lost mid-statement is a
django.db.OperationalError, which the API answers with a retryable 503), and where Django
logs queries (DEBUG, or a test counting them) its statements are logged too, and they are
counted for Prometheus as a Django cursor's are (learning.tenancy.postgresql_backend).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from django.db import connection
from django_prometheus.db.common import ExportingCursorWrapper

# psycopg's plain cursor (server-side binding), its statements counted under the default
# database's labels; built once.
_CountedCursor: type[psycopg.Cursor] = ExportingCursorWrapper(
    psycopg.Cursor, "default", "postgresql"
)


class _Logged:
    """The cursor, its statements added to Django's query log as Django's own are."""

    def __init__(self, raw: psycopg.Cursor) -> None:
        self._raw = raw

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        start = time.monotonic()
        try:
            return self._raw.execute(query, params, **options)
        finally:
            duration = time.monotonic() - start
            # its parameters too: Django's entries have them inlined, these are bound on
            # the server (a test re-runs a statement under EXPLAIN with them)
            connection.queries_log.append(
                {"sql": str(query), "time": f"{duration:.3f}", "params": params}
            )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


@contextmanager
def binary_cursor() -> Iterator[psycopg.Cursor]:
    with connection.cursor() as django_cursor:  # sets search_path for the current tenant
        raw = _CountedCursor(django_cursor.connection)
        cursor = cast(psycopg.Cursor, _Logged(raw)) if connection.queries_logged else raw
        try:
            with connection.wrap_database_errors:
                yield cursor
        finally:
            raw.close()
