"""What `calibration` tells other apps.

POLICY_CHANGED, payload `PolicyChanged`: an action type's policy (the confidence scale and
escalation threshold the agent is told) has a new version, by the scheduled adjustment or
a revert (`services._new_version`, the one place a version is made), inside the
transaction that saved it. Subscribers: config/wiring.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from learning.events import Event


@dataclass(frozen=True)
class PolicyChanged:
    action_type: str
    version: int
    cause: str  # calibration.models.VersionCause


POLICY_CHANGED: Event[PolicyChanged] = Event("calibration.policy_changed")
