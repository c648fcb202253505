"""Reading outcomes: scoped querysets for views, a conversation's thread, and (re-exported
from outcomes.aggregates, where their SQL is) the aggregates other apps build on: coaching's
segments, insights' daily rollups, calibration's rebuild; and (from outcomes.backlog) what
waits in every tenant, for the operator's metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.postgres.lookups import TrigramSimilar
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Least
from django.utils import timezone

from learning.selectors import sees_whole_tenant, visible_users
from outcomes import rules
from outcomes.aggregates import DAILY_SUM_COLUMNS as DAILY_SUM_COLUMNS
from outcomes.aggregates import ConversationSums as ConversationSums
from outcomes.aggregates import calibration_samples_query as calibration_samples_query
from outcomes.aggregates import daily_sums_query as daily_sums_query
from outcomes.aggregates import days_with_outcomes as days_with_outcomes
from outcomes.aggregates import (
    decided_by_segment_and_conversation as decided_by_segment_and_conversation,
)
from outcomes.aggregates import (
    escalations_by_stage_and_conversation as escalations_by_stage_and_conversation,
)
from outcomes.aggregates import maturity_frontier as maturity_frontier
from outcomes.aggregates import outcome_ids_query as outcome_ids_query
from outcomes.aggregates import pending_of as pending_of
from outcomes.aggregates import sql_maturity_frontier as sql_maturity_frontier
from outcomes.backlog import Backlog as Backlog
from outcomes.backlog import backlog_of_schemas as backlog_of_schemas
from outcomes.models import (
    Conversation,
    Message,
    MessageDirection,
    OutcomeRecord,
    OutcomeStatus,
    Signal,
)


def visible_outcomes(*, principal: Any) -> QuerySet[OutcomeRecord]:
    """Every outcome query of a view starts here: the agent and executives see the whole
    tenant, a manager their team's outcomes, a rep their own."""
    queryset = OutcomeRecord.objects.select_related("rep", "conversation", "content")
    if sees_whole_tenant(principal):
        return queryset
    return queryset.filter(rep__in=visible_users(user=principal))


def content_of(outcome: OutcomeRecord) -> Message | None:
    """The action's content (its agent message), if it had any."""
    try:
        return outcome.content
    except Message.DoesNotExist:
        return None


def visible_conversations(*, principal: Any) -> QuerySet[Conversation]:
    """Conversations in the principal's scope, by the rep who owns them (the agent,
    executives and admins: all; a manager: the team's; a rep: their own)."""
    queryset = Conversation.objects.select_related("rep")
    if sees_whole_tenant(principal):
        return queryset
    return queryset.filter(rep__in=visible_users(user=principal))


def has_outcomes() -> bool:
    return OutcomeRecord.objects.exists()


def tenant_outcomes() -> QuerySet[OutcomeRecord]:
    """Every outcome of the tenant, for figures about the whole company (alerts, channel
    reports); a page shows a person's own scope (visible_outcomes)."""
    return OutcomeRecord.objects.all()


def outcome_by_action_id(*, action_id: str) -> OutcomeRecord | None:
    return OutcomeRecord.objects.filter(action_id=action_id).first()


def decided_of_reps(*, usernames: Iterable[str]) -> list[dict[str, Any]]:
    """The decided outcomes of these reps, oldest first: id, status, occurred_at, rep."""
    rows = (
        OutcomeRecord.objects.filter(status__in=rules.DECIDED, rep__username__in=list(usernames))
        .order_by("occurred_at", "id")
        .values_list("id", "status", "occurred_at", "rep__username")
    )
    names = ("id", "status", "occurred_at", "rep")
    return [dict(zip(names, row, strict=True)) for row in rows]


def actions_of_reps(
    *, usernames: Iterable[str], outcome_types: Iterable[str]
) -> list[dict[str, Any]]:
    """The actions of these reps judged by these outcome types, oldest first: id,
    occurred_at, rep."""
    rows = (
        OutcomeRecord.objects.filter(
            rep__username__in=list(usernames), outcome_type__in=list(outcome_types)
        )
        .order_by("occurred_at", "id")
        .values_list("id", "occurred_at", "rep__username")
    )
    return [dict(zip(("id", "occurred_at", "rep"), row, strict=True)) for row in rows]


