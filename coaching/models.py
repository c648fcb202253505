from __future__ import annotations

import math

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
        help_text="Conversations needed on each side of a comparison (actions of one "
        "conversation are not independent trials).",
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
    QUALIFICATION = "qualification", "Where qualification is earned"


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

    # Set for pages and the API by coaching.selectors (not stored): in how many of the
    # recent runs it was found, and its interval as points and chart positions.
    found_in: int
    of_runs: int
    x_low: float
    x_high: float
    x_effect: float
    effect_points: str
    low_points: str
    high_points: str

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
        if self.rest_successes is None or not self.rest_trials:
            return None
        return self.rest_successes / self.rest_trials


class EntryKind(models.TextChoices):
    INTENT = "intent", "Intent"
    PLAYBOOK = "playbook", "Playbook entry"


class EntryStatus(models.TextChoices):
    EXPERIMENTAL = "experimental", "Experimental"
    ACTIVE = "active", "Active"
    DEMOTED = "demoted", "Demoted"


class PlaybookEntry(models.Model):
    """A dynamic intent or playbook entry the agent may use. New and changed ones start
    experimental: every draft that names it (`POST drafts/` with `intent`) counts as a use,
    approved when sent unedited, and `coaching.experiments` promotes or demotes it."""

    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    name = models.CharField(max_length=100, unique=True, help_text="What drafts name in `intent`.")
    content = models.TextField(
        help_text="The playbook text, or the intent's description and examples."
    )
    status = models.CharField(
        max_length=16, choices=EntryStatus.choices, default=EntryStatus.EXPERIMENTAL
    )
    uses = models.PositiveIntegerField(default=0)
    approvals = models.PositiveIntegerField(default=0, help_text="Uses sent unedited.")
    created_at = models.DateTimeField(auto_now_add=True)
    experiment_started_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True, help_text="Promoted or demoted.")
    decision_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name_plural = "playbook entries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(approvals__lte=models.F("uses")), name="approvals_within_uses"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display().lower()})"

    @property
    def approval_rate(self) -> float | None:
        return self.approvals / self.uses if self.uses else None


