"""A proposal checked against similar inbound messages across all conversations: its
confidence, the similar messages kept as evidence, and their erasure."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from coaching import batch
from feedback import services as feedback_services
from outcomes import erasure
from outcomes import services as outcomes_services

REFERRED = "Maya referred me to you, can we set up an intro call?"
ELSEWHERE = {
    # similar to what the proposal's replies answered (trigram similarity >= 0.4)
    "x-tom": "Tom referred me; could we set up an intro call this week?",
    "x-ines": "Ines referred us to you. Can we set up an intro call?",
    "x-maya": "Maya referred me, can we set up a call?",
    # not similar: another ask, or a shared word only
    "x-quote": "Can you send me a quote for 40 seats?",
    "x-call": "Can we move our call to Friday?",
}
REPLIES = [
    "Hi Dana, great to hear Maya referred you! Happy to set up an intro call this week.",
    "Thanks Lee, any friend of Maya is welcome. Shall we book an intro call this week?",
    "Sam, thanks for reaching out on Maya's referral. Let's book a quick intro call this week.",
]


def received(conversation, body, *, hours_ago, n):
    outcomes_services.record_message(
        message_id=f"m-{conversation}-{n}",
        conversation_id=conversation,
        channel="email",
        body=body,
        sent_at=timezone.now() - timedelta(hours=hours_ago),
    )


def referral_week(elsewhere):
    """Three conversations that received REFERRED and got a reply the agent had no draft
    for (a new-intent finding), and `elsewhere`, other conversations' inbound messages."""
    for n, (conversation, body) in enumerate(elsewhere.items()):
        received(conversation, body, hours_ago=5, n=n)
    for n, reply in enumerate(REPLIES):
        received(f"g-{n}", REFERRED, hours_ago=3, n=n)
        received(f"g-{n}", "Sorry, wrong thread.", hours_ago=1, n=n + 10)  # after the reply
        feedback_services.record_draft(
            action_id=f"gap-{n}",
            conversation_id=f"g-{n}",
            original_draft="",
            sent_version=reply,
            sent_at=timezone.now() - timedelta(hours=2),
        )
    (proposal,) = batch.run().proposals
    return proposal


def test_three_similar_messages_elsewhere_make_a_proposal_high(alpha) -> None:
    with tenant_context(alpha.tenant):
        proposal = referral_week(ELSEWHERE)
        assert proposal.kind == "new_intent" and proposal.confidence == "high"
        similar = proposal.evidence["similar_messages"]
        # what the replies answered (REFERRED, not the later "wrong thread"), found in the
        # other conversations only, most similar first
        assert [(m["conversation"], m["text"], m["similarity"]) for m in similar] == [
            ("x-ines", ELSEWHERE["x-ines"], 0.774),
            ("x-maya", ELSEWHERE["x-maya"], 0.694),
            ("x-tom", ELSEWHERE["x-tom"], 0.613),
        ]
        assert proposal.get_confidence_display() == (
            "High: 3 or more similar messages came in other conversations"
        )


def test_one_or_two_similar_messages_make_it_medium(alpha) -> None:
    with tenant_context(alpha.tenant):
        some = {k: v for k, v in ELSEWHERE.items() if k in ("x-tom", "x-quote", "x-call")}
        proposal = referral_week(some)
        assert proposal.confidence == "medium"
        assert [m["conversation"] for m in proposal.evidence["similar_messages"]] == ["x-tom"]


def test_no_similar_message_elsewhere_makes_it_low(alpha) -> None:
    with tenant_context(alpha.tenant):
        proposal = referral_week({"x-quote": ELSEWHERE["x-quote"]})
        assert proposal.confidence == "low" and proposal.evidence["similar_messages"] == []


def test_erased_similar_messages_leave_the_evidence(alpha) -> None:
    with tenant_context(alpha.tenant):
        proposal = referral_week(ELSEWHERE)
        erasure.erase_conversation(external_id="x-ines")
        proposal.refresh_from_db()
        similar = proposal.evidence["similar_messages"]
        assert [(m["conversation"], m["text"], m.get("erased", False)) for m in similar] == [
            ("x-ines", "", True),
            ("x-maya", ELSEWHERE["x-maya"], False),
            ("x-tom", ELSEWHERE["x-tom"], False),
        ]
        assert proposal.confidence == "high" and proposal.status == "pending"
        # the retention erases what was written before its cutoff, here all of it
        kept = erasure.settings_row()
        kept.retention_days = 30
        kept.save()
        erasure.expire_content(now=timezone.now() + timedelta(days=31))
        proposal.refresh_from_db()
        assert all(m["text"] == "" and m["erased"] for m in proposal.evidence["similar_messages"])


def test_the_proposal_page_says_its_confidence_and_shows_the_similar_messages(
    alpha, client
) -> None:
    with tenant_context(alpha.tenant):
        proposal = referral_week(ELSEWHERE)
        erasure.erase_conversation(external_id="x-tom")
    alpha.login(client, "manager")
    page = client.get(alpha.url(f"learning/proposals/{proposal.pk}/")).content.decode()
    assert "Confidence: high" in page
    assert "High: 3 or more similar messages came in other conversations" in page
    assert ELSEWHERE["x-ines"] in page and "conversation x-ines, 77 % alike" in page
    assert ELSEWHERE["x-tom"] not in page and "conversation x-tom, 61 % alike" in page
    assert "similar_messages" not in page
    learning = client.get(alpha.url("learning/")).content.decode()
    assert "3 seen, confidence high" in learning
