"""Exports: each table as CSV and JSON Lines, scoped to the person, filtered, streamed in
chunks, each action's row with the policy version in force when it was taken; bad filters
refused with the field; the same from the admin."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django_tenants.utils import tenant_context

from calibration.models import PolicyVersion
from feedback import queues
from feedback.models import QueueItem
from feedback.review import record_review
from feedback.tests.factories import FeedbackFactory
from insights import exports
from learning.tests.factories import UserFactory
from outcomes import services as outcome_services
from outcomes.models import OutcomeRecord
from outcomes.tests.factories import OutcomeFactory, today_noon

FORMULA = '=HYPERLINK("http://evil.example", "click")'


@pytest.fixture
def data(alpha):
    """alpha-manager's team (alpha-rep) and another team's rep; outcomes with content, a
    policy version that began five days ago, feedback with rubric-free ratings, a spot
    check queue with a judgement and a label given outside any queue."""
    with tenant_context(alpha.tenant):
        UserFactory(username="other-manager", role="manager")
        UserFactory(username="other-rep", manager="other-manager")
        for i, days in enumerate((10, 3)):
            OutcomeFactory(
                action_id=f"mine-{i}",
                conversation_id="c-mine",
                rep="alpha-rep",
                days_ago=days,
                status="positive",
                attributes={"segment": "smb"},
            )
        OutcomeFactory(action_id="theirs", conversation_id="c-theirs", rep="other-rep")
        OutcomeFactory(
            action_id="amb", conversation_id="c-mine", rep="alpha-rep", status="ambiguous"
        )
        PolicyVersion.objects.create(
            action_type="send_email",
            version=1,
            confidence_scale=0.9,
            escalation_threshold=0.7,
            valid_from=today_noon() - timedelta(days=5),
            cause="adjustment",
        )
        FeedbackFactory(
            reviewer=alpha.users["manager"],
            target_id="mine-1",
            conversation_id="c-mine",
            rating=2,
            comment=FORMULA,
            correction="Hi, shorter.",
        )
        queue = queues.create_queue(
            owner=alpha.users["manager"],
            name="Spot check",
            reviewers=["alpha-rep"],
            spot_check_share=0.5,
            rng=random.Random(1),
        )
        item = QueueItem.objects.select_related("outcome__conversation").get(
            queue=queue, outcome__action_id="amb"
        )
        record_review(
            reviewer=alpha.users["rep"],
            outcome=item.outcome,
            source=None,
            rating=None,
            label="negative",
            queue_item=item,
        )
        alpha.queue_id = queue.pk
    return alpha


def chunks(response) -> list[bytes]:
    """The body as the server reads it, chunk by chunk: the test client is a WSGI
    handler, so the synchronous producer itself (an ASGI server gets the asynchronous
    iterator: test_the_body_is_the_iterator_the_interface_streams)."""
    assert not response.is_async
    return list(response.streaming_content)


def export(client, world, path, role="manager", **headers):
    response = client.get(world.url(f"api/v1/exports/{path}"), **world.bearer(role), **headers)
    if response.status_code != 200:
        return response, None
    return response, b"".join(chunks(response)).decode()


def table(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_outcomes_csv_is_the_teams_actions_with_their_policy_version(data, client) -> None:
    response, text = export(client, data, "outcomes.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="outcomes-alpha-')
    assert text.splitlines()[0] == ",".join(exports.OUTCOMES.columns)
    rows = {r["action_id"]: r for r in table(text)}
    assert set(rows) == {"mine-0", "mine-1", "amb"}  # not the other team's
    assert (rows["mine-0"]["policy_version"], rows["mine-1"]["policy_version"]) == ("0", "1")
    assert json.loads(rows["mine-0"]["attributes"]) == {"segment": "smb"}
    assert rows["mine-0"]["occurred_at"].endswith("Z") and rows["mine-0"]["rep"] == "alpha-rep"
    _, everything = export(client, data, "outcomes.csv", role="executive")
    assert len(table(everything)) == 4


def test_jsonl_has_the_same_rows_as_objects(data, client) -> None:
    response, text = export(client, data, "feedback.jsonl")
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    (row,) = [json.loads(line) for line in text.splitlines()]
    assert list(row) == list(exports.FEEDBACK.columns)
    assert (row["action_id"], row["rating"], row["normalized_rating"]) == ("mine-1", 2.0, 0.25)
    assert row["comment"] == FORMULA  # as stored
    assert row["policy_version"] == 1 and row["scores"] == {}
    _, text = export(client, data, "feedback.csv")
    (cell,) = table(text)
    assert cell["comment"] == "'" + FORMULA  # a spreadsheet shows it, never runs it


def test_labels_carry_the_inclusion_probability_and_weight(data, client) -> None:
    with tenant_context(data.tenant):
        OutcomeFactory(action_id="direct", rep="alpha-rep", status="ambiguous")
        outcome_services.label_outcome(
            outcome_id=OutcomeRecord.objects.get(action_id="direct").pk,
            status="positive",
            user=data.users["rep"],
        )
    _, text = export(client, data, "labels.csv")
    rows = {r["action_id"]: r for r in table(text)}
    queued = rows["amb"]
    assert (queued["source"], queued["queue"], queued["reviewer"], queued["label"]) == (
        "queue",
        "Spot check",
        "alpha-rep",
        "negative",
    )
    assert (queued["reason"], queued["inclusion_probability"], queued["weight"]) == (
        "ambiguous",
        "1",
        "1",
    )
    assert (rows["direct"]["source"], rows["direct"]["label"], rows["direct"]["weight"]) == (
        "label",
        "positive",
        "",
    )
    _, only_queue = export(client, data, f"labels.csv?queue={data.queue_id}")
    assert [r["action_id"] for r in table(only_queue)] == ["amb"]


def test_spot_check_weights_are_the_inverse_probability(data, client) -> None:
    with tenant_context(data.tenant):
        item = QueueItem.objects.filter(reason="spot_check").select_related("outcome__conversation")
        first = item.first()
        if first is None:
            pytest.skip("the seeded draw took no decided action")
        record_review(
            reviewer=data.users["rep"],
            outcome=first.outcome,
            source=None,
            rating=None,
            label="positive",
            queue_item=first,
        )
    _, text = export(client, data, "labels.jsonl")
    spot = [json.loads(line) for line in text.splitlines() if '"spot_check"' in line]
    assert spot and all(r["inclusion_probability"] == 0.5 and r["weight"] == 2.0 for r in spot)


def test_calibration_rows_are_the_curves(data, client) -> None:
    _, text = export(client, data, "calibration.csv?action_type=send_email")
    rows = table(text)
    assert [r["bin"] for r in rows] == [str(i) for i in range(10)]
    assert rows[0]["lower"] == "0.0" and rows[-1]["upper"] == "1.0"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("outcomes.csv?status=won", "status"),
        ("outcomes.csv?occured_after=2026-01-01", "occured_after"),  # misspelt: refused
        ("outcomes.csv?occurred_after=yesterday", "occurred_after"),
        ("feedback.jsonl?source=carrier-pigeon", "source"),
        ("labels.csv?queue=0", "queue"),
        ("labels.csv?labelled_after=soon", "labelled_after"),
        ("calibration.csv?action_type=not%20a%20type", "action_type"),
        ("calibration.jsonl?action_type=", "action_type"),  # empty: refused, not ignored
        ("labels.csv?reviewer=", "reviewer"),
        ("outcomes.csv?status=", "status"),
    ],
)
def test_bad_filters_are_refused_with_the_field(data, client, path, field) -> None:
    response, _ = export(client, data, path, HTTP_ACCEPT="text/csv")
    assert response.status_code == 400 and field in response.json(), response.content


def test_unknown_format_and_who_may_export(data, client, beta) -> None:
    assert export(client, data, "outcomes.xml")[0].status_code == 404
    for role in ("rep", "agent"):
        assert export(client, data, "outcomes.csv", role=role)[0].status_code == 403
    stranger = client.get(data.url("api/v1/exports/outcomes.csv"), **beta.bearer("executive"))
    assert stranger.status_code == 401


def test_the_export_is_sent_in_chunks(data, client, monkeypatch) -> None:
    monkeypatch.setattr(exports, "FLUSH_BYTES", 200)
    response = client.get(data.url("api/v1/exports/outcomes.csv"), **data.bearer("executive"))
    parts = chunks(response)
    assert len(parts) >= 3 and all(len(c) < 2000 for c in parts[:-1])
    assert len(table(b"".join(parts).decode())) == 4


def test_the_admin_exports_the_same_rows(data, client) -> None:
    data.login(client, "manager")
    response = client.post(
        data.url("admin/outcomes/outcomerecord/"),
        {"action": "export_csv", "select_across": "1", "_selected_action": ["0"], "index": "0"},
    )
    assert response.status_code == 200 and response.streaming
    from_admin = table(b"".join(chunks(response)).decode())
    _, from_api = export(client, data, "outcomes.csv")
    assert from_admin == table(from_api)


def test_nothing_to_export_is_a_header_alone(data, client) -> None:
    _, text = export(client, data, "outcomes.csv?rep=nobody")
    assert text == ",".join(exports.OUTCOMES.columns) + "\n"
    _, text = export(client, data, "outcomes.jsonl?rep=nobody")
    assert text == ""
    with tenant_context(data.tenant):
        nothing = exports.outcome_rows(OutcomeRecord.objects.none())
        assert b"".join(exports.encode(exports.OUTCOMES, nothing, "csv")).count(b"\n") == 1


def test_the_body_is_the_iterator_the_interface_streams(alpha) -> None:
    """Given the other kind, Django would read the whole export into memory first."""
    from django.test import AsyncRequestFactory, RequestFactory

    from insights.streaming import streaming_response

    def produce():
        yield b"a"

    for factory, under_asgi in ((RequestFactory(), False), (AsyncRequestFactory(), True)):
        request = factory.get("/")
        response = streaming_response(
            produce(), request=request, tenant=alpha.tenant, content_type="text/csv", filename="x"
        )
        assert response.is_async is under_asgi
        if under_asgi:

            async def collect(body=response.streaming_content):
                return [chunk async for chunk in body]

            assert async_to_sync(collect)() == [b"a"]
        else:
            assert list(response.streaming_content) == [b"a"]
