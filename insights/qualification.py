"""Qualification completion: the share of the period's conversations that pass the
qualification stage (outcomes.rules.PAST_QUALIFICATION), per rep, team or tenant.

A conversation belongs to the period of the agent's first action on it. It *completed*
qualification when it reached discovery or a later stage (or was won); it did *not* when
the deal was lost first, or when QUALIFICATION_DAYS passed after that first action with
neither; until then it is *still open* and waits, like a pending outcome. The rate is
completed / decided, settled like every rate of insights.sums (at most 5 % of the
conversations still open), with the range the open ones can still move it in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from insights.sums import Window, maturity, success_rate
from outcomes import rules
from outcomes import selectors as outcome_selectors


def _counts(rows: Iterable[outcome_selectors.Qualification], now: datetime) -> dict[str, float]:
    """The conversations as the sums of insights.sums count outcomes: completed are the
    successes, stopped the failures, timed out the expired, still open the pending."""
    s = dict.fromkeys(("total", "positive", "negative", "expired", "pending", "ambiguous"), 0.0)
    limit = timedelta(days=rules.QUALIFICATION_DAYS)
    for row in rows:
        s["total"] += 1
        if row.completed_at is not None and (
            row.stopped_at is None or row.completed_at <= row.stopped_at
        ):
            s["positive"] += 1
        elif row.stopped_at is not None:
            s["negative"] += 1
        elif row.first_action_at + limit <= now:
            s["expired"] += 1
        else:
            s["pending"] += 1
    return s


def figures(rows: Iterable[outcome_selectors.Qualification], now: datetime) -> dict[str, Any]:
    s = _counts(rows, now)
    return {
        "conversations": int(s["total"]),
        "completed": int(s["positive"]),
        "lost_before": int(s["negative"]),
        "timed_out": int(s["expired"]),
        "still_open": int(s["pending"]),
        "completion_rate": success_rate(s),
        "days_to_qualify": rules.QUALIFICATION_DAYS,  # open longer: did not complete
        **maturity(s),
    }


def _rows(window: Window, rep_ids: Iterable[int] | None) -> list[outcome_selectors.Qualification]:
    start = datetime.combine(window.start, time.min, tzinfo=UTC)
    end = datetime.combine(window.end + timedelta(days=1), time.min, tzinfo=UTC)
    return outcome_selectors.qualification_of_conversations(start=start, end=end, rep_ids=rep_ids)


def completion(
    window: Window, *, rep_ids: Iterable[int] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The period's qualification completion, of `rep_ids` (all conversations if None)."""
    return figures(_rows(window, rep_ids), now or timezone.now())


def completion_by_rep(
    window: Window, *, rep_ids: Iterable[int], now: datetime | None = None
) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """(the team's completion, each rep's) from one query."""
    ids = list(rep_ids)
    rows = _rows(window, ids)
    when = now or timezone.now()
    by_rep: dict[int, list[outcome_selectors.Qualification]] = defaultdict(list)
    for row in rows:
        if row.rep_id is not None:
            by_rep[row.rep_id].append(row)
    return figures(rows, when), {pk: figures(by_rep.get(pk, []), when) for pk in ids}
