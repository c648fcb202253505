"""The review flow: one action at a time, with what the agent said and its context, a
progress count, and saving that goes on to the next one."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from feedback.models import FeedbackEntry, FeedbackSettings
from outcomes import services as outcome_services
from outcomes.models import OutcomeRecord
from outcomes.tests.factories import OutcomeFactory

EMAIL = outcome_services.Content(
    channel="email", subject="Quote for 40 seats", body="Hi Dana,\n\nIt is **$38,400**."
)


@pytest.fixture
def work(alpha):
    """alpha-rep's: two ambiguous emails (one with content), an escalation, and a
    pending email; another rep's email (outside a rep's scope)."""
    with tenant_context(alpha.tenant):
        for i, days in enumerate((3, 2)):
            OutcomeFactory(
                action_id=f"amb-{i}",
                conversation_id="c-1",
                rep="alpha-rep",
                days_ago=days,
                status="ambiguous",
                content=EMAIL if i == 0 else None,
            )
        OutcomeFactory(
            action_id="esc-1",
            conversation_id="c-1",
            rep="alpha-rep",
            action_type="escalate",
            outcome_type="escalation_result",
        )
        OutcomeFactory(action_id="mail-1", conversation_id="c-1", rep="alpha-rep")
        OutcomeFactory(action_id="theirs", conversation_id="c-9", rep=None)
    return alpha


def page(client, world, path: str) -> str:
    response = client.get(world.url(path))
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def item_of(html: str) -> str:
    start = html.index('name="action_id" value="') + len('name="action_id" value="')
    return html[start : html.index('"', start)]


def test_review_opens_the_first_queue_with_work(work, client) -> None:
    work.login(client, "rep")
    response = client.get(work.url("feedback/review/"))
    assert response["Location"] == work.url("feedback/review/needs-you/1/")
    html = page(client, work, "feedback/review/needs-you/1/")
    assert item_of(html) == "esc-1" and "An escalation the agent made" in html
    assert "<strong>1 of 1</strong>" in html and "Keys:" in html


def test_a_labelled_item_resolves_and_the_next_takes_its_place(work, client) -> None:
    work.login(client, "rep")
    html = page(client, work, "feedback/review/to-label/1/")
    assert item_of(html) == "amb-0" and "2 waiting" in html
    assert "Quote for 40 seats" in html and "<strong>$38,400</strong>" in html  # what it said
    assert "Did it work?" in html
    saved = client.post(
        work.url("feedback/review/to-label/1/"),
        {"action_id": "amb-0", "label": "positive", "stars": "4", "comment": "good price"},
    )
    assert saved["Location"] == work.url("feedback/review/to-label/1/")  # amb-1 moved up
    assert item_of(page(client, work, "feedback/review/to-label/1/")) == "amb-1"
    with tenant_context(work.tenant):
        outcome = OutcomeRecord.objects.get(action_id="amb-0")
        entry = FeedbackEntry.objects.get(target_id="amb-0")
    assert (outcome.status, outcome.signal_source, outcome.label_comment) == (
        "positive",
        "human_label",
        "good price",
    )
    assert (entry.rating, entry.via, entry.comment) == (4.0, "review_page", "good price")


def test_saving_goes_on_and_positions_hold(work, client) -> None:
    work.login(client, "rep")
    first = item_of(page(client, work, "feedback/review/recent/1/"))
    saved = client.post(
        work.url("feedback/review/recent/1/"),
        {"action_id": first, "thumb": "-1", "correction": "Hi Dana, a shorter note."},
    )
    assert saved["Location"] == work.url("feedback/review/recent/2/")
    again = page(client, work, "feedback/review/recent/1/")
    assert item_of(again) == first and "You said: 👎 bad" in again and "1 rated" in again
    with tenant_context(work.tenant):
        assert FeedbackEntry.objects.get(target_id=first).correction == "Hi Dana, a shorter note."


def test_a_rep_sees_and_labels_only_their_own(work, client) -> None:
    work.login(client, "rep")
    items = {item_of(page(client, work, f"feedback/review/recent/{n}/")) for n in range(1, 5)}
    assert "theirs" not in items
    refused = client.post(
        work.url("feedback/review/recent/1/"), {"action_id": "theirs", "stars": "1"}, follow=True
    )
    assert "no longer in this queue" in refused.content.decode()
    work.login(client, "executive")
    everything = page(client, work, "feedback/review/recent/1/")
    assert "of 5 rated" in everything


def test_fatigued_reviewers_get_fewer_prompts(work, client) -> None:
    with tenant_context(work.tenant):
        for i in range(3):
            OutcomeFactory(
                action_id=f"esc-{i + 2}",
                rep="alpha-rep",
                action_type="escalate",
                outcome_type="escalation_result",
            )
        FeedbackSettings.objects.create(prompts_per_day=2)
    work.login(client, "rep")
    assert "0 of 2 rated" in page(client, work, "feedback/review/needs-you/1/")
    client.post(work.url("feedback/review/recent/1/"), {"action_id": "mail-1", "thumb": "1"})
    # one rating given today: one prompt left (and nothing rated among the prompts yet)
    assert "0 of 1 rated" in page(client, work, "feedback/review/needs-you/1/")


@pytest.mark.parametrize(
    "form,message",
    [
        ({"stars": "9"}, "stars"),
        ({}, "Choose a rating or a label first."),
        ({"correction": "Say it shorter."}, "A correction goes with a rating"),
        ({"stars": "4", "comment": "x" * 4001}, "comment"),
        ({"stars": "4", "comment": "nul\x00"}, "comment"),
        ({"stars": "4", "action_id": "a" * 201}, "action id"),
        ({"stars": "4", "action_id": "mail-1\n<b>"}, "action id"),
        ({"label": "maybe"}, "label"),
    ],
)
def test_bad_input_is_a_message_and_stores_nothing(work, client, form, message) -> None:
    work.login(client, "rep")
    response = client.post(
        work.url("feedback/review/to-label/1/"), {"action_id": "amb-0", **form}, follow=True
    )
    assert response.status_code == 200 and message in response.content.decode()
    with tenant_context(work.tenant):
        assert not FeedbackEntry.objects.exists()
        assert OutcomeRecord.objects.get(action_id="amb-0").status == "ambiguous"


def test_a_label_on_an_item_that_needs_none_is_ignored(work, client) -> None:
    work.login(client, "rep")
    client.post(
        work.url("feedback/review/recent/1/"),
        {"action_id": "mail-1", "label": "negative", "stars": "2"},
    )
    with tenant_context(work.tenant):
        assert OutcomeRecord.objects.get(action_id="mail-1").status == "pending"


def test_unknown_queues_and_positions(work, client) -> None:
    work.login(client, "rep")
    assert client.get(work.url("feedback/review/nothing/1/")).status_code == 404
    far = client.get(work.url("feedback/review/recent/99/"))
    assert far["Location"] == work.url("feedback/review/recent/4/")  # the last one
