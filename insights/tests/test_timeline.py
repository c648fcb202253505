"""A conversation's timeline page: the thread as it happened, for whoever may see it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback.tests.factories import DraftFactory, FeedbackFactory
from learning.tests.factories import UserFactory
from outcomes import services
from outcomes.tests.factories import OutcomeFactory, SignalFactory


@pytest.fixture
def thread(alpha):
    """alpha-rep's conversation `deal-7`: the prospect asks, the agent answers (content),
    the prospect replies, a manager rates, the rep rewrote a draft."""
    start = timezone.now() - timedelta(hours=5)
    with tenant_context(alpha.tenant):
        services.record_message(
            message_id="in-1",
            conversation_id="deal-7",
            channel="email",
            subject="Pricing?",
            body="How much for **40 seats**?",
            sent_at=start,
        )
        action = OutcomeFactory(action_id="a-1", conversation_id="deal-7", rep="alpha-rep")
        action.occurred_at = start + timedelta(hours=1)  # (the factory's default is noon)
        action.save(update_fields=["occurred_at"])
        services.record_outcomes(
            items=[
                services.OutcomeInput(
                    action_id="a-2",
                    conversation_id="deal-7",
                    rep="alpha-rep",
                    action_type="send_email",
                    predicted_confidence=0.62,
                    outcome_type="email_engagement",
                    occurred_at=start + timedelta(hours=2),
                    content=services.Content(
                        channel="email",
                        subject="Quote for 40 seats",
                        body="Hi Dana,\n\nIt is **$38,400**.<script>alert(1)</script>",
                    ),
                )
            ]
        )
        SignalFactory(
            conversation_id="deal-7", kind="replied", occurred_at=start + timedelta(hours=3)
        )
        FeedbackFactory(
            reviewer=alpha.users["manager"],
            target_id="a-2",
            conversation_id="deal-7",
            rating=5,
            comment="clear and short",
            correction="Hi Dana, $38,400 for 40 seats; shall I send the order form?",
        )
        DraftFactory(
            action_id="a-2",
            conversation_id="deal-7",
            original_draft="Dear Dana, please find enclosed our full pricing sheet for review.",
            sent_version="Hi Dana, it is $38,400 for 40 seats.",
        )
    return alpha


def test_the_timeline_reads_as_the_conversation_happened(thread, client) -> None:
    thread.login(client, "rep")
    page = client.get(thread.url("conversations/deal-7/"))
    assert page.status_code == 200
    html = page.content.decode()
    order = [
        "How much for <strong>40 seats</strong>?",  # what came in, as sent (Markdown)
        "Quote for 40 seats",  # what the agent said
        "It is <strong>$38,400</strong>.",
        "confidence 0.62",
        "replied",  # the signal
        "alpha-manager rated 5/5",
        "clear and short",
        "should have said: “Hi Dana, $38,400 for 40 seats; shall I send the order form?”",
    ]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions), positions
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "automatic, from the rewrite: not a person" in html
    assert "a rep rewrote" in html


@pytest.mark.parametrize(
    ("role", "status"), [("rep", 200), ("manager", 200), ("executive", 200), ("admin", 200)]
)
def test_who_may_read_a_conversation(thread, client, role, status) -> None:
    thread.login(client, role)
    assert client.get(thread.url("conversations/deal-7/")).status_code == status


def test_a_conversation_outside_ones_scope_is_not_found(thread, client) -> None:
    with tenant_context(thread.tenant):
        UserFactory(username="other-rep")
        OutcomeFactory(action_id="o-1", conversation_id="theirs", rep="other-rep")
    thread.login(client, "rep")
    assert client.get(thread.url("conversations/theirs/")).status_code == 404
    thread.login(client, "manager")  # not on alpha-manager's team either
    assert client.get(thread.url("conversations/theirs/")).status_code == 404
    assert client.get(thread.url("conversations/nothing-here/")).status_code == 404


def test_the_page_costs_the_same_for_a_long_thread(thread, client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    thread.login(client, "manager")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(thread.url("conversations/deal-7/")).status_code == 200
        return len(captured.captured_queries)

    queries()  # warm: the route and the session are then as on any later page
    short = queries()
    with tenant_context(thread.tenant):
        for i in range(40):
            OutcomeFactory(action_id=f"more-{i}", conversation_id="deal-7", rep="alpha-rep")
    assert queries() == short <= 12


def test_lists_that_name_a_conversation_link_to_it(thread, client) -> None:
    thread.login(client, "manager")
    target = thread.url("conversations/deal-7/")
    for page in ("admin/outcomes/conversation/", "admin/outcomes/outcomerecord/"):
        assert f'href="{target}"' in client.get(thread.url(page)).content.decode(), page
    review = client.get(thread.url("feedback/review/recent/1/"))
    assert f'href="{target}"' in review.content.decode()
