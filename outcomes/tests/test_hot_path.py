"""POST outcomes/ answers from the insert itself (no re-read): the answer is exactly what
a read of the same action gives, with a rep, a conversation's rep, content, or none; a
replay answers the action as stored; an unknown rep changes nothing."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from outcomes.models import Conversation, OutcomeRecord

BASE = {
    "action_type": "send_email",
    "predicted_confidence": 0.7312,
    "outcome_type": "email_engagement",
    "attributes": {"channel": "email", "persona": "cfo", "n": 3, "nested": {"a": [1, 2.5]}},
    "occurred_at": "2026-11-30T10:15:42.123456+01:00",
}


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"rep": "alpha-rep"},
        {
            "content": {
                "channel": "email",
                "subject": "Hi",
                "body": "Shall we meet?",
                "to_role": "prospect",
            }
        },
    ],
    ids=["no rep", "rep", "content"],
)
def test_the_answer_is_what_a_read_gives(alpha, client, extra) -> None:
    body = {**BASE, "action_id": "hp-1", "conversation_id": "hp-conv", **extra}
    created = alpha.api_post(client, "outcomes/", body)
    assert created.status_code == 201
    read = client.get(
        alpha.url(f"api/v1/outcomes/{created.json()['id']}/"), **alpha.bearer("agent")
    )
    assert created.json() == read.json()
    replay = alpha.api_post(client, "outcomes/", body)
    assert replay.status_code == 200 and replay.json() == read.json()


def test_a_conversations_rep_is_in_the_answer(alpha, client) -> None:
    first = {**BASE, "action_id": "hp-a", "conversation_id": "hp-owned", "rep": "alpha-rep"}
    assert alpha.api_post(client, "outcomes/", first).status_code == 201
    second = alpha.api_post(
        client, "outcomes/", {**BASE, "action_id": "hp-b", "conversation_id": "hp-owned"}
    )
    assert second.status_code == 201 and second.json()["rep"] == "alpha-rep"
    read = client.get(alpha.url(f"api/v1/outcomes/{second.json()['id']}/"), **alpha.bearer("agent"))
    assert second.json() == read.json()


def test_an_unknown_rep_is_a_field_error_and_nothing_is_stored(alpha, client) -> None:
    body = {**BASE, "action_id": "hp-x", "conversation_id": "hp-none", "rep": "nobody"}
    response = alpha.api_post(client, "outcomes/", body)
    assert response.status_code == 400 and "rep" in response.json()
    with tenant_context(alpha.tenant):
        assert not OutcomeRecord.objects.filter(action_id="hp-x").exists()
        assert not Conversation.objects.filter(external_id="hp-none").exists()


def test_a_replay_changes_nothing_not_even_the_conversation(alpha, client) -> None:
    body = {**BASE, "action_id": "hp-r", "conversation_id": "hp-conv-r"}
    assert alpha.api_post(client, "outcomes/", body).status_code == 201
    with tenant_context(alpha.tenant):
        before = Conversation.objects.values().get(external_id="hp-conv-r")
    later = {**body, "occurred_at": "2026-12-01T10:00:00+00:00", "rep": "alpha-rep"}
    assert alpha.api_post(client, "outcomes/", later).status_code == 200
    with tenant_context(alpha.tenant):
        assert Conversation.objects.values().get(external_id="hp-conv-r") == before
