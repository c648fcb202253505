"""What the simulated agent says, and what prospects answer: varied, plausible sales text.

Every choice comes from a generator seeded by the action's id, so the same history says
the same things each time, and adding content changes nothing else of the simulation.
"""

from __future__ import annotations

import random
from typing import Any

PEOPLE = ["Dana Whitfield", "Lee Okafor", "Sam Brandt", "Priya Raman", "Jo Castillo",
          "Mei Tanaka", "Tom Becker", "Ines Duarte", "Ravi Menon", "Claire Dubois"]  # fmt: skip
COMPANIES = ["Northwind Logistics", "Brightline Health", "Kestrel Foods", "Orbital Freight",
             "Hearth & Co", "Vantage Retail", "Tidewater Energy", "Lumen Schools"]  # fmt: skip
REPS = {"alice": "Alice", "bob": "Bob"}
TRIGGERS = {
    "legal_review": "they want our DPA reviewed by their counsel before signing",
    "pricing_negotiation": "they are asking for 25 % off a three-year term",
    "technical_question": "they need to know whether we can sync custom objects from their CRM",
    "low_confidence": "I could not tell from their last message what they want next",
}

EMAILS = {
    "prospecting": [
        (
            "{company} and faster follow-ups",
            "Hi {first},\n\nTeams like {company}'s usually lose a day between a lead arriving "
            "and the first reply. We cut that to minutes for Kestrel-sized sales teams.\n\n"
            "Would a 20-minute look next week be useful?\n\n{rep}",
        ),
        (
            "Quick question, {first}",
            "Hi {first},\n\nWho at {company} owns how inbound leads get routed today? "
            "I'd like to share two ideas that worked for similar teams.\n\nThanks,\n{rep}",
        ),
    ],
    "qualification": [
        (
            "A few questions before we meet",
            "Hi {first},\n\nTo make our call useful:\n\n- How many reps handle inbound today?\n"
            "- Which CRM do you use?\n- Is there a deadline driving this?\n\nBest,\n{rep}",
        ),
        (
            "Who else should join?",
            "Hi {first},\n\nFor Thursday: would it help to bring whoever runs sales ops at "
            "{company}? The routing questions usually land with them.\n\n{rep}",
        ),
    ],
    "discovery": [
        (
            "Notes from our call",
            "Hi {first},\n\nThanks for the time today. What I heard: **response time** and "
            "**visibility for managers** matter most, and the team is on Salesforce.\n\n"
            "I'll send a short proposal by Thursday.\n\n{rep}",
        ),
        (
            "The numbers we discussed",
            "Hi {first},\n\nYou mentioned leads wait about **a day** for a first reply. At "
            "{company}'s volume that is roughly 30 leads a week going cold. Our customers "
            "answer in under 10 minutes.\n\nWorth a demo with your team leads?\n\n{rep}",
        ),
    ],
    "demo": [
        (
            "Recap and recording: {company} demo",
            "Hi {first},\n\nThanks for joining the demo. The recording is linked below, and "
            "I've attached the security overview your IT lead asked for.\n\n"
            "Next step: a trial with 5 seats. Does the week of the 14th work?\n\n{rep}",
        ),
        (
            "Your trial is ready",
            "Hi {first},\n\nThe 5 trial seats for {company} are live. Your team got their "
            "invites this morning; the setup guide takes about 15 minutes.\n\n{rep}",
        ),
    ],
    "proposal": [
        (
            "Proposal for {company}: 40 seats",
            "Hi {first},\n\nAttached is the proposal: 40 seats on the annual plan, CRM sync "
            "included, **$38,400/year**. It is valid for 30 days.\n\n"
            "Happy to walk your finance team through it.\n\n{rep}",
        ),
        (
            "Pricing options",
            "Hi {first},\n\nTwo options for {company}:\n\n1. Annual, 40 seats: $38,400\n"
            "2. Two years, 40 seats: $35,900/year\n\n"
            "Which would you like to take forward?\n\n{rep}",
        ),
    ],
    "negotiation": [
        (
            "Re: contract terms",
            "Hi {first},\n\nWe can accept net-45 payment terms. The discount stays at 8 % on "
            "the annual plan; for a two-year term we can go to 12 %.\n\n{rep}",
        ),
        (
            "Redlines back from our legal team",
            "Hi {first},\n\nOur counsel accepted your changes to sections 4 and 7. On the "
            "liability cap we can offer 12 months of fees.\n\nCan we aim to sign by Friday?"
            "\n\n{rep}",
        ),
    ],
}
FOLLOW_UPS = [
    (
        "Following up",
        "Hi {first},\n\nJust bringing this back to the top of your inbox. Is this still a "
        "priority for {company} this quarter?\n\n{rep}",
    ),
    (
        "A customer story you might like",
        "Hi {first},\n\nKestrel Foods had the same routing problem; they now answer every "
        "inbound lead within 10 minutes. Happy to share how they set it up.\n\n{rep}",
    ),
    (
        "Anything I can help with?",
        "Hi {first},\n\nI know things get busy. If it is easier, reply with a good time and "
        "I'll call you.\n\n{rep}",
    ),
]
CHATS = [
    "Hi {first}! Saw you were looking at our pricing page. Anything I can answer?",
    "Thanks {first}, I'll pass that to {rep} and get back to you today.",
    "{first}, the integration guide is here: docs → CRM → Salesforce. Want a walkthrough?",
    "Good question! Yes, managers get a daily summary of their team's conversations.",
    "Hi {first}, just checking: did the trial invite reach you?",
]
REPLIES = [
    "Thanks {rep_first}, that's helpful. Tuesday 2pm works for us.",
    "Yes please, send the quote over and I'll share it with our CFO.",
    "Sounds good. Can you include the security overview as well?",
    "Thanks! Looping in {colleague}, who runs our sales ops.",
    "Appreciate the quick reply. Let's do the trial with 5 seats.",
    "Got it, thanks. We'll review internally and come back by Friday.",
]


