"""The agent's and the humans' outcome API, over HTTP, with bad input of every kind."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from outcomes import rules
from outcomes.models import Conversation, OutcomeRecord, Signal


def outcome_body(**overrides):
    body = {
        "action_id": "act-1",
        "conversation_id": "conv-1",
        "rep": "alpha-rep",
        "action_type": "send_email",
        "predicted_confidence": 0.7,
        "outcome_type": "email_engagement",
        "attributes": {"channel": "email", "persona": "cfo"},
        "occurred_at": "2026-11-20T10:00:00Z",
    }
    body.update(overrides)
    return body


def test_post_outcome_then_replay_returns_the_stored_record(alpha, client) -> None:
    first = alpha.api_post(client, "outcomes/", outcome_body())
    assert first.status_code == 201
    body = first.json()
    assert (body["status"], body["score"], body["rep"], body["conversation_id"]) == (
        "pending",
        None,
        "alpha-rep",
        "conv-1",
    )
    assert body["window_expires_at"] == "2026-11-27T10:00:00Z"  # email engagement: 7 days
    replay = alpha.api_post(client, "outcomes/", outcome_body(predicted_confidence=0.1))
    assert replay.status_code == 200
    assert replay.json() == body  # unchanged, though the replay said 0.1
    with tenant_context(alpha.tenant):
        assert OutcomeRecord.objects.count() == 1
        assert Conversation.objects.get().rep.username == "alpha-rep"


def test_get_outcome_and_list_with_filters(alpha, client) -> None:
    for i, action_type in enumerate(["send_email", "send_email", "escalate"]):
        alpha.api_post(
            client, "outcomes/", outcome_body(action_id=f"a{i}", action_type=action_type)
        )
    listing = client.get(
        alpha.url("api/v1/outcomes/?action_type=send_email"), **alpha.bearer("agent")
    ).json()
    assert listing["count"] == 2
    one = listing["results"][0]
    detail = client.get(alpha.url(f"api/v1/outcomes/{one['id']}/"), **alpha.bearer("manager"))
    assert detail.json() == one


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"predicted_confidence": 1.5}, "predicted_confidence"),
        ({"predicted_confidence": -0.01}, "predicted_confidence"),
        ({"predicted_confidence": "high"}, "predicted_confidence"),
        ({"predicted_confidence": True}, "predicted_confidence"),
        ({"predicted_confidence": None}, "predicted_confidence"),
        ({"outcome_type": "vibes"}, "outcome_type"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at"),
        ({"action_id": ""}, "action_id"),
        ({"action_id": "x" * 201}, "action_id"),
        ({"action_type": "Send Email!"}, "action_type"),
        ({"attributes": [1, 2]}, "attributes"),
        ({"attributes": {"blob": "x" * 20000}}, "attributes"),
        ({"rep": "nobody"}, "rep"),
        ({"conversation_id": {"a": 1}}, "conversation_id"),
    ],
)
def test_bad_outcomes_get_a_field_message_and_store_nothing(alpha, client, overrides, field):
    response = alpha.api_post(client, "outcomes/", outcome_body(**overrides))
    assert response.status_code == 400
    assert field in response.json()
    with tenant_context(alpha.tenant):
        assert not OutcomeRecord.objects.exists() and not Conversation.objects.exists()


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf"])
def test_non_finite_confidence_is_rejected(alpha, client, value) -> None:
    as_string = alpha.api_post(client, "outcomes/", outcome_body(predicted_confidence=value))
    assert as_string.status_code == 400
    assert "predicted_confidence" in as_string.json()
    raw = json.dumps(outcome_body()).replace("0.7", "NaN")  # a bare NaN token: not JSON
    response = client.post(
        alpha.url("api/v1/outcomes/"),
        data=raw,
        content_type="application/json",
        **alpha.bearer("agent"),
    )
    assert response.status_code == 400


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"text"', "null"])
def test_malformed_bodies_are_4xx(alpha, client, body) -> None:
    response = client.post(
        alpha.url("api/v1/outcomes/"),
        data=body,
        content_type="application/json",
        **alpha.bearer("agent"),
    )
    assert 400 <= response.status_code < 500


def test_bulk_is_all_or_nothing_with_per_item_errors(alpha, client) -> None:
    alpha.api_post(client, "outcomes/", outcome_body(action_id="kept", predicted_confidence=0.9))
    items = [outcome_body(action_id=f"b{i}") for i in range(5)]
    items[3]["predicted_confidence"] = 7
    items.append(outcome_body(action_id="kept", predicted_confidence=0.1))
    response = alpha.api_post(client, "outcomes/bulk/", items)
    assert response.status_code == 400
    assert list(response.json()["items"]) == ["3"], response.json()
    assert "predicted_confidence" in response.json()["items"]["3"]
    with tenant_context(alpha.tenant):
        assert list(OutcomeRecord.objects.values_list("action_id", "predicted_confidence")) == [
            ("kept", 0.9)
        ]


@pytest.mark.parametrize("n", [50, 250], ids=["arrays", "copied to a staging table"])
def test_bulk_is_idempotent_per_item(alpha, client, n) -> None:
    alpha.api_post(client, "outcomes/", outcome_body(action_id="old", predicted_confidence=0.9))
    items = [outcome_body(action_id=f"n{i}", conversation_id=f"c{i % 3}") for i in range(n)]
    items.append(outcome_body(action_id="old", predicted_confidence=0.2))
    response = alpha.api_post(client, "outcomes/bulk/", items)
    assert response.status_code == 200
    assert (response.json()["created"], response.json()["existing"]) == (n, 1)
    again = alpha.api_post(client, "outcomes/bulk/", items).json()
    assert (again["created"], again["existing"]) == (0, n + 1)
    assert [r["id"] for r in again["results"]] == [r["id"] for r in response.json()["results"]]
    with tenant_context(alpha.tenant):
        assert OutcomeRecord.objects.count() == n + 1
        assert OutcomeRecord.objects.get(action_id="n7").attributes == items[7]["attributes"]
        assert OutcomeRecord.objects.get(action_id="old").predicted_confidence == 0.9
        assert Conversation.objects.count() == 4


@pytest.mark.parametrize("copied", [True, False], ids=["copied into the table", "staged"])
def test_bulk_copy_and_staging_store_the_same(alpha, client, monkeypatch, copied) -> None:
    """250 actions (copied straight into the table, or through the staging table when a
    concurrent request stored one of them meanwhile: here the lookup of stored actions is
    made to miss "old", so the copy fails on it and is undone): the same rows either way,
    the conversation's rep applied, its last interaction the latest action's, its first
    action the earliest's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from outcomes import ingest

    alpha.api_post(client, "outcomes/", outcome_body(action_id="old", conversation_id="c0"))
    if not copied:
        monkeypatch.setattr(ingest, "_EXISTING_ACTIONS", ingest._EXISTING_ACTIONS + " AND false")
    items = [
        outcome_body(
            action_id=f"b{i}",
            conversation_id=f"c{i % 3}",
            rep=None,
            occurred_at=f"2026-11-20T10:{i % 60:02d}:00Z",
        )
        for i in range(249)
    ]
    items.insert(100, outcome_body(action_id="old", predicted_confidence=0.2))
    with CaptureQueriesContext(connection) as queries:
        response = alpha.api_post(client, "outcomes/bulk/", items)
    assert response.status_code == 200
    staged = [q for q in queries.captured_queries if "ll_staged_actions" in q["sql"]]
    assert bool(staged) is not copied
    body = response.json()
    assert (body["created"], body["existing"]) == (249, 1)
    assert [r["action_id"] for r in body["results"]] == [i["action_id"] for i in items]
    assert body["results"][100]["created"] is False
    with tenant_context(alpha.tenant):
        stored = {
            o.action_id: o for o in OutcomeRecord.objects.select_related("rep", "conversation")
        }
        assert len(stored) == 250
        assert {r["action_id"]: r["id"] for r in body["results"]} == {
            a: o.pk for a, o in stored.items()
        }
        b7 = stored["b7"]
        assert (b7.conversation.external_id, b7.rep, b7.status) == ("c1", None, "pending")
        assert b7.window_expires_at - b7.occurred_at == rules.RULES["email_engagement"].window
        assert stored["b3"].rep.username == "alpha-rep"  # c0's rep, from "old"
        assert stored["old"].predicted_confidence == 0.7
        last = dict(Conversation.objects.values_list("external_id", "last_interaction_at"))
        assert {k: v.minute for k, v in last.items()} == {"c0": 57, "c1": 58, "c2": 59}
        first = dict(Conversation.objects.values_list("external_id", "first_action_at"))
        assert {k: first[k].minute for k in ("c1", "c2")} == {"c1": 1, "c2": 2}


