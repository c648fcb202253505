"""The read side's periodic jobs, each sent to every tenant by learning.fan_out."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from insights import alerts, reports, rollups


@shared_task(name="insights.refresh_rollups", acks_late=True)
def refresh_rollups() -> dict[str, Any]:
    """Bring this tenant's daily rollups up to date (only the days that changed)."""
    refreshed = rollups.refresh()
    return {"outcome_days": refreshed.outcome_days, "feedback_days": refreshed.feedback_days}


@shared_task(name="insights.evaluate_alerts")
def evaluate_alerts() -> dict[str, Any]:
    """Open, keep or close this tenant's alert episodes (see insights.alerts)."""
    result = alerts.evaluate()
    return {"opened": len(result.opened), "open": result.still_open, "closed": result.closed}


@shared_task(name="insights.send_reports")
def send_reports(role: str) -> dict[str, Any]:
    """Email this tenant's `role` report (manager: daily, executive: weekly) to each of its
        users, once per period (a retry or a second run sends nothing twice), and its summary to
    the tenant's Slack reports channel when it has one."""
    result = reports.send(kind=reports.ROLES[role])
    return {
        "sent": len(result.sent),
        "skipped": len(result.skipped),
        "failed": len(result.failed),
        "posted": result.posted,
    }
