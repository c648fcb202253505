"""POST/GET feedback/, the summary, and who sees what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback.models import FeedbackEntry, FeedbackRevision
from feedback.tests.conftest import post_json

BASE = {
    "target_type": "message",
    "target_id": "m-1",
    "conversation_id": "c-rep",
    "source": "inline",
    "rating": 1,
}


@pytest.mark.parametrize(
    "change,field",
    [
        ({"rating": 2}, "rating"),
        ({"rating": -2}, "rating"),
        ({"source": "dashboard", "rating": 0}, "rating"),
        ({"source": "dashboard", "rating": 6}, "rating"),
        ({"rating": 1.5}, "rating"),
        ({"rating": "good"}, "rating"),
        ({"rating": True}, "rating"),
        ({"source": "draft_edit"}, "source"),
        ({"source": "email"}, "source"),
        ({"target_type": "meeting"}, "target_type"),
        ({"target_id": ""}, "target_id"),
        ({"conversation_id": "c-nope"}, "conversation_id"),
        ({"conversation_id": "c-out"}, "conversation_id"),  # not the rep's: same answer
        ({"outcome_id": 999_999}, "outcome_id"),
        ({"comment": "x" * 4001}, "comment"),
    ],
)
def test_bad_input_is_a_field_error_and_stores_nothing(convos, client, change, field) -> None:
    response = post_json(
        client, convos.url("api/v1/feedback/"), {**BASE, **change}, **convos.bearer("rep")
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    with tenant_context(convos.tenant):
        assert not FeedbackEntry.objects.exists()


@pytest.mark.parametrize(
    "source,rating,normalized",
    [
        ("inline", -1, 0.0),
        ("inline", 0, 0.5),
        ("inline", 1, 1.0),
        ("dashboard", 1, 0.0),
        ("dashboard", 3, 0.5),
        ("dashboard", 5, 1.0),
    ],
)
def test_valid_edges_are_normalised(convos, client, source, rating, normalized) -> None:
    body = {**BASE, "source": source, "rating": rating}
    response = post_json(client, convos.url("api/v1/feedback/"), body, **convos.bearer("rep"))
    assert response.status_code == 201
    assert response.json()["normalized_rating"] == normalized


def test_the_reviewer_is_who_is_signed_in(convos, client) -> None:
    body = {**BASE, "reviewer": "alpha-executive", "reviewer_role": "executive"}
    data = post_json(client, convos.url("api/v1/feedback/"), body, **convos.bearer("rep")).json()
    assert (data["reviewer"], data["reviewer_role"]) == ("alpha-rep", "rep")
    with tenant_context(convos.tenant):
        entry = FeedbackEntry.objects.get()
        assert entry.reviewer == convos.users["rep"] and entry.outcome.action_id == "m-1"
    # The agent is not a reviewer.
    assert (
        post_json(
            client, convos.url("api/v1/feedback/"), BASE, **convos.bearer("agent")
        ).status_code
        == 403
    )


def test_rating_again_updates_and_keeps_history(convos, client) -> None:
    url = convos.url("api/v1/feedback/")
    assert post_json(client, url, BASE, **convos.bearer("rep")).status_code == 201
    assert post_json(client, url, BASE, **convos.bearer("rep")).status_code == 200  # a retry
    changed = {**BASE, "source": "dashboard", "rating": 2, "comment": "too pushy"}
    data = post_json(client, url, changed, **convos.bearer("rep")).json()
    assert (data["revision"], data["rating"], data["normalized_rating"]) == (2, 2.0, 0.25)
    with tenant_context(convos.tenant):
        assert FeedbackEntry.objects.count() == 1
        (old,) = FeedbackRevision.objects.all()
        assert (old.revision, old.source, old.rating) == (1, "inline", 1.0)
    # The manager's verdict on the same message is a separate entry.
    assert post_json(client, url, BASE, **convos.bearer("manager")).status_code == 201


def _rate(
    world, client, role, target_id, conversation, rating, source="inline", target_type="message"
):
    body = {
        "target_type": target_type,
        "target_id": target_id,
        "conversation_id": conversation,
        "source": source,
        "rating": rating,
    }
    response = post_json(client, world.url("api/v1/feedback/"), body, **world.bearer(role))
    assert response.status_code == 201, response.content


def test_scoping_of_list_and_summary(convos, beta, client) -> None:
    _rate(convos, client, "rep", "m-1", "c-rep", 1)
    _rate(convos, client, "manager", "m-1", "c-rep", -1)
    _rate(convos, client, "executive", "m-out", "c-out", 0)  # outside the manager's team

    def seen(role, world=convos):
        body = client.get(world.url("api/v1/feedback/"), **world.bearer(role)).json()
        return sorted((e["target_id"], e["reviewer"]) for e in body["results"])

    mine = [("m-1", "alpha-manager"), ("m-1", "alpha-rep")]
    assert seen("rep") == mine
    assert seen("manager") == mine
    assert seen("executive") == [*mine, ("m-out", "alpha-executive")]
    assert seen("executive", beta) == []
    summary = client.get(convos.url("api/v1/feedback/summary/"), **convos.bearer("manager")).json()
    assert summary["total_feedback_count"] == 2
    filtered = client.get(
        convos.url("api/v1/feedback/?reviewer=alpha-rep"), **convos.bearer("executive")
    ).json()
    assert [e["reviewer"] for e in filtered["results"]] == ["alpha-rep"]


def test_summary_numbers_are_exact(convos, client) -> None:
    _rate(convos, client, "rep", "m-1", "c-rep", 1)  # 1.0
    _rate(convos, client, "rep", "d-1", "c-rep", 4, "dashboard", "decision")  # 0.75
    _rate(convos, client, "rep", "c-rep", "c-rep", 0, target_type="conversation")  # 0.5
    _rate(convos, client, "manager", "m-1", "c-rep", 2, "dashboard")  # 0.25
    with tenant_context(convos.tenant):  # one of them three days ago
        FeedbackEntry.objects.filter(reviewer__username="alpha-manager").update(
            rated_at=timezone.now() - timedelta(days=3)
        )
    body = client.get(
        convos.url("api/v1/feedback/summary/?days=7"), **convos.bearer("executive")
    ).json()
    assert body["total_feedback_count"] == 4
    assert body["explicit"] == {"count": 4, "average_rating": pytest.approx(0.625)}
    assert body["average_rating"] == pytest.approx((1 + 0.75 + 0.5 + 0.25) / 4)
    assert body["rating_distribution"]["inline"] == {"-1": 0, "0": 1, "1": 1}
    assert body["rating_distribution"]["dashboard"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0}
    assert body["by_target_type"]["message"] == {"count": 2, "average_rating": pytest.approx(0.625)}
    assert body["by_target_type"]["conversation"]["count"] == 1
    assert body["by_source"]["dashboard"] == {"count": 2, "average_rating": pytest.approx(0.5)}
    assert body["by_source"]["draft_edit"] == {"count": 0, "average_rating": None}
    assert body["by_reviewer_role"]["manager"] == {"count": 1, "average_rating": 0.25}
    assert body["by_reviewer_role"]["rep"]["count"] == 3
    trend = body["daily_trend"]
    assert len(trend) == 7 and trend[-1]["date"] == timezone.localdate().isoformat()
    assert (trend[-1]["count"], trend[-4]["count"], sum(d["count"] for d in trend)) == (3, 1, 4)
    assert trend[-4]["average_rating"] == 0.25 and trend[0]["average_rating"] is None
    for bad in ("0", "366", "abc", "-1"):
        response = client.get(
            convos.url(f"api/v1/feedback/summary/?days={bad}"), **convos.bearer("executive")
        )
        assert response.status_code == 400 and "days" in response.json()
