"""The review flow: which of the agent's actions a person reviews, one at a time, in what
order, with what context; and recording their judgement of one.

Every person has three queues, computed from their scope (nothing to set up):

- **needs you**: escalations and deal-stage moves of the last two weeks, the critical
  actions, oldest first: those the person rated before today, and the day's prompt
  allowance (smaller for a fatigued reviewer) of the others. The list is the day's: its
  window starts at midnight, the allowance counts what it offers (rating one does not
  use up another) and the fatigue of the morning, so positions hold while one works;
- **to label**: outcomes whose window closed with only weak signals (ambiguous), oldest
  first: a person decides whether the action worked, which resolves it;
- **recent**: every action of the last two weeks, newest first, on demand.

Managers' own queues (with reviewers and spot checks) come on top of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from feedback import queues as queues_module
from feedback import selectors, services
from feedback.models import FeedbackEntry, Via
from feedback.queue_models import QueueItem
from learning.errors import InvalidInput
from outcomes import rules
from outcomes import selectors as outcome_selectors
from outcomes import services as outcome_services

DAYS = 14
LISTED = 200  # a To label tab lists the oldest this many (its count says how many wait)
COUNTED = 1000  # and counts up to this many ("1000+ waiting" beyond)
NEEDS_YOU, TO_LABEL, RECENT = "needs-you", "to-label", "recent"


@dataclass(frozen=True)
class Item:
    outcome: Any  # outcomes.models.OutcomeRecord
    why: str
    needs_label: bool = False
    queue_item: Any = None  # a manager's queue's item (feedback.models.QueueItem)
    blind: bool = False  # a spot check not answered yet: nothing shows how it turned out


@dataclass(frozen=True)
class Queue:
    key: str
    name: str
    description: str
    items: list[Item]
    shrinks: bool = False  # items leave it once judged (to label): the next is at the same place
    mine: dict[str, FeedbackEntry] = field(default_factory=dict)  # action_id -> my verdict
    judged: set[str] | None = None  # a manager's queue: the action_ids I judged
    waiting: int | None = None  # a queue that shrinks: how many wait in all (items: the first)
    more_waiting: bool = False  # and more than `waiting` do (counted up to COUNTED)

    @property
    def done(self) -> int:
        if self.judged is not None:
            return len(self.judged)
        return sum(item.outcome.action_id in self.mine for item in self.items)

    def is_judged(self, action_id: str) -> bool:
        """Whether the person has given this item what the queue asks: their judgement in
        a manager's queue, their rating elsewhere; a To label item waits for its label
        until it leaves the queue."""
        if self.judged is not None:
            return action_id in self.judged
        if self.shrinks:
            return False
        return action_id in self.mine

    def next_open(self, *, after: int = 0, skip: str = "") -> int | None:
        """The position (from 1) of the next item the person has not judged after
        `after`, else the first one before it; None once every item is judged. `skip`:
        an action just judged (the queue read before it was)."""
        count = len(self.items)
        for offset in range(count):
            index = (after + offset) % count
            action_id = self.items[index].outcome.action_id
            if action_id != skip and not self.is_judged(action_id):
                return index + 1
        return None

    @property
    def left(self) -> int:
        """How many items the person has still to judge here."""
        return sum(not self.is_judged(item.outcome.action_id) for item in self.items)

    @property
    def start(self) -> int:
        """Where the person starts in this queue: the first item left to judge."""
        return self.next_open() or 1


def _why_ambiguous(outcome: Any) -> str:
    reason = outcome.resolution_reason or "window closed with weak signals only"
    return f"The signals did not decide it ({reason}): did it work?"


def to_label(*, user: Any) -> QuerySet[Any]:
    """The To label queue: outcomes in the person's scope that the signals could not
    decide, oldest first; those that several reviewers of a manager's queue settle
    together are that queue's."""
    # (Exists, not exclude() across queue_items: that was an anti-join over every outcome,
    # 480 ms at 1,000,000 outcomes; this probes the few queue items per ambiguous outcome.)
    return _to_label(outcome_selectors.visible_outcomes(principal=user))


def _to_label(scope: QuerySet[Any]) -> QuerySet[Any]:
    shared = QueueItem.objects.filter(
        outcome=OuterRef("pk"), queue__closed_at__isnull=True, queue__reviewers_per_item__gt=1
    )
    return (
        scope.filter(status=rules.AMBIGUOUS).filter(~Exists(shared)).order_by("occurred_at", "id")
    )


