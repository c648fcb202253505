"""Managers' review queues: which actions go in, who reviews them, how several verdicts
settle an outcome, and how far the reviewers agree.

**What goes in.** The actions of the owner's team that match the queue's filters (action
types, statuses, reps, dates, actions people rated low). A plain queue takes every match
(inclusion probability 1). A spot check takes every undecided match (ambiguous: it waits
for a label) and a random share of the decided ones, each decided action drawn once, with
that share stored as its inclusion probability: figures computed from the labels (how
often people agree with the automatic resolution) are then weighted by 1 / probability,
so they speak for every decided action, not only for the ambiguous ones. `fill` runs when
the queue is created and every day after (beat), adding what has come since.

**Several reviewers.** Each item wants `reviewers_per_item` judgements. An ambiguous
outcome is resolved when it has them: by the majority of the labels; a tie goes to the
label of the most senior reviewer among them (the queue's owner first, then managers);
a tie among equals leaves it waiting for one more reviewer. A decided outcome (a spot
check) keeps its resolution: the labels only measure agreement.

**Reading** them, and how far the reviewers agree: feedback.queue_summaries (re-exported
here).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from feedback.models import (
    FeedbackEntry,
    Judgement,
    QueueItem,
    QueueReason,
    QueueReviewer,
    ReviewQueue,
    Source,
)
from feedback.queue_summaries import candidates as candidates
from feedback.queue_summaries import summaries as summaries
from feedback.queue_summaries import summaries_of as summaries_of
from feedback.queue_summaries import summary as summary
from feedback.queue_summaries import visible_judgements as visible_judgements
from feedback.queue_summaries import visible_queues
from learning.errors import Forbidden, InvalidInput, NotFound
from learning.models import Role
from learning.selectors import visible_users
from outcomes import rules
from outcomes import selectors as outcome_selectors
from outcomes import services as outcome_services

MANAGERS = (Role.MANAGER, Role.EXECUTIVE, Role.ADMIN)
SENIORITY: dict[str, int] = {Role.ADMIN: 3, Role.EXECUTIVE: 3, Role.MANAGER: 2, Role.REP: 1}


# --- creating and filling ---------------------------------------------------------------------


def create_queue(
    *,
    owner: Any,
    name: str,
    reviewers: list[str],
    reviewers_per_item: int = 1,
    action_types: list[str] | None = None,
    statuses: list[str] | None = None,
    reps: list[str] | None = None,
    occurred_after: datetime | None = None,
    occurred_before: datetime | None = None,
    rated_below: float | None = None,
    spot_check_share: float | None = None,
    rng: random.Random | None = None,
) -> ReviewQueue:
    """A new queue of `owner`'s, filled at once. Reviewers and reps must be in the owner's
    scope; InvalidInput (with the field) otherwise, and nothing is stored."""
    if getattr(owner, "role", None) not in MANAGERS:
        raise Forbidden("Only managers and above make review queues.")
    name = name.strip()
    if not name:
        raise InvalidInput("Give the queue a name.", field="name")
    scope = visible_users(user=owner).filter(is_active=True)
    people = {u.username: u for u in scope.filter(username__in=reviewers)}
    if not reviewers:
        raise InvalidInput("Choose at least one reviewer.", field="reviewers")
    missing = sorted(set(reviewers) - set(people))
    if missing:
        raise InvalidInput(f"{missing[0]} is not someone you can assign.", field="reviewers")
    if not 1 <= reviewers_per_item <= min(5, len(people)):
        raise InvalidInput(
            f"Between 1 and {min(5, len(people))} (the reviewers chosen).",
            field="reviewers_per_item",
        )
    unknown_reps = sorted(set(reps or []) - set(scope.values_list("username", flat=True)))
    if unknown_reps:
        raise InvalidInput(f"{unknown_reps[0]} is not in your team.", field="reps")
    bad_status = sorted(set(statuses or []) - {rules.PENDING, *rules.DECIDED, rules.AMBIGUOUS})
    if bad_status:
        raise InvalidInput(f"Unknown status {bad_status[0]!r}.", field="statuses")
    if spot_check_share is not None and not 0 < spot_check_share <= 1:
        raise InvalidInput("A share above 0 and at most 1.", field="spot_check_share")
    if rated_below is not None and not 0 <= rated_below <= 1:
        raise InvalidInput("From 0 to 1.", field="rated_below")
    if occurred_after and occurred_before and occurred_after >= occurred_before:
        raise InvalidInput("The start must come before the end.", field="occurred_before")
    with transaction.atomic():
        queue = ReviewQueue.objects.create(
            name=name[:100],
            owner=owner,
            reviewers_per_item=reviewers_per_item,
            action_types=sorted(set(action_types or [])),
            statuses=sorted(set(statuses or [])),
            reps=sorted(set(reps or [])),
            occurred_after=occurred_after,
            occurred_before=occurred_before,
            rated_below=rated_below,
            spot_check_share=spot_check_share,
        )
        QueueReviewer.objects.bulk_create(
            [QueueReviewer(queue=queue, reviewer=people[u]) for u in sorted(people)]
        )
        fill(queue=queue, rng=rng)
    return queue


def _matches(queue: ReviewQueue) -> QuerySet[Any]:
    found = outcome_selectors.visible_outcomes(principal=queue.owner)
    if queue.action_types:
        found = found.filter(action_type__in=queue.action_types)
    if queue.statuses:
        found = found.filter(status__in=queue.statuses)
    if queue.reps:
        found = found.filter(rep__username__in=queue.reps)
    if queue.occurred_after:
        found = found.filter(occurred_at__gte=queue.occurred_after)
    if queue.occurred_before:
        found = found.filter(occurred_at__lt=queue.occurred_before)
    if queue.rated_below is not None:
        low = (
            FeedbackEntry.objects.filter(source__in=[Source.INLINE, Source.DASHBOARD])
            .values("target_id")
            .annotate(average=Avg("normalized_rating"))
            .filter(average__lt=queue.rated_below)
            .values("target_id")
        )
        found = found.filter(action_id__in=low)
    return found.exclude(queue_items__queue=queue)


def fill(
    *, queue: ReviewQueue, rng: random.Random | None = None, now: datetime | None = None
) -> int:
    """Add what matches since the last fill (see the module's docstring); returns how many
    items were added."""
    now = now or timezone.now()
    rng = rng or random.SystemRandom()
    found = _matches(queue).select_related(None).only("id", "status", "resolved_at")
    rows: list[QueueItem] = []
    if queue.spot_check_share is None:
        rows = [
            QueueItem(
                queue=queue,
                outcome_id=o.id,
                reason=QueueReason.AMBIGUOUS if o.status == rules.AMBIGUOUS else QueueReason.MATCH,
                inclusion_probability=1.0,
            )
            for o in found
        ]
    else:
        for o in found.filter(status=rules.AMBIGUOUS):
            rows.append(
                QueueItem(
                    queue=queue,
                    outcome_id=o.id,
                    reason=QueueReason.AMBIGUOUS,
                    inclusion_probability=1.0,
                )
            )
        decided = found.filter(status__in=rules.DECIDED, resolved_at__lte=now)
        if queue.filled_until is not None:
            decided = decided.filter(resolved_at__gt=queue.filled_until)  # each drawn once
        share = float(queue.spot_check_share)
        for o in decided.order_by("id"):
            if rng.random() < share:
                rows.append(
                    QueueItem(
                        queue=queue,
                        outcome_id=o.id,
                        reason=QueueReason.SPOT_CHECK,
                        inclusion_probability=share,
                    )
                )
    with transaction.atomic():
        created = QueueItem.objects.bulk_create(rows, ignore_conflicts=True)
        ReviewQueue.objects.filter(pk=queue.pk).update(filled_until=now)
    queue.filled_until = now
    return len(created)


def fill_open_queues() -> int:
    """Every open queue of the tenant takes what has come since its last fill (beat)."""
    return sum(fill(queue=q) for q in ReviewQueue.objects.filter(closed_at__isnull=True))


def close_queue(*, queue_id: int, user: Any) -> ReviewQueue:
    queue = visible_queues(user=user).filter(pk=queue_id).first()
    if queue is None:
        raise NotFound("No such queue.")
    ReviewQueue.objects.filter(pk=queue.pk, closed_at__isnull=True).update(closed_at=timezone.now())
    queue.refresh_from_db()
    return queue


# --- reviewing -------------------------------------------------------------------------------


def queues_of(*, reviewer: Any) -> list[ReviewQueue]:
    """The open queues the person reviews for."""
    return list(
        ReviewQueue.objects.filter(reviewers=reviewer, closed_at__isnull=True).order_by(
            "created_at"
        )
    )


def items_for(*, queue: ReviewQueue, reviewer: Any) -> list[QueueItem]:
    """The queue's items this reviewer still has to see (not complete without them) and
    those they judged, in queue order."""
    return list(
        QueueItem.objects.filter(queue=queue)
        .annotate(
            verdicts=Count("judgements"),
            by_me=Count("judgements", filter=Q(judgements__reviewer=reviewer)),
        )
        .filter(Q(by_me__gt=0) | Q(verdicts__lt=queue.reviewers_per_item))
        .select_related("outcome", "outcome__conversation", "outcome__rep", "outcome__content")
        .order_by("id")
    )


def judged_by(*, reviewer: Any, items: list[QueueItem]) -> set[int]:
    return set(
        Judgement.objects.filter(reviewer=reviewer, item__in=items).values_list(
            "item_id", flat=True
        )
    )


def record_judgement(
    *, item: QueueItem, reviewer: Any, label: str | None, entry: FeedbackEntry | None
) -> Judgement:
    """The reviewer's judgement of the item (again: it replaces theirs); an ambiguous
    outcome is settled once the item has its judgements."""
    require_reviewer(item=item, reviewer=reviewer)
    if label not in (None, "", rules.POSITIVE, rules.NEGATIVE):
        raise InvalidInput("Label it positive or negative.", field="label")
    with transaction.atomic():
        judgement, _ = Judgement.objects.update_or_create(
            item=item,
            reviewer=reviewer,
            defaults={"label": label or "", "entry": entry, "judged_at": timezone.now()},
        )
        settle(item=item)
    return judgement


def label_of(*, item: QueueItem, reviewer: Any) -> str:
    """The reviewer's label of a queue item so far ("" for none)."""
    return (
        Judgement.objects.filter(item=item, reviewer=reviewer)
        .values_list("label", flat=True)
        .first()
        or ""
    )


def require_reviewer(*, item: QueueItem, reviewer: Any) -> None:
    """Only the queue's reviewers judge its items (while it is open)."""
    seated = QueueReviewer.objects.filter(
        queue_id=item.queue_id, reviewer=reviewer, queue__closed_at__isnull=True
    )
    if not seated.exists():
        raise Forbidden("You are not a reviewer of this queue.")


def settle(*, item: QueueItem) -> str | None:
    """Resolve the item's ambiguous outcome by its reviewers' labels (module docstring);
    the label decided, or None while it waits."""
    queue = item.queue
    judgements = list(
        Judgement.objects.filter(item=item).exclude(label="").select_related("reviewer")
    )
    if len(judgements) < queue.reviewers_per_item:
        return None
    outcome = item.outcome
    if outcome.status != rules.AMBIGUOUS:
        return None  # decided already (a spot check): the labels measure agreement only
    counts = Counter(j.label for j in judgements)
    ranked = counts.most_common()
    if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
        label = ranked[0][0]
        why = f"majority: {counts[label]} of {len(judgements)} reviewers"
    else:

        def rank(j: Judgement) -> tuple[int, int]:
            return (j.reviewer_id == queue.owner_id, SENIORITY.get(j.reviewer.role, 0))

        top = max(rank(j) for j in judgements)
        deciders = {j.label for j in judgements if rank(j) == top}
        if len(deciders) != 1:
            return None  # a tie among equals: one more reviewer decides
        label = deciders.pop()
        why = f"a tie, decided by the most senior reviewer ({len(judgements)} reviewers)"
    decider = next(j.reviewer for j in judgements if j.label == label)
    outcome_services.label_outcome(
        outcome_id=outcome.pk,
        status=label,
        user=decider,
        comment=f"{why} in '{queue.name}'",
        assigned=True,  # the queue gave it to its reviewers, whoever's action it is
    )
    return label
