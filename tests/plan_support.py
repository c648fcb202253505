"""Whether a request's reads stay bounded as a tenant's history grows, in tests.

A read path that does not grow with history costs the same number of statements with 10
outcomes or 100 (`statements_of`), and none of its statements reads a big table whole: run
through EXPLAIN with the planner's statistics of a tenant that has some history
(`add_history`: a few thousand outcomes over a year, their feedback and signals, then
ANALYZE), no plan has a `Seq Scan` of one (`assert_index_bound`). On a handful of rows the
planner rightly scans everything, so the statistics must be those of a bigger table; a
seq scan chosen then is the one a tenant with millions of rows would get.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from bench.fill import copy_outcomes, fill_conversations
from insights import cache as analytics_cache
from insights import rollups

# The tables that grow with history: none of them may be read whole by a page or an API.
BIG_TABLES = frozenset(
    {"outcomes_outcomerecord", "outcomes_conversation", "feedback_feedbackentry", "outcomes_signal"}
)
TYPES = [
    ("send_email", "email_engagement"),
    ("schedule_meeting", "meeting_outcome"),
    ("advance_stage", "deal_progression"),
    ("escalate", "escalation_result"),
]


def add_history(
    tenant: Any,
    *,
    outcomes: int,
    reps: Iterable[int],
    prefix: str = "hist",
    days: int = 365,
    analyze: bool = False,
) -> None:
    """`outcomes` outcomes (COPY) over `days` back from now, in 1 conversation per 10 of
    them, round robin over `reps`; a feedback entry of every other outcome, a signal of
    the others; the rollups refreshed; with `analyze`, the planner's statistics after."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    with tenant_context(tenant), connection.cursor() as django_cursor:
        cur = django_cursor.connection.cursor()
        conversations = fill_conversations(
            cur, prefix=prefix, reps=list(reps), count=max(1, outcomes // 10)
        )
        conversations = [c for c in conversations if c[1] is not None][-max(1, outcomes // 10) :]
        copy_outcomes(
            cur,
            count=outcomes,
            prefix=prefix,
            conversations=conversations,
            types=TYPES,
            rng=rng,
            now=now,
            days=days,
            attributes=lambda rng: json.dumps({"deal_stage": rng.choice(["discovery", "new"])}),
        )
        # feedback and signals: of every other outcome, a rating, of the others a reply
        cur.execute(
            """
            INSERT INTO feedback_feedbackentry (target_type, target_id, conversation_id, source,
                rating, normalized_rating, comment, reviewer_id, reviewer_role, revision,
                rated_at, created_at, updated_at, correction, scores, normalized_scores, via,
                minted_by)
            SELECT 'message', o.action_id, o.conversation_id, 'inline', 1, 1.0, '', o.rep_id,
                   'rep', 1, o.occurred_at, o.occurred_at, o.occurred_at, '', '{}', '{}',
                   'api', ''
              FROM outcomes_outcomerecord o
             WHERE o.action_id LIKE %(like)s AND o.id %% 2 = 0
            """,
            {"like": f"{prefix}-%"},
        )
        cur.execute(
            """
            INSERT INTO outcomes_signal (conversation_id, action_id, kind, occurred_at, data,
                                         received_at)
            SELECT o.conversation_id, '', 'replied', o.occurred_at + interval '1 hour', '{}',
                   o.occurred_at
              FROM outcomes_outcomerecord o
             WHERE o.action_id LIKE %(like)s AND o.id %% 2 = 1
            """,
            {"like": f"{prefix}-%"},
        )
        # the daily rollups as the 15-minute refresh leaves them
        rollups.refresh(full=True)
        if analyze:
            # inside the test's transaction: its own new rows count (PostgreSQL's ANALYZE
            # samples them), and the statistics go when it rolls back
            for table in (
                *BIG_TABLES,
                "outcomes_conversation",
                "learning_dailyoutcomerollup",
                "learning_dailyfeedbackrollup",
            ):
                cur.execute(f"ANALYZE {table}")


def statements_of(tenant: Any, request: Callable[[], Any]) -> list[dict[str, Any]]:
    """The statements `request()` runs, its dashboards' cache emptied first (the numbers
    computed, as on a cache miss); it must answer 200."""
    with tenant_context(tenant):
        analytics_cache.bump()
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code == 200, response.content[:300]
    return captured.captured_queries


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _plan(entry: dict[str, Any]) -> dict[str, Any]:
    sql = entry["sql"]
    with connection.cursor() as cursor:
        if entry.get("params") is not None:  # a statement bound on the server (binary_cursor)
            raw = psycopg.Cursor(cursor.connection)
            raw.execute("EXPLAIN (FORMAT JSON) " + sql, entry["params"])
            found = raw.fetchone()
        else:  # Django's: the parameters are inlined
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
            found = cursor.fetchone()
    assert found is not None
    plan = found[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def is_read(entry: dict[str, Any]) -> bool:
    return entry["sql"].lstrip().upper().startswith(("SELECT", "WITH"))


def seq_scans(
    tenant: Any, statements: Iterable[dict[str, Any]], tables: frozenset[str] = BIG_TABLES
) -> list[str]:
    """The reads among `statements` whose plan scans one of `tables` whole: "<table>: <sql>"."""
    found = []
    with tenant_context(tenant):
        for entry in statements:
            if not is_read(entry):
                continue
            for node in _nodes(_plan(entry)):
                if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in tables:
                    found.append(f"{node['Relation Name']}: {' '.join(entry['sql'].split())}")
    return found


def assert_index_bound(tenant: Any, statements: Iterable[dict[str, Any]]) -> None:
    """No read among `statements` scans a table that grows with history whole."""
    scans = seq_scans(tenant, statements)
    assert not scans, "\n\n".join(scans)


def shapes(statements: Iterable[dict[str, Any]]) -> list[str]:
    """Each statement's first 150 characters (for a message that says which query came or
    went)."""
    return [" ".join(entry["sql"].split())[:150] for entry in statements]
