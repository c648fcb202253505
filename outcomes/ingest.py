"""Recording the agent's actions, and the conversation mirrors they name.

`record_outcomes` is idempotent on `action_id`: an action already stored is returned as
stored and nothing about it changes, even when replays race (the insert is
`INSERT … ON CONFLICT DO NOTHING RETURNING`, so exactly one caller creates). A request
without content is one statement; a large one copies its actions into a staging table
first. Every conversation is created or touched by one upsert, `_UPSERT_CONVERSATIONS`,
whether an action, a signal or a message names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from learning import metrics
from learning.errors import InvalidInput
from learning.tenancy.db import binary_cursor
from outcomes import erasure, events, rules
from outcomes.models import Conversation, MessageDirection, OutcomeRecord

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
    rep_id: int | None = None

    @property
    def outcome(self) -> OutcomeRecord:
        return OutcomeRecord.objects.select_related("rep", "conversation", "content").get(
            pk=self.id
        )


# --- the one conversation upsert ------------------------------------------------------------

# Creates or touches the conversations of `touched_conversations` (external_id, rep_id,
# last_interaction_at, first_action_at), which the statement around it defines. One lock
# order for concurrent upserts (by external id); an existing conversation keeps its rep, or
# learns one from the first action that names it, its last interaction only moves forward
# and its first action only back (LEAST and GREATEST skip a NULL).
_UPSERT_CONVERSATIONS = """
INSERT INTO outcomes_conversation AS stored
       (external_id, rep_id, deal_stage, last_interaction_at, first_action_at, created_at)
SELECT external_id, rep_id, '', last_interaction_at, first_action_at, now()
  FROM touched_conversations
 ORDER BY external_id
ON CONFLICT (external_id) DO UPDATE SET
   last_interaction_at = GREATEST(stored.last_interaction_at, EXCLUDED.last_interaction_at),
   first_action_at = LEAST(stored.first_action_at, EXCLUDED.first_action_at),
   rep_id = COALESCE(stored.rep_id, EXCLUDED.rep_id)