def outcomes_by_id(*, ids: Iterable[int]) -> dict[int, OutcomeRecord]:
    return OutcomeRecord.objects.select_related("conversation").in_bulk(list(ids))


# --- a conversation's thread ----------------------------------------------------------------


def visible_conversation(*, principal: Any, external_id: str) -> Conversation | None:
    """The conversation, if it is in the principal's scope."""
    return visible_conversations(principal=principal).filter(external_id=external_id).first()


def conversation_actions(*, conversation: Conversation) -> list[OutcomeRecord]:
    """The agent's actions in the conversation, oldest first, with their content."""
    return list(
        OutcomeRecord.objects.filter(conversation=conversation)
        .select_related("content", "resolved_by", "rep")
        .order_by("occurred_at", "id")
    )


def inbound_messages(*, conversation: Conversation) -> list[Message]:
    """What the conversation received (the agent's own words are its actions' content)."""
    return list(
        Message.objects.filter(
            conversation=conversation, direction=MessageDirection.INBOUND
        ).order_by("sent_at", "id")
    )


def conversation_signals(*, conversation: Conversation) -> list[Signal]:
    return list(Signal.objects.filter(conversation=conversation).order_by("occurred_at", "id"))


def action_types() -> list[str]:
    """Every action type the agent has recorded, by name."""
    # order_by(): without it the model's ordering column would be part of the DISTINCT
    names = OutcomeRecord.objects.order_by().values_list("action_type", flat=True).distinct()
    return sorted(names)


DAY_LIMIT = 500


