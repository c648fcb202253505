"""A simulated sales agent: a realistic history of actions and what followed them.

The agent here is overconfident on emails and underconfident on meetings, replies come
more often from some personas and hours than others, and a share of emails get only an
"opened" (they end up ambiguous, for the labelling queue). Everything is generated from a
seed, with stable ids, so posting the same history twice stores it once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demo import content

REPS = ("alice", "bob")
PERSONAS = ("cfo", "cto", "vp_sales", "ops_manager")
CHANNELS = {
    "send_email": "email",
    "send_chat": "chat",
    "schedule_meeting": "calendar",
    "escalate": "handoff",
    "advance_stage": "crm",
}
ACTIONS = [
    # action type, outcome type, weight
    ("send_email", "email_engagement", 50),
    ("send_chat", "email_engagement", 15),
    ("schedule_meeting", "meeting_outcome", 15),
    ("advance_stage", "deal_progression", 12),
    ("escalate", "escalation_result", 8),
]
STAGES = ("prospecting", "qualification", "discovery", "demo", "proposal", "negotiation")
PERSONA_LIFT = {"cfo": -0.08, "cto": 0.05, "vp_sales": 0.10, "ops_manager": 0.0}
# Why the agent handed a conversation to a person, and how often that hand-off helps.
TRIGGER_LIFT = {
    "legal_review": 0.2,
    "pricing_negotiation": 0.05,
    "technical_question": 0.0,
    "low_confidence": -0.25,
}


@dataclass(frozen=True)
class Step:
    """One API call of the agent: an outcome, or a signal, at a point in time."""

    at: datetime
    kind: str  # "outcome" or "signal"
    body: dict[str, Any]


def true_success(
    action_type: str, confidence: float, persona: str, hour: int, trigger: str = ""
) -> float:
    """How often the action really works, given what the agent believed."""
    if action_type in ("send_email", "send_chat"):
        base = 0.15 + 0.55 * confidence  # overconfident: 0.9 works 65 % of the time
    elif action_type == "schedule_meeting":
        base = 0.35 + 0.6 * confidence  # underconfident
    else:
        base = confidence
    if 9 <= hour <= 11:
        base += 0.07  # mornings reply more
    return min(max(base + PERSONA_LIFT[persona] + TRIGGER_LIFT.get(trigger, 0.0), 0.02), 0.98)


def history(*, now: datetime, days: int, actions: int, seed: int = 7) -> Iterator[Step]:
    rng = random.Random(seed)
    weights = [w for *_, w in ACTIONS]
    conversations = [f"sim-conv-{i:04d}" for i in range(max(actions // 6, 1))]
    stage_of = {c: rng.randrange(len(STAGES) - 2) for c in conversations}
    steps: list[Step] = []
    for n in range(actions):
        action_type, outcome_type, _ = rng.choices(ACTIONS, weights)[0]
        conversation = rng.choice(conversations)
        at = now - timedelta(days=rng.uniform(0, days))
        hour = rng.choice([8, 9, 10, 11, 13, 14, 15, 16, 17])
        at = at.replace(hour=hour, minute=rng.randrange(60))
        if at > now:
            at -= timedelta(days=1)
        persona = rng.choice(PERSONAS)
        confidence = round(min(max(rng.betavariate(5, 2.2), 0.05), 0.99), 2)
        attributes = _attributes(
            action_type, persona, STAGES[stage_of[conversation]], hour, seed=seed, n=n
        )
        action: dict[str, Any] = {
            "action_id": f"sim-{seed}-{n:06d}",  # a new seed: new actions, same conversations
            "conversation_id": conversation,
            "rep": REPS[int(conversation[-4:]) % len(REPS)],
            "action_type": action_type,
            "predicted_confidence": confidence,
            "outcome_type": outcome_type,
            "occurred_at": at.isoformat(),
            "attributes": attributes,
        }
        steps.append(Step(at, "outcome", _with_content(action)))
        trigger = str(attributes.get("escalation_trigger", ""))
        success = rng.random() < true_success(action_type, confidence, persona, hour, trigger)
        signal = _signal_for(rng, outcome_type, success, conversation, stage_of)
        if signal is None:
            continue  # silence: expires when its window closes
        steps += _what_followed(action, signal, at=at, now=now, seed=seed, n=n)
    steps += _drafts(steps, now=now, seed=seed)
    steps += _gaps(conversations, now=now, days=days, seed=seed)
    yield from sorted(steps, key=lambda step: (step.at, step.kind != "outcome"))


def _attributes(
    action_type: str, persona: str, stage: str, hour: int, *, seed: int, n: int
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "channel": CHANNELS[action_type],
        "persona": persona,
        "deal_stage": stage,
        "hour_of_day": hour,
    }
    if action_type == "escalate":  # its own generator: the main sequence stays as it was
        attributes["escalation_trigger"] = random.Random(f"{seed}-{n}").choice(sorted(TRIGGER_LIFT))
    return attributes


def _with_content(action: dict[str, Any]) -> dict[str, Any]:
    """The action's body as posted: with what it said (demo.content)."""
    return {
        **action,
        "content": content.action_content(
            action_id=action["action_id"],
            action_type=action["action_type"],
            conversation_id=action["conversation_id"],
            rep=action["rep"],
            attributes=action["attributes"],
        ),
    }