@pytest.mark.parametrize(
    "body,key",
    [
        ({"not": "a list"}, "non_field_errors"),
        ([], "non_field_errors"),
        ([outcome_body(), outcome_body()], "action_id"),
    ],
)
def test_bulk_bad_shapes(alpha, client, body, key) -> None:
    response = alpha.api_post(client, "outcomes/bulk/", body)
    assert response.status_code == 400
    assert key in json.dumps(response.json())


def test_bulk_over_the_item_limit(alpha, client) -> None:
    response = alpha.api_post(client, "outcomes/bulk/", [{}] * 10_001)
    assert response.status_code == 400


@pytest.mark.parametrize("role", ["rep", "manager", "executive", "admin"])
def test_only_the_agent_records_outcomes_and_signals(alpha, client, role) -> None:
    assert alpha.api_post(client, "outcomes/", outcome_body(), role=role).status_code == 403
    assert alpha.api_post(client, "outcomes/bulk/", [outcome_body()], role=role).status_code == 403
    signal = {"conversation_id": "conv-1", "kind": "replied"}
    assert alpha.api_post(client, "signals/", signal, role=role).status_code == 403


def test_outcomes_are_scoped_by_role_and_tenant(alpha, beta, client) -> None:
    alpha.api_post(client, "outcomes/", outcome_body(action_id="mine", rep="alpha-rep"))
    alpha.api_post(
        client,
        "outcomes/",
        outcome_body(action_id="theirs", rep="alpha-executive", conversation_id="conv-2"),
    )

    def ids(role):
        r = client.get(alpha.url("api/v1/outcomes/"), **alpha.bearer(role))
        return sorted(o["action_id"] for o in r.json()["results"])

    assert ids("rep") == ["mine"]
    assert ids("manager") == ["mine"]  # alpha-rep is in alpha-manager's team
    assert ids("executive") == ["mine", "theirs"]
    assert ids("agent") == ["mine", "theirs"]
    with tenant_context(alpha.tenant):
        theirs = OutcomeRecord.objects.get(action_id="theirs").pk
    assert (
        client.get(alpha.url(f"api/v1/outcomes/{theirs}/"), **alpha.bearer("rep")).status_code
        == 404
    )
    assert (
        client.get(beta.url(f"api/v1/outcomes/{theirs}/"), **beta.bearer("agent")).status_code
        == 404
    )
    assert client.get(beta.url("api/v1/outcomes/"), **beta.bearer("agent")).json()["count"] == 0


