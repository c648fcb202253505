from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class CoachingSettings(models.Model):
    """The tenant's constants for pattern extraction (one row; defaults when absent)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    false_discovery_rate = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.001), MaxValueValidator(0.5)],
        help_text="q of Benjamini-Hochberg: about this share of reported patterns may be noise.",
    )
    min_group = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(5)],
        help_text="Decided outcomes needed on each side of a comparison.",
    )
    period_days = models.PositiveIntegerField(
        default=90,
        validators=[MinValueValidator(7), MaxValueValidator(365)],
        help_text="How far back each daily run looks.",
    )
    improvement_below = models.FloatField(
        default=0.4,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="An action type succeeding less often than this is an improvement area.",
    )

    class Meta:
        verbose_name = "coaching settings"
        verbose_name_plural = "coaching settings"

    def __str__(self) -> str:
        return "Coaching settings"


class CoachingRun(models.Model):
    """One extraction over a period: what was compared, and what held up."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    outcomes = models.PositiveIntegerField(default=0, help_text="Decided outcomes examined.")
    comparisons = models.PositiveIntegerField(default=0, help_text="Tests run (all of them).")
    false_discovery_rate = models.FloatField()
    min_group = models.PositiveIntegerField()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Coaching run {self.started_at:%Y-%m-%d %H:%M}"


class PatternKind(models.TextChoices):
    SEGMENT = "segment", "What works better or worse"
    ESCALATION = "escalation", "Escalation pattern"
    TOP_ACTION = "top_action", "Top-performing action"
    IMPROVEMENT = "improvement", "Improvement area"


class CoachingPattern(models.Model):
    """A finding of one run, with its evidence and what reps should do about it."""

    run = models.ForeignKey(CoachingRun, on_delete=models.CASCADE, related_name="patterns")
    kind = models.CharField(max_length=16, choices=PatternKind.choices)
    rank = models.PositiveIntegerField(help_text="Order on the page within the run.")
    stratum = models.CharField(max_length=32, blank=True, help_text="The outcome type.")
    dimension = models.CharField(max_length=32)
    level = models.CharField(max_length=200)
    description = models.TextField()
    recommendation = models.TextField()
    successes = models.PositiveIntegerField()
    trials = models.PositiveIntegerField()
    rest_successes = models.PositiveIntegerField(null=True, blank=True)
    rest_trials = models.PositiveIntegerField(null=True, blank=True)
    effect = models.FloatField(null=True, blank=True, help_text="Rate minus the rest's rate.")
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    p_value = models.FloatField(null=True, blank=True)
    adjusted_p = models.FloatField(null=True, blank=True, help_text="Benjamini-Hochberg.")
    test = models.CharField(max_length=8, blank=True, help_text="fisher or z.")
    supporting = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "rank"]
        constraints = [models.UniqueConstraint(fields=["run", "rank"], name="one_pattern_per_rank")]

    def __str__(self) -> str:
        return self.description

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0

    @property
    def rest_rate(self) -> float | None:
        return self.rest_successes / self.rest_trials if self.rest_trials else None