def _names(conversation_id: str) -> tuple[str, str, str]:
    pick = random.Random(conversation_id)
    person = pick.choice(PEOPLE)
    return person, person.split()[0], pick.choice(COMPANIES)


def first_name(conversation_id: str) -> str:
    """The first name of the prospect of a simulated conversation."""
    return _names(conversation_id)[1]


def action_content(
    *, action_id: str, action_type: str, conversation_id: str, rep: str, attributes: dict[str, Any]
) -> dict[str, str]:
    """The `content` of one simulated action."""
    rng = random.Random(action_id)
    person, first, company = _names(conversation_id)
    rep_name = REPS.get(rep, rep.title())
    stage = str(attributes.get("deal_stage", "prospecting"))
    fill = {"first": first, "company": company, "rep": rep_name, "person": person}
    if action_type == "send_email":
        choices = EMAILS.get(stage, EMAILS["prospecting"])
        subject, body = rng.choice(FOLLOW_UPS if rng.random() < 0.35 else choices)
        return {"channel": "email", "subject": subject.format(**fill), "body": body.format(**fill)}
    if action_type == "send_chat":
        return {"channel": "chat", "body": rng.choice(CHATS).format(**fill)}
    if action_type == "schedule_meeting":
        day = rng.choice(["Tuesday", "Wednesday", "Thursday"])
        hour = rng.choice(["10:00", "11:30", "14:00", "15:30"])
        return {
            "channel": "meeting",
            "subject": f"Invitation: {company} x our team, {day} {hour}",
            "body": f"Hi {first},\n\nI've booked 30 minutes on {day} at {hour} for a "
            f"{'demo' if stage in ('discovery', 'demo') else 'working session'}.\n\n"
            "Agenda:\n\n1. Your current process\n2. A live walkthrough\n3. Next steps\n\n"
            f"{rep_name} will join too.",
        }
    if action_type == "escalate":
        trigger = str(attributes.get("escalation_trigger", "low_confidence"))
        return {
            "channel": "handoff",
            "to_role": "rep",
            "subject": f"Over to you: {company}",
            "body": f"{rep_name}, I'm handing {person} ({company}) to you: "
            f"{TRIGGERS.get(trigger, trigger)}. The thread is below; they expect an answer "
            "today.",
        }
    stages = ["qualification", "discovery", "demo", "proposal", "negotiation"]
    to_stage = rng.choice([s for s in stages if s != stage])
    return {
        "channel": "crm",
        "to_role": "rep",
        "subject": f"{company}: moved to {to_stage}",
        "body": f"Moved {company} from {stage} to {to_stage}: {first} confirmed budget and a "
        "decision date this quarter.",
    }


def reply(*, action_id: str, conversation_id: str, rep: str) -> dict[str, str]:
    """A prospect's answer to a simulated action."""
    rng = random.Random(f"reply-{action_id}")
    _, first, _ = _names(conversation_id)
    text = rng.choice(REPLIES).format(
        rep_first=REPS.get(rep, rep.title()), colleague=rng.choice(["Maya", "Tom", "Ines"])
    )
    return {"channel": "email", "body": f"{text}\n\n{first}"}