RETURNING external_id, id, rep_id
"""

_UPSERT_ONE_CONVERSATION = f"""
WITH touched_conversations AS (
    SELECT %(external_id)b::text AS external_id, NULL::bigint AS rep_id,
           %(when)b::timestamptz AS last_interaction_at,
           NULL::timestamptz AS first_action_at
)
{_UPSERT_CONVERSATIONS}
"""


def upsert_conversation(*, external_id: str, when: datetime) -> int:
    """The id of the conversation mirror of `external_id`, created if the agent never named
    it yet, its last interaction moved forward to `when` (race-free)."""
    with binary_cursor() as cursor:
        cursor.execute(_UPSERT_ONE_CONVERSATION, {"external_id": external_id, "when": when})
        row = cursor.fetchone()
    assert row is not None  # an upsert returns its row
    return int(row[1])


def ensure_conversation(*, external_id: str, when: datetime | None = None) -> Conversation:
    """The conversation mirror of `external_id`, created if the agent never named it yet
    (race-free; an existing one keeps its rep and stage)."""
    pk = upsert_conversation(external_id=external_id, when=when or timezone.now())
    return Conversation.objects.select_related("rep").get(pk=pk)


# --- actions --------------------------------------------------------------------------------

# The request's actions as the insert reads them: a column each, named and typed here once
# for the bound arrays (a few actions) and the staging table (many).
_GIVEN_COLUMNS = (
    ("action_id", "text"),
    ("conversation_external_id", "text"),
    ("rep_id", "bigint"),
    ("action_type", "text"),
    ("predicted_confidence", "float8"),
    ("outcome_type", "text"),
    ("attributes", "jsonb"),
    ("occurred_at", "timestamptz"),
    ("window_expires_at", "timestamptz"),
)
_GIVEN_NAMES = [name for name, _ in _GIVEN_COLUMNS]
_GIVEN_TYPES = [sql_type for _, sql_type in _GIVEN_COLUMNS]

_GIVEN_AS_ARRAYS = "unnest({arrays})\n    AS given({names})".format(
    arrays=",\n           ".join(f"%({name})b::{sql_type}[]" for name, sql_type in _GIVEN_COLUMNS),
    names=", ".join(_GIVEN_NAMES),
)
# One action (the agent's POST outcomes/): a row of scalars, so the statement can be
# prepared (its generic plan is the custom one; an array's would ignore the array's size).
_GIVEN_AS_ONE = "(SELECT {columns}) AS given".format(
    columns=", ".join(f"%({name})b::{sql_type} AS {name}" for name, sql_type in _GIVEN_COLUMNS)
)
# A temporary table lives as long as its session; its rows, one transaction.
_CREATE_STAGING_TABLE = "CREATE TEMP TABLE IF NOT EXISTS ll_staged_actions ({}) {}".format(
    ", ".join(f"{name} {sql_type}" for name, sql_type in _GIVEN_COLUMNS), "ON COMMIT DELETE ROWS"
)
_COPY_TO_STAGING_TABLE = "COPY pg_temp.ll_staged_actions FROM STDIN (FORMAT BINARY)"
_GIVEN_AS_STAGED = "pg_temp.ll_staged_actions AS given"
# From this many actions a request copies them (COPY, binary) instead of binding arrays.
COPY_FROM = 200

# The actions of the request not stored yet (new_actions), their conversations upserted
# (touched_conversations, by the one upsert), then the actions inserted (created; a
# concurrent replay's are skipped by ON CONFLICT). Returns what the answer to the agent holds.
_INSERT_ACTIONS = """
WITH new_actions AS (
    SELECT * FROM {given}
     WHERE NOT EXISTS (SELECT 1 FROM outcomes_outcomerecord stored
                        WHERE stored.action_id = given.action_id)
),
touched_conversations AS (
    SELECT conversation_external_id AS external_id,
           (array_agg(rep_id) FILTER (WHERE rep_id IS NOT NULL))[1] AS rep_id,
           max(occurred_at) AS last_interaction_at,
           min(occurred_at) AS first_action_at
      FROM new_actions
     GROUP BY conversation_external_id
),
conversations AS ({upsert_conversations}),
created AS (
    INSERT INTO outcomes_outcomerecord
           (action_id, conversation_id, rep_id, action_type, predicted_confidence,
            outcome_type, attributes, occurred_at, window_expires_at, status, score,
            signal_source, resolution_reason, resolved_by_id, label_comment,
            resolved_at, created_at)
    SELECT action.action_id, conversation.id, COALESCE(action.rep_id, conversation.rep_id),
           action.action_type, action.predicted_confidence, action.outcome_type,
           action.attributes, action.occurred_at, action.window_expires_at, '{pending}',
           NULL, '', '', NULL, '', NULL, %(now)b
      FROM new_actions action
      JOIN conversations conversation
        ON conversation.external_id = action.conversation_external_id
    ON CONFLICT (action_id) DO NOTHING
    RETURNING action_id, id, status, conversation_id, rep_id, created_at
)
SELECT created.action_id, created.id, created.status, created.conversation_id, rep.username,
       created.created_at, created.rep_id
  FROM created LEFT JOIN learning_user rep ON rep.id = created.rep_id
