"""Writes config.schedules.SCHEDULES into django-celery-beat, idempotently."""

from __future__ import annotations

import json
import os
from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_tenants.utils import schema_context

from config.schedules import SCHEDULES, Schedule

MANAGED_PREFIX = "[ll] "


def register_periodic_tasks() -> dict[str, str]:
    """Create or update every declared job; disable managed jobs no longer declared.

    Returns {job name: "created" | "updated" | "unchanged" | "disabled"}.
    """
    result: dict[str, str] = {}
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        declared = set()
        for schedule in map(_sped_up, SCHEDULES):
            name = MANAGED_PREFIX + schedule.name
            declared.add(name)
            result[name] = _upsert(name, schedule)
        stale = PeriodicTask.objects.filter(name__startswith=MANAGED_PREFIX, enabled=True)
        for task in stale.exclude(name__in=declared):
            task.enabled = False
            task.save(update_fields=["enabled"])
            result[task.name] = "disabled"
    return result


def _sped_up(schedule: Schedule) -> Schedule:
    """LL_SCHEDULE_SPEEDUP=N (development only) runs interval jobs N times as often, so a
    demo can watch beat resolve outcomes without waiting 15 minutes."""
    speedup = int(os.environ.get("LL_SCHEDULE_SPEEDUP", "1") or 1)
    if speedup <= 1 or not schedule.every_seconds:
        return schedule
    return replace(
        schedule,
        every_seconds=max(10, schedule.every_seconds // speedup),
        jitter_seconds=min(schedule.jitter_seconds, 5),
    )


def _upsert(name: str, schedule: Schedule) -> str:
    fields: dict[str, object] = {
        "task": "learning.fan_out",
        "kwargs": json.dumps(
            {
                "task_name": schedule.task,
                "kwargs": schedule.kwargs,
                "period_seconds": schedule.period_seconds,
                "jitter_seconds": schedule.jitter_seconds,
            },
            sort_keys=True,
        ),
        "description": schedule.why,
        "interval": None,
        "crontab": None,
    }
    if schedule.every_seconds:
        fields["interval"], _ = IntervalSchedule.objects.get_or_create(
            every=schedule.every_seconds, period=IntervalSchedule.SECONDS
        )
    else:
        crontab = {
            "minute": "0",
            "hour": "*",
            "day_of_week": "*",
            "day_of_month": "*",
            "month_of_year": "*",
            **(schedule.crontab or {}),
        }
        fields["crontab"], _ = CrontabSchedule.objects.get_or_create(**crontab, timezone="UTC")
    task = PeriodicTask.objects.filter(name=name).first()
    if task is None:
        PeriodicTask.objects.create(name=name, **fields)
        return "created"
    changed = [key for key, value in fields.items() if getattr(task, key) != value]
    if not changed:
        return "unchanged"
    for key in changed:
        setattr(task, key, fields[key])
    task.save()  # PeriodicTask.save() must run in full: it bumps beat's change marker
    return "updated"
