"""Managers' review queues (feedback.queues): the queue, its reviewers, its items and their
judgements. Feedback's models, imported by feedback.models."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class QueueReason(models.TextChoices):
    MATCH = "match", "Matches the queue's filters"
    AMBIGUOUS = "ambiguous", "The signals did not decide it"
    SPOT_CHECK = "spot_check", "A random spot check of a decided outcome"


class ReviewQueue(models.Model):
    """A manager's queue: the actions matching its filters (and, for a spot check, a
    random share of the decided ones), for its reviewers, each item judged by
    `reviewers_per_item` of them."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_queues_owned"
    )
    reviewers: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="QueueReviewer", related_name="review_queues"
    )
    action_types = models.JSONField(default=list, blank=True, help_text="Empty: every type.")
    statuses = models.JSONField(default=list, blank=True, help_text="Empty: every status.")
    reps = models.JSONField(default=list, blank=True, help_text="Usernames; empty: the team.")
    occurred_after = models.DateTimeField(null=True, blank=True)
    occurred_before = models.DateTimeField(null=True, blank=True)
    rated_below = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Only actions people rated below this on average (0 to 1).",
    )
    spot_check_share = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.001), MaxValueValidator(1.0)],
        help_text="A spot check: this random share of the decided actions that match "
        "(each with its inclusion probability stored); undecided ones all come in.",
    )
    reviewers_per_item = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    filled_until = models.DateTimeField(
        null=True, blank=True, help_text="Decided actions up to this time were considered."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class QueueReviewer(models.Model):
    queue = models.ForeignKey(ReviewQueue, on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "reviewer"], name="one_seat_per_reviewer")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id} on {self.queue_id}"


class QueueItem(models.Model):
    """An action in a queue, why it is there, and how likely it was to be picked (1 for
    every match; the share for a spot check), so that figures from the labels can be
    weighted back to all the actions (inverse probability)."""

    queue = models.ForeignKey(ReviewQueue, on_delete=models.CASCADE, related_name="items")
    outcome = models.ForeignKey(
        "outcomes.OutcomeRecord", on_delete=models.CASCADE, related_name="queue_items"
    )
    reason = models.CharField(max_length=16, choices=QueueReason.choices)
    inclusion_probability = models.FloatField(
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["queue", "outcome"], name="one_item_per_action"),
            models.CheckConstraint(
                condition=models.Q(inclusion_probability__gt=0, inclusion_probability__lte=1),
                name="inclusion_probability_in_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.pk} of queue {self.queue_id}"


class Judgement(models.Model):
    """One reviewer's judgement of a queue item: whether the action worked (the label),
    and their rating of it (their feedback entry on the action)."""

    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="judgements")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="judgements"
    )
    label = models.CharField(
        max_length=16,
        choices=[("positive", "It worked"), ("negative", "It did not work")],
        blank=True,
    )
    entry = models.ForeignKey(
        "feedback.FeedbackEntry",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    judged_at = models.DateTimeField()

    class Meta:
        ordering = ["item", "judged_at"]
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="one_judgement_per_reviewer")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id} on item {self.item_id}: {self.label or 'no label'}"
