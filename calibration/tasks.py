from __future__ import annotations

from typing import Any

from celery import shared_task

from calibration import selectors, services


@shared_task(name="calibration.learn", acks_late=True)
def learn() -> dict[str, Any]:
    """Learn from the outcomes of every action type of the current tenant that matured
    since the last run (calibration.services.learn: the drift test, a restart of the
    window on an alarm). fan_out sends it once per 15-minute period; each batch is its own
    transaction on the locked window row and marks its outcomes learned, so a rerun or a
    concurrent run learns nothing twice."""
    done = {}
    for action_type in selectors.action_types():
        result = services.learn(action_type=action_type)
        if result.learned:
            done[action_type] = {"learned": result.learned, "alarms": result.alarms}
    return done


@shared_task(name="calibration.recalibrate", acks_late=True, bind=True)
def recalibrate(self: Any) -> dict[str, Any]:
    """Learn what matured (as `learn`), then adjust each action type's policy one damped
    step where miscalibrated. fan_out sends it once per 6-hour period; each step is its
    own transaction with the policy row locked, so concurrent runs cannot interleave, and
    carries the task's id, so a redelivery (its worker died) skips the types already done."""
    changed = {}
    for action_type in selectors.action_types():
        services.learn(action_type=action_type)
        proposal = services.recalibrate(action_type=action_type, run_id=self.request.id or "")
        if proposal is not None:
            changed[action_type] = {"scale": proposal.scale, "threshold": proposal.threshold}
    return changed
