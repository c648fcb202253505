"""Per action type, 10 bins of sufficient statistics, and which outcomes they count."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class CalibrationBin(models.Model):
    """One of the 10 bins of an action type: n, Σy, Σp, Σp², Σp·y of its outcomes.

    Only ever changed by a single SQL statement that adds to the sums (see services), so
    concurrent resolutions never lose an update.
    """

    action_type = models.CharField(max_length=64)
    bin_index = models.PositiveSmallIntegerField()
    n = models.BigIntegerField(default=0)
    sum_y = models.FloatField(default=0)
    sum_p = models.FloatField(default=0)
    sum_p2 = models.FloatField(default=0)
    sum_py = models.FloatField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action_type", "bin_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["action_type", "bin_index"], name="one_bin_per_action_type_and_index"
            ),
            models.CheckConstraint(condition=models.Q(bin_index__lte=9), name="bin_index_0_to_9"),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} bin {self.bin_index} (n={self.n})"


class CalibrationWindow(models.Model):
    """What the policy and the map of an action type learn from now: the matured outcomes
    of its current epoch (by the day their actions were taken), forgotten with the tenant's
    half-life. A drift alarm starts a new epoch (from where the evidence of the change
    began). Also keeps the drift test's state, and what the last learning run saw."""

    action_type = models.CharField(max_length=64, unique=True)
    epoch = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the first action of the epoch was taken; empty: from the start.",
    )
    drift_state = models.JSONField(default=dict, blank=True)
    # The last learning run: every result window that closed before `matured_until` is
    # learned (but for outcomes still waiting for a person's label); `waiting` outcomes had
    # a result already but their window was still open, `pending` had none yet, the oldest
    # of both taken at `waiting_since`.
    learned_at = models.DateTimeField(null=True, blank=True)
    matured_until = models.DateTimeField(null=True, blank=True)
    waiting = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    waiting_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action_type"]

    def __str__(self) -> str:
        return f"{self.action_type} epoch {self.epoch}"


class CalibrationBucket(models.Model):
    """The five sums of one fine bin (0.02 wide, stats.FINE_EDGES) of the matured outcomes
    of an action type whose actions were taken on one day (UTC), in one epoch: any window
    of days sums exactly, and the window the map uses weighs each day by the half-life.
    Written by the learning run that marks the outcomes learned, so each outcome is in
    exactly one bucket of its epoch."""

    action_type = models.CharField(max_length=64)
    epoch = models.PositiveIntegerField()
    day = models.DateField()
    fine_index = models.PositiveSmallIntegerField()
    n = models.BigIntegerField(default=0)
    sum_y = models.FloatField(default=0)
    sum_p = models.FloatField(default=0)
    sum_p2 = models.FloatField(default=0)
    sum_py = models.FloatField(default=0)

    class Meta:
        ordering = ["action_type", "epoch", "day", "fine_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["action_type", "epoch", "day", "fine_index"], name="one_bucket_per_day"
            ),
            models.CheckConstraint(
                condition=models.Q(fine_index__lte=49), name="fine_index_0_to_49"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} epoch {self.epoch} {self.day} bin {self.fine_index}"


class CountedOutcome(models.Model):
    """An outcome already added to the display bins: written in the same transaction as
    the bin update, so a resolution delivered twice is counted once. `learned_at` is set
    when its window has closed and the learning run added it to the window's buckets
    (once); until then it waits, however early its result came."""

    outcome_id = models.BigIntegerField(primary_key=True)
    counted_at = models.DateTimeField(auto_now_add=True)
    learned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["outcome_id"],
                condition=models.Q(learned_at__isnull=True),
                name="counted_not_learned",
            )
        ]

    def __str__(self) -> str:
        return f"outcome {self.outcome_id}"


DEFAULT_CONFIDENCE_SCALE = 1.0
DEFAULT_ESCALATION_THRESHOLD = 0.6
SCALE_LIMITS = (0.1, 3.0)
THRESHOLD_LIMITS = (0.0, 1.0)


def _between(low: float, high: float) -> list[Any]:
    return [MinValueValidator(low), MaxValueValidator(high)]


