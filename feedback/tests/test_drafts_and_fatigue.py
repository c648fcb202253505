"""Draft edits as implicit feedback, and fatigue flags on constructed histories."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from rapidfuzz.distance import Levenshtein

from feedback import selectors, services
from feedback.models import DraftFeedback, FeedbackEntry, FeedbackSettings, Source
from feedback.tests.conftest import post_json
from learning.models import User

DRAFT = "Hi Dana, I'd be happy to help you find a time for a demo next week."


@pytest.mark.parametrize(
    "original,sent,distance",
    [
        (DRAFT, DRAFT, 0.0),
        ("", "", 0.0),
        ("", "Hello", 1.0),
        ("Hello", "", 1.0),
        ("kitten", "sitting", 3 / 7),
    ],
)
def test_edit_distance(original, sent, distance) -> None:
    assert services.edit_distance(original, sent) == pytest.approx(distance, abs=1e-12)


def test_drafts_api(convos, client) -> None:
    url = convos.url("api/v1/drafts/")
    same = {
        "action_id": "m-1",
        "conversation_id": "c-rep",
        "original_draft": DRAFT,
        "sent_version": DRAFT,
        "intent": "book_demo",
    }
    response = post_json(client, url, same, **convos.bearer("agent"))
    assert response.status_code == 201
    assert response.json() | {"id": 0} == {
        "id": 0,
        "action_id": "m-1",
        "edit_distance": 0.0,
        "significant": False,
        "approved": True,
    }
    rewritten = "Dana, can we do Tuesday 10am? I'll send an invite."
    edit = {**same, "action_id": "m-2", "sent_version": rewritten}
    data = post_json(client, url, edit, **convos.bearer("agent")).json()
    assert data["edit_distance"] == pytest.approx(Levenshtein.normalized_distance(DRAFT, rewritten))
    assert data["significant"] is True and data["approved"] is False
    # A replay returns what is stored and changes nothing, even with another body.
    replay = post_json(client, url, {**edit, "sent_version": DRAFT}, **convos.bearer("agent"))
    assert replay.status_code == 200 and replay.json()["edit_distance"] == data["edit_distance"]
    sent_at = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
    old = {**edit, "action_id": "m-3", "sent_at": sent_at.isoformat()}
    assert post_json(client, url, old, **convos.bearer("agent")).status_code == 201
    with tenant_context(convos.tenant):  # implicit feedback dated when the draft was sent
        assert FeedbackEntry.objects.get(target_id="m-3").rated_at == sent_at
        DraftFeedback.objects.filter(action_id="m-3").delete()
        FeedbackEntry.objects.filter(target_id="m-3").delete()
    with tenant_context(convos.tenant):
        assert DraftFeedback.objects.count() == 2
        (implicit,) = FeedbackEntry.objects.filter(source=Source.DRAFT_EDIT)
        assert implicit.target_id == "m-2" and implicit.reviewer.username == "alpha-rep"
        assert implicit.normalized_rating == pytest.approx(1 - data["edit_distance"], abs=1e-6)
        assert DraftFeedback.objects.get(action_id="m-1").outcome.action_id == "m-1"
    summary = client.get(convos.url("api/v1/feedback/summary/"), **convos.bearer("manager")).json()
    assert summary["drafts"]["count"] == 2 and summary["drafts"]["approved"] == 1
    assert summary["drafts"]["by_intent"] == [
        {"intent": "book_demo", "count": 2, "approved": 1, "approval_rate": 0.5}
    ]
    # Only the agent posts drafts; bad bodies are field errors.
    assert post_json(client, url, same, **convos.bearer("rep")).status_code == 403
    for bad, field in (
        ({"original_draft": None}, "original_draft"),
        ({"sent_version": "x" * 20_001}, "sent_version"),
        ({"action_id": "has space"}, "action_id"),
    ):
        response = post_json(
            client, url, {**same, "action_id": "m-9", **bad}, **convos.bearer("agent")
        )
        assert response.status_code == 400 and field in response.json()


def test_threshold_is_a_tenant_setting(convos) -> None:
    with tenant_context(convos.tenant):
        FeedbackSettings.objects.create(draft_edit_threshold=0.95)
        recorded = services.record_draft(
            action_id="m-3", conversation_id="c-new", original_draft=DRAFT, sent_version="Sure."
        )
        assert not recorded.draft.significant and not FeedbackEntry.objects.exists()
        assert recorded.draft.conversation.external_id == "c-new"  # created for it


def _history(
    user, *, now, days_ago: list[float], normalized: float = 0.5, source=Source.INLINE
) -> None:
    for i, age in enumerate(days_ago):
        entry = FeedbackEntry.objects.create(
            target_type="message",
            target_id=f"{user.username}-{source}-{i}",
            conversation_id=_conversation_pk(),
            source=source,
            rating=normalized * 2 - 1,
            normalized_rating=normalized,
            reviewer=user,
            reviewer_role=user.role,
            rated_at=now,
        )
        FeedbackEntry.objects.filter(pk=entry.pk).update(rated_at=now - timedelta(days=age))


def _conversation_pk() -> int:
    from outcomes.models import Conversation

    return Conversation.objects.get(external_id="c-rep").pk


def test_fatigue_flags(convos) -> None:
    from learning import services as learning_services

    now = timezone.now()
    with tenant_context(convos.tenant):
        make = learning_services.create_user
        steady = make(username="steady", role="rep", password="x" * 12)[0]
        tired = make(username="tired", role="rep", password="x" * 12)[0]
        cheerful = make(username="cheerful", role="rep", password="x" * 12)[0]
        _history(steady, now=now, days_ago=[1, 2, 3, 8, 9, 10])
        _history(steady, now=now, days_ago=[0.1] * 30, source=Source.DRAFT_EDIT)  # implicit
        _history(tired, now=now, days_ago=[1, 8, 8.5, 9, 10, 11, 12])  # 1 vs 6
        _history(cheerful, now=now, days_ago=[0.5 + i for i in range(20)] * 1, normalized=1.0)
        rows = {
            r.username: r
            for r in selectors.fatigue(
                users=User.objects.filter(username__in=["steady", "tired", "cheerful"]), now=now
            )
        }
    assert not rows["steady"].flagged and rows["steady"].last_7_days == 3
    assert rows["tired"].declining and not rows["tired"].extremes
    assert (rows["tired"].last_7_days, rows["tired"].previous_7_days) == (1, 6)
    assert rows["tired"].reasons == ["1 ratings in the last 7 days, 6 the 7 before"]
    assert rows["cheerful"].extremes and rows["cheerful"].top_share == 1.0
    assert rows["cheerful"].reasons[-1] == "100% of 20 ratings at the top"


def test_fatigue_api_is_for_managers(convos, client) -> None:
    url = convos.url("api/v1/feedback/fatigue/")
    assert client.get(url, **convos.bearer("rep")).status_code == 403
    names = [r["username"] for r in client.get(url, **convos.bearer("manager")).json()["reviewers"]]
    assert names == ["alpha-manager", "alpha-rep"]  # the manager's team, not the outsider


def test_automatic_and_human_verdicts_both_survive(convos, client) -> None:
    """The rep rates a message, then the agent reports its draft was rewritten: both the
    person's verdict and the automatic score are kept, and rating again touches only the
    person's."""
    rate = {"target_type": "message", "target_id": "m-1", "conversation_id": "c-rep"}
    rated = post_json(
        client,
        convos.url("api/v1/feedback/"),
        {**rate, "source": "dashboard", "rating": 5},
        **convos.bearer("rep"),
    )
    assert rated.status_code == 201
    draft = {
        "action_id": "m-1",
        "conversation_id": "c-rep",
        "original_draft": DRAFT,
        "sent_version": "Completely different words were sent instead.",
    }
    url = convos.url("api/v1/drafts/")
    assert post_json(client, url, draft, **convos.bearer("agent")).status_code == 201
    assert post_json(client, url, draft, **convos.bearer("agent")).status_code == 200  # replay
    again = post_json(
        client,
        convos.url("api/v1/feedback/"),
        {**rate, "source": "inline", "rating": -1},
        **convos.bearer("rep"),
    )
    assert again.status_code == 200 and again.json()["revision"] == 2
    with tenant_context(convos.tenant):
        kept = sorted(
            FeedbackEntry.objects.filter(target_id="m-1").values_list("source", "rating", "via")
        )
        automatic = FeedbackEntry.objects.get(target_id="m-1", source=Source.DRAFT_EDIT)
    assert kept == [("draft_edit", automatic.rating, "draft"), ("inline", -1.0, "api")]
    assert automatic.revision == 1 and automatic.rating < 0.8
    # the review page shows the person's own verdict, never the automatic score as theirs
    convos.login(client, "rep")
    position = _position_of(client, convos, "recent", "m-1")
    page = client.get(convos.url(f"feedback/review/recent/{position}/")).content.decode()
    assert "You said: 👎 bad" in page and "not a person's verdict, and not yours" in page


def _position_of(client, world, queue: str, action_id: str) -> int:
    """Where an action is in one of the signed-in person's review queues."""
    for position in range(1, 50):
        page = client.get(world.url(f"feedback/review/{queue}/{position}/")).content.decode()
        if f'name="action_id" value="{action_id}"' in page:
            return position
    raise AssertionError(f"{action_id} is not in {queue}")
