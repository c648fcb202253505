"""The timeline page's "similar conversations": the conversations the viewer may see whose
inbound messages are most like this one's, at most five."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from outcomes import services
from outcomes.tests.factories import OutcomeFactory

ASKED = "Can you send me a quote for 40 seats?"
THEIRS = {
    "q-1": "Could you send a quote for 25 seats please?",
    "q-2": "Send me a quote for 40 seats.",
    "q-3": "Can you send a quote for 40 seats and the security overview?",
    "q-4": "Please can you send me a quote for 45 seats?",
    "q-5": "Can you send me the quote for 40 seats by Friday?",
    "q-6": "Can you send me a quote for 40 seats?",
    "cfo": "Please send the quote, I will share it with our CFO.",  # not similar (0.17)
}


def conversation(external_id, body, rep, n):
    OutcomeFactory(action_id=f"a-{external_id}", conversation_id=external_id, rep=rep)
    services.record_message(
        message_id=f"m-{external_id}",
        conversation_id=external_id,
        channel="email",
        body=body,
        sent_at=timezone.now() - timedelta(minutes=n),
    )


def test_the_five_most_similar_conversations_the_viewer_may_see(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        conversation("asking", ASKED, "alpha-rep", 0)
        for n, (external_id, body) in enumerate(THEIRS.items(), start=1):
            conversation(external_id, body, "alpha-rep", n)
        conversation("managers", ASKED, "alpha-manager", 9)  # a rep may not see it
    alpha.login(client, "rep")
    page = client.get(alpha.url("conversations/asking/")).content.decode()
    assert '<a href="?similar=1#similar-heading">Find conversations that received' in page
    assert "% alike" not in page  # looked for when asked only
    page = client.get(alpha.url("conversations/asking/?similar=1")).content.decode()
    section = page[page.index("Similar conversations") :]
    found = re.findall(
        r'conversations/([^/"]+)/">[^<]+</a> <span class="muted small">(\d+) %', section
    )
    # q-1 (52 %) is the sixth: left out
    assert found == [("q-6", "100"), ("q-2", "77"), ("q-4", "75"), ("q-5", "69"), ("q-3", "56")]
    assert "100 % alike · 1 similar message · rep alpha-rep" in section
    assert "managers" not in section and "cfo" not in section
    alpha.login(client, "executive")
    page = client.get(alpha.url("conversations/asking/?similar=1")).content.decode()
    assert "/t/alpha/conversations/managers/" in page[page.index("Similar conversations") :]
    # nothing alike: said so
    with tenant_context(alpha.tenant):
        conversation("alone", "Our office moves to Lisbon in May.", "alpha-rep", 20)
    alpha.login(client, "rep")
    page = client.get(alpha.url("conversations/alone/?similar=1")).content.decode()
    assert "None found: no other conversation you can see received a message" in page