def _what_followed(
    action: dict[str, Any],
    signal: tuple[str, dict[str, Any], timedelta],
    *,
    at: datetime,
    now: datetime,
    seed: int,
    n: int,
) -> list[Step]:
    """The action's signal, and for a reply what the prospect wrote, if it came by `now`."""
    kind, data, delay = signal
    when = at + delay
    if when >= now:
        return []
    conversation, action_id = action["conversation_id"], action["action_id"]
    steps = []
    if kind == "replied":  # what they wrote, for the thread
        steps.append(
            Step(
                when,
                "message",
                {
                    "message_id": f"sim-msg-{seed}-{n:06d}",
                    "conversation_id": conversation,
                    "in_reply_to": action_id,
                    "sent_at": when.isoformat(),
                    **content.reply(
                        action_id=action_id, conversation_id=conversation, rep=action["rep"]
                    ),
                },
            )
        )
    steps.append(
        Step(
            when,
            "signal",
            {
                "signal_id": f"sim-sig-{seed}-{n:06d}",
                "conversation_id": conversation,
                "action_id": action_id,
                "kind": kind,
                "occurred_at": when.isoformat(),
                "data": data,
            },
        )
    )
    return steps


DRAFTS = {
    "book_demo": "Hi {name}, thanks for your interest! I'd be happy to set up a demo of our "
    "platform at a time that suits you. Would Tuesday or Thursday afternoon work?",
    "pricing_question": "Hi {name}, great question about pricing. Our plans depend on the "
    "number of seats and the integrations you need; I can put together a quote for you.",
    "follow_up": "Hi {name}, just following up on my last note. Did you have a chance to "
    "look at the proposal? Happy to answer any questions.",
}
DRAFT_SUBJECTS = {
    "book_demo": "A demo at a time that suits you",
    "pricing_question": "Your question about pricing",
    "follow_up": "Following up on the proposal",
}
SHORT = {
    "book_demo": "Hi {name}, Tuesday 2pm for a 20-min demo?",
    "pricing_question": "Hi {name}, quote attached: 40 seats, CRM sync included.",
    "follow_up": "{name}, any thoughts on the proposal?",
}


# Messages the agent had no draft for, which reps answered themselves: two recur (batch
# learning should propose them as new intents), the rest are one-offs.
GAPS = {
    "referral": [
        "Hi {name}, great to hear {colleague} referred you! Happy to set up an intro call "
        "with our team this week.",
        "Thanks {name}, any friend of {colleague} is welcome. Shall we book an intro call "
        "this week?",
        "{name}, thanks for reaching out on {colleague}'s referral. Let's book a quick intro "
        "call this week.",
    ],
    "invoice": [
        "Hi {name}, I've passed your invoice question to our billing team; you'll get a "
        "corrected invoice by Friday.",
        "Thanks {name}, our billing team is fixing the invoice and will send the corrected "
        "invoice by Friday.",
    ],
}
ONE_OFFS = [
    "Hi {name}, yes we support SSO with Okta.",
    "{name}, our office is closed on the 24th; back on the 27th.",
    "Sure {name}, I'll call you at 3pm.",
    "Hi {name}, the webinar recording is on our site under Resources.",
]


