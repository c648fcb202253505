"""The "outcome resolved" event: how other apps learn that an outcome reached a final status.

Subscribers run inside the transaction that resolved the outcomes, so whatever they write
(calibration bins, rollups) commits or rolls back together with the resolution: nothing is
counted twice and nothing is lost. Live dashboards hear about it only after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from learning import live


class ResolvedOutcome(NamedTuple):  # a tuple: sweeps build a million of them
    id: int
    action_type: str
    outcome_type: str
    status: str
    score: float | None
    predicted_confidence: float
    rep_id: int | None
    signal_source: str


Subscriber = Callable[[list[ResolvedOutcome]], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Subscriber:
    """Register `subscriber` (idempotent); usable as a decorator in an app's ready()."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def outcomes_resolved(resolved: list[ResolvedOutcome]) -> None:
    if not resolved:
        return
    for subscriber in list(_subscribers):
        subscriber(resolved)
    # Each rep hears of their own outcomes, each manager of their team's, executives of all.
    live.publish_about(
        "outcomes.resolved", resolved, rep_of=lambda outcome: outcome.rep_id, payload=_summary
    )


def _summary(resolved: Sequence[ResolvedOutcome]) -> dict[str, object]:
    by_status: dict[str, int] = {}
    for outcome in resolved:
        by_status[outcome.status] = by_status.get(outcome.status, 0) + 1
    return {"count": len(resolved), "by_status": by_status, "ids": [o.id for o in resolved[:100]]}
