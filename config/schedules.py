"""Every periodic job of the product, declared in this one place.

`manage.py setup_periodic_tasks` (run by `make run` and on deploy) writes them to
django-celery-beat's tables idempotently; ops may then pause or retime them in the ops
admin (/admin/). Each job fans out to every ready tenant (learning.tasks.fan_out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str  # the per-tenant task
    why: str
    every_seconds: int | None = None
    crontab: dict[str, str] | None = None  # minute, hour, day_of_week, ...
    kwargs: dict[str, Any] = field(default_factory=dict)
    jitter_seconds: int = 30

    @property
    def period_seconds(self) -> int:
        if self.every_seconds:
            return self.every_seconds
        return (
            24 * 3600
            if self.crontab and self.crontab.get("day_of_week", "*") == "*"
            else 7 * 24 * 3600
        )


SCHEDULES: list[Schedule] = [
    Schedule(
        name="prompts: quiet hours over, lost sends",
        task="prompts.resend_stale",
        why="Every 5 min: prompts held through someone's quiet hours are sent when they "
        "end; a prompt a lost task left waiting is handed over again.",
        every_seconds=5 * 60,
        jitter_seconds=30,
    ),
    Schedule(
        name="outcomes: immediate signals",
        task="outcomes.sweep",
        kwargs={"window": "immediate"},
        why="Every 15 min: signals of the last 24 h that arrived before their action.",
        every_seconds=15 * 60,
        jitter_seconds=60,
    ),
    Schedule(
        name="outcomes: engagement signals",
        task="outcomes.sweep",
        kwargs={"window": "engagement"},
        why="Every 6 h: the 7-day engagement window (actions 24 h to 7 days old).",
        every_seconds=6 * 3600,
        jitter_seconds=300,
    ),
    Schedule(
        name="outcomes: deal progression",
        task="outcomes.sweep",
        kwargs={"window": "deal"},
        why="Daily at 02:30 UTC: the 30-day deal-progression window.",
        crontab={"minute": "30", "hour": "2"},
        jitter_seconds=600,
    ),
    Schedule(
        name="outcomes: expiry",
        task="outcomes.sweep",
        kwargs={"window": "expiry"},
        why="Hourly: outcomes past their window become expired, or ambiguous (to label).",
        every_seconds=3600,
        jitter_seconds=120,
    ),
    Schedule(
        name="calibration: learn from matured outcomes",
        task="calibration.learn",
        why="Every 15 min: outcomes whose result window closed reach the calibrated "
        "confidence and the drift test, in the order their actions were taken.",
        every_seconds=15 * 60,
        jitter_seconds=60,
    ),
    Schedule(
        name="calibration: recalibrate",
        task="calibration.recalibrate",
        why="Every 6 h: move miscalibrated policies one damped step (logged, revertible).",
        every_seconds=6 * 3600,
        jitter_seconds=300,
    ),
    Schedule(
        name="analytics: refresh rollups",
        task="insights.refresh_rollups",
        why="Every 15 min: recompute the daily rollups of the days that changed.",
        every_seconds=15 * 60,
        jitter_seconds=60,
    ),
    Schedule(
        name="analytics: alerts",
        task="insights.evaluate_alerts",
        why="Hourly: open, keep or close alert episodes (escalations, Brier, engagement, "
        "fatigue, labelling backlog); new ones are emailed to managers once.",
        every_seconds=3600,
        jitter_seconds=120,
    ),
    Schedule(
        name="feedback: fill review queues",
        task="feedback.fill_queues",
        why="Hourly: managers' review queues take the actions that matched since (spot "
        "checks draw each newly decided action once).",
        every_seconds=3600,
        jitter_seconds=300,
    ),
    Schedule(
        name="coaching: extract patterns",
        task="coaching.extract_patterns",
        why="Daily at 04:00 UTC: which segments work better or worse, tested and "
        "corrected for many comparisons, for the manager page and the reports.",
        crontab={"minute": "0", "hour": "4"},
        jitter_seconds=900,
    ),
    Schedule(
        name="coaching: weekly batch learning",
        task="coaching.batch_learning",
        why="Mondays at 05:00 UTC: last week's heavily edited drafts, reviewers' corrections and "
        "messages without a draft, grouped into proposals for admins (who get a summary email).",
        crontab={"minute": "0", "hour": "5", "day_of_week": "1"},
        jitter_seconds=900,
    ),
    Schedule(
        name="reports: daily manager",
        task="insights.send_reports",
        kwargs={"role": "manager"},
        why="Daily at 06:00 UTC: each manager's team yesterday, by email with charts.",
        crontab={"minute": "0", "hour": "6"},
        jitter_seconds=900,
    ),
    Schedule(
        name="reports: weekly executive",
        task="insights.send_reports",
        kwargs={"role": "executive"},
        why="Mondays at 06:30 UTC: last week's ROI and trends for each executive.",
        crontab={"minute": "30", "hour": "6", "day_of_week": "1"},
        jitter_seconds=900,
    ),
    Schedule(
        name="content: retention",
        task="outcomes.expire_content",
        why="Daily at 03:40 UTC: the words of messages, drafts and comments older than the "
        "tenant's retention_days are removed (0: kept forever); outcomes and ratings stay.",
        crontab={"minute": "40", "hour": "3"},
        jitter_seconds=600,
    ),
    Schedule(
        name="sessions: clear expired",
        task="learning.clear_expired_sessions",
        why="Daily at 03:10 UTC: expired web sessions pile up in every tenant schema.",
        crontab={"minute": "10", "hour": "3"},
        jitter_seconds=600,
    ),
]