def _gaps(conversations: list[str], *, now: datetime, days: int, seed: int) -> list[Step]:
    rng = random.Random(seed + 2)
    steps = []
    for n in range(days * 2):
        at = now - timedelta(days=rng.uniform(0, days))
        if rng.random() < 0.75:
            text = rng.choice(GAPS[rng.choice(sorted(GAPS))])
        else:
            text = rng.choice(ONE_OFFS)
        body = {
            "action_id": f"sim-{seed}-gap-{n:05d}",
            "conversation_id": rng.choice(conversations),
            "original_draft": "",
            "sent_version": text.format(
                name=rng.choice(["Dana", "Lee", "Sam", "Priya", "Jo"]),
                colleague=rng.choice(["Maya", "Tom", "Ines"]),
            ),
            "intent": "",
            "sent_at": at.isoformat(),
        }
        steps.append(Step(at, "draft", body))
    return steps


def _drafts(steps: list[Step], *, now: datetime, seed: int) -> list[Step]:
    """The agent's drafts for its emails and chats and what the rep sent: most go out as
    drafted, some with a small fix, some rewritten much shorter (the pattern batch learning
    should find). Drawn from their own random stream, so the actions stay as they were."""
    rng = random.Random(seed + 1)
    drafts = []
    for step in steps:
        body = step.body
        if step.kind != "outcome" or body["action_type"] not in ("send_email", "send_chat"):
            continue
        intent = rng.choice(list(DRAFTS))
        rng.choice(["Dana", "Lee", "Sam", "Priya", "Jo"])  # unused: keeps later draws as before
        name = content.first_name(body["conversation_id"])
        original = DRAFTS[intent].format(name=name)
        # What the agent said is its draft (the rep may then have changed what was sent).
        said = {**body["content"], "body": original}
        if said.get("subject"):
            said["subject"] = DRAFT_SUBJECTS[intent]
        body["content"] = said
        roll = rng.random()
        if roll < 0.6:
            sent = original
        elif roll < 0.8:
            sent = original.replace("Hi ", "Hello ", 1)
        else:
            sent = SHORT[intent].format(name=name)
        drafts.append(
            Step(
                min(step.at + timedelta(minutes=1), now),
                "draft",
                {
                    "action_id": body["action_id"],
                    "conversation_id": body["conversation_id"],
                    "original_draft": original,
                    "sent_version": sent,
                    "intent": intent,
                    "sent_at": min(step.at + timedelta(minutes=1), now).isoformat(),
                },
            )
        )
    return drafts


def _signal_for(
    rng: random.Random,
    outcome_type: str,
    success: bool,
    conversation: str,
    stage_of: dict[str, int],
) -> tuple[str, dict[str, Any], timedelta] | None:
    hours = timedelta(hours=rng.uniform(0.5, 60))
    if outcome_type == "email_engagement":
        if success:
            return rng.choice(["replied", "replied", "clicked"]), {}, hours
        roll = rng.random()
        if roll < 0.15:
            return "bounced", {}, timedelta(minutes=5)
        if roll < 0.3:
            return "opened", {}, hours
        return None
    if outcome_type == "meeting_outcome":
        if success:
            data = {"sentiment": "positive"} if rng.random() < 0.4 else {}
            return "meeting_attended", data, timedelta(days=rng.uniform(1, 6))
        return rng.choice(["meeting_no_show", "meeting_cancelled"]), {}, timedelta(days=2)
    if outcome_type == "escalation_result":
        kind = "escalation_resolved" if success else "escalation_unneeded"
        return kind, {}, hours
    stage = stage_of[conversation]
    if success and stage < len(STAGES) - 1:
        step = 2 if rng.random() < 0.25 and stage < len(STAGES) - 2 else 1
        stage_of[conversation] = stage + step
        return (
            "stage_changed",
            {"from": STAGES[stage], "to": STAGES[stage + step]},
            timedelta(days=rng.uniform(1, 20)),
        )
    if not success and rng.random() < 0.3:
        return "deal_lost", {}, timedelta(days=rng.uniform(2, 25))
    return None
