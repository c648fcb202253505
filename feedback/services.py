"""Recording feedback: explicit ratings (web form, one-click links, Slack) and draft edits."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rapidfuzz.distance import Levenshtein

from feedback import events, rubrics
from feedback.models import (
    DraftFeedback,
    FeedbackEntry,
    FeedbackRevision,
    FeedbackSettings,
    Source,
    TargetType,
    Via,
)
from learning.errors import InvalidInput
from outcomes import erasure as outcome_erasure
from outcomes import selectors as outcome_selectors
from outcomes import services as outcome_services

if TYPE_CHECKING:
    from outcomes.models import OutcomeRecord

MAX_DRAFT_CHARS = 20_000


@dataclass(frozen=True)
class Scale:
    """The ratings a source accepts and how they map onto [0, 1]."""

    values: tuple[int, ...]
    normalize: Callable[[float], float]
    message: str


SCALES: dict[str, Scale] = {
    Source.INLINE: Scale((-1, 0, 1), lambda r: (r + 1) / 2, "Inline ratings are -1, 0 or 1."),
    Source.DASHBOARD: Scale(
        (1, 2, 3, 4, 5), lambda r: (r - 1) / 4, "Dashboard ratings are 1 to 5."
    ),
}


def normalized_rating(*, source: str, rating: Any) -> float:
    """The rating on [0, 1]; InvalidInput for a source or rating that does not fit."""
    if source == Source.DRAFT_EDIT:
        raise InvalidInput("Draft edits are recorded with POST drafts/.", field="source")
    scale = SCALES.get(source)
    if scale is None:
        raise InvalidInput("Use inline or dashboard.", field="source")
    if isinstance(rating, bool) or not isinstance(rating, int | float):
        raise InvalidInput(scale.message, field="rating")
    if rating not in scale.values:
        raise InvalidInput(scale.message, field="rating")
    return float(scale.normalize(rating))


def settings_row() -> FeedbackSettings:
    return FeedbackSettings.objects.filter(pk=1).first() or FeedbackSettings()


@dataclass(frozen=True)
class Recorded:
    entry: FeedbackEntry
    created: bool
    changed: bool


def record_feedback(
    *,
    reviewer: Any,
    target_type: str,
    target_id: str,
    conversation_id: str,
    source: str,
    rating: Any,
    comment: str = "",
    outcome_id: int | None = None,
    correction: str = "",
    scores: Any = None,
    via: str = Via.API,
    minted_by: str = "",
    rated_at: datetime | None = None,
    assigned: bool = False,
) -> Recorded:
    """The reviewer's verdict on a target. The reviewer and their role come from the
    authenticated user (or the person a one-click link was made for, `via` link or slack,
    with who made it in `minted_by`), never from the request body. Rating the same target
    again updates the reviewer's entry and keeps the previous verdict as a revision;
    sending the very same verdict again (a retry) changes nothing. A draft edit's
    automatic score on the same target is another entry, never touched here. `rated_at`
    (default now) dates a first verdict given earlier (imports, the demo's history).
    `assigned`: the reviewer was given this action by a manager's queue (the caller checked
    it), so it need not be in their own scope. `scores` rate the tenant's rubric dimensions
    for the target type (feedback.rubrics), each checked."""
    if target_type not in TargetType.values:
        raise InvalidInput("Use message, decision or conversation.", field="target_type")
    normalized = normalized_rating(source=source, rating=rating)
    scores, normalized_scores = rubrics.validate(target_type=target_type, scores=scores)
    principal = _AssignedReviewer() if assigned else reviewer
    conversation = _conversation_for(principal, conversation_id)
    outcome = _outcome_for(principal, conversation.pk, target_type, target_id, outcome_id)
    values = {
        "conversation": conversation,
        "outcome": outcome,
        "source": source,
        "rating": float(rating),
        "normalized_rating": normalized,
        "comment": comment,
        "correction": correction,
        "scores": scores,
        "normalized_scores": normalized_scores,
        "via": via,
        "minted_by": minted_by,
    }
    key = {"reviewer": reviewer, "target_type": target_type, "target_id": target_id}
    people = FeedbackEntry.objects.exclude(source=Source.DRAFT_EDIT)
    with transaction.atomic():
        entry = people.select_for_update().filter(**key).first()
        if entry is None:
            try:
                with transaction.atomic():
                    entry = FeedbackEntry.objects.create(
                        **key,
                        **values,
                        reviewer_role=reviewer.role,
                        rated_at=rated_at or timezone.now(),
                    )
            except IntegrityError:  # a concurrent first rating won: update it instead
                entry = people.select_for_update().get(**key)
            else:
                _emit_recorded(entry)
                return Recorded(entry, created=True, changed=True)
        same = (
            entry.source,
            entry.rating,
            entry.comment,
            entry.correction,
            entry.scores,
            entry.outcome_id,
        ) == (source, float(rating), comment, correction, scores, outcome.pk if outcome else None)
        if same:
            return Recorded(entry, created=False, changed=False)
        _revise(entry, values, reviewer_role=reviewer.role)
    _emit_recorded(entry)
    return Recorded(entry, created=False, changed=True)


def _revise(entry: FeedbackEntry, values: dict[str, Any], *, reviewer_role: str) -> None:
    """Keep the entry's current verdict as a revision, then give it the new one."""
    FeedbackRevision.objects.create(
        entry=entry,
        revision=entry.revision,
        source=entry.source,
        rating=entry.rating,
        normalized_rating=entry.normalized_rating,
        comment=entry.comment,
        correction=entry.correction,
        scores=entry.scores,
        via=entry.via,
        minted_by=entry.minted_by,
        rated_at=entry.rated_at,
    )
    for name, value in values.items():
        setattr(entry, name, value)
    entry.revision += 1
    entry.reviewer_role = reviewer_role
    entry.rated_at = timezone.now()
    entry.save(update_fields=[*values, "revision", "reviewer_role", "rated_at", "updated_at"])