def to_label_count(*, user: Any) -> tuple[int, bool]:
    """How many wait in the person's To label queue now (the number its tab shows), and
    whether more than that do: counted up to COUNTED only, through the index of the
    ambiguous outcomes by rep (a LIMIT: a backlog of any size costs the same, 2 ms, where
    counting all of it read them all: 54 ms at 1,000,000 outcomes, 10 times that at
    10,000,000)."""
    found = to_label(user=user).order_by()[: COUNTED + 1].count()
    return min(found, COUNTED), found > COUNTED


def to_label_count_everyone() -> int:
    """How many wait in the To label queues of the whole tenant now: what the tab of an
    executive's or admin's queue shows (a manager's shows their team's part, a rep's
    their own)."""
    return _to_label(outcome_selectors.tenant_outcomes()).count()


def queues(*, user: Any, now: datetime | None = None) -> list[Queue]:
    """The person's queues, in the order they are offered."""
    now = now or timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=DAYS)  # from midnight: the day's lists keep their start
    scope = outcome_selectors.visible_outcomes(principal=user)
    recent = list(scope.filter(occurred_at__gte=since).order_by("-occurred_at", "-id")[:200])
    mine = selectors.verdicts_of(reviewer=user, action_ids=[o.action_id for o in recent])
    rules_now = selectors.critical()
    critical = list(
        scope.filter(occurred_at__gte=since)
        .filter(
            Q(outcome_type__in=rules_now.outcome_types) | Q(action_type__in=rules_now.action_types)
        )
        .order_by("occurred_at", "id")[:200]
    )
    mine |= selectors.verdicts_of(reviewer=user, action_ids=[o.action_id for o in critical])
    tired = selectors.fatigue_of(user=user, now=today)
    allowance = selectors.prompts_per_day(tired=tired)
    needs_you, offered = [], 0
    for outcome in critical:
        entry = mine.get(outcome.action_id)
        if entry is not None and min(entry.created_at, entry.rated_at) < today:
            needs_you.append(Item(outcome, "A critical action you rated before today."))
        elif offered < allowance:  # today's: rated today or not yet, both count as offered
            offered += 1
            why = rules_now.why(outcome)
            needs_you.append(Item(outcome, f"{why}: critical, for your verdict today."))
    ambiguous = list(to_label(user=user)[:LISTED])
    waiting, more_waiting = (
        (len(ambiguous), False) if len(ambiguous) < LISTED else to_label_count(user=user)
    )
    mine |= selectors.verdicts_of(reviewer=user, action_ids=[o.action_id for o in ambiguous])
    managers = [_managers_queue(q, user) for q in queues_module.queues_of(reviewer=user)]
    # An action waiting in one of my spot checks stays blind in my other queues too.
    unanswered = {i.outcome.action_id for q in managers for i in q.items if i.blind}
    needs_you = [_blinded(i, unanswered) for i in needs_you]
    recent_items = [
        _blinded(Item(o, "A recent action, to rate on demand."), unanswered) for o in recent
    ]
    return [
        Queue(
            NEEDS_YOU,
            "Needs your verdict",
            "The agent's critical actions of the last two weeks (escalations and deal-stage "
            "moves unless your admin chose others)."
            + (
                " Fewer new ones today: your recent ratings look tired ("
                + "; ".join(tired.reasons)
                + "), and a few careful verdicts teach the agent more than many quick ones."
                if tired.flagged
                else ""
            ),
            needs_you,
            mine=mine,
        ),
        Queue(
            TO_LABEL,
            "To label",
            "Outcomes the signals could not decide: your label resolves them.",
            [Item(o, _why_ambiguous(o), needs_label=True) for o in ambiguous],
            shrinks=True,
            mine=mine,
            # the tab says how many wait, also beyond the first ones listed (what the
            # backlog alert's link promises)
            waiting=waiting,
            more_waiting=more_waiting,
        ),
        *managers,
        Queue(
            RECENT,
            "Recent actions",
            "Everything the agent did in the last two weeks, newest first.",
            recent_items,
            mine=mine,
        ),
    ]


def _blinded(item: Item, unanswered: set[str]) -> Item:
    if item.outcome.action_id in unanswered:
        return replace(item, blind=True)
    return item


