"""Signals, messages and labels, and resolving outcomes: with outcomes.ingest (recording
actions and the conversations they name), every write of `outcomes` is here.

`transition_outcomes` is the only place an outcome changes status. It is one
`UPDATE … WHERE status = ANY(allowed) RETURNING …`: PostgreSQL re-checks the WHERE clause
after waiting for any concurrent writer of the same row, so whatever runs twice (two sweeps,
a sweep and a label, a retried request), each outcome makes each transition exactly once
and the "outcome resolved" event carries only the rows that really changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from learning.errors import Conflict, Forbidden, InvalidInput, NotFound
from learning.models import Role
from outcomes import erasure, events, rules, selectors
from outcomes.ingest import Content as Content
from outcomes.ingest import OutcomeInput as OutcomeInput
from outcomes.ingest import Recorded as Recorded
from outcomes.ingest import ensure_conversation as ensure_conversation
from outcomes.ingest import record_outcome as record_outcome
from outcomes.ingest import record_outcomes as record_outcomes
from outcomes.ingest import upsert_conversation
from outcomes.models import (
    FINAL_STATUSES,
    Conversation,
    Message,
    MessageDirection,
    OutcomeRecord,
    OutcomeStatus,
    SignalSource,
)
from outcomes.models import Signal as SignalRecord

# --- the one place an outcome changes status ---------------------------------------------

_RETURNING = (
    "id, action_type, outcome_type, status, score, predicted_confidence, rep_id, signal_source"
)


def transition_outcomes(
    *,
    ids: Iterable[int],
    status: str,
    score: float | None,
    source: str,
    reason: str,
    from_statuses: Sequence[str] = (OutcomeStatus.PENDING,),
    resolver_id: int | None = None,
    comment: str = "",
    now: datetime | None = None,
) -> list[events.ResolvedOutcome]:
    """Move the outcomes `ids` that are still in `from_statuses` to `status`; returns the
    ones that moved. Reaching a final status emits "outcome resolved" for them."""
    id_list = list(ids)
    if not id_list:
        return []
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE outcomes_outcomerecord
               SET status = %s, score = %s, signal_source = %s, resolution_reason = %s,
                   resolved_by_id = %s, label_comment = %s,
                   resolved_at = CASE WHEN %s THEN %s ELSE NULL END
             WHERE id = ANY(%s) AND status = ANY(%s)
         RETURNING {_RETURNING}
            """,  # noqa: S608 - only constant SQL is formatted in
            [
                status,
                score,
                source,
                reason[:200],
                resolver_id,
                comment,
                status in FINAL_STATUSES,
                now,
                id_list,
                list(from_statuses),
            ],
        )
        moved = [events.ResolvedOutcome(*row) for row in cursor.fetchall()]
        if status in FINAL_STATUSES:
            events.outcomes_resolved(moved)
    return moved


# --- signals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalResult:
    signal: SignalRecord
    created: bool
    resolved: list[events.ResolvedOutcome]


def judge_signal(
    *, kind: str, data: dict[str, Any], current_stage: str
) -> dict[str, rules.Verdict]:
    """The verdict of this signal for each outcome type it concerns. Raises InvalidInput for
    an unknown kind or data the rules cannot judge."""
    if kind not in rules.KNOWN_KINDS:
        raise InvalidInput(
            f"Unknown signal kind {kind!r}; known: {', '.join(sorted(rules.KNOWN_KINDS))}.",
            field="kind",
        )
    verdicts = {}
    for outcome_type in rules.outcome_types_for(kind):
        try:
            verdict = rules.RULES[outcome_type].judge(kind, data, current_stage)
        except rules.SignalDataError as exc:
            raise InvalidInput(exc.message, field=exc.field) from exc
        if verdict is not None:
            verdicts[outcome_type] = verdict
    return verdicts


