"""The review flow: one action at a time, with what the agent said and its context, a
progress count, and saving that goes on to the next one."""

from __future__ import annotations

from datetime import timedelta

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


def test_the_days_list_holds_its_positions_while_one_rates(work, client) -> None:
    """The day's allowance counts what the list offers: rating one of them, or anything
    else, does not drop the last one from it."""
    with tenant_context(work.tenant):
        for i in range(3):
            OutcomeFactory(
                action_id=f"esc-{i + 2}",
                rep="alpha-rep",
                action_type="escalate",
                outcome_type="escalation_result",
            )
        FeedbackSettings.objects.create(prompts_per_day=2)

    def listed() -> list[str]:
        return [item_of(page(client, work, f"feedback/review/needs-you/{n}/")) for n in (1, 2)]

    work.login(client, "rep")
    first = listed()
    assert first == ["esc-1", "esc-2"]  # the oldest two: the day's allowance
    assert "0 of 2 rated" in page(client, work, "feedback/review/needs-you/1/")
    client.post(work.url("feedback/review/recent/1/"), {"action_id": "mail-1", "thumb": "1"})
    saved = client.post(
        work.url("feedback/review/needs-you/1/"), {"action_id": "esc-1", "thumb": "1"}
    )
    assert saved["Location"] == work.url("feedback/review/needs-you/2/")
    assert listed() == first  # the same two, at the same places
    assert "1 of 2 rated" in page(client, work, "feedback/review/needs-you/2/")


def test_saving_goes_on_to_the_next_item_not_judged(work, client) -> None:
    work.login(client, "rep")
    recent = [item_of(page(client, work, f"feedback/review/recent/{n}/")) for n in (1, 2, 3, 4)]
    client.post(work.url("feedback/review/recent/2/"), {"action_id": recent[1], "stars": "2"})
    client.post(work.url("feedback/review/recent/4/"), {"action_id": recent[3], "stars": "2"})
    # 1 saved: 2 was judged already, so 3; then from 3, past the judged 4, back to... none
    saved = client.post(
        work.url("feedback/review/recent/1/"), {"action_id": recent[0], "thumb": "1"}
    )
    assert saved["Location"] == work.url("feedback/review/recent/3/")
    last = client.post(
        work.url("feedback/review/recent/3/"), {"action_id": recent[2], "thumb": "1"}, follow=True
    )
    html = last.content.decode()
    assert "You have judged every item of “Recent actions”" in html
    assert "Next: “To label”, 2 to judge" in html and item_of(html) == "amb-0"
    # The flow starts where something is left: the To label queue (esc-1 is rated).
    assert client.get(work.url("feedback/review/"))["Location"] == work.url(
        "feedback/review/to-label/1/"
    )


def test_changing_a_verdict_is_deliberate(work, client) -> None:
    work.login(client, "rep")
    assert item_of(page(client, work, "feedback/review/recent/2/")) == "esc-1"
    client.post(work.url("feedback/review/recent/2/"), {"action_id": "esc-1", "stars": "2"})
    judged = page(client, work, "feedback/review/recent/2/")
    assert "Change my verdict" in judged and 'name="change"' in judged
    assert 'id="bar-good"' not in judged and "Next to judge" in judged
    # A second tap (or a page left open) posts again: nothing changes.
    again = client.post(
        work.url("feedback/review/recent/2/"), {"action_id": "esc-1", "thumb": "1"}, follow=True
    )
    assert "You had judged esc-1 already: nothing changed" in again.content.decode()
    with tenant_context(work.tenant):
        assert FeedbackEntry.objects.get(target_id="esc-1").rating == 2
    client.post(
        work.url("feedback/review/recent/2/"), {"action_id": "esc-1", "thumb": "1", "change": "1"}
    )
    with tenant_context(work.tenant):
        entry = FeedbackEntry.objects.get(target_id="esc-1")
    assert (entry.source, entry.rating, entry.revision) == ("inline", 1, 2)


def test_a_spot_check_hides_what_decided_it_until_answered(work, client) -> None:
    from django.utils import timezone

    from feedback import queues

    with tenant_context(work.tenant):
        OutcomeFactory(action_id="spot-1", conversation_id="c-spot", rep="alpha-rep", days_ago=2)
        outcome_services.record_signal(
            conversation_id="c-spot",
            kind="clicked",
            occurred_at=timezone.now() - timedelta(days=1),
            data={"url": "https://example.com/pricing-page-q4"},
        )
        assert OutcomeRecord.objects.get(action_id="spot-1").status == "positive"
        queue = queues.create_queue(
            owner=work.users["manager"],
            name="Spot",
            reviewers=["alpha-rep"],
            statuses=["positive"],
            spot_check_share=1.0,
        )
    work.login(client, "rep")
    here = f"feedback/review/q{queue.pk}/1/"
    before = page(client, work, here)
    assert item_of(before) == "spot-1" and "stay hidden until you answer" in before
    for revealing in ("pricing-page-q4", "clicked", "status-positive", "Outcome:", "?id=c-spot"):
        assert revealing not in before, revealing
    # the same action in another of my queues stays blind until then too
    recent = next(
        html
        for html in (page(client, work, f"feedback/review/recent/{n}/") for n in range(1, 6))
        if item_of(html) == "spot-1"
    )
    assert "pricing-page-q4" not in recent and "status-positive" not in recent
    client.post(work.url(here), {"action_id": "spot-1", "label": "negative"})
    after = page(client, work, here)
    for revealing in ("pricing-page-q4", "clicked", "status-positive", "Outcome:"):
        assert revealing in after, revealing


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