def _managers_queue(queue: Any, user: Any) -> Queue:
    items = queues_module.items_for(queue=queue, reviewer=user)
    judged = queues_module.judged_by(reviewer=user, items=items)
    per_item = queue.reviewers_per_item
    shown = []
    for qi in items:
        blind = qi.reason == "spot_check" and qi.pk not in judged
        if qi.reason == "spot_check":
            why = (
                f"A spot check, drawn at random ({qi.inclusion_probability:.0%} of the decided "
                "actions): did it work? "
                + (
                    "What happened after and the automatic verdict stay hidden until you "
                    "answer, so that they do not sway you."
                    if blind
                    else "You answered: what happened after and the automatic verdict are below."
                )
            )
        elif qi.reason == "ambiguous":
            why = _why_ambiguous(qi.outcome)
        else:
            why = f"Matches the queue's filters ({queue.name}): did it work?"
        if per_item > 1:
            why += f" {per_item} reviewers judge each item of this queue."
        shown.append(
            Item(
                qi.outcome,
                why,
                needs_label=True,
                queue_item=qi,
                blind=blind,
            )
        )
    return Queue(
        f"q{queue.pk}",
        queue.name,
        f"{queue.owner.username}'s queue; each item wants {per_item} reviewer(s).",
        shown,
        mine=selectors.verdicts_of(reviewer=user, action_ids=[i.outcome.action_id for i in shown]),
        judged={qi.outcome.action_id for qi in items if qi.pk in judged},
    )


def queue(*, user: Any, key: str) -> Queue | None:
    return next((q for q in queues(user=user) if q.key == key), None)


@dataclass(frozen=True)
class Context:
    """What a reviewer reads next to the verdict form."""

    content: Any  # the action's message, or None
    thread: list[Any]  # earlier messages and actions' content of the conversation
    signals: list[Any]  # the conversation's signals from the action on
    automatic: FeedbackEntry | None  # the draft edit's automatic score, if any
    draft: Any  # the draft and what was sent, if any


def context_of(outcome: Any, *, blind: bool = False) -> Context:
    """What the reviewer reads; `blind` (a spot check not answered yet) leaves out what
    happened after the action, which decided its outcome."""
    conversation = outcome.conversation
    actions = outcome_selectors.conversation_actions(conversation=conversation)
    earlier: list[Any] = [
        m
        for m in outcome_selectors.inbound_messages(conversation=conversation)
        if m.sent_at <= outcome.occurred_at
    ]
    earlier += [
        a
        for a in actions
        if a.occurred_at < outcome.occurred_at and outcome_selectors.content_of(a)
    ]
    earlier.sort(key=lambda x: getattr(x, "sent_at", None) or x.occurred_at)
    signals = (
        []
        if blind
        else [
            s
            for s in outcome_selectors.conversation_signals(conversation=conversation)
            if s.occurred_at >= outcome.occurred_at and s.action_id in ("", outcome.action_id)
        ]
    )
    automatic = selectors.automatic_score(action_id=outcome.action_id)
    draft = selectors.draft_of(action_id=outcome.action_id)
    return Context(outcome_selectors.content_of(outcome), earlier[-5:], signals, automatic, draft)


def record_review(
    *,
    reviewer: Any,
    outcome: Any,
    source: str | None,
    rating: int | None,
    label: str | None,
    comment: str = "",
    correction: str = "",
    scores: dict[str, Any] | None = None,
    queue_item: Any = None,
) -> None:
    """A person's judgement of one action from the review flow: a rating (thumbs or
    stars, with a comment and what the agent should have said), a label (it worked or
    not, which resolves an ambiguous outcome), or both, together or not at all. In a
    manager's queue the label is the reviewer's judgement of the item, and the outcome is
    settled by the queue's rule (feedback.queues)."""
    if rating is None and label is None:
        raise InvalidInput("Choose a rating or a label first.", field="rating")
    if scores and rating is None:
        raise InvalidInput("Rubric scores go with a rating: rate the action too.", field="rating")
    entry = None
    if queue_item is not None:
        queues_module.require_reviewer(item=queue_item, reviewer=reviewer)
    with transaction.atomic():
        if rating is not None and source is not None:
            entry = services.record_feedback(
                reviewer=reviewer,
                target_type=selectors.target_type_of(outcome),
                target_id=outcome.action_id,
                conversation_id=outcome.conversation.external_id,
                source=source,
                rating=rating,
                comment=comment,
                correction=correction,
                scores=scores,
                outcome_id=outcome.pk,
                via=Via.REVIEW_PAGE,
                assigned=queue_item is not None,
            ).entry
        if queue_item is not None:
            queues_module.record_judgement(
                item=queue_item, reviewer=reviewer, label=label, entry=entry
            )
        elif label is not None:
            outcome_services.label_outcome(
                outcome_id=outcome.pk, status=label, user=reviewer, comment=comment
            )
