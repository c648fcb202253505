"""What `outcomes` tells other apps.

ACTIONS_RECORDED, payload `list[RecordedAction]`: the agent's actions stored by a request
(`ingest.record_outcomes`), only those it created (a replay emits nothing), in the
transaction that stored them. Its subscribers run after commit and must stay cheap: they
sit on the agent's hot path (decide, then hand the work to a task).

RESOLVED, payload `list[ResolvedOutcome]`: outcomes reached a final status (positive,
negative, expired; ambiguous is not final). Emitted by `services.transition_outcomes`, the
one place an outcome changes status, inside the transaction that resolved them, with
exactly the rows that really changed: whatever subscribers write (calibration bins)
commits or rolls back with the resolution, so nothing is counted twice or lost.
Subscribers: config/wiring.py.

CONTENT_ERASED, payload `ContentErasure`: the words of some conversations (or every text
written before a time, for the retention) are being removed (`erasure`, the one place
that erases). Emitted inside the erasing transaction: each subscriber blanks its own
copies of those words in the same transaction and adds to `removed` how many texts it
blanked (counts only, never the text), which the audit record stores.

CONTACT_ERASING, payload `ContactErasure`: `erasure.erase_contact` is finding the
conversations that name an e-mail address; each subscriber adds those its own texts name
(feedback's drafts and comments), so a contact named only there is erased too.

Subscribers of each: config/wiring.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from learning.events import Event


class RecordedAction(NamedTuple):
    id: int
    action_type: str
    outcome_type: str
    rep_id: int | None
    occurred_at: datetime


ACTIONS_RECORDED: Event[list[RecordedAction]] = Event("outcomes.actions_recorded")


class ResolvedOutcome(NamedTuple):  # a tuple: sweeps build a million of them
    id: int
    action_type: str
    outcome_type: str
    status: str
    score: float | None
    predicted_confidence: float
    rep_id: int | None
    signal_source: str


RESOLVED: Event[list[ResolvedOutcome]] = Event("outcomes.resolved")


@dataclass
class ContentErasure:
    """Which texts go: those of `conversation_pks` (a request), or, with `older_than`,
    those written before it (the retention), in every conversation. `at` stamps what is
    erased; subscribers add their counts to `removed`."""

    at: datetime
    conversation_pks: list[int] | None = None
    older_than: datetime | None = None
    removed: dict[str, int] = field(default_factory=dict)


CONTENT_ERASED: Event[ContentErasure] = Event("outcomes.content_erased")


@dataclass
class ContactErasure:
    """An erasure of everything about one contact is choosing its conversations: each
    subscriber adds to `conversation_pks` those whose texts it holds name `address`
    (case-insensitively). The address is never stored or logged."""

    address: str
    conversation_pks: set[int] = field(default_factory=set)


CONTACT_ERASING: Event[ContactErasure] = Event("outcomes.contact_erasing")


def outcomes_resolved(resolved: list[ResolvedOutcome]) -> None:
    if resolved:
        RESOLVED.emit(resolved)