def actions_on_day(
    *, principal: Any, day: date, action_type: str | None = None, rep: Any = None
) -> list[OutcomeRecord]:
    """The actions of one day (the tenant's time zone) that the principal may see, oldest
    first, at most DAY_LIMIT: what a click on a dashboard's day opens."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    queryset = visible_outcomes(principal=principal).filter(
        occurred_at__gte=start, occurred_at__lt=start + timedelta(days=1)
    )
    if action_type:
        queryset = queryset.filter(action_type=action_type)
    if rep is not None:
        queryset = queryset.filter(rep=rep)
    return list(queryset.order_by("occurred_at", "id")[:DAY_LIMIT])


@dataclass(frozen=True)
class Qualification:
    """One conversation's qualification: its rep, the agent's first action on it, and when
    it completed qualification or stopped before (outcomes.rules.PAST_QUALIFICATION)."""

    conversation_id: int
    rep_id: int | None
    first_action_at: datetime
    completed_at: datetime | None
    stopped_at: datetime | None


def qualification_of_conversations(
    *, start: datetime, end: datetime, rep_ids: Iterable[int] | None = None
) -> list[Qualification]:
    """The conversations whose first agent action falls in [start, end) (of `rep_ids`
    only, if given), with when they completed qualification (the first deal-stage signal
    past it, or the first action the agent recorded at a stage past it: a deal it met
    already in discovery has passed) and when they stopped before (the first loss)."""
    passing = Q(kind=rules.STAGE_CHANGED, data__to__in=sorted(rules.PAST_QUALIFICATION)) | Q(
        kind="deal_won"
    )
    stopping = Q(kind=rules.STAGE_CHANGED, data__to__in=sorted(rules.LOST_STAGES)) | Q(
        kind="deal_lost"
    )

    def first(condition: Q) -> Subquery:
        signals = Signal.objects.filter(condition, conversation=OuterRef("pk"))
        return Subquery(signals.order_by("occurred_at").values("occurred_at")[:1])

    # the conversations whose first action is in the period, through the index on
    # first_action_at (kept by outcomes.ingest): as many as the period's new conversations,
    # however many the tenant ever had
    conversations = Conversation.objects.filter(first_action_at__gte=start, first_action_at__lt=end)
    if rep_ids is not None:
        conversations = conversations.filter(rep_id__in=list(rep_ids))
    acted_past = OutcomeRecord.objects.filter(
        conversation=OuterRef("pk"),
        attributes__deal_stage__in=sorted(rules.PAST_QUALIFICATION),
    )
    rows = conversations.annotate(
        # PostgreSQL's LEAST skips a NULL: the earlier of the two that exist
        completed_at=Least(
            first(passing),
            Subquery(acted_past.order_by("occurred_at").values("occurred_at")[:1]),
        ),
        stopped_at=first(stopping),
    ).values_list("pk", "rep_id", "first_action_at", "completed_at", "stopped_at")
    return [  # (first_action_at is set: the filter on it)
        Qualification(pk, rep_id, first, completed, stopped)
        for pk, rep_id, first, completed, stopped in rows.order_by()
        if first is not None
    ]


def successes_by_stage(*, until: dict[int, datetime]) -> list[tuple[int, str]]:
    """(conversation, deal stage the agent acted in) of each action that worked in the
    conversations of `until`, taken before the time given for its conversation; actions
    with no deal_stage attribute are left out."""
    rows = (
        OutcomeRecord.objects.filter(conversation_id__in=list(until), status=OutcomeStatus.POSITIVE)
        .annotate(stage=KeyTextTransform("deal_stage", "attributes"))
        .exclude(stage__isnull=True)
        .exclude(stage="")
        .values_list("conversation_id", "occurred_at", "stage")
    )
    return [(pk, stage) for pk, at, stage in rows.order_by() if at < until[pk]]


# --- similar messages across conversations -------------------------------------------------
#
# pg_trgm's trigram similarity of inbound messages' bodies (0-1: the share of the two texts'
# three-letter sequences they have in common), through the GIN index of migration 0008.
# `%` picks the candidates from the index at pg_trgm's threshold, set to SIMILAR for the
# transaction (`_at_threshold`: the index then skips more; at its default, 0.3, it hands
# over twice as many rows to recheck), and only those at SIMILAR or more count. At 0.4, the same ask
# worded differently counts ("Can you send me a quote for 40 seats?" and "Could you send a
# quote for 25 seats please?": 0.52; "Maya referred me, can we set up an intro call?" and
# "Tom referred me; could we set up an intro call this week?": 0.6), while another ask on
# a shared word does not ("... a quote for 40 seats?" and "Please send the quote, I will
# share it with our CFO.": 0.17). Tested in outcomes/tests/test_similar.py.

SIMILAR = 0.4
ASKED = 3  # a conversation is compared by its last few inbound messages
CANDIDATES = 50  # the most similar messages read per message asked about


@dataclass(frozen=True)
class SimilarMessage:
    message_id: int
    conversation_pk: int
    conversation: str  # its external id
    body: str
    sent_at: datetime
    similarity: float


@dataclass(frozen=True)
class SimilarConversation:
    conversation: Conversation
    similarity: float  # of its most similar inbound message
    messages: int  # how many of its inbound messages are similar (among the CANDIDATES)
    example: str  # the most similar one


def trigrams_available() -> bool:
    """Whether this database has pg_trgm (outcomes migration 0008 creates it where
    PostgreSQL ships it; the embedded PostgreSQL of `make run` does not): without it,
    nothing is found similar, and pages say why."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


