"""A psycopg cursor with server-side binding and binary parameters, inside the tenant.

Django's PostgreSQL cursors bind parameters on the client, which for big arrays means
quoting every element in Python. For bulk statements (`= ANY(%b)`, `unnest(%b)`) this
cursor binds on the server, and `%b` placeholders send parameters in binary. It is opened
on the connection Django already uses, after a Django cursor has set the tenant's
search_path, so it sees the same schema and takes part in the same transaction. Its
errors are Django's, as a Django cursor's would be (a connection lost mid-statement is a
django.db.OperationalError, which the API answers with a retryable 503).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection


@contextmanager
def binary_cursor() -> Iterator[psycopg.Cursor]:
    with connection.cursor() as django_cursor:  # sets search_path for the current tenant
        raw = psycopg.Cursor(django_cursor.connection)
        try:
            with connection.wrap_database_errors:
                yield raw
        finally:
            raw.close()
