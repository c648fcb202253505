"""Ids as a sales manager reads them: an action type (`advance_stage`) or a channel
(`crm`) in words ("Deal-stage move", "the CRM"). Pages print these; the API and the
exports keep the ids, which programs match on."""

from __future__ import annotations

ACTION_TYPES = {
    "send_email": "Email",
    "email": "Email",
    "email_reply": "Email reply",
    "send_chat": "Chat message",
    "chat": "Chat message",
    "advance_stage": "Deal-stage move",
    "escalate": "Escalation",
    "escalate_to_manager": "Escalation",
    "handoff": "Hand-off to a person",
    "book_meeting": "Meeting booked",
    "book_demo": "Demo booked",
    "schedule_meeting": "Meeting booked",
    "follow_up": "Follow-up",
    "send_pricing": "Pricing sent",
}

CHANNELS = {
    "crm": "the CRM",
    "email": "email",
    "chat": "chat",
    "calendar": "calendar invite",
    "handoff": "hand-off to a person",
    "slack": "Slack",
}


def _as_words(value: str) -> str:
    text = value.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:] if text else value


def action_type_words(value: object) -> str:
    """ "Deal-stage move" for `advance_stage`; an unknown type as words, first letter
    capitalised (`qualify_lead`: "Qualify lead")."""
    text = str(value or "")
    return ACTION_TYPES.get(text) or ACTION_TYPES.get(text.lower()) or _as_words(text)


def outcome_type_words(value: object) -> str:
    """`email_engagement`: "email engagement"."""
    return _as_words(str(value or "")).lower()


def channel_words(value: object) -> str:
    text = str(value or "")
    return CHANNELS.get(text.lower()) or _as_words(text).lower()