class BatchRun(models.Model):
    """One weekly batch-learning pass over the drafts and gaps of a period."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    edits = models.PositiveIntegerField(
        default=0, help_text="Drafts edited beyond the threshold, and reviewers' corrections."
    )
    gaps = models.PositiveIntegerField(default=0, help_text="Messages the agent had no draft for.")
    proposals = models.PositiveIntegerField(default=0)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Batch learning {self.period_start:%Y-%m-%d} to {self.period_end:%Y-%m-%d}"


class ProposalKind(models.TextChoices):
    NEW_INTENT = "new_intent", "New intent"
    PLAYBOOK_CHANGE = "playbook_change", "Playbook change"
    STYLE = "style", "Style finding"


class ProposalConfidence(models.TextChoices):
    """How widely what a proposal answers comes in (coaching.crosscheck): the messages its
    examples replied to, looked for in every other conversation."""

    HIGH = "high", "High: 3 or more similar messages came in other conversations"
    MEDIUM = "medium", "Medium: 1 or 2 similar messages came in other conversations"
    LOW = "low", "Low: no similar message came in other conversations"


class ProposalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class LearningProposal(models.Model):
    """A recurring pattern batch learning found, with its evidence, for an admin to
    approve (which creates or updates an experimental `PlaybookEntry`) or reject."""

    run = models.ForeignKey(BatchRun, on_delete=models.CASCADE, related_name="found")
    kind = models.CharField(max_length=16, choices=ProposalKind.choices)
    key = models.CharField(
        max_length=200,
        help_text="What it is about (intent or suggested name): one pending "
        "proposal per kind and key.",
    )
    title = models.CharField(max_length=300)
    proposed_content = models.TextField(help_text="The entry's content if approved.")
    count = models.PositiveIntegerField(help_text="How many drafts or messages show it.")
    evidence = models.JSONField(default=dict)
    confidence = models.CharField(
        max_length=8,
        choices=ProposalConfidence.choices,
        blank=True,
        help_text="From the similar messages across all conversations (blank: not checked).",
    )
    summary = models.TextField(blank=True, help_text="From the optional summariser hook.")
    status = models.CharField(
        max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.PENDING
    )
    decided_by = models.ForeignKey(
        "learning.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    entry = models.ForeignKey(
        PlaybookEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=models.Q(status="pending"),
                name="one_pending_proposal_per_kind_and_key",
            )
        ]

    def __str__(self) -> str:
        return self.title


class ExperimentStatus(models.TextChoices):
    RUNNING = "running", "Running"
    PROMOTED = "promoted", "Promoted: the new version is better"
    DEMOTED = "demoted", "Demoted: the new version is worse"
    STOPPED = "stopped", "Stopped (replaced by a newer experiment)"


class Experiment(models.Model):
    """A randomised comparison of an entry's new version (treatment) with what the agent
    would use otherwise (control: the previous text, or its default when the entry is new).
    The agent asks which arm a conversation is in (`POST experiments/assign/`); the first
    draft of each exposed conversation is one observation; coaching.stats.ArmTest decides,
    from pairs of observations of the two arms close in arrival order. Its state is kept
    here, updated on the locked row once per observation: the pairs' counts and the
    observations of one arm still waiting for a partner (at most its horizon, 200)."""

    entry = models.ForeignKey(PlaybookEntry, on_delete=models.CASCADE, related_name="experiments")
    treatment_content = models.TextField()
    control_content = models.TextField(
        blank=True, help_text="Empty: the agent's default (the entry is new)."
    )
    salt = models.CharField(max_length=32, help_text="Seeds the assignment hash.")
    status = models.CharField(
        max_length=16, choices=ExperimentStatus.choices, default=ExperimentStatus.RUNNING
    )
    treatment_exposed = models.PositiveIntegerField(default=0)
    control_exposed = models.PositiveIntegerField(default=0)
    treatment_uses = models.PositiveIntegerField(default=0)
    treatment_approvals = models.PositiveIntegerField(default=0)
    control_uses = models.PositiveIntegerField(default=0)
    control_approvals = models.PositiveIntegerField(default=0)
    pairs_treatment_better = models.PositiveIntegerField(
        default=0, help_text="Pairs where only the new version's draft was sent unedited."
    )
    pairs_control_better = models.PositiveIntegerField(
        default=0, help_text="Pairs where only the previous version's draft was sent unedited."
    )
    pairs_same = models.PositiveIntegerField(
        default=0, help_text="Pairs where both drafts, or neither, were sent unedited."
    )
    waiting = models.JSONField(
        default=dict,
        blank=True,
        help_text='Observations waiting for a partner: {"arm": …, "queue": [[arrival, 0|1], …]}.',
    )
    log_wealth = models.FloatField(
        default=0.0, help_text="The log of the test's evidence (from the pairs' counts)."
    )
    started_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry"],
                condition=models.Q(status="running"),
                name="one_running_experiment_per_entry",
            ),
            models.CheckConstraint(
                condition=models.Q(treatment_approvals__lte=models.F("treatment_uses"))
                & models.Q(control_approvals__lte=models.F("control_uses")),
                name="experiment_approvals_within_uses",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry.name}: {self.get_status_display()}"

    @property
    def observations(self) -> int:
        return self.treatment_uses + self.control_uses

    @property
    def evidence(self) -> float:
        """The test's wealth: what a bettor against "equally good" has made of 1 (20
        decides; under "equally good" it reaches 20 in at most 5 % of experiments)."""
        return math.exp(min(self.log_wealth, 700.0))

    def rate(self, arm: str) -> float | None:
        uses = self.treatment_uses if arm == "treatment" else self.control_uses
        approvals = self.treatment_approvals if arm == "treatment" else self.control_approvals
        return approvals / uses if uses else None


class Arm(models.TextChoices):
    TREATMENT = "treatment", "New version"
    CONTROL = "control", "Previous version"


class ExperimentExposure(models.Model):
    """A conversation's arm in an experiment, logged when the agent first asked; its first
    draft afterwards is the conversation's one observation."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures")
    conversation_id = models.CharField(max_length=200)
    arm = models.CharField(max_length=16, choices=Arm.choices)
    exposed_at = models.DateTimeField(auto_now_add=True)
    approved = models.BooleanField(
        null=True, blank=True, help_text="Its first draft sent unedited."
    )
    observed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-exposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "conversation_id"], name="one_exposure_per_conversation"
            )
        ]
        indexes = [models.Index(fields=["conversation_id"], name="exposure_by_conversation")]

    def __str__(self) -> str:
        return f"{self.conversation_id} in {self.arm}"
