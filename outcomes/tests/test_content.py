"""What the agent said and what it answered: an action's `content` and inbound messages,
stored as the conversation's thread."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from outcomes.models import Message, OutcomeRecord

EMAIL = {
    "channel": "email",
    "subject": "Re: pricing for 40 seats",
    "body": "Hi Dana,\n\nThe **annual** plan comes to $38,400. Shall I send the quote?",
    "to_role": "prospect",
}


def outcome(**overrides):
    return {
        "action_id": "a-1",
        "conversation_id": "thread-1",
        "action_type": "send_email",
        "predicted_confidence": 0.7,
        "outcome_type": "email_engagement",
        "content": EMAIL,
        **overrides,
    }


def thread(world):
    with tenant_context(world.tenant):
        return list(
            Message.objects.order_by("sent_at", "id").values_list(
                "direction", "channel", "subject", "body", "outcome__action_id", "message_id"
            )
        )


def test_an_action_carries_its_content(alpha, client) -> None:
    created = alpha.api_post(client, "outcomes/", outcome())
    assert created.status_code == 201 and created.json()["content"] == EMAIL
    replay = alpha.api_post(client, "outcomes/", outcome(content={**EMAIL, "body": "changed"}))
    assert replay.status_code == 200 and replay.json()["content"] == EMAIL  # as stored
    plain = alpha.api_post(client, "outcomes/", outcome(action_id="a-2", content=None))
    assert plain.json()["content"] is None
    assert thread(alpha) == [("agent", "email", EMAIL["subject"], EMAIL["body"], "a-1", None)]
    listed = client.get(alpha.url("api/v1/outcomes/?action_id=a-1"), **alpha.bearer("executive"))
    assert listed.json()["results"][0]["content"]["subject"] == EMAIL["subject"]


def test_bulk_actions_carry_content_all_or_nothing(alpha, client) -> None:
    items = [
        outcome(action_id=f"b-{i}", content={"channel": "chat", "body": f"line {i}"})
        for i in range(3)
    ]
    bad = [*items, outcome(action_id="b-9", content={"channel": "chat", "body": ""})]
    refused = alpha.api_post(client, "outcomes/bulk/", bad)
    assert refused.status_code == 400 and refused.json()["items"]["3"] == {
        "content.body": ["Expected `str` of length >= 1"]
    }
    with tenant_context(alpha.tenant):
        assert not OutcomeRecord.objects.exists() and not Message.objects.exists()
    assert alpha.api_post(client, "outcomes/bulk/", items).json()["created"] == 3
    assert [row[3] for row in thread(alpha)] == ["line 0", "line 1", "line 2"]


@pytest.mark.parametrize(
    "content,field",
    [
        ({"channel": "email"}, "content.body"),
        ({"body": "hi"}, "content.channel"),
        ({"channel": "E mail", "body": "hi"}, "content.channel"),
        ({"channel": "email", "body": "x" * 20_001}, "content.body"),
        ({"channel": "email", "body": "hi", "subject": "s" * 301}, "content.subject"),
        ({"channel": "email", "body": "hi", "to_role": "ceo"}, "content.to_role"),
        ({"channel": "email", "body": "nul\u0000"}, "content.body"),
        ({"channel": "email", "body": "hi", "cc": "x"}, "content"),
        ("an email", "content"),
    ],
)
def test_bad_content_is_a_field_error_and_stores_nothing(alpha, client, content, field) -> None:
    response = alpha.api_post(client, "outcomes/", outcome(content=content))
    assert response.status_code == 400 and list(response.json()) == [field], response.json()
    with tenant_context(alpha.tenant):
        assert not OutcomeRecord.objects.exists() and not Message.objects.exists()


def test_an_inbound_message_joins_the_thread_once(alpha, client) -> None:
    alpha.api_post(client, "outcomes/", outcome())
    reply = {
        "message_id": "in-1",
        "conversation_id": "thread-1",
        "channel": "email",
        "subject": "Re: pricing",
        "body": "Yes please, send it over.",
        "in_reply_to": "a-1",
    }
    first = alpha.api_post(client, "messages/", reply)
    assert first.status_code == 201 and first.json()["created"] is True
    again = alpha.api_post(client, "messages/", {**reply, "body": "changed"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert [row[0] for row in thread(alpha)] == ["agent", "inbound"]
    assert thread(alpha)[1][3] == "Yes please, send it over."


@pytest.mark.parametrize(
    "change,field",
    [
        ({"conversation_id": "another-thread"}, "in_reply_to"),  # a-1 is thread-1's
        ({"body": "x" * 20_001}, "body"),
        ({"body": ""}, "body"),
        ({"from_role": "robot"}, "from_role"),
        ({"message_id": "has space"}, "message_id"),
        ({"sent_at": "1999-12-31T23:00:00Z"}, "sent_at"),
    ],
)
def test_bad_messages_store_nothing(alpha, client, change, field) -> None:
    alpha.api_post(client, "outcomes/", outcome())
    body = {"message_id": "in-1", "conversation_id": "thread-1", "channel": "email"}
    body |= {"body": "ok", "in_reply_to": "a-1", **change}
    response = alpha.api_post(client, "messages/", body)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert [row[0] for row in thread(alpha)] == ["agent"]


def test_only_the_agent_posts_messages(alpha, client) -> None:
    body = {"message_id": "in-1", "conversation_id": "t", "channel": "email", "body": "hi"}
    assert alpha.api_post(client, "messages/", body, role="manager").status_code == 403
