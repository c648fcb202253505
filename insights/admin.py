"""The read side in the tenant admin: ROI baseline and alert thresholds (admins change
them), alert episodes (reviewers read them), and the exports as actions on the outcome,
feedback and calibration lists (the same files as `GET exports/...`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from calibration import admin as calibration_admin
from feedback import admin as feedback_admin
from insights import exports
from insights.models import Alert, AlertSettings, AnalyticsSettings
from insights.streaming import streaming_response
from learning.admin_access import ReviewAdmin, SettingsAdmin
from learning.tenancy.context import request_tenant
from outcomes import admin as outcomes_admin


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


Rows = Callable[[QuerySet[Any]], exports.Rows]


def _export_actions(table: exports.Table, rows: Rows) -> list[Callable[..., Any]]:
    """Admin actions exporting the selected rows (or all that match, with "select all")."""

    def make(fmt: str) -> Callable[..., Any]:
        def export(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
            tenant = request_tenant(request)
            return streaming_response(
                exports.encode(table, rows(queryset), fmt),
                request=request,
                tenant=tenant,
                content_type=exports.FORMATS[fmt],
                filename=exports.filename(
                    table, tenant_slug=tenant.slug, fmt=fmt, now=timezone.now()
                ),
            )

        export.__name__ = f"export_{fmt}"
        return admin.action(description=f"Export the selected {table.name} ({fmt.upper()})")(export)

    return [make(fmt) for fmt in exports.FORMATS]


def _bins(queryset: QuerySet[Any]) -> exports.Rows:
    return exports.calibration_rows(
        action_types=set(queryset.values_list("action_type", flat=True))
    )


for model_admin, table, rows in (
    (outcomes_admin.OutcomeAdmin, exports.OUTCOMES, exports.outcome_rows),
    (feedback_admin.FeedbackEntryAdmin, exports.FEEDBACK, exports.feedback_rows),
    (calibration_admin.CalibrationBinAdmin, exports.CALIBRATION, _bins),
):
    setattr(  # noqa: B010 - the other apps' admin classes get the actions at start-up
        model_admin,
        "actions",
        [*(getattr(model_admin, "actions", None) or []), *_export_actions(table, rows)],
    )
