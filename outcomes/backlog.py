"""What waits, in every tenant at once: the operator's view of the outcomes backlog
(config/metrics.py serves it to Prometheus at each scrape).

One statement reads many tenants' schemas (their tables named with the schema, so it runs
from any search_path): for each, how many outcomes are pending, and the window end of the
oldest pending outcome whose window has ended (the expiry sweep's work not done yet). Both
are answered from indexes on pending outcomes (`outcome_pending_occurred`, partial, and
`outcome_status_window`), never by reading the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from psycopg import sql

from outcomes import rules

# Tenants read per statement. The cost is the planning of each tenant's two subqueries
# (about 1 to 3 ms a tenant) and the pending outcomes counted (an index-only scan); README,
# "Metrics and error tracking", has the figures.
SCHEMAS_PER_STATEMENT = 100
# A scrape never waits longer on PostgreSQL (e.g. behind a migration's lock).
STATEMENT_TIMEOUT_MS = 10_000

_ONE_SCHEMA = sql.SQL(
    """SELECT {name}::text,
       (SELECT count(*) FROM {schema}.outcomes_outcomerecord WHERE status = {pending}),
       (SELECT min(window_expires_at) FROM {schema}.outcomes_outcomerecord
         WHERE status = {pending} AND window_expires_at <= %(now)s)"""
)


@dataclass(frozen=True)
class Backlog:
    waiting: int  # pending outcomes: their window is open, or the sweep has not seen them
    overdue_since: datetime | None  # the window end of the oldest one the sweep should resolve


def backlog_of_schemas(*, schemas: Sequence[str], now: datetime) -> dict[str, Backlog]:
    """{schema: Backlog} of these tenant schemas (each must exist and be migrated)."""
    found: dict[str, Backlog] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        for start in range(0, len(schemas), SCHEMAS_PER_STATEMENT):
            chunk = schemas[start : start + SCHEMAS_PER_STATEMENT]
            statement = sql.SQL("\nUNION ALL\n").join(
                _ONE_SCHEMA.format(
                    name=sql.Literal(schema),
                    schema=sql.Identifier(schema),
                    pending=sql.Literal(rules.PENDING),
                )
                for schema in chunk
            )
            cursor.execute(statement.as_string(cursor.connection), {"now": now})
            for schema, waiting, overdue_since in cursor.fetchall():
                found[schema] = Backlog(waiting=int(waiting), overdue_since=overdue_since)
    return found