def record_signal(
    *,
    conversation_id: str,
    kind: str,
    occurred_at: datetime,
    data: dict[str, Any],
    action_id: str = "",
    signal_id: str | None = None,
) -> SignalResult:
    """Store a signal and resolve at once the pending outcomes it decides.

    Attribution: a signal naming an `action_id` concerns that action only; it must name
    the action's own conversation (else InvalidInput). Without one it concerns every
    pending action of its conversation whose outcome type the signal kind decides. Either
    way only actions whose window contains the signal's time (from the action to its
    window's end) are resolved: a signal from before an action says nothing of it.
    Multi-touch: when a deal advances, every pending deal-progression action in the
    window gets the credit.
    """
    with transaction.atomic():
        if signal_id:
            existing = SignalRecord.objects.filter(signal_id=signal_id).first()
            if existing is not None:
                return SignalResult(signal=existing, created=False, resolved=[])
        if action_id:
            _check_action_conversation(action_id=action_id, conversation_id=conversation_id)
        conversation_pk = upsert_conversation(external_id=conversation_id, when=occurred_at)
        conversation = Conversation.objects.select_for_update().get(pk=conversation_pk)
        data = dict(data)
        if kind == rules.STAGE_CHANGED and not data.get("from") and conversation.deal_stage:
            data["from"] = conversation.deal_stage
        verdicts = judge_signal(kind=kind, data=data, current_stage=conversation.deal_stage)
        try:
            with transaction.atomic():
                signal = SignalRecord.objects.create(
                    signal_id=signal_id or None,
                    conversation=conversation,
                    action_id=action_id,
                    kind=kind,
                    occurred_at=occurred_at,
                    data=data,
                )
        except IntegrityError:  # the same signal_id, stored by a concurrent retry
            return SignalResult(
                signal=SignalRecord.objects.get(signal_id=signal_id), created=False, resolved=[]
            )
        if kind == rules.STAGE_CHANGED:
            Conversation.objects.filter(pk=conversation.pk).update(deal_stage=data["to"])
        resolved: list[events.ResolvedOutcome] = []
        for outcome_type, verdict in verdicts.items():
            if verdict.status == rules.WEAK:
                continue
            rule = rules.RULES[outcome_type]
            targets = OutcomeRecord.objects.filter(
                outcome_type=outcome_type,
                status=OutcomeStatus.PENDING,
                conversation=conversation,
                occurred_at__lte=occurred_at,
                window_expires_at__gte=occurred_at,
            )
            if action_id:
                targets = targets.filter(action_id=action_id)
            resolved += transition_outcomes(
                ids=targets.values_list("id", flat=True),
                status=verdict.status,
                score=rule.score(verdict.level or 1),
                source=SignalSource.EVENT,
                reason=f"signal {kind}" + (f": {verdict.reason}" if verdict.reason else ""),
            )
    return SignalResult(signal=signal, created=True, resolved=resolved)


def _check_action_conversation(
    *,
    action_id: str,
    conversation_id: str,
    field: str = "conversation_id",
    recorded_only: bool = False,
) -> None:
    """A signal or message that names a recorded action must name that action's
    conversation; with `recorded_only`, the action must be recorded."""
    recorded = (
        OutcomeRecord.objects.filter(action_id=action_id)
        .values_list("conversation__external_id", flat=True)
        .first()
    )
    if recorded is None and recorded_only:
        raise InvalidInput(f"No action {action_id!r} is recorded.", field=field)
    if recorded is not None and recorded != conversation_id:
        raise InvalidInput(
            f"Action {action_id!r} belongs to conversation {recorded!r}, not {conversation_id!r}.",
            field=field,
        )


# --- inbound messages -----------------------------------------------------------------------


@dataclass(frozen=True)
class MessageRecorded:
    message: Message
    created: bool


