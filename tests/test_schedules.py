from __future__ import annotations

import json

from django_celery_beat.models import PeriodicTask

from config import scheduling
from config.schedules import SCHEDULES, Schedule


def test_register_is_idempotent_and_fans_out(db) -> None:
    first = scheduling.register_periodic_tasks()
    assert set(first.values()) == {"created"}
    assert len(first) == len(SCHEDULES)
    assert set(scheduling.register_periodic_tasks().values()) == {"unchanged"}
    task = PeriodicTask.objects.get(name="[ll] sessions: clear expired")
    assert task.task == "learning.fan_out"
    assert json.loads(task.kwargs)["task_name"] == "learning.clear_expired_sessions"
    assert (task.crontab.minute, task.crontab.hour) == ("10", "3")
    sweeps = {
        t.name: (t.interval.every if t.interval else None, json.loads(t.kwargs)["kwargs"])
        for t in PeriodicTask.objects.filter(name__startswith="[ll] outcomes")
    }
    assert sweeps == {
        "[ll] outcomes: immediate signals": (900, {"window": "immediate"}),
        "[ll] outcomes: engagement signals": (21600, {"window": "engagement"}),
        "[ll] outcomes: deal progression": (None, {"window": "deal"}),
        "[ll] outcomes: expiry": (3600, {"window": "expiry"}),
    }


def test_changed_and_removed_schedules(db, monkeypatch) -> None:
    scheduling.register_periodic_tasks()
    retimed = [
        Schedule(
            name="sessions: clear expired",
            task="learning.clear_expired_sessions",
            why="test",
            every_seconds=900,
        )
    ]
    monkeypatch.setattr(scheduling, "SCHEDULES", retimed)
    result = scheduling.register_periodic_tasks()
    assert result["[ll] sessions: clear expired"] == "updated"
    assert set(result.values()) == {"updated", "disabled"}  # the others are no longer declared
    task = PeriodicTask.objects.get(name="[ll] sessions: clear expired")
    assert (task.interval.every, task.crontab) == (900, None)
    monkeypatch.setattr(scheduling, "SCHEDULES", [])
    assert set(scheduling.register_periodic_tasks().values()) == {"disabled"}
    assert not PeriodicTask.objects.get(name="[ll] sessions: clear expired").enabled


def test_speedup_for_demos_scales_intervals_and_claims(db, monkeypatch) -> None:
    monkeypatch.setenv("LL_SCHEDULE_SPEEDUP", "60")
    scheduling.register_periodic_tasks()
    task = PeriodicTask.objects.get(name="[ll] outcomes: immediate signals")
    assert task.interval.every == 15
    assert json.loads(task.kwargs)["period_seconds"] == 15  # fan-out claims follow
    daily = PeriodicTask.objects.get(name="[ll] sessions: clear expired")
    assert daily.crontab is not None  # cron jobs keep their time of day
