"""What a prompt says: the Slack message (Block Kit) and the email's lines, from the action
it is about. No prospect's words are stored with a prompt; they are read from the action
when it is sent (an erased conversation's prompt says so instead)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from learning.plain_words import action_type_words
from learning.tenancy.urls import absolute_url
from outcomes import selectors as outcome_selectors
from prompts.models import Prompt

# The verdict buttons: (label, rating on the 3-point scale, Slack style)
CHOICES = (("Good", 1, "primary"), ("Neutral", 0, None), ("Bad", -1, "danger"))
LABELS = {rating: label for label, rating, _ in CHOICES}
MAX_QUOTE = 600


def words(action_type: str) -> str:
    return action_type_words(action_type) or "An action"


@dataclass(frozen=True)
class About:
    """What a prompt is about, as people read it."""

    title: str
    agent_said: str
    subject: str
    conversation: str
    confidence: str
    why: str
    review_url: str
    conversation_url: str


def about(prompt: Prompt) -> About:
    outcome = prompt.outcome
    content = outcome_selectors.content_of(outcome)
    said = (content.body if content else "") or ""
    if content is not None and getattr(content, "erased_at", None):
        said = "(The words were erased on request.)"
    if len(said) > MAX_QUOTE:
        said = said[: MAX_QUOTE - 1].rstrip() + "…"
    conversation = outcome.conversation.external_id
    return About(
        title=f"{words(outcome.action_type)}: your verdict?",
        agent_said=said,
        subject=(content.subject if content else "") or "",
        conversation=conversation,
        confidence=f"{outcome.predicted_confidence:.0%}",
        why=prompt.why,
        review_url=absolute_url(
            "feedback-review-action", query=urlencode({"action": outcome.action_id})
        ),
        conversation_url=absolute_url("conversations", query=urlencode({"id": conversation})),
    )


def escape(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally: it escapes only these three."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(prompt: Prompt) -> tuple[str, list[dict[str, Any]]]:
    """The direct message: (fallback text, blocks)."""
    what = about(prompt)
    quoted = (
        "\n".join("> " + line for line in escape(what.agent_said).splitlines()) or "> (no text)"
    )
    subject = f"*Subject:* {escape(what.subject)}\n" if what.subject else ""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": what.title[:150]}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*What the agent said*\n{subject}{quoted}"[:3000]},
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{escape(what.why)} · Conversation "
                    f"<{what.conversation_url}|{escape(what.conversation)[:80]}> · "
                    f"The agent was {what.confidence} sure it would work.",
                }
            ],
        },
        {
            "type": "actions",
            "block_id": f"verdict:{prompt.pk}",
            "elements": [
                *[
                    {
                        "type": "button",
                        "action_id": f"verdict_{rating}",
                        "text": {"type": "plain_text", "text": label},
                        "value": f"prompt:{prompt.pk}:{rating}",
                        **({"style": style} if style else {}),
                    }
                    for label, rating, style in CHOICES
                ],
                {
                    "type": "button",
                    "action_id": "open_review",
                    "text": {"type": "plain_text", "text": "Review in Learning Loop"},
                    "url": what.review_url,
                },
            ],
        },
    ]
    text = f"{what.title} {what.agent_said[:200]}"
    return text, blocks


def slack_answered(prompt: Prompt, *, rating: int, by: str) -> dict[str, Any]:
    """The message once answered: the same, its buttons replaced by what was recorded."""
    _, blocks = slack_message(prompt)
    recorded = f"Recorded: *{LABELS.get(rating, rating)}* by {escape(by)}. Thank you."
    blocks = [b for b in blocks if b["type"] != "actions"]
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": recorded}})
    return {
        "replace_original": True,
        "text": f"Recorded: {LABELS.get(rating, rating)}",
        "blocks": blocks,
    }
