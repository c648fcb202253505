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


def test_the_prepared_insert_writes_to_each_tenants_own_tables(alpha, beta) -> None:
    """POST outcomes/'s statement is prepared once per connection (the pool keeps its
    connections, and with them their prepared statements); tenants take turns on that one
    connection, past the five runs after which PostgreSQL may keep a generic plan: it
    plans again whenever the search_path changes, so every action lands in its tenant."""
    from datetime import UTC, datetime

    from django.db import connection

    from outcomes import ingest

    def record(world, i: int) -> None:
        with tenant_context(world.tenant):
            item = ingest.OutcomeInput(
                action_id=f"prep-{world.tenant.slug}-{i}",
                conversation_id=f"prep-conv-{world.tenant.slug}",
                action_type="send_email",
                predicted_confidence=0.5,
                outcome_type="email_engagement",
                occurred_at=datetime(2026, 11, 30, tzinfo=UTC),
            )
            assert ingest.record_outcome(item=item).created

    for i in range(8):
        record(alpha, i)
        record(beta, i)
    for world in (alpha, beta):
        slug = world.tenant.slug
        with tenant_context(world.tenant):
            assert set(
                OutcomeRecord.objects.filter(action_id__startswith="prep-").values_list(
                    "action_id", flat=True
                )
            ) == {f"prep-{slug}-{i}" for i in range(8)}
            assert list(
                Conversation.objects.filter(external_id__startswith="prep-").values_list(
                    "external_id", flat=True
                )
            ) == [f"prep-conv-{slug}"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(generic_plans + custom_plans) FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            ["%AS action_id, $2::text AS conversation_external_id%"],
        )
        assert cursor.fetchone() == (1, 16)  # one statement, run 16 times
