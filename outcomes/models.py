"""What the agent did, what happened afterwards, and how each action turned out."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q

from outcomes import rules


class OutcomeType(models.TextChoices):
    EMAIL_ENGAGEMENT = rules.EMAIL_ENGAGEMENT, "Email engagement"
    DEAL_PROGRESSION = rules.DEAL_PROGRESSION, "Deal progression"
    MEETING_OUTCOME = rules.MEETING_OUTCOME, "Meeting outcome"
    ESCALATION_RESULT = rules.ESCALATION_RESULT, "Escalation result"


class OutcomeStatus(models.TextChoices):
    PENDING = rules.PENDING, "Pending"
    POSITIVE = rules.POSITIVE, "Positive"
    NEGATIVE = rules.NEGATIVE, "Negative"
    AMBIGUOUS = rules.AMBIGUOUS, "Ambiguous (needs a human label)"
    EXPIRED = rules.EXPIRED, "Expired (no signal in the window)"


# Statuses an outcome never leaves (rules.DECIDED): an outcome is counted when it reaches one.
FINAL_STATUSES = rules.DECIDED


class SignalSource(models.TextChoices):
    AUTOMATIC = rules.AUTOMATIC, "Automatic (time-window check)"
    EVENT = rules.EVENT, "Event (signal received)"
    HUMAN_LABEL = rules.HUMAN_LABEL, "Human label"


class Conversation(models.Model):
    """The agent's conversation with a prospect, mirrored from the agent's own store."""

    external_id = models.CharField(max_length=200, unique=True)
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
    )
    deal_stage = models.CharField(max_length=64, blank=True)
    last_interaction_at = models.DateTimeField(null=True, blank=True)
    # When the agent's earliest action in it happened (outcomes.ingest keeps it, only ever
    # moving it back): the period a conversation belongs to for qualification, found
    # through its index instead of probing every conversation's actions.
    first_action_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A reviewer's marker ("look at this one again", "use it in coaching"); set and cleared
    # from the admin through outcomes.services.flag_conversations.
    flagged_at = models.DateTimeField(null=True, blank=True)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    flag_note = models.CharField(max_length=500, blank=True, default="", db_default="")
    # Its words were erased on request (outcomes.erasure.erase_conversation): outcomes,
    # signals and ratings stay; every text of it is blank.
    content_erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_interaction_at"]
        indexes = [
            models.Index(
                fields=["flagged_at"],
                name="conversation_flagged",
                condition=Q(flagged_at__isnull=False),
            ),
            models.Index(fields=["first_action_at"], name="conversation_first_action"),
        ]

    def __str__(self) -> str:
        return self.external_id

    def get_absolute_url(self) -> str:
        """Its timeline page (insights), where people read it as it happened."""
        from learning.templatetags.id_links import conversation_url  # links encode any id

        return conversation_url(self.external_id)


class OutcomeRecord(models.Model):
    """One agent action, the confidence the agent had in it, and how it turned out."""

    action_id = models.CharField(max_length=200, unique=True, help_text="The agent's id.")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.PROTECT, related_name="outcomes"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outcomes",
    )
    action_type = models.CharField(max_length=64)
    predicted_confidence = models.FloatField()
    outcome_type = models.CharField(max_length=32, choices=OutcomeType.choices)
    status = models.CharField(
        max_length=16, choices=OutcomeStatus.choices, default=OutcomeStatus.PENDING
    )
    score = models.FloatField(
        null=True, blank=True, help_text="On the outcome type's scale, normalised to [0, 1]."
    )
    signal_source = models.CharField(max_length=16, choices=SignalSource.choices, blank=True)
    resolution_reason = models.CharField(max_length=200, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    label_comment = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    window_expires_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            # Sweeps: pending outcomes by window; the expiry sweep walks this index.
            models.Index(fields=["status", "window_expires_at"], name="outcome_status_window"),
            models.Index(fields=["action_type", "created_at"], name="outcome_type_created"),
            models.Index(
                fields=["conversation", "outcome_type", "status"], name="outcome_conversation"
            ),
            models.Index(fields=["rep", "occurred_at"], name="outcome_rep_occurred"),
            # Dashboards and rollups: the actions of a day.
            models.Index(fields=["occurred_at"], name="outcome_occurred"),
            models.Index(
                fields=["occurred_at"],
                name="outcome_pending_occurred",
                condition=Q(status="pending"),
            ),
            # The To label count of a team (feedback.review.to_label): an index-only scan of
            # the ambiguous outcomes of its reps (7 ms at 1,000,000 outcomes, not 480).
            models.Index(
                fields=["rep", "id"],
                name="outcome_ambiguous_rep",
                condition=Q(status="ambiguous"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(predicted_confidence__gte=0) & Q(predicted_confidence__lte=1),
                name="outcome_confidence_in_unit_interval",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=1)),
                name="outcome_score_in_unit_interval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} {self.action_id} ({self.status})"


class Signal(models.Model):
    """Something that happened after an action: a reply, a bounce, a stage change, …"""

    signal_id = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="Optional client id: a retried signal is stored once.",
    )
    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="signals")
    action_id = models.CharField(
        max_length=200, blank=True, help_text="The action it answers, when the agent knows it."
    )
    kind = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["conversation", "occurred_at"], name="signal_conversation"),
            models.Index(fields=["action_id"], name="signal_action", condition=~Q(action_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.conversation_id}"


class MessageDirection(models.TextChoices):
    AGENT = "agent", "From the agent (what an action said)"
    INBOUND = "inbound", "To the agent (what it answered)"


class ThreadRole(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"


class Message(models.Model):
    """One message of a conversation's thread: what an agent action said (its content,
    `outcome` set), or what came in that the agent answered (`inbound`, posted with
    `POST messages/`). Stored as sent; pages render the body as limited Markdown, sanitised."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.PROTECT, related_name="messages"
    )
    direction = models.CharField(max_length=16, choices=MessageDirection.choices)
    outcome = models.OneToOneField(
        OutcomeRecord,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="content",
        help_text="The action this is the content of (agent messages).",
    )
    message_id = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="The client's id of an inbound message: a retry is stored once.",
    )
    in_reply_to = models.CharField(
        max_length=200, blank=True, help_text="The action_id an inbound message answers."
    )
    channel = models.CharField(max_length=32)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    to_role = models.CharField(max_length=16, choices=ThreadRole.choices, blank=True)
    from_role = models.CharField(max_length=16, choices=ThreadRole.choices, blank=True)
    sent_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Subject and body removed (erased on request, or past the retention).",
    )

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "sent_at"], name="message_thread"),
            # Similar messages across conversations (selectors.similar_inbound): trigrams of
            # what came in, for pg_trgm's `%` operator (migration 0008 adds the extension).
            GinIndex(
                fields=["body"],
                opclasses=["gin_trgm_ops"],
                condition=Q(direction="inbound"),
                name="message_inbound_trgm",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(direction="agent") & Q(outcome__isnull=False))
                | (Q(direction="inbound") & Q(message_id__isnull=False)),
                name="message_agent_has_action_inbound_has_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.channel} message in {self.conversation_id}"


