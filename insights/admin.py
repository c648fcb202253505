"""The read side in the tenant admin: ROI baseline and alert thresholds (admins change
them), and alert episodes (reviewers read them)."""

from __future__ import annotations

from django.contrib import admin

from insights.models import Alert, AlertSettings, AnalyticsSettings
from learning.admin_access import ReviewAdmin, SettingsAdmin


@admin.register(AnalyticsSettings)
class AnalyticsSettingsAdmin(SettingsAdmin):
    """The human baseline ROI is measured against."""

    list_display = (
        "__str__",
        "agent_cost_per_interaction",
        "human_minutes_per_interaction",
        "human_hourly_cost",
        "human_success_rate",
    )


@admin.register(AlertSettings)
class AlertSettingsAdmin(SettingsAdmin):
    """Alert thresholds."""


@admin.register(Alert)
class AlertAdmin(ReviewAdmin):
    whole_tenant = True  # tenant-wide rules; reps cannot open alerts/
    list_display = ("opened_at", "rule", "subject", "message", "closed_at", "notified_at")
    list_filter = ("rule", ("closed_at", admin.EmptyFieldListFilter))