def record_message(
    *,
    message_id: str,
    conversation_id: str,
    channel: str,
    body: str,
    sent_at: datetime,
    subject: str = "",
    from_role: str = "prospect",
    in_reply_to: str = "",
) -> MessageRecorded:
    """A message the conversation received (a prospect's email, a rep's note): the thread
    the agent's actions answer. Idempotent on `message_id`: a retry returns what is stored
    and changes nothing; the same id naming another conversation is no retry (Conflict:
    the message stays where it is). `in_reply_to` names a recorded action it answers,
    which must be of the same conversation (InvalidInput otherwise)."""
    stored = Message.objects.filter(message_id=message_id).select_related("conversation").first()
    if stored is not None:
        _check_stored_message(stored, conversation_id=conversation_id)
        return MessageRecorded(stored, created=False)
    if in_reply_to:
        _check_action_conversation(
            action_id=in_reply_to,
            conversation_id=conversation_id,
            field="in_reply_to",
            recorded_only=True,
        )
    if erasure.masking_on():
        subject, body = erasure.masked(subject), erasure.masked(body)
    with transaction.atomic():
        conversation_pk = upsert_conversation(external_id=conversation_id, when=sent_at)
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    conversation_id=conversation_pk,
                    direction=MessageDirection.INBOUND,
                    message_id=message_id,
                    in_reply_to=in_reply_to,
                    channel=channel,
                    subject=subject,
                    body=body,
                    from_role=from_role,
                    sent_at=sent_at,
                )
        except IntegrityError:  # a concurrent retry stored it first
            stored = Message.objects.select_related("conversation").get(message_id=message_id)
            _check_stored_message(stored, conversation_id=conversation_id)
            return MessageRecorded(stored, created=False)
    return MessageRecorded(message, created=True)


def _check_stored_message(stored: Message, *, conversation_id: str) -> None:
    if stored.conversation.external_id != conversation_id:
        raise Conflict(
            f"Message {stored.message_id!r} is stored in conversation "
            f"{stored.conversation.external_id!r}, not {conversation_id!r}.",
            field="message_id",
        )


# --- human labels ---------------------------------------------------------------------------


def label_outcome(
    *,
    outcome_id: int,
    status: str,
    user: Any,
    score: float | None = None,
    comment: str = "",
    assigned: bool = False,
) -> OutcomeRecord:
    """A human's verdict on a pending or ambiguous outcome. Managers and above may label
    their scope; a rep their own outcomes. `assigned`: a manager's review queue gave the
    outcome to this person (its caller checked that), so it need not be in their scope."""
    if status not in (OutcomeStatus.POSITIVE, OutcomeStatus.NEGATIVE):
        raise InvalidInput("Label an outcome positive or negative.", field="status")
    scope = OutcomeRecord.objects.all() if assigned else selectors.visible_outcomes(principal=user)
    outcome = scope.filter(pk=outcome_id).first()
    if outcome is None:
        raise NotFound("No such outcome.")
    if user.role not in (Role.REP, Role.MANAGER, Role.EXECUTIVE, Role.ADMIN):
        raise Forbidden("Only people may label outcomes.")
    if score is None:
        score = 1.0 if status == OutcomeStatus.POSITIVE else 0.0
    elif not 0 <= score <= 1:
        raise InvalidInput("The score is on [0, 1].", field="score")
    moved = transition_outcomes(
        ids=[outcome.pk],
        status=status,
        score=score,
        source=SignalSource.HUMAN_LABEL,
        reason=f"labelled by {user.username}",
        from_statuses=(OutcomeStatus.PENDING, OutcomeStatus.AMBIGUOUS),
        resolver_id=user.pk,
        comment=comment,
    )
    outcome.refresh_from_db()
    if not moved:
        raise Conflict(
            f"This outcome is already {outcome.status}; labels change only "
            "pending or ambiguous outcomes.",
            field="status",
        )
    return outcome


def flag_conversations(*, ids: Iterable[int], user: Any, flagged: bool, note: str = "") -> int:
    """Flag (or clear the flag of) the conversations among `ids` in `user`'s scope, for a
    second look or for coaching. Managers and above; idempotent: flagging a flagged
    conversation keeps its first flag. Returns how many changed."""
    if user.role not in (Role.MANAGER, Role.EXECUTIVE, Role.ADMIN):
        raise Forbidden("Only managers and above may flag conversations.")
    scope = selectors.visible_conversations(principal=user).filter(pk__in=list(ids))
    if flagged:
        return scope.filter(flagged_at__isnull=True).update(
            flagged_at=timezone.now(), flagged_by=user, flag_note=note[:500]
        )
    return scope.filter(flagged_at__isnull=False).update(
        flagged_at=None, flagged_by=None, flag_note=""
    )
