"""What `feedback` tells other apps.

DRAFT_RECORDED, payload `DraftRecorded`: the agent reported a draft and what was sent
(`services.record_draft`), once per draft (a replay emits nothing), inside the transaction
that stored it.

FEEDBACK_RECORDED, payload `FeedbackRecorded`: a verdict was given or changed (a person's
rating, a draft edit's automatic score; a retry of the same verdict emits nothing),
inside the transaction that stored it (`services.record_feedback`, `record_draft`).

Subscribers of both: config/wiring.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from learning.events import Event


@dataclass(frozen=True)
class DraftRecorded:
    action_id: str
    conversation_id: str  # the agent's id of the conversation
    intent: str  # the intent or playbook entry that produced the draft; "" if none
    drafted: bool  # the agent had a draft (an empty original means it had none)
    approved: bool  # sent unedited


DRAFT_RECORDED: Event[DraftRecorded] = Event("feedback.draft_recorded")


@dataclass(frozen=True)
class FeedbackRecorded:
    id: int  # the FeedbackEntry
    target_type: str
    target_id: str
    normalized_rating: float
    rep_id: int | None  # the rep whose conversation it is: who may see it
    reviewer_id: int | None = None
    outcome_id: int | None = None
    via: str = ""  # where it was given (web, api, link, slack, draft)


FEEDBACK_RECORDED: Event[FeedbackRecorded] = Event("feedback.recorded")


@dataclass(frozen=True)
class VerdictNeeded:
    """A person was prompted about a critical action (feedback.prompting), emitted in the
    transaction that recorded the prompt: the open page says so (a toast, the count)."""

    recipient_id: int
    action_id: str
    title: str
    why: str


VERDICT_NEEDED: Event[VerdictNeeded] = Event("feedback.verdict_needed")