class CalibrationSettings(models.Model):
    """The tenant's constants for the miscalibration check and the calibrated confidence
    (one row; the seeds' values are the defaults). Edited by admins in the tenant admin."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    min_samples = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(1)],
        help_text="A bin needs this many resolved outcomes before it can trigger a change.",
    )
    gap_threshold = models.FloatField(
        default=0.15,
        validators=_between(0.01, 0.5),
        help_text="A bin triggers when predicted and actual differ by more than this.",
    )
    max_step = models.FloatField(
        default=0.10,
        validators=_between(0.01, 0.5),
        help_text="The most the scale and the threshold move in one cycle.",
    )
    scale_min = models.FloatField(default=0.5, validators=_between(*SCALE_LIMITS))
    scale_max = models.FloatField(default=1.5, validators=_between(*SCALE_LIMITS))
    threshold_min = models.FloatField(default=0.3, validators=_between(*THRESHOLD_LIMITS))
    threshold_max = models.FloatField(default=0.9, validators=_between(*THRESHOLD_LIMITS))
    prior_weight = models.FloatField(
        default=5.0,
        validators=_between(0.5, 10_000.0),
        help_text="Pseudo-outcomes at the scaled confidence per 0.1 of confidence (spread "
        "over its five 0.02 bins): where fewer real outcomes than this fall, the calibrated "
        "confidence leans on the policy rather than on what happened.",
    )
    half_life = models.PositiveIntegerField(
        default=100_000,
        validators=[MaxValueValidator(10_000_000)],
        help_text="Outcomes (of one action type) after which an outcome counts half in the "
        "calibrated confidence and the policy; 0 never forgets.",
    )
    drift_tolerance = models.FloatField(
        default=0.05,
        validators=_between(0.01, 2.0),
        help_text="In log-odds: a change of the odds of success smaller than this (0.05: "
        "about 5 %), plus the map's own uncertainty, is not a change.",
    )
    drift_check_every = models.PositiveIntegerField(
        default=250,
        validators=[MinValueValidator(10), MaxValueValidator(100_000)],
        help_text="Matured outcomes the drift test reads between two updates of the map "
        "it tests against (and the learning job runs every 15 minutes as well).",
    )
    drift_alarm_every = models.PositiveIntegerField(
        default=100_000,
        validators=[MinValueValidator(100)],
        help_text="With no change, on average at least this many outcomes pass between two "
        "false drift alarms (the alarm rings at evidence of this many to one).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "calibration settings"
        verbose_name_plural = "calibration settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="one_settings_row"),
            models.CheckConstraint(
                condition=models.Q(scale_min__lte=models.F("scale_max")),
                name="settings_scale_range",
            ),
            models.CheckConstraint(
                condition=models.Q(threshold_min__lte=models.F("threshold_max")),
                name="settings_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return "Calibration settings"

    def clean(self) -> None:
        errors = {}
        if self.scale_min > self.scale_max:
            errors["scale_max"] = "Must be at least the minimum scale."
        if self.threshold_min > self.threshold_max:
            errors["threshold_max"] = "Must be at least the minimum threshold."
        if errors:
            raise ValidationError(errors)


class BehaviorPolicy(models.Model):
    """How the agent should treat its own confidence for one action type: scale it, and
    hand over to a human when the calibrated confidence is below the threshold."""

    action_type = models.CharField(max_length=64, unique=True)
    confidence_scale = models.FloatField(default=DEFAULT_CONFIDENCE_SCALE)
    escalation_threshold = models.FloatField(default=DEFAULT_ESCALATION_THRESHOLD)
    version = models.PositiveIntegerField(
        default=0,
        help_text="How many times it changed: 0 is the defaults, each change adds one "
        "(its history is in PolicyVersion).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action_type"]
        verbose_name_plural = "behavior policies"
        constraints = [
            # The outer limits; each tenant's CalibrationSettings narrows them.
            models.CheckConstraint(
                condition=models.Q(
                    confidence_scale__gte=SCALE_LIMITS[0], confidence_scale__lte=SCALE_LIMITS[1]
                ),
                name="policy_scale_in_limits",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    escalation_threshold__gte=THRESHOLD_LIMITS[0],
                    escalation_threshold__lte=THRESHOLD_LIMITS[1],
                ),
                name="policy_threshold_in_limits",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.action_type}: x{self.confidence_scale:.2f}, "
            f"escalate below {self.escalation_threshold:.2f}"
        )


class VersionCause(models.TextChoices):
    INITIAL = "initial", "In force when versions began to be kept"
    ADJUSTMENT = "adjustment", "The miscalibration check adjusted it"
    REVERT = "revert", "An adjustment was reverted"


class PolicyVersion(models.Model):
    """One version of an action type's policy and when it came into force: every action
    (and export row) can say which policy was in force when it was taken. Version 0, the
    defaults, has no row: it is in force before an action type's first version."""

    action_type = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    confidence_scale = models.FloatField()
    escalation_threshold = models.FloatField()
    valid_from = models.DateTimeField()
    cause = models.CharField(max_length=16, choices=VersionCause.choices)
    adjustment = models.ForeignKey(
        "CalibrationAdjustment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["action_type", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["action_type", "version"], name="one_row_per_policy_version"
            )
        ]
        indexes = [
            models.Index(fields=["action_type", "valid_from"], name="policy_version_in_force")
        ]

    def __str__(self) -> str:
        return f"{self.action_type} v{self.version} from {self.valid_from:%Y-%m-%d %H:%M}"


class AdjustmentKind(models.TextChoices):
    STEP = "step", "Policy step"
    RESTART = "restart", "Learning restarted after a change"


class CalibrationAdjustment(models.Model):
    """One change of a policy by the miscalibration check, with why, and its revert; or a
    restart of the calibration window after a drift alarm (the policy unchanged)."""

    action_type = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=AdjustmentKind.choices, default="step")
    before_scale = models.FloatField()
    after_scale = models.FloatField()
    before_threshold = models.FloatField()
    after_threshold = models.FloatField()
    mean_gap = models.FloatField()
    reason = models.TextField()
    triggered_bins = models.JSONField(default=list)
    # The recalibration run (its Celery task id) that made it: a run redelivered after its
    # worker died skips the action types it already adjusted. Empty for manual runs.
    run_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["action_type", "created_at"], name="adjustment_type_created")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["run_id", "action_type"],
                condition=~models.Q(run_id=""),
                name="one_adjustment_per_type_per_run",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.action_type}: scale {self.before_scale:.2f} -> {self.after_scale:.2f}, "
            f"threshold {self.before_threshold:.2f} -> {self.after_threshold:.2f}"
        )
