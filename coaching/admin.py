from __future__ import annotations

from django.contrib import admin

from coaching.models import CoachingPattern, CoachingRun, CoachingSettings
from learning.admin_access import ReviewAdmin, ReviewInline, SettingsAdmin


@admin.register(CoachingSettings)
class CoachingSettingsAdmin(SettingsAdmin):
    list_display = ("__str__", "false_discovery_rate", "min_group", "period_days")


class PatternInline(ReviewInline):
    model = CoachingPattern
    fields = ("rank", "kind", "description", "recommendation", "adjusted_p")
    readonly_fields = fields
    ordering = ("rank",)


@admin.register(CoachingRun)
class CoachingRunAdmin(ReviewAdmin):
    list_display = ("started_at", "outcomes", "comparisons", "false_discovery_rate", "min_group")
    inlines = [PatternInline]