class ContentSettings(models.Model):
    """The tenant's rules for what people wrote (one row; defaults when absent)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    retention_days = models.PositiveIntegerField(
        default=0,
        help_text="Remove the words of messages, drafts, comments and corrections this many "
        "days after they were written (daily, 03:40 UTC); outcomes, ratings and counts stay. "
        "0 keeps them forever.",
    )
    mask_contact_details = models.BooleanField(
        default=False,
        help_text="Replace e-mail addresses and phone numbers in messages and drafts by "
        "[email] and [phone] as they arrive (what is stored already is left as it is).",
    )

    class Meta:
        verbose_name = "content settings"
        verbose_name_plural = "content settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="one_content_row")]

    def __str__(self) -> str:
        return "Content settings"


class ErasureKind(models.TextChoices):
    CONVERSATION = "conversation", "A conversation erased on request"
    RETENTION = "retention", "Past the retention period"
    CONTACT = "contact", "Everything about one contact, on request"


class ErasureRecord(models.Model):
    """The audit log of erasures: who, when, what kind, which conversations and how many
    pieces of text were removed. Never the text itself, nor the contact's address."""

    kind = models.CharField(max_length=16, choices=ErasureKind.choices)
    by = models.CharField(
        max_length=200, help_text="The user, the agent key (agent:<name>) or the schedule."
    )
    at = models.DateTimeField(auto_now_add=True)
    conversation_ids = models.JSONField(
        default=list, blank=True, help_text="The agent's ids of the conversations erased."
    )
    removed = models.JSONField(
        default=dict, help_text="How many texts were removed, by kind (messages, drafts, …)."
    )
    older_than = models.DateTimeField(
        null=True, blank=True, help_text="Retention: texts written before this were removed."
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.at:%Y-%m-%d %H:%M})"


class AmbiguousOutcome(OutcomeRecord):
    """The labelling queue: outcomes the signals could not decide (admin only)."""

    class Meta:
        proxy = True
        verbose_name = "outcome to label"
        verbose_name_plural = "labelling queue"
