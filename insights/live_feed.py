"""The pages' live feed: what browsers hear over websockets (insights.live), each person
only of what they may see. After-commit subscribers of other apps' events, wired in
config/wiring.py; the alerts this app opens are pushed by `alerts`.

    outcomes.resolved   the count by status and the ids, to the rep, their manager, the tenant
    feedback.recorded   the entry's id, target and normalised rating, likewise
    verdict.needed      a critical action waits for the person's verdict: to them only
"""

from __future__ import annotations

from collections.abc import Sequence

from feedback.events import FeedbackRecorded, VerdictNeeded
from insights import live
from outcomes.events import ResolvedOutcome


def outcomes_resolved(resolved: Sequence[ResolvedOutcome]) -> None:
    live.publish_about(
        "outcomes.resolved", resolved, rep_of=lambda outcome: outcome.rep_id, payload=_summary
    )


def _summary(resolved: Sequence[ResolvedOutcome]) -> dict[str, object]:
    by_status: dict[str, int] = {}
    for outcome in resolved:
        by_status[outcome.status] = by_status.get(outcome.status, 0) + 1
    return {"count": len(resolved), "by_status": by_status, "ids": [o.id for o in resolved[:100]]}


def feedback_recorded(recorded: FeedbackRecorded) -> None:
    live.publish_about(
        "feedback.recorded",
        [recorded],
        rep_of=lambda r: r.rep_id,
        payload=lambda entries: {
            "id": entries[0].id,
            "target_type": entries[0].target_type,
            "target_id": entries[0].target_id,
            "normalized_rating": entries[0].normalized_rating,
        },
    )


def verdict_needed(needed: VerdictNeeded) -> None:
    live.publish_to_user(
        needed.recipient_id,
        "verdict.needed",
        {"action_id": needed.action_id, "title": needed.title, "why": needed.why},
    )
