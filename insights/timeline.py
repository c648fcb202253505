"""One conversation as it happened: what came in, what the agent did and said (with its
confidence), what followed, how each action was judged (by the signals, by a person's
label, by people's ratings, by how much a rep rewrote the draft), in time order, each
event saying who or what did it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from feedback import selectors as feedback_selectors
from learning.plain_words import action_type_words, channel_words, outcome_type_words
from outcomes import rules
from outcomes import selectors as outcome_selectors


class EventKind(StrEnum):
    """What an event is (the page styles each kind: `event-<kind>`)."""

    MESSAGE = "message"  # what the conversation received
    ACTION = "action"  # what the agent did and said
    DRAFT = "draft"  # what a rep sent of the agent's draft
    SIGNAL = "signal"  # what happened next
    RESOLUTION = "resolution"  # how an action was judged (signals, window check, a label)
    RATING = "rating"  # a person's verdict
    AUTOMATIC = "automatic"  # a draft edit's score


# Events at the same moment read in this order; ratings and automatic scores come last.
_FIRST_AT_THE_SAME_MOMENT = (
    EventKind.MESSAGE,
    EventKind.ACTION,
    EventKind.DRAFT,
    EventKind.SIGNAL,
    EventKind.RESOLUTION,
)
SAME_MOMENT_ORDER = {kind: rank for rank, kind in enumerate(_FIRST_AT_THE_SAME_MOMENT)}

# Feedback's sources and channels (feedback.models.Source and Via, which insights may not
# import): a one-click verdict, a draft edit's automatic score, the links people are sent.
INLINE = "inline"
DRAFT_EDIT = "draft_edit"
LINK_VIAS = ("link", "slack")

VERDICT_WORDS = {
    INLINE: {1: "👍 good", 0: "😐 neutral", -1: "👎 bad"},
}


@dataclass
class Event:
    at: datetime
    kind: EventKind
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
    # the conversations (the viewer may see) that received the most similar messages, when
    # asked for (None: not looked for; the search takes seconds on a big tenant)
    similar: list[outcome_selectors.SimilarConversation] | None = None


def conversation_timeline(
    *, principal: Any, external_id: str, similar: bool = False
) -> Timeline | None:
    """The conversation's timeline, or None when it is not in the principal's scope; with
    `similar`, the conversations most like it too."""
    conversation = outcome_selectors.visible_conversation(
        principal=principal, external_id=external_id
    )
    if conversation is None:
        return None
    actions = outcome_selectors.conversation_actions(conversation=conversation)
    resolved = [action for action in actions if action.resolved_at is not None]
    events = [
        *_message_events(conversation),
        *(_action_event(action) for action in actions),
        *(_resolution_event(action) for action in resolved),
        *_signal_events(conversation),
        *_rating_events(conversation),
        *_draft_events(conversation),
    ]
    events.sort(key=lambda e: (e.at, SAME_MOMENT_ORDER.get(e.kind, len(SAME_MOMENT_ORDER))))
    decided = sum(rules.is_decided(action.status) for action in resolved)
    found = (
        outcome_selectors.similar_conversations(principal=principal, conversation=conversation)
        if similar
        else None
    )
    return Timeline(conversation, events, actions=len(actions), decided=decided, similar=found)


def _message_events(conversation: Any) -> list[Event]:
    return [
        Event(
            at=message.sent_at,
            kind=EventKind.MESSAGE,
            who=message.from_role or "prospect",
            title=f"{message.get_from_role_display() or 'Message'} wrote "
            f"({channel_words(message.channel)})",
            subject=message.subject,
            body=message.body,
            details=[f"answers {message.in_reply_to}"] if message.in_reply_to else [],
            erased=message.erased_at is not None,
        )
        for message in outcome_selectors.inbound_messages(conversation=conversation)
    ]


def _action_event(action: Any) -> Event:
    content = outcome_selectors.content_of(action)
    details = [
        f"confidence {action.predicted_confidence:.2f}",
        outcome_type_words(action.outcome_type),
    ]
    if content is not None and content.to_role:
        details.append(f"to the {content.to_role}")
    return Event(
        at=action.occurred_at,
        kind=EventKind.ACTION,
        who="agent",
        title=action_type_words(action.action_type),
        subject=content.subject if content else "",
        body=content.body if content else "",
        details=details,
        action_id=action.action_id,
        status=action.status,
        erased=content is not None and content.erased_at is not None,
    )


def _resolution_event(action: Any) -> Event:
    """How a resolved action was judged, and by whom: a person, the signals or the sweep."""
    if action.resolved_by is not None:
        by = action.resolved_by.username
    else:
        by = "signals" if action.signal_source == rules.EVENT else "window check"
    verb = "labelled" if action.signal_source == rules.HUMAN_LABEL else "resolved"
    details = [action.resolution_reason] if action.resolution_reason else []
    if action.label_comment:
        details.append(f"“{action.label_comment}”")
    return Event(
        at=action.resolved_at,
        kind=EventKind.RESOLUTION,
        who=by,
        title=f"{action_type_words(action.action_type)} {verb} {action.status}",
        details=details,
        action_id=action.action_id,
        status=action.status,
    )


def _signal_events(conversation: Any) -> list[Event]:
    events = []
    for signal in outcome_selectors.conversation_signals(conversation=conversation):
        data = ", ".join(f"{k}: {v}" for k, v in sorted(signal.data.items())) if signal.data else ""
        about = f"about {signal.action_id}" if signal.action_id else ""
        events.append(
            Event(
                at=signal.occurred_at,
                kind=EventKind.SIGNAL,
                who="signals",
                title=signal.kind.replace("_", " "),
                details=[d for d in (data, about) if d],
                action_id=signal.action_id,
            )
        )
    return events


def _rating_events(conversation: Any) -> list[Event]:
    """People's verdicts, and the automatic scores of draft edits (never a person's)."""
    events = []
    for entry in feedback_selectors.conversation_feedback(conversation_pk=conversation.pk):
        automatic = entry.source == DRAFT_EDIT
        reviewer = entry.reviewer.username if entry.reviewer else "unknown"
        events.append(
            Event(
                at=entry.rated_at,
                kind=EventKind.AUTOMATIC if automatic else EventKind.RATING,
                who="automatic" if automatic else reviewer,
                title=_rating_title(entry, reviewer),
                details=_rating_details(entry),
                action_id=entry.target_id,
            )
        )
    return events


def _rating_title(entry: Any, reviewer: str) -> str:
    if entry.source == DRAFT_EDIT:
        return (
            f"draft edit score {entry.normalized_rating:.2f} "
            "(automatic, from the rewrite: not a person's verdict)"
        )
    if entry.source == INLINE:
        return f"{reviewer} rated {VERDICT_WORDS[INLINE].get(int(entry.rating), entry.rating)}"
    return f"{reviewer} rated {entry.rating:g}/5"


def _rating_details(entry: Any) -> list[str]:
    details = [f"on {entry.target_type} {entry.target_id}"]
    if entry.via in LINK_VIAS:
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
    return details


def _draft_events(conversation: Any) -> list[Event]:
    """What the rep sent of each agent draft: unedited, rewritten, or written from scratch."""
    events = []
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
                kind=EventKind.DRAFT,
                who=conversation.rep.username if conversation.rep else "rep",
                title=title,
                subject="what was sent",
                body=draft.sent_version,
                details=[f"intent {draft.intent}"] if draft.intent else [],
                action_id=draft.action_id,
                erased=draft.erased_at is not None,
            )
        )
    return events
