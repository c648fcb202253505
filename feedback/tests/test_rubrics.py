"""Rubrics: a tenant's rating dimensions per target type, checked per dimension when
feedback comes in, each mapped onto [0, 1], averaged in the summary, rated in the review
flow, and defined by admins only."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from feedback.models import FeedbackEntry, FeedbackRevision, RubricDimension
from outcomes.tests.factories import OutcomeFactory


@pytest.fixture
def rubric(alpha):
    with tenant_context(alpha.tenant):
        RubricDimension.objects.create(
            target_type="message", key="tone", label="Tone", kind="numeric", minimum=1, maximum=5
        )
        RubricDimension.objects.create(
            target_type="message",
            key="accuracy",
            label="Accuracy",
            kind="categorical",
            options=["wrong", "partly", "right"],
            position=1,
        )
        RubricDimension.objects.create(
            target_type="message",
            key="next_step",
            label="Next step right?",
            kind="boolean",
            position=2,
        )
        RubricDimension.objects.create(
            target_type="message", key="old", label="Old", kind="boolean", active=False
        )
        RubricDimension.objects.create(
            target_type="conversation",
            key="handover",
            label="Handover",
            kind="boolean",
            required=True,
        )
        OutcomeFactory(action_id="m-1", conversation_id="c-1", rep="alpha-rep")
        OutcomeFactory(action_id="m-2", conversation_id="c-1", rep="alpha-rep")
    return alpha


def rate(client, world, role="manager", **body):
    payload = {
        "target_type": "message",
        "target_id": "m-1",
        "conversation_id": "c-1",
        "source": "dashboard",
        "rating": 4,
        **body,
    }
    return client.post(
        world.url("api/v1/feedback/"),
        json.dumps(payload),
        content_type="application/json",
        **world.bearer(role),
    )


def test_scores_are_stored_as_given_and_on_zero_to_one(rubric, client) -> None:
    response = rate(client, rubric, scores={"tone": 4, "accuracy": "partly", "next_step": True})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["scores"] == {"tone": 4, "accuracy": "partly", "next_step": True}
    assert body["normalized_scores"] == {"tone": 0.75, "accuracy": 0.5, "next_step": 1.0}
    # the very same again is a retry; a changed score is a new revision, the old one kept
    assert rate(client, rubric, scores=body["scores"]).status_code == 200
    changed = rate(client, rubric, scores={"tone": 2, "accuracy": "right"})
    assert changed.json()["revision"] == 2
    with tenant_context(rubric.tenant):
        (old,) = FeedbackRevision.objects.all()
    assert old.scores == {"tone": 4, "accuracy": "partly", "next_step": True}


def test_the_rubric_is_listed_for_clients(rubric, client) -> None:
    listed = client.get(rubric.url("api/v1/feedback/rubric/"), **rubric.bearer("agent")).json()
    assert [(d["target_type"], d["key"]) for d in listed] == [
        ("conversation", "handover"),
        ("message", "tone"),
        ("message", "accuracy"),
        ("message", "next_step"),
    ]
    assert listed[2]["options"] == ["wrong", "partly", "right"]


@pytest.mark.parametrize(
    ("scores", "field", "words"),
    [
        ({"empathy": 3}, "scores.empathy", "No rubric dimension 'empathy' for messages"),
        ({"old": True}, "scores.old", "No rubric dimension 'old'"),  # retired
        ({"tone": 6}, "scores.tone", "Tone is from 1 to 5."),
        ({"tone": 0}, "scores.tone", "Tone is from 1 to 5."),
        ({"tone": 3.5}, "scores.tone", "whole number"),
        ({"tone": True}, "scores.tone", "a number"),
        ({"tone": "4"}, "scores.tone", "a number"),
        ({"accuracy": "mostly"}, "scores.accuracy", "one of: wrong, partly, right"),
        ({"accuracy": 1}, "scores.accuracy", "one of"),
        ({"next_step": 1}, "scores.next_step", "true or false"),
        ([1, 2], "scores", "Expected a dictionary"),
        ("tone", "scores", "Expected a dictionary"),
    ],
)
def test_bad_scores_are_refused_with_the_field_and_nothing_stored(
    rubric, client, scores, field, words
) -> None:
    rate(client, rubric, target_id="m-2", scores={"tone": 3})
    response = rate(client, rubric, target_id="m-2", scores=scores)
    assert response.status_code == 400
    errors = response.json()
    assert field in errors and words in str(errors[field]), errors
    assert rate(client, rubric, target_id="m-1", scores=scores).status_code == 400
    with tenant_context(rubric.tenant):
        (entry,) = FeedbackEntry.objects.all()  # m-2's first verdict only, unchanged
    assert (entry.target_id, entry.scores, entry.revision) == ("m-2", {"tone": 3}, 1)


def test_a_required_dimension_must_be_rated(rubric, client) -> None:
    body = {"target_type": "conversation", "target_id": "c-1"}
    missing = rate(client, rubric, **body)
    assert missing.status_code == 400 and "required" in str(missing.json()["scores.handover"])
    assert rate(client, rubric, **body, scores={"handover": False}).status_code == 201


def test_summary_averages_each_dimension(rubric, client) -> None:
    rate(client, rubric, role="manager", scores={"tone": 5, "next_step": True})
    rate(client, rubric, role="executive", scores={"tone": 2, "accuracy": "wrong"})
    rate(client, rubric, role="rep", scores={"accuracy": "right", "next_step": False})
    summary = client.get(
        rubric.url("api/v1/feedback/summary/"), **rubric.bearer("executive")
    ).json()
    rows = {r["key"]: r for r in summary["rubric"]}
    assert (rows["tone"]["count"], rows["tone"]["average"]) == (2, pytest.approx(0.625))
    assert rows["tone"]["in_words"] == "3.5 of 5"
    assert (rows["accuracy"]["count"], rows["accuracy"]["average"]) == (2, pytest.approx(0.5))
    assert rows["next_step"]["in_words"] == "50% yes"
    assert (rows["handover"]["count"], rows["handover"]["average"]) == (0, None)
    assert "old" not in rows  # retired and never scored


def test_the_review_flow_rates_the_rubric(rubric, client) -> None:
    rubric.login(client, "rep")
    page = client.get(rubric.url("feedback/review/recent/1/")).content.decode()
    assert "Next step right?" in page and 'name="score_accuracy" value="partly"' in page
    action = page.split('name="action_id" value="')[1].split('"')[0]
    bad = client.post(
        rubric.url("feedback/review/recent/1/"),
        {"action_id": action, "stars": "3", "score_tone": "9"},
        follow=True,
    )
    assert "Tone is from 1 to 5." in bad.content.decode()
    with tenant_context(rubric.tenant):
        assert not FeedbackEntry.objects.exists()
    client.post(
        rubric.url("feedback/review/recent/1/"),
        {"action_id": action, "stars": "3", "score_tone": "4", "score_next_step": "no"},
    )
    with tenant_context(rubric.tenant):
        entry = FeedbackEntry.objects.get(target_id=action)
    assert entry.scores == {"tone": 4, "next_step": False}
    again = client.get(rubric.url("feedback/review/recent/1/")).content.decode()
    assert 'name="score_tone" value="4" checked' in again


def test_only_admins_define_the_rubric(rubric, client) -> None:
    path = "admin/feedback/rubricdimension/add/"
    rubric.login(client, "manager")
    assert client.get(rubric.url("admin/feedback/rubricdimension/")).status_code == 200
    assert client.get(rubric.url(path)).status_code == 403
    rubric.login(client, "admin")
    assert client.get(rubric.url(path)).status_code == 200
    with tenant_context(rubric.tenant), pytest.raises(ValidationError) as refused:
        RubricDimension(
            target_type="message", key="x", label="X", kind="categorical", options=["only"]
        ).full_clean()
    assert "options" in refused.value.message_dict
