from __future__ import annotations

from typing import Any

from calibration import selectors, services
from config.celery import app


@app.task(name="calibration.recalibrate", acks_late=True, bind=True)
def recalibrate(self: Any) -> dict[str, Any]:
    """Check every action type of the current tenant for a change of its calibration
    (restarting what it learns from on an alarm) and adjust its policy one damped step
    where miscalibrated. fan_out sends it once per 6-hour period; each step is its
    own transaction with the policy row locked, so concurrent runs cannot interleave, and
    carries the task's id, so a redelivery (its worker died) skips the types already done."""
    changed = {}
    for action_type in selectors.action_types():
        services.check_drift(action_type=action_type)
        proposal = services.recalibrate(action_type=action_type, run_id=self.request.id or "")
        if proposal is not None:
            changed[action_type] = {"scale": proposal.scale, "threshold": proposal.threshold}
    return changed
