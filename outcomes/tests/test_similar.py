"""Similar inbound messages across conversations (pg_trgm trigrams, selectors.SIMILAR):
which hand-built messages count as similar, that the GIN index serves the query in every
tenant schema, and that a person finds only conversations they may see."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from outcomes import selectors, services
from outcomes.erasure import erase_conversation
from outcomes.models import Conversation, Message

QUOTE = "Can you send me a quote for 40 seats?"
INBOX = {
    # the same ask, worded differently: similar (0.52, 0.4)
    "c-quote-1": "Could you send a quote for 25 seats please?",
    "c-quote-2": "Send me a quote for 40 seats.",
    # a shared word, another ask: not similar (0.17)
    "c-cfo": "Please send the quote, I will share it with our CFO.",
    # nothing in common (0.07)
    "c-tuesday": "Thanks, Tuesday 2pm works for us.",
    "c-referral": "Maya referred me to you, can we set up an intro call?",
    "c-referral-2": "Tom referred me; could we set up an intro call this week?",
}


def inbox(world, messages=INBOX, rep=None):
    """One conversation per message, an inbound message each, an hour apart."""
    now = timezone.now()
    made = {}
    for n, (external_id, body) in enumerate(messages.items()):
        conversation = Conversation.objects.create(external_id=external_id, rep=rep)
        Message.objects.create(
            conversation=conversation,
            direction="inbound",
            message_id=f"m-{external_id}",
            channel="email",
            body=body,
            sent_at=now - timedelta(hours=len(messages) - n),
        )
        made[external_id] = conversation
    return made


def test_the_same_ask_worded_differently_counts_another_ask_does_not(alpha) -> None:
    with tenant_context(alpha.tenant):
        inbox(alpha)
        found = selectors.similar_inbound(texts=[QUOTE])
        assert [(m.conversation, m.body, m.similarity) for m in found] == [
            ("c-quote-2", "Send me a quote for 40 seats.", 0.771),
            ("c-quote-1", "Could you send a quote for 25 seats please?", 0.52),
        ]  # not "c-cfo" (0.17: "quote" and "send" alone), nor the others
        # the conversation the quote was asked in left out; two asks, each message once
        excluded = selectors.similar_inbound(
            texts=[QUOTE, "Maya referred me, can we set up an intro call?"],
            excluding_conversations=[Conversation.objects.get(external_id="c-quote-2").pk],
        )
        assert [(m.conversation, m.similarity) for m in excluded] == [
            ("c-referral", 0.854),
            ("c-referral-2", 0.632),
            ("c-quote-1", 0.52),
        ]
        assert selectors.similar_inbound(texts=["", "  "]) == []


def test_erased_messages_are_never_found(alpha) -> None:
    with tenant_context(alpha.tenant):
        inbox(alpha)
        erase_conversation(external_id="c-quote-2")
        found = selectors.similar_inbound(texts=[QUOTE])
        assert [m.conversation for m in found] == ["c-quote-1"]


def test_the_trigram_index_serves_the_query_in_each_tenant_schema(alpha, beta) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'pg_trgm'"
        )
        assert cursor.fetchall() == [("public",)]  # once per database, seen from every schema
    for world in (alpha, beta):
        with tenant_context(world.tenant):
            inbox(world)
            with connection.cursor() as cursor:  # a few rows: make the planner show its index
                cursor.execute("SET LOCAL enable_seqscan = off")
            plan = selectors._inbound_like(QUOTE).explain()
            assert "message_inbound_trgm" in plan, plan
            assert len(selectors.similar_inbound(texts=[QUOTE])) == 2


def test_similar_conversations_are_those_the_viewer_may_see(alpha) -> None:
    with tenant_context(alpha.tenant):
        rep, manager = alpha.users["rep"], alpha.users["manager"]
        theirs = inbox(alpha, rep=rep)
        others = inbox(alpha, {f"other-{k}": v for k, v in INBOX.items()}, rep=manager)
        asking = theirs["c-quote-2"]
        Message.objects.create(
            conversation=asking,
            direction="inbound",
            message_id="m-asking-2",
            channel="email",
            body="Maya referred me to you, can we set up an intro call?",
            sent_at=timezone.now(),
        )

        def similar(user):
            return [
                (s.conversation.external_id, s.similarity, s.messages, s.example)
                for s in selectors.similar_conversations(principal=user, conversation=asking)
            ]

        # the rep: their own conversations only, by the closer of its two messages
        assert similar(rep) == [
            ("c-referral", 1.0, 1, INBOX["c-referral"]),
            ("c-referral-2", 0.613, 1, INBOX["c-referral-2"]),
            ("c-quote-1", 0.447, 1, INBOX["c-quote-1"]),  # to "Send me a quote for 40 seats."
        ]
        # the executive: the whole tenant (the manager's conversations too), at most five
        assert [row[:2] for row in similar(alpha.users["executive"])] == [
            ("c-referral", 1.0),
            (others["other-c-quote-2"].external_id, 1.0),
            ("other-c-referral", 1.0),
            ("c-referral-2", 0.613),
            ("other-c-referral-2", 0.613),
        ]


def test_without_pg_trgm_nothing_is_similar_and_pages_say_why(alpha, client, monkeypatch) -> None:
    """The embedded PostgreSQL of `make run` has no pg_trgm: migration 0008 leaves the
    index out there, nothing is found similar, a proposal is left unchecked, and the
    conversation page says what it needs."""
    from coaching import crosscheck

    monkeypatch.setattr(selectors, "trigrams_available", lambda: False)
    with tenant_context(alpha.tenant):
        assert selectors.similar_inbound(texts=["Can you send me a quote for 40 seats?"]) == []
        assert crosscheck.check([]) == ("", [])
        services.record_outcome(
            item=services.OutcomeInput(
                action_id="no-trgm-1",
                conversation_id="no-trgm-c",
                action_type="send_email",
                predicted_confidence=0.5,
                outcome_type="email_engagement",
                occurred_at=timezone.now(),
                rep="alpha-rep",
            )
        )
    alpha.login(client, "rep")
    page = client.get(alpha.url("conversations/no-trgm-c/?similar=1")).content.decode()
    assert "needs PostgreSQL's pg_trgm extension" in page
