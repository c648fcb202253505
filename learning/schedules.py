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
        name="sessions: clear expired",
        task="learning.clear_expired_sessions",
        why="Daily at 03:10 UTC: expired web sessions pile up in every tenant schema.",
        crontab={"minute": "10", "hour": "3"},
        jitter_seconds=600,
    ),
]