def test_signal_resolves_at_once(alpha, client) -> None:
    created = alpha.api_post(client, "outcomes/", outcome_body()).json()
    response = alpha.api_post(
        client,
        "signals/",
        {"conversation_id": "conv-1", "kind": "replied", "occurred_at": "2026-11-20T12:00:00Z"},
    )
    assert response.status_code == 201
    assert response.json()["resolved"] == [
        {"id": created["id"], "status": "positive", "score": 1.0}
    ]
    stored = client.get(
        alpha.url(f"api/v1/outcomes/{created['id']}/"), **alpha.bearer("agent")
    ).json()
    assert (stored["status"], stored["signal_source"]) == ("positive", "event")
    assert stored["resolved_at"] is not None


@pytest.mark.parametrize(
    "body,field",
    [
        ({"conversation_id": "c", "kind": "telepathy"}, "kind"),
        ({"conversation_id": "c", "kind": "stage_changed", "data": {}}, "data.to"),
        ({"conversation_id": "c", "kind": "stage_changed", "data": {"to": "heaven"}}, "data.to"),
        ({"conversation_id": "c", "kind": "replied", "occurred_at": "soon"}, "occurred_at"),
        ({"conversation_id": "c", "kind": "replied", "data": "x"}, "data"),
        ({"kind": "replied"}, "conversation_id"),
    ],
)
def test_bad_signals_are_400_and_store_nothing(alpha, client, body, field) -> None:
    response = alpha.api_post(client, "signals/", body)
    assert response.status_code == 400
    assert field in response.json()
    with tenant_context(alpha.tenant):
        assert not Signal.objects.exists() and not Conversation.objects.exists()