@contextmanager
def _at_threshold() -> Iterator[None]:
    """A transaction in which pg_trgm's `%` means "similarity of SIMILAR or more"."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(SIMILAR)]
        )
        yield


def _inbound_like(text: str) -> QuerySet[Any]:  # Messages, with their `similarity`
    """Inbound messages at SIMILAR or more to `text`, found through the trigram index, with
    their `similarity`."""
    return (
        Message.objects.filter(
            TrigramSimilar(F("body"), Value(text)),
            direction=MessageDirection.INBOUND,
            erased_at__isnull=True,
        )
        .annotate(similarity=TrigramSimilarity("body", text))
        .filter(similarity__gte=SIMILAR)
    )


def similar_inbound(
    *, texts: Iterable[str], excluding_conversations: Iterable[int] = (), limit: int = 10
) -> list[SimilarMessage]:
    """Inbound messages of every conversation (but `excluding_conversations`, pks) similar
    to any of `texts`, most similar first, at most `limit`: one indexed query per text."""
    excluded = list(excluding_conversations)
    best: dict[int, SimilarMessage] = {}
    if not trigrams_available():
        return []
    with _at_threshold():
        for text in dict.fromkeys(t.strip() for t in texts):
            _best_of(text, excluded, limit, best)
    ranked = sorted(best.values(), key=lambda m: (-m.similarity, -m.sent_at.timestamp()))
    return ranked[:limit]


def _best_of(text: str, excluded: list[int], limit: int, best: dict[int, SimilarMessage]) -> None:
    """Adds the messages most similar to `text` to `best` (by message pk)."""
    if not text:
        return
    rows = (
        _inbound_like(text)
        .exclude(conversation__in=excluded)
        .order_by("-similarity", "-sent_at", "-id")
        .values_list(
            "id",
            "conversation_id",
            "conversation__external_id",
            "body",
            "sent_at",
            "similarity",
        )[:limit]
    )
    for pk, conversation_pk, external_id, body, sent_at, score in rows:
        if pk not in best or best[pk].similarity < score:
            best[pk] = SimilarMessage(
                pk, conversation_pk, external_id, body, sent_at, round(score, 3)
            )


def similar_conversations(
    *, principal: Any, conversation: Conversation, limit: int = 5
) -> list[SimilarConversation]:
    """The conversations the principal may see (visible_conversations) whose inbound
    messages are most similar to this one's last ASKED inbound messages, most similar
    first, at most `limit`: one indexed query per message asked about."""
    asked = list(
        Message.objects.filter(
            conversation=conversation, direction=MessageDirection.INBOUND, erased_at__isnull=True
        )
        .exclude(body="")
        .order_by("-sent_at", "-id")
        .values_list("body", flat=True)[:ASKED]
    )
    found: dict[int, tuple[float, set[int], str]] = {}
    if not trigrams_available():
        return []
    with _at_threshold():
        for text in dict.fromkeys(asked):
            rows = _inbound_like(text).exclude(conversation=conversation)
            if not sees_whole_tenant(principal):
                scope = visible_conversations(principal=principal).values("pk")
                rows = rows.filter(conversation__in=scope)
            best = rows.order_by("-similarity", "conversation_id", "-id").values_list(
                "conversation_id", "id", "similarity", "body"
            )[:CANDIDATES]
            for pk, message, score, body in best:
                before = found.setdefault(pk, (0.0, set(), ""))
                before[1].add(message)
                if score > before[0]:
                    found[pk] = (score, before[1], body)
    top = sorted(found.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
    conversations = Conversation.objects.select_related("rep").in_bulk([pk for pk, _ in top])
    return [
        SimilarConversation(conversations[pk], round(score, 3), len(messages), body)
        for pk, (score, messages, body) in top
    ]


def message_answered(*, conversation_pk: int, at: datetime) -> str:
    """What the conversation had last received by `at`: the message a reply sent then
    answered ("" when nothing had come in, or its words were erased)."""
    body = (
        Message.objects.filter(
            conversation_id=conversation_pk,
            direction=MessageDirection.INBOUND,
            sent_at__lte=at,
            erased_at__isnull=True,
        )
        .order_by("-sent_at", "-id")
        .values_list("body", flat=True)
        .first()
    )
    return body or ""


def erased_messages(*, ids: Iterable[int]) -> set[int]:
    """Of these messages, those whose words are erased (or that are gone)."""
    wanted = set(ids)
    if not wanted:
        return set()
    kept = Message.objects.filter(pk__in=wanted, erased_at__isnull=True).values_list(
        "pk", flat=True
    )
    return wanted - set(kept)
