"""Reading managers' review queues: which queues and judgements a person may see, who they
may assign, and each queue's summary: its progress and how far its reviewers agree.

**Agreement** (feedback.agreement): Krippendorff's alpha over the items' labels (nominal)
and stars (ordinal), Cohen's kappa for each pair of reviewers, and, for spot checks, the
weighted agreement of people's labels with the automatic resolution (each drawn action
weighted by 1 / its inclusion probability, feedback.queues).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from django.db.models import QuerySet

from feedback import agreement
from feedback.models import Judgement, QueueItem, QueueReason, QueueReviewer, ReviewQueue, Source
from learning.models import User
from learning.selectors import sees_whole_tenant, visible_users
from outcomes import rules


def visible_queues(*, user: Any) -> QuerySet[ReviewQueue]:
    """Queues a person may manage: their own; every queue for executives and admins."""
    queues = ReviewQueue.objects.select_related("owner")
    if sees_whole_tenant(user):
        return queues
    return queues.filter(owner=user)


def visible_judgements(*, user: Any) -> QuerySet[Judgement]:
    """Every judgement made in the queues a person may manage (exports read them)."""
    return Judgement.objects.filter(item__queue__in=visible_queues(user=user))


@dataclass(frozen=True)
class ReviewerProgress:
    username: str
    judged: int
    total: int


@dataclass(frozen=True)
class PairKappa:
    first: str
    second: str
    items: int
    kappa: float | None


@dataclass(frozen=True)
class QueueSummary:
    queue: ReviewQueue
    items: int
    complete: int
    reviewers: list[ReviewerProgress]
    label_alpha: float | None  # Krippendorff, nominal, items with 2+ labels
    star_alpha: float | None  # Krippendorff, ordinal, items with 2+ star ratings
    label_words: str  # the same in plain words (and why it is missing, if it is)
    star_words: str
    multi_judged: int
    pairs: list[PairKappa]
    automatic_agreement: float | None  # spot checks: weighted share agreeing with the signals
    automatic_kappa: float | None
    spot_checked: int

    @property
    def completion(self) -> float | None:
        return self.complete / self.items if self.items else None


def summary(*, queue: ReviewQueue) -> QueueSummary:
    return summaries_of([queue])[0]


def summaries(*, user: Any) -> list[QueueSummary]:
    """The open queues a person manages, summarised in four queries however many there are."""
    return summaries_of(list(visible_queues(user=user).filter(closed_at__isnull=True)))


def summaries_of(queues: list[ReviewQueue]) -> list[QueueSummary]:
    if not queues:
        return []
    ids = [q.pk for q in queues]
    items: dict[int, list[QueueItem]] = defaultdict(list)
    for item in QueueItem.objects.filter(queue_id__in=ids).select_related("outcome"):
        items[item.queue_id].append(item)
    judgements: dict[int, list[Judgement]] = defaultdict(list)
    for j in Judgement.objects.filter(item__queue_id__in=ids).select_related("reviewer", "entry"):
        judgements[j.item_id].append(j)
    reviewers: dict[int, list[str]] = defaultdict(list)
    for queue_id, name in QueueReviewer.objects.filter(queue_id__in=ids).values_list(
        "queue_id", "reviewer__username"
    ):
        reviewers[queue_id].append(name)
    return [_summarise(q, items[q.pk], judgements, sorted(reviewers[q.pk])) for q in queues]


def _summarise(
    queue: ReviewQueue,
    items: list[QueueItem],
    by_item: dict[int, list[Judgement]],
    reviewers: list[str],
) -> QueueSummary:
    judgements = [j for i in items for j in by_item[i.pk]]
    judged = Counter(j.reviewer.username for j in judgements)
    complete = sum(len(by_item[i.pk]) >= queue.reviewers_per_item for i in items)
    names = sorted({j.reviewer.username for j in judgements} | set(reviewers))
    multi = [i for i in items if len(by_item[i.pk]) >= 2]
    label_data, star_data = _ratings(names, multi, by_item)
    human, automatic, weights = _spot_checks(items, by_item)
    agree = (
        sum(w for h, a, w in zip(human, automatic, weights, strict=True) if h == a) / sum(weights)
        if weights
        else None
    )
    label_alpha = agreement.krippendorff_alpha(label_data, "nominal") if multi else None
    star_alpha = agreement.krippendorff_alpha(star_data, "ordinal") if multi else None
    return QueueSummary(
        queue=queue,
        items=len(items),
        complete=complete,
        reviewers=[ReviewerProgress(r, judged[r], len(items)) for r in reviewers],
        label_alpha=label_alpha,
        star_alpha=star_alpha,
        label_words=agreement.alpha_in_words(label_alpha, label_data),
        star_words=agreement.alpha_in_words(star_alpha, star_data),
        multi_judged=len(multi),
        pairs=_pair_kappas(names, items, by_item),
        automatic_agreement=agree,
        automatic_kappa=agreement.cohen_kappa(human, automatic, weights) if weights else None,
        spot_checked=len(weights),
    )


def _ratings(
    names: list[str], multi: list[QueueItem], by_item: dict[int, list[Judgement]]
) -> tuple[Any, Any]:
    """The labels (0 negative, 1 positive) and the stars of the items judged more than once,
    a row per reviewer and a column per item (NaN where none was given)."""
    row = {name: n for n, name in enumerate(names)}
    label_data = np.full((len(names), len(multi)), np.nan)
    star_data = np.full((len(names), len(multi)), np.nan)
    labels = {rules.NEGATIVE: 0.0, rules.POSITIVE: 1.0}
    for column, item in enumerate(multi):
        for j in by_item[item.pk]:
            if j.label:
                label_data[row[j.reviewer.username], column] = labels[j.label]
            if j.entry is not None and j.entry.source == Source.DASHBOARD:
                star_data[row[j.reviewer.username], column] = j.entry.rating
    return label_data, star_data


def _pair_kappas(
    names: list[str], items: list[QueueItem], by_item: dict[int, list[Judgement]]
) -> list[PairKappa]:
    """Cohen's kappa of each pair of reviewers over the items both labelled."""
    pairs = []
    for a, b in combinations(names, 2):
        both = [
            (x.label, y.label)
            for i in items
            for x in by_item[i.pk]
            for y in by_item[i.pk]
            if x.reviewer.username == a and y.reviewer.username == b and x.label and y.label
        ]
        if both:
            pairs.append(
                PairKappa(
                    a, b, len(both), agreement.cohen_kappa(*map(list, zip(*both, strict=True)))
                )
            )
    return pairs


def _spot_checks(
    items: list[QueueItem], by_item: dict[int, list[Judgement]]
) -> tuple[list[str], list[str], list[float]]:
    """People against the signals, over the decided actions a spot check drew: each one's
    majority label, its automatic resolution as a label, and its weight (1 / its inclusion
    probability)."""
    human, automatic, weights = [], [], []
    for item in items:
        if item.reason != QueueReason.SPOT_CHECK:
            continue
        votes = Counter(j.label for j in by_item[item.pk] if j.label)
        if not votes:
            continue
        human.append(votes.most_common(1)[0][0])
        automatic.append(
            rules.POSITIVE if rules.is_success(item.outcome.status) else rules.NEGATIVE
        )
        weights.append(1.0 / item.inclusion_probability)
    return human, automatic, weights


def candidates(*, user: Any) -> QuerySet[User]:
    """Who a manager can assign as reviewers: the active people of their scope."""
    return visible_users(user=user).filter(is_active=True).order_by("username")
