"""What people think of the agent's work: ratings, their history, and draft edits; and
managers' review queues (feedback.queue_models, imported here: they are this app's models)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from feedback.queue_models import Judgement as Judgement
from feedback.queue_models import QueueItem as QueueItem
from feedback.queue_models import QueueReason as QueueReason
from feedback.queue_models import QueueReviewer as QueueReviewer
from feedback.queue_models import ReviewQueue as ReviewQueue
from outcomes import rules as outcome_rules


class TargetType(models.TextChoices):
    MESSAGE = "message", "Message"
    DECISION = "decision", "Decision"
    CONVERSATION = "conversation", "Conversation"


class Source(models.TextChoices):
    INLINE = "inline", "Inline (Slack, Gmail, one click)"
    DASHBOARD = "dashboard", "Dashboard review"
    DRAFT_EDIT = "draft_edit", "Draft edit (implicit)"


class Via(models.TextChoices):
    """How a verdict reached us (the reviewer is always the signed-in person or, for a
    link, the person it was minted for)."""

    API = "api", "API (personal token or session)"
    REVIEW_PAGE = "review_page", "Review page"
    LINK = "link", "One-click link"
    SLACK = "slack", "Slack button (one-click link)"
    DRAFT = "draft", "Draft edit (automatic)"


class FeedbackEntry(models.Model):
    """One reviewer's current verdict on one target. Rating again updates this entry (so
    nothing is counted twice) and keeps the earlier verdicts in FeedbackRevision.

    `rating` is on the source's own scale (inline -1/0/1, dashboard 1-5, draft edit
    1 - edit distance); `normalized_rating` puts every source on [0, 1].

    A draft edit's automatic score (source draft_edit, in the name of the conversation's
    rep) and a person's own verdict on the same message are separate entries: neither
    overwrites the other."""

    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_id = models.CharField(max_length=200)
    conversation = models.ForeignKey(
        "outcomes.Conversation", on_delete=models.PROTECT, related_name="feedback"
    )
    outcome = models.ForeignKey(
        "outcomes.OutcomeRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    rating = models.FloatField()
    normalized_rating = models.FloatField(
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    comment = models.TextField(blank=True)
    correction = models.TextField(
        blank=True,
        help_text="What the agent should have said instead (batch learning reads it like a "
        "heavily edited draft).",
    )
    scores = models.JSONField(
        default=dict,
        blank=True,
        help_text="The tenant's rubric dimensions rated, as given: {dimension key: value}.",
    )
    normalized_scores = models.JSONField(
        default=dict,
        blank=True,
        help_text="The same on [0, 1] (for averages across dimensions of any kind).",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_given",
        help_text="Empty for implicit feedback from a draft edit by an unknown sender.",
    )
    reviewer_role = models.CharField(max_length=16, blank=True)
    via = models.CharField(
        max_length=16, choices=Via.choices, blank=True, help_text="How the verdict came in."
    )
    minted_by = models.CharField(
        max_length=160,
        blank=True,
        help_text="Who made the one-click link it came through (the agent or the reviewer).",
    )
    revision = models.PositiveIntegerField(default=1)
    rated_at = models.DateTimeField(help_text="When the current verdict was given.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-rated_at", "-id"]
        verbose_name_plural = "feedback entries"
        constraints = [
            models.UniqueConstraint(
                fields=["reviewer", "target_type", "target_id"],
                condition=~models.Q(source="draft_edit"),
                name="one_entry_per_reviewer_and_target",
            ),
            models.UniqueConstraint(
                fields=["target_type", "target_id"],
                condition=models.Q(source="draft_edit"),
                name="one_automatic_entry_per_target",
            ),
            models.CheckConstraint(
                condition=models.Q(normalized_rating__gte=0, normalized_rating__lte=1),
                name="normalized_rating_0_to_1",
            ),
        ]
        indexes = [
            models.Index(fields=["rated_at"], name="feedback_rated"),
            models.Index(fields=["conversation", "rated_at"], name="feedback_conv_rated"),
            models.Index(fields=["reviewer", "rated_at"], name="feedback_reviewer_rated"),
            models.Index(fields=["target_type", "target_id"], name="feedback_target"),
        ]

    def __str__(self) -> str:
        return f"{self.target_type} {self.target_id}: {self.rating:g} ({self.source})"


class FeedbackRevision(models.Model):
    """An earlier verdict of an entry, kept when the reviewer rated the target again."""

    entry = models.ForeignKey(FeedbackEntry, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField()
    source = models.CharField(max_length=16, choices=Source.choices)
    rating = models.FloatField()
    normalized_rating = models.FloatField()
    comment = models.TextField(blank=True)
    correction = models.TextField(blank=True)
    scores = models.JSONField(default=dict, blank=True)
    via = models.CharField(max_length=16, choices=Via.choices, blank=True)
    minted_by = models.CharField(max_length=160, blank=True)
    rated_at = models.DateTimeField()

    class Meta:
        ordering = ["entry", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "revision"], name="one_row_per_revision")
        ]

    def __str__(self) -> str:
        return f"revision {self.revision} of entry {self.entry_id}"


class DimensionKind(models.TextChoices):
    NUMERIC = "numeric", "Number in a range"
    CATEGORICAL = "categorical", "One of a list of options"
    BOOLEAN = "boolean", "Yes or no"


class RubricDimension(models.Model):
    """One dimension of the tenant's rubric for a target type ("tone", 1-5; "next step
    right?", yes/no; "accuracy", wrong/partly/right), rated beside the overall rating (the
    default rubric: inline -1/0/1, dashboard 1-5 stars). Each maps onto [0, 1] for
    averages: a number by its range, options evenly by their order (worst first), yes as
    1. Retired dimensions (inactive) take no new scores; earlier scores stay."""

    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    key = models.SlugField(
        max_length=40, help_text="The name clients send it under in `scores` (e.g. tone)."
    )
    label = models.CharField(max_length=80, help_text="What reviewers see (e.g. Tone).")
    description = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=16, choices=DimensionKind.choices)
    minimum = models.FloatField(null=True, blank=True, help_text="Numeric: the lowest value.")
    maximum = models.FloatField(null=True, blank=True, help_text="Numeric: the highest value.")
    integers = models.BooleanField(default=True, help_text="Numeric: whole numbers only.")
    options = models.JSONField(
        default=list, blank=True, help_text="Categorical: the options, worst first."
    )
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["target_type", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["target_type", "key"], name="one_dimension_per_key"),
            models.CheckConstraint(
                condition=~models.Q(kind="numeric")
                | models.Q(
                    minimum__isnull=False, maximum__isnull=False, minimum__lt=models.F("maximum")
                ),
                name="numeric_dimension_has_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target_type}: {self.label}"

    def clean(self) -> None:
        if self.kind == DimensionKind.NUMERIC and (
            self.minimum is None or self.maximum is None or self.minimum >= self.maximum
        ):
            raise ValidationError({"maximum": "Give a range: a minimum below the maximum."})
        if self.kind == DimensionKind.CATEGORICAL:
            options = self.options if isinstance(self.options, list) else []
            if (
                len(options) < 2
                or len(options) > 20
                or not all(isinstance(o, str) and o.strip() and len(o) <= 80 for o in options)
                or len(set(options)) != len(options)
            ):
                raise ValidationError(
                    {"options": "List 2 to 20 different options (text), worst first."}
                )


class DraftFeedback(models.Model):
    """The agent's draft and what was actually sent: edits are implicit feedback."""

    action_id = models.CharField(max_length=200, unique=True)
    conversation = models.ForeignKey(
        "outcomes.Conversation", on_delete=models.PROTECT, related_name="draft_edits"
    )
    outcome = models.ForeignKey(
        "outcomes.OutcomeRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="draft_edits",
    )
    intent = models.CharField(
        max_length=100, blank=True, help_text="The intent or playbook that produced the draft."
    )
    original_draft = models.TextField()
    sent_version = models.TextField()
    edit_distance = models.FloatField(help_text="Normalised Levenshtein distance, 0 to 1.")
    significant = models.BooleanField(
        help_text="Edited beyond the threshold: implicit negative feedback for batch learning."
    )
    analyzed = models.BooleanField(default=False, help_text="Seen by batch learning.")
    # Whether the agent had a draft, kept apart from the text: approval counts stay the
    # same once the texts are erased.
    drafted = models.BooleanField(default=True, help_text="The agent had a draft.")
    sent_at = models.DateTimeField(default=timezone.now, help_text="When it was sent.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Draft and sent texts removed (erased on request, or past the retention).",
    )

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [
            models.Index(
                fields=["significant", "analyzed", "sent_at"], name="draft_learning_queue"
            ),
            models.Index(fields=["intent", "sent_at"], name="draft_intent_sent"),
        ]

    def __str__(self) -> str:
        return f"draft {self.action_id} ({self.edit_distance:.2f})"

    @property
    def approved(self) -> bool:
        """Sent as drafted: approval of the intent/playbook that produced it."""
        return self.edit_distance == 0


