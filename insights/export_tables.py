"""What each export holds: its columns (a Table: names, in order, and their kinds) and the
rows the database reads for it (a Selection: the caller's scoped queryset and one
expression per column), or, for the calibration curves, rows computed in Python.
insights.exports formats and streams them.

Each row of an action carries `policy_version`: the version of its action type's behaviour
policy in force when the action was taken (calibration.selectors.version_in_force; 0 is the
defaults).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, F, FloatField, IntegerField, QuerySet, Value, When
from django.db.models.functions import Cast

from calibration import selectors as calibration_selectors
from feedback import queues as feedback_queues
from outcomes import rules
from outcomes import selectors as outcome_selectors

TEXT, NUMBER, TIME, JSON = "text", "number", "time", "json"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    description: str
    times: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    objects: frozenset[str] = frozenset()

    def kind(self, column: str) -> str:
        if column in self.times:
            return TIME
        if column in self.numbers:
            return NUMBER
        return JSON if column in self.objects else TEXT


@dataclass(frozen=True)
class Selection:
    """Rows the database reads: a queryset and one expression per column of the table."""

    queryset: QuerySet[Any]
    expressions: list[Any]


OUTCOMES = Table(
    "outcomes",
    (
        "action_id",
        "conversation_id",
        "rep",
        "action_type",
        "outcome_type",
        "predicted_confidence",
        "status",
        "score",
        "signal_source",
        "resolution_reason",
        "labelled_by",
        "occurred_at",
        "window_expires_at",
        "resolved_at",
        "policy_version",
        "channel",
        "subject",
        "body",
        "attributes",
    ),
    "One row per agent action: its confidence, how it turned out, what it said.",
    times=frozenset({"occurred_at", "window_expires_at", "resolved_at"}),
    numbers=frozenset({"predicted_confidence", "score", "policy_version"}),
    objects=frozenset({"attributes"}),
)
FEEDBACK = Table(
    "feedback",
    (
        "id",
        "target_type",
        "target_id",
        "conversation_id",
        "action_id",
        "action_type",
        "source",
        "rating",
        "normalized_rating",
        "scores",
        "comment",
        "correction",
        "reviewer",
        "reviewer_role",
        "via",
        "revision",
        "rated_at",
        "policy_version",
    ),
    "One row per current verdict (a person's, or a draft edit's automatic score).",
    times=frozenset({"rated_at"}),
    numbers=frozenset({"id", "rating", "normalized_rating", "revision", "policy_version"}),
    objects=frozenset({"scores"}),
)
LABELS = Table(
    "labels",
    (
        "source",
        "queue_id",
        "queue",
        "action_id",
        "conversation_id",
        "action_type",
        "predicted_confidence",
        "reviewer",
        "label",
        "outcome_status",
        "reason",
        "inclusion_probability",
        "weight",
        "labelled_at",
        "policy_version",
    ),
    "One row per human judgement of whether an action worked: each reviewer's in a "
    "review queue (source queue, with the item's inclusion probability and its inverse, "
    "the weight that reweights spot checks to all decided actions), and each label given "
    "outside a queue (source label).",
    times=frozenset({"labelled_at"}),
    numbers=frozenset(
        {"queue_id", "predicted_confidence", "inclusion_probability", "weight", "policy_version"}
    ),
)
CALIBRATION = Table(
    "calibration",
    (
        "action_type",
        "bin",
        "lower",
        "upper",
        "count",
        "mean_predicted",
        "actual_rate",
        "ci_low",
        "ci_high",
        "sample_count",
        "brier_score",
        "ece",
        "confidence_scale",
        "escalation_threshold",
        "policy_version",
    ),
    "One row per action type and confidence bin: the calibration curve, with the policy "
    "in force now.",  # computed in Python: _cell formats each value by its type
)


# --- rows --------------------------------------------------------------------------------


def outcome_rows(outcomes: QuerySet[Any]) -> list[Selection]:
    """`outcomes` (scoped and filtered by the caller) in time order, as OUTCOMES rows."""
    return _select(
        outcomes.order_by("occurred_at", "id"),
        [
            F("action_id"),
            F("conversation__external_id"),
            F("rep__username"),
            F("action_type"),
            F("outcome_type"),
            F("predicted_confidence"),
            F("status"),
            F("score"),
            F("signal_source"),
            F("resolution_reason"),
            F("resolved_by__username"),
            F("occurred_at"),
            F("window_expires_at"),
            F("resolved_at"),
            calibration_selectors.version_in_force(),
            F("content__channel"),
            F("content__subject"),
            F("content__body"),
            F("attributes"),
        ],
    )


def feedback_rows(entries: QuerySet[Any]) -> list[Selection]:
    """Feedback entries (scoped and filtered by the caller) in time order."""
    return _select(
        entries.order_by("rated_at", "id"),
        [
            F("id"),
            F("target_type"),
            F("target_id"),
            F("conversation__external_id"),
            F("outcome__action_id"),
            F("outcome__action_type"),
            F("source"),
            F("rating"),
            F("normalized_rating"),
            F("scores"),
            F("comment"),
            F("correction"),
            F("reviewer__username"),
            F("reviewer_role"),
            F("via"),
            F("revision"),
            F("rated_at"),
            Case(
                When(outcome__isnull=True, then=Value(None)),
                default=calibration_selectors.version_in_force(
                    action_type="outcome__action_type", at="outcome__occurred_at"
                ),
            ),
        ],
    )


def label_rows(
    *,
    user: Any,
    queue_id: int | None = None,
    reviewer: str | None = None,
    after: datetime | None = None,
    before: datetime | None = None,
) -> list[Selection]:
    """Queue judgements (in the queues the person manages), then labels given outside a
    queue (on actions in their scope), each in time order."""
    judgements = feedback_queues.visible_judgements(user=user).exclude(label="")
    direct = (
        outcome_selectors.visible_outcomes(principal=user)
        .filter(signal_source=rules.HUMAN_LABEL)
        .exclude(queue_items__judgements__isnull=False)
    )
    if queue_id is not None:
        judgements = judgements.filter(item__queue_id=queue_id)
    if reviewer:
        judgements = judgements.filter(reviewer__username=reviewer)
        direct = direct.filter(resolved_by__username=reviewer)
    if after:
        judgements = judgements.filter(judged_at__gte=after)
        direct = direct.filter(resolved_at__gte=after)
    if before:
        judgements = judgements.filter(judged_at__lt=before)
        direct = direct.filter(resolved_at__lt=before)
    nothing = Value(None, output_field=FloatField())
    from_queues = Selection(
        judgements.order_by("judged_at", "id"),
        [
            Value("queue"),
            F("item__queue_id"),
            F("item__queue__name"),
            F("item__outcome__action_id"),
            F("item__outcome__conversation__external_id"),
            F("item__outcome__action_type"),
            F("item__outcome__predicted_confidence"),
            F("reviewer__username"),
            F("label"),
            F("item__outcome__status"),
            F("item__reason"),
            F("item__inclusion_probability"),
            Value(1.0) / Cast("item__inclusion_probability", FloatField()),
            F("judged_at"),
            calibration_selectors.version_in_force(
                action_type="item__outcome__action_type", at="item__outcome__occurred_at"
            ),
        ],
    )
    outside = Selection(
        direct.order_by("resolved_at", "id"),
        [
            Value("label"),
            Value(None, output_field=IntegerField()),
            Value(""),
            F("action_id"),
            F("conversation__external_id"),
            F("action_type"),
            F("predicted_confidence"),
            F("resolved_by__username"),
            F("status"),
            F("status"),
            Value(""),
            nothing,
            nothing,
            F("resolved_at"),
            calibration_selectors.version_in_force(),
        ],
    )
    return [from_queues] if queue_id is not None else [from_queues, outside]


def calibration_rows(*, action_types: Iterable[str] | None = None) -> Iterator[tuple[Any, ...]]:
    """The calibration curves (small: ten rows per action type), with the policy now."""
    wanted = None if action_types is None else set(action_types)
    for curve in calibration_selectors.curves():
        if wanted is not None and curve["action_type"] not in wanted:
            continue
        policy = curve["policy"]
        for index, b in enumerate(curve["bins"]):
            yield (
                curve["action_type"],
                index,
                b["lower"],
                b["upper"],
                b["count"],
                b["mean_predicted"],
                b["actual_rate"],
                b["ci_low"],
                b["ci_high"],
                curve["sample_count"],
                curve["brier_score"],
                curve["ece"],
                policy["confidence_scale"],
                policy["escalation_threshold"],
                policy["version"],
            )


def _select(queryset: QuerySet[Any], expressions: list[Any]) -> list[Selection]:
    return [Selection(queryset, expressions)]
