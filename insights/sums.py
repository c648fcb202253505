"""A window's rollup rows (today's computed live), their sums, and the rates over them.

Rates: a *success rate* is successes / decided, by outcomes.rules' one definition (decided =
positive + negative + expired; ambiguous outcomes wait for a label and pending ones for a
signal, so neither counts), applied to the rollups' counts by status. Every page, alert and
report of insights takes it from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import QuerySet

from insights import rollups
from insights.models import DailyFeedbackRollup, DailyOutcomeRollup
from outcomes import rules

SUMS = (
    "total",
    "pending",
    "positive",
    "negative",
    "ambiguous",
    "expired",
    "scored",
    "sum_p",
    "sum_p2",
    "sum_py",
    "sum_y",
    "sum_score",
)
ESCALATION = "escalation_result"
# A period's rate is *settled* (drawn as a trend, compared in words) only when at most this
# share of its actions still waits for a signal (pending): waiting outcomes are mostly the
# slow ones, often failures, so a rate over the decided ones alone runs high while a
# period is young. Outcomes waiting for a person's label do not hold a period back (the
# labelling backlog has its own alert and queue), but they widen its range.
SETTLED_WAITING_SHARE = 0.05


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive

    @classmethod
    def last(cls, days: int, *, today: date | None = None) -> Window:
        today = today or datetime.now(UTC).date()
        return cls(today - timedelta(days=days - 1), today)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _today() -> date:
    return datetime.now(UTC).date()


def _stored(
    table: QuerySet[Any], window: Window, today: date, reps: set[int] | None
) -> QuerySet[Any]:
    """The rollup table's stored rows of the window's days before today (today's are
    computed live), of `reps` only if given."""
    stored = table.filter(
        day__gte=window.start, day__lte=min(window.end, today - timedelta(days=1))
    )
    return stored if reps is None else stored.filter(rep_id__in=reps)


def outcome_rows(
    window: Window, *, rep_ids: Iterable[int] | None = None, action_type: str | None = None
) -> list[dict[str, Any]]:
    """Rollup rows of the window (rows of today computed live)."""
    today = _today()
    reps = None if rep_ids is None else set(rep_ids)
    stored = _stored(DailyOutcomeRollup.objects.all(), window, today, reps)
    if action_type:
        stored = stored.filter(action_type=action_type)
    rows = list(stored.values("day", "action_type", "outcome_type", "rep_id", *SUMS))
    if window.start <= today <= window.end:
        rows += [
            r
            for r in rollups.live_outcome_rows(today)
            if (reps is None or r["rep_id"] in reps)
            and (not action_type or r["action_type"] == action_type)
        ]
    return rows


def feedback_rows(window: Window, *, rep_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    today = _today()
    reps = None if rep_ids is None else set(rep_ids)
    stored = _stored(DailyFeedbackRollup.objects.all(), window, today, reps)
    rows: list[dict[str, Any]] = [
        dict(r)
        for r in stored.values("day", "rep_id", "source", "reviewer_role", "count", "sum_rating")
    ]
    if window.start <= today <= window.end:
        rows += [
            r for r in rollups.live_feedback_rows(today) if reps is None or r["rep_id"] in reps
        ]
    return rows


def sum_rows(rows: Iterable[dict[str, Any]]) -> dict[str, float]:
    total = dict.fromkeys(SUMS, 0.0)
    for row in rows:
        for key in SUMS:
            total[key] += float(row[key])
    return total


def decided(s: dict[str, float]) -> float:
    return sum(s[status] for status in rules.DECIDED)


def success_rate(s: dict[str, float]) -> float | None:
    total = decided(s)
    return s[rules.POSITIVE] / total if total else None


def brier(s: dict[str, float]) -> float | None:
    if not s["scored"]:
        return None
    return (s["sum_p2"] - 2 * s["sum_py"] + s["sum_y"]) / s["scored"]


def maturity(s: dict[str, float]) -> dict[str, Any]:
    """How settled a period's rate is: its waiting outcomes (pending or to label), their
    share of its actions, and the range the rate can still end in (every waiting outcome
    a failure, or every one a success). `settled_rate` is the rate only when at most
    SETTLED_WAITING_SHARE of the actions are pending, else None: pending outcomes never
    raise a settled rate, and an unsettled one is not drawn as a trend."""
    waiting = s["pending"] + s["ambiguous"]
    done = decided(s)
    eventual = done + waiting
    share = waiting / s["total"] if s["total"] else 0.0
    settled = (s["pending"] / s["total"] if s["total"] else 0.0) <= SETTLED_WAITING_SHARE
    return {
        "waiting": int(waiting),
        "waiting_share": share,
        "settled": settled,
        "settled_rate": success_rate(s) if settled else None,
        "rate_low": s[rules.POSITIVE] / eventual if eventual else None,
        "rate_high": (s[rules.POSITIVE] + waiting) / eventual if eventual else None,
    }


def rate_in_words(figures: dict[str, Any]) -> str:
    """A figure's success rate as a sentence part (emails, where no table cell can mark
    it): "75 %" once settled, else "75 % so far (not settled: will end 60-80 %)"; "n/a"
    with nothing decided. `figures` carries success_rate and maturity()'s keys."""
    rate = figures.get("success_rate")
    if rate is None:
        return "n/a"
    words = f"{rate:.0%}".replace("%", " %")
    if figures.get("settled", True) or figures.get("rate_low") is None:
        return words
    low, high = round(figures["rate_low"] * 100), round(figures["rate_high"] * 100)
    return f"{words} so far (not settled: will end {low}\u2013{high} %)"
