"""What `feedback` tells other apps.

DRAFT_RECORDED, payload `DraftRecorded`: the agent reported a draft and what was sent
(`services.record_draft`), once per draft (a replay emits nothing), inside the transaction
that stored it. Subscribers: config/wiring.py (coaching counts a use of the draft's intent
and judges it while it is an experiment).

Live (learning.live, after the commit): `feedback.recorded` with the entry's id, target
and normalised rating, to each person who may see its conversation.
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
