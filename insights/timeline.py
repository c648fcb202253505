"""One conversation as it happened: what came in, what the agent did and said (with its
confidence), what followed, how each action was judged (by the signals, by a person's
label, by people's ratings, by how much a rep rewrote the draft), in time order, each
event saying who or what did it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feedback import selectors as feedback_selectors
from outcomes import rules
from outcomes import selectors as outcome_selectors

VERDICT_WORDS = {
    "inline": {1: "👍 good", 0: "😐 neutral", -1: "👎 bad"},
}


@dataclass
class Event:
    at: datetime
    kind: str  # message, action, signal, resolution, rating, automatic, draft
    who: str  # "agent", "prospect", a username, "signals", "batch" …
    title: str
    body: str = ""  # a message's text (rendered as limited Markdown by the template)
    subject: str = ""
    details: list[str] = field(default_factory=list)
    action_id: str = ""
    status: str = ""
    erased: bool = False  # its words were removed (on request or past the retention)


@dataclass
class Timeline:
    conversation: Any
    events: list[Event]
    actions: int
    decided: int


def conversation_timeline(*, principal: Any, external_id: str) -> Timeline | None:
    """The conversation's timeline, or None when it is not in the principal's scope."""
    conversation = outcome_selectors.visible_conversation(
        principal=principal, external_id=external_id
    )
    if conversation is None:
        return None
    events: list[Event] = []
    actions = outcome_selectors.conversation_actions(conversation=conversation)
    for message in outcome_selectors.inbound_messages(conversation=conversation):
        events.append(
            Event(
                at=message.sent_at,
                kind="message",
                who=message.from_role or "prospect",
                title=f"{message.get_from_role_display() or 'Message'} wrote ({message.channel})",
                subject=message.subject,
                body=message.body,
                details=[f"answers {message.in_reply_to}"] if message.in_reply_to else [],
                erased=message.erased_at is not None,
            )
        )
    decided = 0
    for action in actions:
        content = outcome_selectors.content_of(action)
        details = [f"confidence {action.predicted_confidence:.2f}", action.outcome_type]
        if content is not None and content.to_role:
            details.append(f"to the {content.to_role}")
        events.append(
            Event(
                at=action.occurred_at,
                kind="action",
                who="agent",
                title=action.action_type.replace("_", " "),
                subject=content.subject if content else "",
                body=content.body if content else "",
                details=details,
                action_id=action.action_id,
                status=action.status,
                erased=content is not None and content.erased_at is not None,
            )
        )
        if action.resolved_at is not None:
            decided += rules.is_decided(action.status)
            by = (
                action.resolved_by.username
                if action.resolved_by is not None
                else ("signals" if action.signal_source == "event" else "window check")
            )
            verb = "labelled" if action.signal_source == "human_label" else "resolved"
            details = [action.resolution_reason] if action.resolution_reason else []
            if action.label_comment:
                details.append(f"“{action.label_comment}”")
            events.append(
                Event(
                    at=action.resolved_at,
                    kind="resolution",
                    who=by,
                    title=f"{action.action_type.replace('_', ' ')} {verb} {action.status}",
                    details=details,
                    action_id=action.action_id,
                    status=action.status,
                )
            )
    for signal in outcome_selectors.conversation_signals(conversation=conversation):
        data = ", ".join(f"{k}: {v}" for k, v in sorted(signal.data.items())) if signal.data else ""
        events.append(
            Event(
                at=signal.occurred_at,
                kind="signal",
                who="signals",
                title=signal.kind.replace("_", " "),
                details=[
                    d for d in (data, f"about {signal.action_id}" if signal.action_id else "") if d
                ],
                action_id=signal.action_id,
            )
        )
    for entry in feedback_selectors.conversation_feedback(conversation_pk=conversation.pk):
        automatic = entry.source == "draft_edit"
        reviewer = entry.reviewer.username if entry.reviewer else "unknown"
        if automatic:
            title = (
                f"draft edit score {entry.normalized_rating:.2f} "
                "(automatic, from the rewrite: not a person's verdict)"
            )
        elif entry.source == "inline":
            title = (
                f"{reviewer} rated {VERDICT_WORDS['inline'].get(int(entry.rating), entry.rating)}"
            )
        else:
            title = f"{reviewer} rated {entry.rating:g}/5"
        details = [f"on {entry.target_type} {entry.target_id}"]
        if entry.via in ("link", "slack"):
            details.append(f"through a link made by {entry.minted_by or 'unknown'}")
        if entry.comment:
            details.append(f"“{entry.comment}”")
        if entry.scores:
            details.append(
                ", ".join(
                    f"{key.replace('_', ' ')}: "
                    + (("yes" if value else "no") if isinstance(value, bool) else f"{value}")
                    for key, value in entry.scores.items()
                )
            )
        if entry.correction:
            details.append(f"should have said: “{entry.correction[:300]}”")
        events.append(
            Event(
                at=entry.rated_at,
                kind="automatic" if automatic else "rating",
                who="automatic" if automatic else reviewer,
                title=title,
                details=details,
                action_id=entry.target_id,
            )
        )
    for draft in feedback_selectors.conversation_drafts(conversation_pk=conversation.pk):
        if not draft.original_draft:
            title = "a rep wrote a message the agent had no draft for"
        elif draft.edit_distance == 0:
            title = "the agent's draft was sent unedited"
        else:
            title = f"a rep rewrote {draft.edit_distance:.0%} of the agent's draft"
        events.append(
            Event(
                at=draft.sent_at,
                kind="draft",
                who=conversation.rep.username if conversation.rep else "rep",
                title=title,
                subject="what was sent",
                body=draft.sent_version,
                details=[f"intent {draft.intent}"] if draft.intent else [],
                action_id=draft.action_id,
                erased=draft.erased_at is not None,
            )
        )
    order = {"message": 0, "action": 1, "draft": 2, "signal": 3, "resolution": 4}
    events.sort(key=lambda e: (e.at, order.get(e.kind, 5)))
    return Timeline(conversation, events, actions=len(actions), decided=decided)
