"""How many SQL statements the hot paths cost, pinned: a change that adds a query to a
request the agent makes thousands of times an hour shows up here. Counted after a warm-up
request (the tenant's route and the credential are then as in steady traffic); the
savepoints are the test's own transaction nesting."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

OUTCOME = {
    "action_id": "qc-1",
    "conversation_id": "qc-conv",
    "action_type": "send_email",
    "predicted_confidence": 0.5,
    "outcome_type": "email_engagement",
}


@pytest.fixture
def warm(alpha, client):
    """One request first: the tenant's route is remembered, as in steady traffic."""
    client.get(alpha.url("api/v1/me/"), **alpha.bearer("agent"))
    return alpha


def test_post_outcome(warm, client) -> None:
    """A new action is one statement: the conversation upsert and the insert in one CTE,
    whose RETURNING is the answer (no re-read); the agent's key is remembered (one read of
    the tenant's credentials version by primary key, not the key's lookup: revocation at
    once whatever Redis does, learning.selectors). The search_path is the test
    transaction's own (a pooled connection keeps it)."""
    with CaptureQueriesContext(connection) as new:
        assert warm.api_post(client, "outcomes/", OUTCOME, "agent").status_code == 201
    statements = [q["sql"].split()[0].upper() for q in new.captured_queries]
    assert statements == ["SET", "SELECT", "WITH"], new.captured_queries
    assert "learning_credentialsversion" in new.captured_queries[1]["sql"]
    with CaptureQueriesContext(connection) as replay:  # a replay: looked up, not written
        assert warm.api_post(client, "outcomes/", OUTCOME, "agent").status_code == 200
    assert len(replay.captured_queries) == 5
    assert not any("learning_agentkey" in q["sql"] for q in replay.captured_queries)


def test_post_signal(warm, client, django_assert_num_queries) -> None:
    warm.api_post(client, "outcomes/", OUTCOME, "agent")
    signal = {"conversation_id": "qc-conv", "kind": "replied"}
    with django_assert_num_queries(15):  # stored, the outcome resolved and counted
        response = warm.api_post(client, "signals/", signal, "agent")
    assert response.status_code == 201 and len(response.json()["resolved"]) == 1


def test_post_feedback(warm, client, django_assert_num_queries) -> None:
    warm.api_post(client, "outcomes/", OUTCOME, "agent")
    rating = {
        "target_type": "message",
        "target_id": "qc-1",
        "conversation_id": "qc-conv",
        "source": "dashboard",
        "rating": 4,
    }
    # the tenant's rubric read once, to check scores; one update answers the rater's prompts
    with django_assert_num_queries(13):
        assert warm.api_post(client, "feedback/", rating, "executive").status_code == 201


def test_calibrate(warm, client, django_assert_num_queries) -> None:
    body = {"action_type": "send_email", "confidence": 0.5}
    with django_assert_num_queries(5):
        assert warm.api_post(client, "calibrate/", body, "agent").status_code == 200


@pytest.mark.parametrize(
    ("role", "page", "queries"),
    [("rep", "rep/", 10), ("manager", "manager/", 24), ("executive", "executive/", 11)],
)
def test_role_pages(warm, client, django_assert_num_queries, role, page, queries) -> None:
    """With a resolved action (so calibration has bins), one query for the demo
    history banner and one for qualification completion (the team's and each rep's);
    the count does not grow with the number of action types, reps or days."""
    assert (
        warm.api_post(client, "outcomes/", {**OUTCOME, "rep": "alpha-rep"}, "agent").status_code
        == 201
    )
    signal = {"conversation_id": "qc-conv", "kind": "replied"}
    assert warm.api_post(client, "signals/", signal, "agent").json()["resolved"]
    warm.login(client, role)
    with django_assert_num_queries(queries):  # numbers not cached yet: computed
        assert client.get(warm.url(page)).status_code == 200


def test_manager_page_with_queues(warm, client, django_assert_num_queries) -> None:
    """Review queues on the manager page cost three queries, however many there are."""
    from django_tenants.utils import tenant_context

    from feedback.queues import create_queue

    warm.api_post(client, "outcomes/", {**OUTCOME, "rep": "alpha-rep"}, "agent")
    warm.login(client, "manager")
    counts = []
    for n in range(3):
        with tenant_context(warm.tenant):
            create_queue(owner=warm.users["manager"], name=f"Q{n}", reviewers=["alpha-rep"])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(warm.url("manager/"))
        assert response.status_code == 200 and f"Q{n}" in response.content.decode()
        counts.append(len(queries))
    assert counts[1] == counts[2] and counts[0] >= counts[1], counts
