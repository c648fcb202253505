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
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from feedback import selectors as feedback_selectors
from insights import cache as analytics_cache
from insights.models import RollupState
from learning.tenancy.db import binary_cursor
from outcomes import selectors as outcome_selectors

LOCK_KEY = 7_354_001  # pg_advisory_xact_lock key of the rollup refresh (per schema below)


OUTCOME_COLUMNS = outcome_selectors.DAILY_SUM_COLUMNS
FEEDBACK_COLUMNS = feedback_selectors.DAILY_SUM_COLUMNS


# Rows committed while a refresh runs may carry times just before it started: each refresh
# looks back this far before the previous one (recomputing a day twice is harmless).
OVERLAP = timedelta(minutes=10)


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
            select, params = outcome_selectors.daily_sums_query(days=o_days)
            cursor.execute(
                f"INSERT INTO learning_dailyoutcomerollup ({OUTCOME_COLUMNS}) {select}", params
            )
        if f_days:
            cursor.execute(
                "DELETE FROM learning_dailyfeedbackrollup WHERE day = ANY(%(days)s)",
                {"days": f_days},
            )
            select, params = feedback_selectors.daily_sums_query(days=f_days)
            cursor.execute(
                f"INSERT INTO learning_dailyfeedbackrollup ({FEEDBACK_COLUMNS}) {select}", params
            )
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
        outcome_days = outcome_selectors.days_with_outcomes(changed_since=since)
        feedback_days = feedback_selectors.days_with_feedback(changed_since=since)
        if since is None:
            cursor.execute("DELETE FROM learning_dailyoutcomerollup")
            cursor.execute("DELETE FROM learning_dailyfeedbackrollup")
        refreshed = rebuild_days(outcome_days=outcome_days, feedback_days=feedback_days)
        state.refreshed_at = now
        state.save(update_fields=["refreshed_at"])
        analytics_cache.invalidate()
    return refreshed


def live_outcome_rows(day: date) -> list[dict]:
    """The rollup rows `day` would have, computed from the raw rows now (for today)."""
    return _rows(*outcome_selectors.daily_sums_query(days=[day]), OUTCOME_COLUMNS)


def live_feedback_rows(day: date) -> list[dict]:
    return _rows(*feedback_selectors.daily_sums_query(days=[day]), FEEDBACK_COLUMNS)


def _rows(select: str, params: dict[str, object], columns: str) -> list[dict]:
    names = [c.strip() for c in columns.split(",")]
    with binary_cursor() as cursor:
        cursor.execute(select, params)
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