def test_retried_signal_with_an_id_is_stored_once(alpha, client) -> None:
    body = {"conversation_id": "c", "kind": "opened", "signal_id": "sig-1"}
    assert alpha.api_post(client, "signals/", body).status_code == 201
    again = alpha.api_post(client, "signals/", body)
    assert again.status_code == 200 and again.json()["created"] is False
    with tenant_context(alpha.tenant):
        assert Signal.objects.count() == 1


def test_label_permissions(alpha, client) -> None:
    ids = {}
    for rep in ("alpha-rep", "alpha-executive"):
        ids[rep] = alpha.api_post(
            client,
            "outcomes/",
            outcome_body(action_id=f"l-{rep}", rep=rep, conversation_id=f"c-{rep}"),
        ).json()["id"]

    def label(role, outcome_id, **body):
        return alpha.api_post(
            client,
            f"outcomes/{outcome_id}/label/",
            {"status": "negative", **body},
            role=role,
        )

    assert label("agent", ids["alpha-rep"]).status_code == 403
    assert label("rep", ids["alpha-executive"]).status_code == 404  # not theirs
    assert label("manager", ids["alpha-executive"]).status_code == 404  # not their team
    assert label("rep", ids["alpha-rep"], status="maybe").status_code == 400
    ok = label("rep", ids["alpha-rep"], comment="no reply, wrong persona")
    assert ok.status_code == 200
    assert (ok.json()["status"], ok.json()["signal_source"], ok.json()["score"]) == (
        "negative",
        "human_label",
        0.0,
    )
    again = label("manager", ids["alpha-rep"], status="positive")
    assert again.status_code == 409 and "status" in again.json()
    assert (
        label("executive", ids["alpha-executive"], status="positive", score=0.8).json()["score"]
        == 0.8
    )


def test_schema_documents_the_outcome_operations(alpha, client) -> None:
    schema = client.get(alpha.url("api/v1/schema/?format=json")).json()
    for path in [
        "/api/v1/outcomes/",
        "/api/v1/outcomes/bulk/",
        "/api/v1/outcomes/{id}/",
        "/api/v1/outcomes/{id}/label/",
        "/api/v1/signals/",
    ]:
        assert path in schema["paths"], path


def test_schema_serializer_and_validator_describe_the_same_body() -> None:
    from outcomes.api import OutcomeInSerializer
    from outcomes.schemas import OutcomeBody

    assert set(OutcomeInSerializer().fields) == set(OutcomeBody.__struct_fields__)


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"rep": "x\u0000"}, "rep"),
        ({"attributes": {"k": "a\u0000b"}}, "attributes"),
        ({"attributes": {"k": "\ud800"}}, "attributes"),
        ({"occurred_at": "0001-01-01T00:00:00+01:00"}, "occurred_at"),
        ({"action_id": "b5\n"}, "action_id"),
    ],
)
def test_hostile_values_are_400_not_500(alpha, client, overrides, field) -> None:
    response = alpha.api_post(client, "outcomes/", outcome_body(**overrides))
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"conversation_id": "c", "kind": "clicked", "data": {"k": "\u0000"}},
        {"conversation_id": "c", "kind": "clicked", "occurred_at": "0001-01-01T00:00:00+01:00"},
    ],
)
def test_hostile_signals_are_400(alpha, client, body) -> None:
    assert alpha.api_post(client, "signals/", body).status_code == 400


def test_out_of_range_filter_dates_are_not_a_server_error(alpha, client) -> None:
    response = client.get(
        alpha.url("api/v1/outcomes/?occurred_after=0001-01-01T00:00:00%2B01:00"),
        **alpha.bearer("agent"),
    )
    assert response.status_code in (200, 400)
