from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from calibration import services
from calibration.models import (
    BehaviorPolicy,
    CalibrationAdjustment,
    CalibrationBin,
    CalibrationSettings,
    PolicyVersion,
)
from learning.admin_access import ReviewAdmin, SettingsAdmin
from learning.errors import DomainError


@admin.register(CalibrationBin)
class CalibrationBinAdmin(ReviewAdmin):
    whole_tenant = True  # the agent's calibration, one per tenant
    list_display = ("action_type", "bin_index", "n", "sum_y", "sum_p", "updated_at")
    list_filter = ("action_type",)


@admin.register(BehaviorPolicy)
class BehaviorPolicyAdmin(ReviewAdmin):
    whole_tenant = True  # the agent's calibration, one per tenant
    list_display = (
        "action_type",
        "confidence_scale",
        "escalation_threshold",
        "version",
        "updated_at",
    )


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReviewAdmin):
    """Every version of each policy and when it came into force (exports name them)."""

    whole_tenant = True  # the agent's calibration, one per tenant
    list_display = (
        "action_type",
        "version",
        "confidence_scale",
        "escalation_threshold",
        "valid_from",
        "cause",
    )
    list_filter = ("action_type", "cause")


@admin.action(description="Revert the selected adjustments (latest first)", permissions=["change"])
def revert(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    for adjustment in queryset.order_by("-id"):
        try:
            services.revert_adjustment(adjustment_id=adjustment.pk, user=request.user)
        except DomainError as exc:
            modeladmin.message_user(request, f"{adjustment}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"Reverted {adjustment}.", messages.SUCCESS)


@admin.register(CalibrationAdjustment)
class CalibrationAdjustmentAdmin(ReviewAdmin):
    whole_tenant = True  # the agent's calibration, one per tenant
    list_display = (
        "created_at",
        "action_type",
        "before_scale",
        "after_scale",
        "before_threshold",
        "after_threshold",
        "reason",
        "reverted_at",
    )
    list_filter = ("action_type",)
    actions = [revert]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Reverting is an admin's decision; managers read the log.
        return getattr(request.user, "role", None) == "admin"


@admin.register(CalibrationSettings)
class CalibrationSettingsAdmin(SettingsAdmin):
    """The tenant's calibration constants."""

    list_display = ("__str__", "min_samples", "gap_threshold", "max_step", "updated_at")
    fieldsets = (
        ("Miscalibration check", {"fields": ("min_samples", "gap_threshold", "max_step")}),
        (
            "Policy bounds",
            {"fields": (("scale_min", "scale_max"), ("threshold_min", "threshold_max"))},
        ),
        ("Calibrated confidence", {"fields": ("prior_weight",)}),
        (
            "Forgetting and drift",
            {
                "fields": (
                    "half_life",
                    "drift_tolerance",
                    "drift_check_every",
                    "drift_alarm_every",
                )
            },
        ),
    )
