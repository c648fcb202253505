"""Recording actions and signals, and resolving outcomes: every write of `outcomes` is here.

`transition_outcomes` is the only place an outcome changes status. It is one
`UPDATE … WHERE status = ANY(allowed) RETURNING …`: PostgreSQL re-checks the WHERE clause
after waiting for any concurrent writer of the same row, so whatever runs twice (two sweeps,
a sweep and a label, a retried request), each outcome makes each transition exactly once
and the "outcome resolved" event carries only the rows that really changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from learning.errors import Conflict, Forbidden, InvalidInput, NotFound
from learning.models import Role
from learning.tenancy.db import binary_cursor
from outcomes import erasure, events, rules, selectors
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

User = get_user_model()


@dataclass(frozen=True)
class Content:
    """What the agent produced with an action (stored as the thread's agent message)."""

    channel: str
    body: str
    subject: str = ""
    to_role: str = "prospect"


@dataclass(frozen=True)
class OutcomeInput:
    action_id: str
    conversation_id: str
    action_type: str
    predicted_confidence: float
    outcome_type: str
    occurred_at: datetime
    rep: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    content: Content | None = None


class Recorded(NamedTuple):
    id: int
    action_id: str
    status: str
    created: bool
    # of a created action, from the insert itself (its answer needs no re-read)
    conversation_pk: int | None = None
    rep_username: str | None = None
    created_at: datetime | None = None

    @property
    def outcome(self) -> OutcomeRecord:
        return OutcomeRecord.objects.select_related("rep", "conversation", "content").get(
            pk=self.id
        )


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


# --- actions --------------------------------------------------------------------------------


def _users_by_username(usernames: set[str]) -> dict[str, Any]:
    if not usernames:  # most actions name no rep: the conversation's rep applies
        return {}
    found = {u.username: u for u in User.objects.filter(username__in=usernames)}
    missing = sorted(usernames - set(found))
    if missing:
        raise InvalidInput(f"No user {missing[0]!r} in this tenant.", field="rep")
    return found


def _conversations(
    external_ids: set[str], reps: dict[str, Any], when: datetime
) -> dict[str, tuple[int, int | None]]:
    """Create or touch the conversation mirrors in one race-free upsert; returns
    {external id: (id, rep id)}. An existing conversation keeps its rep, or learns one
    from the first action that names it; its last interaction only moves forward."""
    ordered = sorted(external_ids)  # one lock order for concurrent upserts
    with binary_cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO outcomes_conversation
                   (external_id, rep_id, deal_stage, last_interaction_at, created_at)
            SELECT e, r, '', %b, now() FROM unnest(%b::text[], %b::bigint[]) AS v(e, r)
            ON CONFLICT (external_id) DO UPDATE SET
               last_interaction_at = GREATEST(outcomes_conversation.last_interaction_at,
                                              EXCLUDED.last_interaction_at),
               rep_id = COALESCE(outcomes_conversation.rep_id, EXCLUDED.rep_id)
            RETURNING external_id, id, rep_id
            """,
            [when, ordered, [reps[e].pk if e in reps else None for e in ordered]],
        )
        return {external_id: (pk, rep_id) for external_id, pk, rep_id in cursor.fetchall()}


def ensure_conversation(*, external_id: str, when: datetime | None = None) -> Conversation:
    """The conversation mirror of `external_id`, created if the agent never named it yet
    (race-free; an existing one keeps its rep and stage)."""
    ids = _conversations({external_id}, {}, when or timezone.now())
    return Conversation.objects.select_related("rep").get(pk=ids[external_id][0])


def record_outcomes(*, items: Sequence[OutcomeInput]) -> list[Recorded]:
    """Record agent actions, idempotent on `action_id`: an action already stored is
    returned as stored and nothing about it changes, even when replays race (the insert
    is `INSERT … ON CONFLICT DO NOTHING RETURNING`, so exactly one caller creates).
    All or nothing.

    One statement does the work of a request without content: the conversations of the
    new actions are upserted and the actions inserted in a single CTE, which also returns
    what the answer needs (no re-read). Content adds one insert, in the same transaction."""
    if not items:
        return []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.action_id in seen:
            raise InvalidInput(
                f"action_id {item.action_id!r} appears twice in this request "
                f"(items {seen[item.action_id]} and {index}).",
                field="action_id",
            )
        seen[item.action_id] = index
    users = _users_by_username({item.rep for item in items if item.rep})
    with_content = any(item.content for item in items)
    # a staging table (many items) lives for one transaction; content is a second insert
    several_statements = with_content or len(items) >= COPY_FROM
    with transaction.atomic() if several_statements else nullcontext():
        created = _insert_outcomes(items, users)
        if with_content:
            _insert_contents([(created[i.action_id], i) for i in items if i.action_id in created])
    missing = [item.action_id for item in items if item.action_id not in created]
    stored = _stored(missing) if missing else {}
    return [
        created[item.action_id]
        if item.action_id in created
        else Recorded(
            id=stored[item.action_id][0],
            action_id=item.action_id,
            status=stored[item.action_id][1],
            created=False,
        )
        for item in items
    ]


def _stored(action_ids: list[str]) -> dict[str, tuple[int, str]]:
    """{action_id: (id, status)} of the stored outcomes among `action_ids`."""
    with binary_cursor() as cursor:
        cursor.execute(
            "SELECT action_id, id, status FROM outcomes_outcomerecord WHERE action_id = ANY(%b)",
            [action_ids],
        )
        return {action_id: (pk, status) for action_id, pk, status in cursor.fetchall()}


def _dumps(value: Any) -> bytes:
    return msgspec.json.encode(value)


# The conversations of the actions not stored yet are upserted (one lock order: sorted by
# external id; an existing one keeps its rep, or learns one, and its last interaction only
# moves forward), then the actions are inserted; a concurrent replay's are skipped by ON
# CONFLICT. Returns what the answer to the agent holds.
_INSERT_OUTCOMES = """
WITH v AS (
    SELECT * FROM {source}
     WHERE NOT EXISTS (SELECT 1 FROM outcomes_outcomerecord x WHERE x.action_id = v.a)
),
c AS (
    INSERT INTO outcomes_conversation AS oc
           (external_id, rep_id, deal_stage, last_interaction_at, created_at)
    SELECT e, (array_agg(r) FILTER (WHERE r IS NOT NULL))[1], '', max(oa), now()
      FROM v GROUP BY e ORDER BY e
    ON CONFLICT (external_id) DO UPDATE SET
       last_interaction_at = GREATEST(oc.last_interaction_at, EXCLUDED.last_interaction_at),
       rep_id = COALESCE(oc.rep_id, EXCLUDED.rep_id)
    RETURNING external_id, id, rep_id
),
i AS (
    INSERT INTO outcomes_outcomerecord
           (action_id, conversation_id, rep_id, action_type, predicted_confidence,
            outcome_type, attributes, occurred_at, window_expires_at, status, score,
            signal_source, resolution_reason, resolved_by_id, label_comment,
            resolved_at, created_at)
    SELECT v.a, c.id, COALESCE(v.r, c.rep_id), v.t, v.p, v.o, v.j, v.oa, v.we, 'pending',
           NULL, '', '', NULL, '', NULL, %(now)b
      FROM v JOIN c ON c.external_id = v.e
    ON CONFLICT (action_id) DO NOTHING
    RETURNING action_id, id, status, conversation_id, rep_id, created_at
)
SELECT i.action_id, i.id, i.status, i.conversation_id, u.username, i.created_at
  FROM i LEFT JOIN learning_user u ON u.id = i.rep_id
"""


# The request's actions, bound as arrays (a few) or copied into a staging table (many).
_ARRAYS = """unnest(%(a)b::text[], %(e)b::text[], %(r)b::bigint[], %(t)b::text[],
                  %(p)b::float8[], %(o)b::text[], %(j)b::jsonb[], %(oa)b::timestamptz[],
                  %(we)b::timestamptz[]) AS v(a, e, r, t, p, o, j, oa, we)"""
_STAGED = "pg_temp.ll_staged_outcomes AS v"
_STAGING_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS ll_staged_outcomes
    (a text, e text, r bigint, t text, p float8, o text, j jsonb, oa timestamptz,
     we timestamptz)
    ON COMMIT DELETE ROWS
"""
_STAGING_TYPES = ["text", "text", "int8", "text", "float8", "text", "jsonb"]
_STAGING_TYPES += ["timestamptz", "timestamptz"]
# From this many actions a request copies them (COPY, binary) instead of binding arrays.
COPY_FROM = 200


def _insert_outcomes(items: Sequence[OutcomeInput], users: dict[str, Any]) -> dict[str, Recorded]:
    """One statement (_INSERT_OUTCOMES); {action_id: Recorded} of the actions it created.
    A large request first copies its actions into a temporary staging table (emptied at
    commit) and inserts from there: COPY sends rows with less work on both sides than
    arrays of every column."""
    rows = [
        (
            item.action_id,
            item.conversation_id,
            users[item.rep].pk if item.rep else None,
            item.action_type,
            rules.stored_confidence(item.predicted_confidence),
            item.outcome_type,
            Jsonb(item.attributes, dumps=_dumps),
            item.occurred_at,
            item.occurred_at + rules.RULES[item.outcome_type].window,
        )
        for item in items
    ]
    now = timezone.now()
    with binary_cursor() as cursor:
        if len(rows) >= COPY_FROM:
            cursor.execute(_STAGING_TABLE)
            with cursor.copy("COPY pg_temp.ll_staged_outcomes FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_STAGING_TYPES)
                for row in rows:
                    copy.write_row(row)
            cursor.execute(_INSERT_OUTCOMES.format(source=_STAGED), {"now": now})
        else:
            names = ("a", "e", "r", "t", "p", "o", "j", "oa", "we")
            columns = zip(*rows, strict=True)
            params = {name: list(column) for name, column in zip(names, columns, strict=True)}
            cursor.execute(_INSERT_OUTCOMES.format(source=_ARRAYS), {**params, "now": now})
        return {
            action_id: Recorded(
                id=pk,
                action_id=action_id,
                status=status,
                created=True,
                conversation_pk=conversation_pk,
                rep_username=username,
                created_at=created_at,
            )
            for action_id, pk, status, conversation_pk, username, created_at in (cursor.fetchall())
        }


def _insert_contents(rows: list[tuple[Recorded, OutcomeInput]]) -> None:
    """The thread messages of newly created actions that carry content, in one insert."""
    contents = [(recorded, item, item.content) for recorded, item in rows if item.content]
    if not contents:
        return
    mask = erasure.masked if erasure.masking_on() else str
    with binary_cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO outcomes_message
                   (conversation_id, direction, outcome_id, message_id, in_reply_to, channel,
                    subject, body, to_role, from_role, sent_at, created_at)
            SELECT c, 'agent', o, NULL, '', ch, su, bo, tr, '', sa, now()
              FROM unnest(%b::bigint[], %b::bigint[], %b::text[], %b::text[], %b::text[],
                          %b::text[], %b::timestamptz[]) AS v(c, o, ch, su, bo, tr, sa)
            """,
            [
                [recorded.conversation_pk for recorded, _, _ in contents],
                [recorded.id for recorded, _, _ in contents],
                [content.channel for *_, content in contents],
                [mask(content.subject) for *_, content in contents],
                [mask(content.body) for *_, content in contents],
                [content.to_role for *_, content in contents],
                [item.occurred_at for _, item, _ in contents],
            ],
        )


def record_outcome(*, item: OutcomeInput) -> Recorded:
    return record_outcomes(items=[item])[0]


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
        conversation_pk, _ = _conversations({conversation_id}, {}, occurred_at)[conversation_id]
        conversation = Conversation.objects.select_for_update().get(pk=conversation_pk)
        data = dict(data)
        if kind == "stage_changed" and not data.get("from") and conversation.deal_stage:
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
        if kind == "stage_changed":
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
        conversation_pk, _ = _conversations({conversation_id}, {}, sent_at)[conversation_id]
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
