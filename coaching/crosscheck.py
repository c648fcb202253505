"""A proposal checked against what came in across all conversations (seed 004, section 5).

Batch learning groups only the week's drafts it reads. What a proposal answers is the
messages its examples replied to (each conversation's last inbound message when the reply
was sent: outcomes.selectors.message_answered); those are looked for among the inbound
messages of every *other* conversation, by trigram similarity through the index
(outcomes.selectors.similar_inbound, at its threshold SIMILAR). The more conversations
received the same kind of message, the more the proposal would be used:

- high: 3 or more similar messages came in other conversations;
- medium: 1 or 2 did;
- low: none did, or the replies answered nothing the product saw (no inbound message
  was posted before them).

The similar messages (at most SHOWN, most similar first) are kept as the proposal's
evidence; coaching.erasure blanks those whose words are later erased.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coaching.models import ProposalConfidence
from outcomes import selectors as outcomes_selectors

HIGH = 3  # similar messages in other conversations for "high"
ASKED = 5  # replies whose answered message is looked for
SHOWN = 10


def check(members: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """The confidence of a finding made of `members` (feedback's LearningText) and the
    similar inbound messages that back it, as stored in its evidence; no confidence ("")
    on a database without pg_trgm, where nothing can be looked for."""
    if not outcomes_selectors.trigrams_available():
        return "", []
    asked: list[str] = []
    for member in members:
        if len(asked) == ASKED:
            break
        if member.at is None:
            continue
        text = outcomes_selectors.message_answered(
            conversation_pk=member.conversation_id, at=member.at
        )
        if text and text not in asked:
            asked.append(text)
    found = outcomes_selectors.similar_inbound(
        texts=asked,
        excluding_conversations={m.conversation_id for m in members},
        limit=SHOWN,
    )
    confidence = (
        ProposalConfidence.HIGH
        if len(found) >= HIGH
        else ProposalConfidence.MEDIUM
        if found
        else ProposalConfidence.LOW
    )
    return confidence, [
        {
            "message_id": m.message_id,
            "conversation": m.conversation,
            "text": m.body,
            "similarity": m.similarity,
            "sent_at": m.sent_at.isoformat(),
        }
        for m in found
    ]