"""
_INSERT_FROM_ARRAYS = _INSERT_ACTIONS.format(
    given=_GIVEN_AS_ARRAYS, upsert_conversations=_UPSERT_CONVERSATIONS, pending=rules.PENDING
)
_INSERT_ONE = _INSERT_ACTIONS.format(
    given=_GIVEN_AS_ONE, upsert_conversations=_UPSERT_CONVERSATIONS, pending=rules.PENDING
)
_INSERT_FROM_STAGING = _INSERT_ACTIONS.format(
    given=_GIVEN_AS_STAGED, upsert_conversations=_UPSERT_CONVERSATIONS, pending=rules.PENDING
)

# A large request whose actions are new (the usual case: a retry is the exception) is
# copied straight into the table, as COPY would be by hand: the actions already stored are
# looked up first, the conversations of the new ones upserted, their ids taken from the
# table's sequence, and the rows copied with them. A concurrent request that stores one of
# the same actions meanwhile makes the copy fail on action_id's unique index: it is then
# undone (a savepoint) and the request goes through the staging table, which skips it.
_EXISTING_ACTIONS = "SELECT action_id FROM outcomes_outcomerecord WHERE action_id = ANY(%b)"
_UPSERT_TOUCHED_TEMPLATE = """
WITH touched_conversations AS (
    SELECT * FROM unnest(%(external_id)b::text[], %(rep_id)b::bigint[],
                         %(when)b::timestamptz[], %(first)b::timestamptz[])
                  AS t(external_id, rep_id, last_interaction_at, first_action_at)
)
{upsert}
"""
_UPSERT_TOUCHED = _UPSERT_TOUCHED_TEMPLATE.format(upsert=_UPSERT_CONVERSATIONS)
_NEW_OUTCOME_IDS = (
    "SELECT nextval(pg_get_serial_sequence('outcomes_outcomerecord', 'id'))"
    " FROM generate_series(1, %b)"
)
_COPY_COLUMNS = (
    ("id", "int8"),
    ("action_id", "text"),
    ("conversation_id", "int8"),
    ("rep_id", "int8"),
    ("action_type", "text"),
    ("predicted_confidence", "float8"),
    ("outcome_type", "text"),
    ("attributes", "jsonb"),
    ("occurred_at", "timestamptz"),
    ("window_expires_at", "timestamptz"),
    ("status", "text"),
    ("signal_source", "text"),
    ("resolution_reason", "text"),
    ("label_comment", "text"),
    ("created_at", "timestamptz"),
)
_COPY_OUTCOMES = "COPY outcomes_outcomerecord ({}) FROM STDIN (FORMAT BINARY)".format(
    ", ".join(name for name, _ in _COPY_COLUMNS)
)


def record_outcomes(*, items: Sequence[OutcomeInput]) -> list[Recorded]:
    """Record agent actions, idempotent on `action_id` (see the module's docstring). All or
    nothing.

    One statement does the work of a request without content: the conversations of the
    new actions are upserted and the actions inserted in a single CTE, which also returns
    what the answer needs (no re-read). Content adds one insert, in the same transaction."""
    if not items:
        return []
    _check_unique_action_ids(items)
    users = _users_by_username({item.rep for item in items if item.rep})
    with_content = any(item.content for item in items)
    # a staging table (many items) lives for one transaction; content is a second insert
    several_statements = with_content or len(items) >= COPY_FROM
    with transaction.atomic() if several_statements else nullcontext():
        created = _insert_outcomes(items, users)
        if with_content:
            _insert_contents([(created[i.action_id], i) for i in items if i.action_id in created])
        if created:
            metrics.count_outcomes_ingested(len(created))
            events.ACTIONS_RECORDED.emit(
                [
                    events.RecordedAction(
                        recorded.id,
                        item.action_type,
                        item.outcome_type,
                        recorded.rep_id,
                        item.occurred_at,
                    )
                    for item in items
                    if (recorded := created.get(item.action_id)) is not None
                ]
            )
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


def record_outcome(*, item: OutcomeInput) -> Recorded:
    return record_outcomes(items=[item])[0]


def _check_unique_action_ids(items: Sequence[OutcomeInput]) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.action_id in seen:
            raise InvalidInput(
                f"action_id {item.action_id!r} appears twice in this request "
                f"(items {seen[item.action_id]} and {index}).",
                field="action_id",
            )
        seen[item.action_id] = index


def _users_by_username(usernames: set[str]) -> dict[str, Any]:
    if not usernames:  # most actions name no rep: the conversation's rep applies
        return {}
    found = {u.username: u for u in User.objects.filter(username__in=usernames)}
    missing = sorted(usernames - set(found))
    if missing:
        raise InvalidInput(f"No user {missing[0]!r} in this tenant.", field="rep")
    return found


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


def _insert_outcomes(items: Sequence[OutcomeInput], users: dict[str, Any]) -> dict[str, Recorded]:
    """One statement (_INSERT_ACTIONS); {action_id: Recorded} of the actions it created.
    A large request first copies its actions into a temporary staging table (emptied at
    commit) and inserts from there: COPY sends rows with less work on both sides than
    arrays of every column."""
    rows = [  # in the order of _GIVEN_COLUMNS
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
    if len(rows) >= COPY_FROM:
        try:
            with transaction.atomic():
                return _copy_new_outcomes(rows, now)
        except IntegrityError:  # a concurrent request stored some of them meanwhile
            pass
    with binary_cursor() as cursor:
        if len(rows) >= COPY_FROM:
            cursor.execute(_CREATE_STAGING_TABLE)
            with cursor.copy(_COPY_TO_STAGING_TABLE) as copy:
                copy.set_types(_GIVEN_TYPES)
                for row in rows:
                    copy.write_row(row)
            cursor.execute(_INSERT_FROM_STAGING, {"now": now})
        elif len(rows) == 1:
            # Prepared once per connection (a pooled one keeps it): parsing and planning
            # this statement cost PostgreSQL more than running it. PostgreSQL plans it
            # again when the search_path (the tenant) changes, so it writes to the
            # tenant's own tables (tested).
            cursor.execute(
                _INSERT_ONE,
                {**dict(zip(_GIVEN_NAMES, rows[0], strict=True)), "now": now},
                prepare=True,
            )
        else:
            columns = [list(values) for values in zip(*rows, strict=True)]
            arrays = dict(zip(_GIVEN_NAMES, columns, strict=True))
            cursor.execute(_INSERT_FROM_ARRAYS, {**arrays, "now": now})
        return {
            action_id: Recorded(
                id=pk,
                action_id=action_id,
                status=status,
                created=True,
                conversation_pk=conversation_pk,
                rep_username=username,
                created_at=created_at,
                rep_id=rep_id,
            )
            for action_id, pk, status, conversation_pk, username, created_at, rep_id in (
                cursor.fetchall()
            )
        }


def _copy_new_outcomes(rows: list[tuple[Any, ...]], now: datetime) -> dict[str, Recorded]:
    """The new actions among `rows` copied straight into the table (see _COPY_OUTCOMES);
    {action_id: Recorded} of those it created. In a transaction."""
    with binary_cursor() as cursor:
        cursor.execute(_EXISTING_ACTIONS, [[row[0] for row in rows]])
        existing = {action_id for (action_id,) in cursor.fetchall()}
        new = [row for row in rows if row[0] not in existing]
        if not new:
            return {}
        # external id: [first rep named, last time, first time]
        touched: dict[str, list[Any]] = {}
        for _, conversation, rep_id, *_, occurred_at, _ in new:
            seen = touched.setdefault(conversation, [rep_id, occurred_at, occurred_at])
            if seen[0] is None:
                seen[0] = rep_id
            seen[1], seen[2] = max(seen[1], occurred_at), min(seen[2], occurred_at)
        cursor.execute(
            _UPSERT_TOUCHED,
            {
                "external_id": list(touched),
                "rep_id": [seen[0] for seen in touched.values()],
                "when": [seen[1] for seen in touched.values()],
                "first": [seen[2] for seen in touched.values()],
            },
        )
        conversations = {external_id: (pk, rep) for external_id, pk, rep in cursor.fetchall()}
        cursor.execute(_NEW_OUTCOME_IDS, [len(new)])
        ids = [pk for (pk,) in cursor.fetchall()]
        created: dict[str, Recorded] = {}
        with cursor.copy(_COPY_OUTCOMES) as copy:
            copy.set_types([sql_type for _, sql_type in _COPY_COLUMNS])
            for pk, row in zip(ids, new, strict=True):
                action_id, conversation, rep_id, action_type, confidence, outcome_type = row[:6]
                conversation_pk, conversation_rep = conversations[conversation]
                rep_id = rep_id if rep_id is not None else conversation_rep
                attributes, occurred_at, window_expires_at = row[6:]
                copy.write_row(
                    (
                        *(pk, action_id, conversation_pk, rep_id, action_type, confidence),
                        *(outcome_type, attributes, occurred_at, window_expires_at),
                        *(rules.PENDING, "", "", "", now),
                    )
                )
                created[action_id] = Recorded(
                    id=pk,
                    action_id=action_id,
                    status=rules.PENDING,
                    created=True,
                    conversation_pk=conversation_pk,
                    created_at=now,
                    rep_id=rep_id,
                )
    reps = {r.rep_id for r in created.values() if r.rep_id is not None}
    if reps:  # (the single POST's answer names the rep; a bulk answer does not)
        names = dict(User.objects.filter(pk__in=reps).values_list("pk", "username"))
        created = {
            a: r._replace(rep_username=names.get(r.rep_id)) if r.rep_id else r
            for a, r in created.items()
        }
    return created


_FROM_AGENT = MessageDirection.AGENT.value
_INSERT_CONTENTS = f"""
INSERT INTO outcomes_message
       (conversation_id, direction, outcome_id, message_id, in_reply_to, channel, subject,
        body, to_role, from_role, sent_at, created_at)
SELECT conversation_id, '{_FROM_AGENT}', outcome_id, NULL, '', channel, subject, body,
       to_role, '', sent_at, now()
  FROM unnest(%b::bigint[], %b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[],
              %b::timestamptz[])
       AS content(conversation_id, outcome_id, channel, subject, body, to_role, sent_at)
"""  # noqa: S608 - only a constant is formatted in


def _insert_contents(rows: list[tuple[Recorded, OutcomeInput]]) -> None:
    """The thread messages of newly created actions that carry content, in one insert."""
    contents = [(recorded, item, item.content) for recorded, item in rows if item.content]
    if not contents:
        return
    mask = erasure.masked if erasure.masking_on() else str
    with binary_cursor() as cursor:
        cursor.execute(
            _INSERT_CONTENTS,
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
