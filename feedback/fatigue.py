"""Feedback fatigue: reviewers who rate less and less, or always at one extreme."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from feedback.periods import SUMMARY_DAYS, period_start
from feedback.services import SCALES, settings_row
from learning.models import User


@dataclass(frozen=True)
class Fatigue:
    username: str
    role: str
    last_7_days: int
    previous_7_days: int
    rate_per_day: float
    ratings_30_days: int
    top_share: float | None
    bottom_share: float | None
    declining: bool
    extremes: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.declining or self.extremes


def fatigue(*, users: QuerySet[User], now: datetime | None = None) -> list[Fatigue]:
    """Per reviewer: feedback per day over the last 7 days vs the 7 before (a decline
    below the tenant's ratio flags them), and explicit ratings of the last 30 days (from
    midnight 29 days ago, as the feedback summary counts them) clustered at one extreme
    (nearly all top or all bottom) flags them too."""
    now = now or timezone.now()
    config = settings_row()
    week, fortnight = (now - timedelta(days=d) for d in (7, 14))
    # the same days as the feedback summary's, so a reviewer's count adds up to its figures
    month = period_start(days=SUMMARY_DAYS, now=now)
    # Only what people chose to give: implicit feedback from draft edits is not effort.
    explicit = Q(feedback_given__source__in=list(SCALES), feedback_given__rated_at__lt=now)
    rows = users.annotate(
        last_7=Count("feedback_given", filter=explicit & Q(feedback_given__rated_at__gte=week)),
        previous_7=Count(
            "feedback_given",
            filter=explicit
            & Q(feedback_given__rated_at__gte=fortnight, feedback_given__rated_at__lt=week),
        ),
        recent=Count("feedback_given", filter=explicit & Q(feedback_given__rated_at__gte=month)),
        top=Count(
            "feedback_given",
            filter=explicit
            & Q(feedback_given__rated_at__gte=month, feedback_given__normalized_rating=1),
        ),
        bottom=Count(
            "feedback_given",
            filter=explicit
            & Q(feedback_given__rated_at__gte=month, feedback_given__normalized_rating=0),
        ),
    ).order_by("username")
    result = []
    for user in rows:
        reasons = []
        declining = (
            user.previous_7 >= config.fatigue_min_previous
            and user.last_7 < config.fatigue_decline_ratio * user.previous_7
        )
        if declining:
            reasons.append(
                f"{user.last_7} ratings in the last 7 days, {user.previous_7} the 7 before"
            )
        top = user.top / user.recent if user.recent else None
        bottom = user.bottom / user.recent if user.recent else None
        extremes = user.recent >= config.extreme_min_ratings and (
            (top or 0) >= config.extreme_share or (bottom or 0) >= config.extreme_share
        )
        if extremes:
            side, share = ("top", top) if (top or 0) >= (bottom or 0) else ("bottom", bottom)
            reasons.append(f"{share:.0%} of {user.recent} ratings at the {side}")
        result.append(
            Fatigue(
                username=user.username,
                role=user.role,
                last_7_days=user.last_7,
                previous_7_days=user.previous_7,
                rate_per_day=round(user.last_7 / 7, 3),
                ratings_30_days=user.recent,
                top_share=top,
                bottom_share=bottom,
                declining=declining,
                extremes=extremes,
                reasons=reasons,
            )
        )
    return result


def fatigue_of(*, user: User, now: datetime | None = None) -> Fatigue:
    """One person's fatigue; `now` in the past reads it as it was then (what they rated
    since does not count)."""
    return fatigue(users=User.objects.filter(pk=user.pk), now=now)[0]
