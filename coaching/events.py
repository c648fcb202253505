"""What `coaching` tells other apps.

PATTERNS_FOUND, payload `PatternsFound`: a coaching run stored its patterns (the manager's
view shows them), inside the transaction that stored them (`services.extract_patterns`).
Subscribers: config/wiring.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from learning.events import Event


@dataclass(frozen=True)
class PatternsFound:
    run_id: int
    patterns: int


PATTERNS_FOUND: Event[PatternsFound] = Event("coaching.patterns_found")
