"""Daily rollups of outcomes and feedback, rebuilt per day in set-based SQL.

A day's rows are recomputed whole (DELETE + INSERT … SELECT … GROUP BY), so a refresh is
idempotent and never drifts from the raw rows. `refresh()` recomputes only the days that
changed since the last refresh: days of outcomes created or resolved since, and days of
feedback rated (or re-rated away from) since. Days are UTC dates of `occurred_at` (outcomes)
and `rated_at` (feedback). A transaction-level advisory lock keeps two refreshes of one
tenant from interleaving.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from insights.models import RollupState
from learning import analytics_cache
from learning.tenancy.db import binary_cursor
from outcomes import rules

LOCK_KEY = 7_354_001  # pg_advisory_xact_lock key of the rollup refresh (per schema below)


def _silence_types() -> list[str]:
    return [t for t, rule in rules.RULES.items() if rule.silence_is_failure]


OUTCOME_COLUMNS = (
    "day, action_type, outcome_type, rep_id, total, pending, positive, negative, ambiguous, "
    "expired, scored, sum_p, sum_p2, sum_py, sum_y, sum_score"
)
OUTCOME_SELECT = """
SELECT day, action_type, outcome_type, rep_id, count(*),
       count(*) FILTER (WHERE status = 'pending'),
       count(*) FILTER (WHERE status = 'positive'),
       count(*) FILTER (WHERE status = 'negative'),
       count(*) FILTER (WHERE status = 'ambiguous'),
       count(*) FILTER (WHERE status = 'expired'),
       count(*) FILTER (WHERE scored),
       coalesce(sum(p) FILTER (WHERE scored), 0),
       coalesce(sum(p * p) FILTER (WHERE scored), 0),
       coalesce(sum(p * y) FILTER (WHERE scored), 0),
       coalesce(sum(y) FILTER (WHERE scored), 0),
       coalesce(sum(score), 0)
  FROM (SELECT (o.occurred_at AT TIME ZONE 'UTC')::date AS day, o.action_type, o.outcome_type,
               o.rep_id, o.status, o.score, o.predicted_confidence AS p,
               CASE WHEN o.status = 'positive' THEN 1.0 ELSE 0.0 END AS y,
               (o.status IN ('positive', 'negative')
                OR (o.status = 'expired' AND o.outcome_type = ANY(%(silence)s))) AS scored
          FROM outcomes_outcomerecord o
         WHERE o.occurred_at >= %(low)s AND o.occurred_at < %(high)s
           AND (o.occurred_at AT TIME ZONE 'UTC')::date = ANY(%(days)s)) s
 GROUP BY day, action_type, outcome_type, rep_id
"""
OUTCOME_SQL = f"INSERT INTO learning_dailyoutcomerollup ({OUTCOME_COLUMNS}) {OUTCOME_SELECT}"

FEEDBACK_COLUMNS = "day, rep_id, source, reviewer_role, count, sum_rating"
FEEDBACK_SELECT = """
SELECT (f.rated_at AT TIME ZONE 'UTC')::date, c.rep_id, f.source, f.reviewer_role, count(*),
       sum(f.normalized_rating)
  FROM feedback_feedbackentry f JOIN outcomes_conversation c ON c.id = f.conversation_id
 WHERE f.rated_at >= %(low)s AND f.rated_at < %(high)s
   AND (f.rated_at AT TIME ZONE 'UTC')::date = ANY(%(days)s)
 GROUP BY 1, 2, 3, 4
"""
FEEDBACK_SQL = f"INSERT INTO learning_dailyfeedbackrollup ({FEEDBACK_COLUMNS}) {FEEDBACK_SELECT}"
# Rows committed while a refresh runs may carry times just before it started: each refresh
# looks back this far before the previous one (recomputing a day twice is harmless).
OVERLAP = timedelta(minutes=10)


def _span(days: list[date]) -> dict[str, object]:
    """The days, and the time range that holds them (so the indexes on the timestamps
    narrow the scan before the per-day test)."""
    low = datetime.combine(min(days), time.min, tzinfo=UTC)
    high = datetime.combine(max(days) + timedelta(days=1), time.min, tzinfo=UTC)
    return {"days": days, "low": low, "high": high}


@dataclass(frozen=True)
class Refreshed:
    outcome_days: int
    feedback_days: int


def rebuild_days(*, outcome_days: Iterable[date], feedback_days: Iterable[date]) -> Refreshed:
    """Recompute the rollups of these days from the raw rows."""
    o_days, f_days = sorted(set(outcome_days)), sorted(set(feedback_days))
    with transaction.atomic(), binary_cursor() as cursor:
        if o_days:
            cursor.execute(
                "DELETE FROM learning_dailyoutcomerollup WHERE day = ANY(%(days)s)",
                {"days": o_days},
            )
            cursor.execute(OUTCOME_SQL, {**_span(o_days), "silence": _silence_types()})
        if f_days:
            cursor.execute(
                "DELETE FROM learning_dailyfeedbackrollup WHERE day = ANY(%(days)s)",
                {"days": f_days},
            )
            cursor.execute(FEEDBACK_SQL, _span(f_days))
    return Refreshed(len(o_days), len(f_days))


def refresh(*, full: bool = False, now: datetime | None = None) -> Refreshed:
    """Bring the rollups up to date: every day with data when `full` (or on the first
    run), else only the days that changed since the last refresh."""
    now = now or timezone.now()
    with transaction.atomic(), binary_cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema())::int)", [LOCK_KEY]
        )
        state, _ = RollupState.objects.select_for_update().get_or_create(pk=1)
        since = None if full or state.refreshed_at is None else state.refreshed_at - OVERLAP
        if since is None:
            cursor.execute(
                "SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date FROM outcomes_outcomerecord"
            )
            outcome_days = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT DISTINCT (rated_at AT TIME ZONE 'UTC')::date FROM feedback_feedbackentry"
            )
            feedback_days = [row[0] for row in cursor.fetchall()]
            cursor.execute("DELETE FROM learning_dailyoutcomerollup")
            cursor.execute("DELETE FROM learning_dailyfeedbackrollup")
        else:
            cursor.execute(
                "SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date "
                "FROM outcomes_outcomerecord WHERE created_at >= %(since)s "
                "OR resolved_at >= %(since)s",
                {"since": since},
            )
            outcome_days = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT (rated_at AT TIME ZONE 'UTC')::date FROM feedback_feedbackentry "
                "WHERE updated_at >= %(since)s "
                "UNION SELECT (r.rated_at AT TIME ZONE 'UTC')::date "
                "FROM feedback_feedbackrevision r JOIN feedback_feedbackentry f "
                "ON f.id = r.entry_id WHERE f.updated_at >= %(since)s",
                {"since": since},
            )
            feedback_days = [row[0] for row in cursor.fetchall()]
        refreshed = rebuild_days(outcome_days=outcome_days, feedback_days=feedback_days)
        state.refreshed_at = now
        state.save(update_fields=["refreshed_at"])
        analytics_cache.invalidate()
    return refreshed


def live_outcome_rows(day: date) -> list[dict]:
    """The rollup rows `day` would have, computed from the raw rows now (for today)."""
    with binary_cursor() as cursor:
        cursor.execute(OUTCOME_SELECT, {**_span([day]), "silence": _silence_types()})
        names = [c.strip() for c in OUTCOME_COLUMNS.split(",")]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def live_feedback_rows(day: date) -> list[dict]:
    with binary_cursor() as cursor:
        cursor.execute(FEEDBACK_SELECT, _span([day]))
        names = [c.strip() for c in FEEDBACK_COLUMNS.split(",")]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
