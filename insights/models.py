"""The read side's own data: daily rollups, analytics and alert settings, alert episodes
and report deliveries. Their tables keep the names they had when these models lived in
`learning` (moved by migrations that change Django's state only, not the database)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

User = settings.AUTH_USER_MODEL


class DailyOutcomeRollup(models.Model):
    """One day of one rep's actions of one type: counts by status and the sums the Brier
    score needs. Rebuilt per day by insights.rollups, never edited by hand."""

    day = models.DateField()
    action_type = models.CharField(max_length=64)
    outcome_type = models.CharField(max_length=32)
    rep = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    total = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)
    ambiguous = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    scored = models.PositiveIntegerField(default=0, help_text="Counted by calibration.")
    sum_p = models.FloatField(default=0)
    sum_p2 = models.FloatField(default=0)
    sum_py = models.FloatField(default=0)
    sum_y = models.FloatField(default=0)
    sum_score = models.FloatField(default=0)

    class Meta:
        db_table = "learning_dailyoutcomerollup"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "action_type", "outcome_type", "rep"],
                name="one_outcome_rollup_row",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["day", "rep"], name="outcome_rollup_day_rep")]

    def __str__(self) -> str:
        return f"{self.day} {self.action_type} rep {self.rep_id}: {self.total}"


class DailyFeedbackRollup(models.Model):
    """One day of feedback on one rep's conversations, by source and reviewer role."""

    day = models.DateField()
    rep = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16)
    reviewer_role = models.CharField(max_length=16, blank=True)
    count = models.PositiveIntegerField(default=0)
    sum_rating = models.FloatField(default=0, help_text="Sum of normalised ratings.")

    class Meta:
        db_table = "learning_dailyfeedbackrollup"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "rep", "source", "reviewer_role"],
                name="one_feedback_rollup_row",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["day", "rep"], name="feedback_rollup_day_rep")]

    def __str__(self) -> str:
        return f"{self.day} rep {self.rep_id} {self.source}: {self.count}"


class RollupState(models.Model):
    """When the rollups were last brought up to date (one row)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "learning_rollupstate"

    def __str__(self) -> str:
        return f"rollups refreshed at {self.refreshed_at}"


class AnalyticsSettings(models.Model):
    """The tenant's baseline for ROI: what the same work costs when people do it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    agent_cost_per_interaction = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        default=0.05,
        validators=[MinValueValidator(0)],
        help_text="What one agent action costs.",
    )
    human_minutes_per_interaction = models.FloatField(
        default=6.0,
        validators=[MinValueValidator(0), MaxValueValidator(24 * 60)],
        help_text="Minutes a rep would spend on the same action.",
    )
    human_hourly_cost = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=45,
        validators=[MinValueValidator(0)],
        help_text="Loaded cost of a rep's hour.",
    )
    human_success_rate = models.FloatField(
        default=0.25,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Success rate of the same actions done by people (baseline).",
    )
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        db_table = "learning_analyticssettings"
        verbose_name = "analytics settings"
        verbose_name_plural = "analytics settings"

    def __str__(self) -> str:
        return "Analytics settings"


class AlertRule(models.TextChoices):
    ESCALATION_SPIKE = "escalation_spike", "Escalation rate spike"
    BRIER_WORSENING = "brier_worsening", "Calibration (Brier score) worsening"
    ENGAGEMENT_DROP = "engagement_drop", "Email engagement drop"
    FEEDBACK_FATIGUE = "feedback_fatigue", "Feedback fatigue"
    AMBIGUOUS_BACKLOG = "ambiguous_backlog", "Backlog of outcomes to label"
    CALIBRATION_CHANGED = "calibration_changed", "The agent's calibration changed"


class Alert(models.Model):
    """One episode of a rule holding: opened when it starts to hold (and then notified
    once), updated while it holds, closed when it stops. At most one open episode per rule
    and subject."""

    rule = models.CharField(max_length=32, choices=AlertRule.choices)
    subject = models.CharField(
        max_length=150, blank=True, help_text="What it is about: an action type, a reviewer."
    )
    message = models.TextField()
    value = models.FloatField(help_text="The measured value when last checked.")
    threshold = models.FloatField()
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    # A person saw it and took it on: it leaves the bell's count, and says who.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Out of the bell's count until then (it stays listed, and still closes by itself).
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snoozed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "learning_alert"
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=Q(closed_at__isnull=True),
                name="one_open_episode_per_rule_and_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}: {self.message}"


class AlertSettings(models.Model):
    """The tenant's alert thresholds (one row; defaults when absent)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    escalation_spike_ratio = models.FloatField(
        default=2.0,
        validators=[MinValueValidator(1.0)],
        help_text="Alert when the last 24 h escalate this many times more often than the "
        "7 days before…",
    )
    escalation_min_count = models.PositiveIntegerField(
        default=5, help_text="…and at least this many escalations happened in the 24 h."
    )
    brier_worsening = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Alert when an action type's Brier score of the last 7 days is this much "
        "worse than over the 28 days before (30+ outcomes in each).",
    )
    engagement_drop_ratio = models.FloatField(
        default=0.7,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Alert when the email response rate of the last 7 days falls below this "
        "share of the 28 days before (30+ decided emails in each).",
    )
    ambiguous_backlog = models.PositiveIntegerField(
        default=25, help_text="Alert when this many outcomes wait for a label."
    )

    class Meta:
        db_table = "learning_alertsettings"
        verbose_name = "alert settings"
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return "Alert settings"


class ReportKind(models.TextChoices):
    MANAGER_DAILY = "manager_daily", "Daily manager report"
    EXECUTIVE_WEEKLY = "executive_weekly", "Weekly executive report"


class ReportDelivery(models.Model):
    """A report sent to one user for one period: the record that makes sending idempotent
    (beat redelivering the task, or an operator re-running it, sends nothing twice)."""

    kind = models.CharField(max_length=32, choices=ReportKind.choices)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="report_deliveries")
    period_start = models.DateField()
    period_end = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "learning_reportdelivery"
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "user", "period_end"], name="one_report_per_user_and_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.user} for {self.period_end}"
