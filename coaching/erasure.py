"""Coaching's part of an erasure (outcomes.events.CONTENT_ERASED, wired in config/wiring.py).

Batch learning quotes what people sent: a proposal's examples, its typical edit, its
summary, and for a playbook change or a new intent the proposed text itself. When the
drafts or corrections it quoted are erased, the quotes go in the same transaction:

- each quoted example loses its texts and says `"erased": true` (its action id stays, so
  the count and the page still show how many messages made the proposal);
- the summary goes (the summariser may have quoted any example);
- a pending proposal whose proposed text *is* an erased message is withdrawn (rejected,
  with a note saying why): approving it would copy the words into the playbook. An
  approved proposal's text is already the tenant's playbook entry, which an admin read and
  chose to keep; the entry stays, the proposal's copy goes.

A proposal's similar messages (coaching.crosscheck: what came in other conversations) are
inbound messages: each whose words are erased keeps its conversation id and similarity,
loses its text and says `"erased": true` (the confidence they made stays, like the count).

Coaching patterns hold counts and rates only, and experiments the playbook's texts.
"""

from __future__ import annotations

from typing import Any

from coaching.models import LearningProposal, ProposalStatus
from feedback import selectors as feedback_selectors
from outcomes import selectors as outcomes_selectors
from outcomes.events import ContentErasure

WITHDRAWN = "Withdrawn: the messages it quoted were erased on request or by the retention."
TEXTS = ("original", "sent")


def _quoted(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """The quotes of one proposal's evidence that still hold words."""
    quotes = [x for x in evidence.get("examples", []) if isinstance(x, dict)]
    typical = evidence.get("typical_edit")
    if isinstance(typical, dict):
        quotes.append(typical)
    return [q for q in quotes if any(q.get(key) for key in TEXTS)]


def _similar_quoted(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """The similar messages of one proposal's evidence that still hold words."""
    messages = evidence.get("similar_messages", [])
    return [m for m in messages if isinstance(m, dict) and m.get("text") and m.get("message_id")]


def on_content_erased(erasure: ContentErasure) -> None:
    """outcomes.events subscriber: adds `proposals` (how many it changed) to `removed`."""
    proposals = list(LearningProposal.objects.select_for_update().order_by("pk"))  # tens a week
    quoting = {
        proposal.pk: [q for q in _quoted(proposal.evidence) if q.get("action_id")]
        for proposal in proposals
    }
    erased = feedback_selectors.actions_erased_by(
        erasure, {q["action_id"] for quotes in quoting.values() for q in quotes}
    )
    changed = 0
    similar = {proposal.pk: _similar_quoted(proposal.evidence) for proposal in proposals}
    gone = outcomes_selectors.erased_messages(
        ids={m["message_id"] for quotes in similar.values() for m in quotes}
    )
    for proposal in proposals:
        hit = [q for q in quoting[proposal.pk] if q["action_id"] in erased]
        similar_hit = [m for m in similar[proposal.pk] if m["message_id"] in gone]
        for message in similar_hit:
            message.update(text="", erased=True)
        if not hit:
            if similar_hit:  # (the summariser may have quoted them too)
                proposal.summary = ""
                proposal.save(update_fields=["evidence", "summary"])
                changed += 1
            continue
        words = {q[key] for q in hit for key in TEXTS if q.get(key)}
        for quote in _quoted(proposal.evidence):
            # (an older proposal's typical edit has no action id: it goes with its text)
            unnamed = not quote.get("action_id")
            if quote in hit or (unnamed and any(quote.get(key) in words for key in TEXTS)):
                quote.update({key: "" for key in TEXTS if key in quote}, erased=True)
        fields = ["evidence", "summary"]
        proposal.summary = ""
        if any(text in proposal.proposed_content for text in words):
            proposal.proposed_content = ""
            fields.append("proposed_content")
            if proposal.status == ProposalStatus.PENDING:
                proposal.status = ProposalStatus.REJECTED
                proposal.decided_at = erasure.at
                proposal.decision_note = WITHDRAWN
                fields += ["status", "decided_at", "decision_note"]
        proposal.save(update_fields=fields)
        changed += 1
    erasure.removed["proposals"] = changed