# What an action is judged by (outcomes.rules), as settings offer them.
OUTCOME_TYPES = [
    (outcome_rules.EMAIL_ENGAGEMENT, "Email engagement"),
    (outcome_rules.DEAL_PROGRESSION, "Deal-stage move"),
    (outcome_rules.MEETING_OUTCOME, "Meeting"),
    (outcome_rules.ESCALATION_RESULT, "Escalation"),
]


def default_critical_outcome_types() -> list[str]:
    return [outcome_rules.ESCALATION_RESULT, outcome_rules.DEAL_PROGRESSION]


class FeedbackSettings(models.Model):
    """The tenant's feedback constants (one row; defaults when absent)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    draft_edit_threshold = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="A draft edited by more than this is implicit negative feedback.",
    )
    fatigue_decline_ratio = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.05), MaxValueValidator(1.0)],
        help_text="Flag a reviewer whose last 7 days hold less than this share of the "
        "feedback of the 7 days before.",
    )
    fatigue_min_previous = models.PositiveIntegerField(
        default=5, help_text="…when the 7 days before held at least this many ratings."
    )
    extreme_share = models.FloatField(
        default=0.9,
        validators=[MinValueValidator(0.5), MaxValueValidator(1.0)],
        help_text="Flag a reviewer when at least this share of their ratings are all top "
        "or all bottom…",
    )
    extreme_min_ratings = models.PositiveIntegerField(
        default=20, help_text="…over at least this many ratings (last 30 days)."
    )
    fatigued_prompts_per_day = models.PositiveIntegerField(
        default=3, help_text="Review prompts shown per day to a reviewer flagged as fatigued."
    )
    prompts_per_day = models.PositiveIntegerField(
        default=20, help_text="Review prompts shown per day to other reviewers."
    )
    link_max_age_days = models.PositiveIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="One-click links expire after this many days.",
    )
    critical_outcome_types = ArrayField(
        models.CharField(max_length=32, choices=OUTCOME_TYPES),
        default=default_critical_outcome_types,
        blank=True,
        help_text="Actions judged by these results are critical: they wait in 'Needs your "
        "verdict' and their rep is prompted (Slack, email) as soon as the agent acts. "
        "Comma-separated: " + ", ".join(value for value, _ in OUTCOME_TYPES) + ".",
    )
    critical_action_types = ArrayField(
        models.CharField(max_length=64),
        default=list,
        blank=True,
        help_text="Also critical: these action types, whatever they are judged by "
        "(comma-separated, as the agent names them, e.g. offer_discount).",
    )
    prompt_managers = models.BooleanField(
        default=False,
        help_text="Prompt the rep's manager too, not only the rep, about each critical action.",
    )

    class Meta:
        verbose_name = "feedback settings"
        verbose_name_plural = "feedback settings"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_feedback_row")]

    def __str__(self) -> str:
        return "Feedback settings"


class UsedLink(models.Model):
    """A one-click link that has recorded its rating: each link records once."""

    nonce = models.CharField(max_length=32, primary_key=True)
    entry = models.ForeignKey(FeedbackEntry, on_delete=models.CASCADE, related_name="+")
    used_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.nonce
