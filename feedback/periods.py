"""The days a feedback figure covers: every count of "the last N days" on the feedback
pages and API (summary, fatigue, prompts) starts at the same midnight, so they agree."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

# The feedback summary's default period, and the one the fatigue table counts over.
SUMMARY_DAYS = 30


def period_start(*, days: int, now: datetime) -> datetime:
    """The start of a report's last `days` days: midnight `days - 1` days before today."""
    start_day = timezone.localdate(now) - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(start_day, datetime.min.time()))