class _AssignedReviewer:
    """The scope of a reviewer rating an action a manager's queue assigned them: the
    whole tenant's (the queue, checked by its caller, is what limits it)."""

    role = "agent"  # learning.selectors.sees_whole_tenant
    is_authenticated = True


def _conversation_for(principal: Any, conversation_id: str) -> Any:
    """The conversation the agent calls `conversation_id`, if it is in the principal's scope."""
    conversation = (
        outcome_selectors.visible_conversations(principal=principal)
        .filter(external_id=conversation_id)
        .first()
    )
    if conversation is None:
        raise InvalidInput("No such conversation.", field="conversation_id")
    return conversation


def _outcome_for(
    reviewer: Any, conversation_pk: int, target_type: str, target_id: str, outcome_id: int | None
) -> OutcomeRecord | None:
    """The outcome named by `outcome_id` (it must be the reviewer's to see and belong to
    the conversation), else the action the target is, when it is one."""
    visible = outcome_selectors.visible_outcomes(principal=reviewer).filter(
        conversation_id=conversation_pk
    )
    if outcome_id is not None:
        outcome = visible.filter(pk=outcome_id).first()
        if outcome is None:
            raise InvalidInput("No such outcome in this conversation.", field="outcome_id")
        return outcome
    if target_type == TargetType.CONVERSATION:
        return None
    return visible.filter(action_id=target_id).first()


def _emit_recorded(entry: FeedbackEntry) -> None:
    events.FEEDBACK_RECORDED.emit(
        events.FeedbackRecorded(
            id=entry.pk,
            target_type=entry.target_type,
            target_id=entry.target_id,
            normalized_rating=entry.normalized_rating,
            rep_id=entry.conversation.rep_id,
            reviewer_id=entry.reviewer_id,
            outcome_id=entry.outcome_id,
            via=entry.via,
        )
    )


def edit_distance(original: str, sent: str) -> float:
    """Levenshtein distance normalised by the longer text (rapidfuzz): 0 unchanged, 1
    completely rewritten; two empty texts are identical."""
    return float(Levenshtein.normalized_distance(original, sent))


@dataclass(frozen=True)
class DraftRecorded:
    draft: DraftFeedback
    created: bool


def record_draft(
    *,
    action_id: str,
    conversation_id: str,
    original_draft: str,
    sent_version: str,
    intent: str = "",
    sent_at: datetime | None = None,
) -> DraftRecorded:
    """What the agent drafted and what was sent. Idempotent on `action_id`: a replay
    returns the stored record and changes nothing. Edited beyond the tenant's threshold
    (0.2 by default), it is implicit negative feedback (an entry with source draft_edit,
    in the name of the conversation's rep) and waits for batch learning; sent unedited, it
    counts as approval of its intent."""
    for field, text in (("original_draft", original_draft), ("sent_version", sent_version)):
        if len(text) > MAX_DRAFT_CHARS:
            raise InvalidInput(f"At most {MAX_DRAFT_CHARS:,} characters.", field=field)
    stored = DraftFeedback.objects.filter(action_id=action_id).first()
    if stored is not None:
        return DraftRecorded(stored, created=False)
    sent_at = sent_at or timezone.now()
    if outcome_erasure.masking_on():  # before the distance: both sides masked alike
        original_draft = outcome_erasure.masked(original_draft)
        sent_version = outcome_erasure.masked(sent_version)
    distance = edit_distance(original_draft, sent_version)
    significant = distance > settings_row().draft_edit_threshold
    with transaction.atomic():
        conversation = outcome_services.ensure_conversation(external_id=conversation_id)
        outcome = outcome_selectors.outcome_by_action_id(action_id=action_id)
        try:
            with transaction.atomic():
                draft = DraftFeedback.objects.create(
                    action_id=action_id,
                    conversation=conversation,
                    outcome=outcome,
                    intent=intent,
                    original_draft=original_draft,
                    sent_version=sent_version,
                    drafted=bool(original_draft),
                    edit_distance=distance,
                    significant=significant,
                    sent_at=sent_at,
                )
        except IntegrityError:  # a concurrent replay stored it first
            return DraftRecorded(DraftFeedback.objects.get(action_id=action_id), created=False)
        if significant:
            rep = conversation.rep
            entry = FeedbackEntry.objects.create(
                target_type=TargetType.MESSAGE,
                target_id=action_id,
                conversation=conversation,
                outcome=outcome,
                source=Source.DRAFT_EDIT,
                rating=round(1 - distance, 6),
                normalized_rating=round(1 - distance, 6),
                comment="",
                reviewer=rep,
                reviewer_role=rep.role if rep else "",
                via=Via.DRAFT,
                rated_at=sent_at,
            )
            _emit_recorded(entry)
        # In this transaction: a replay above never emits twice.
        events.DRAFT_RECORDED.emit(
            events.DraftRecorded(
                action_id=action_id,
                conversation_id=conversation_id,
                intent=intent,
                drafted=bool(original_draft),
                approved=draft.approved,
            )
        )
    return DraftRecorded(draft, created=True)


def mark_drafts_analyzed(*, draft_ids: Iterable[int]) -> int:
    """Batch learning has read these drafts."""
    return DraftFeedback.objects.filter(pk__in=list(draft_ids)).update(analyzed=True)
