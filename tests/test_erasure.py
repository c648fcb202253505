"""Erasing what a conversation said (on request, by contact, past the retention): no table,
export, page, cached dashboard or log line holds the words afterwards, while outcomes,
calibration, ratings and counts are exactly as before; idempotent; the agent and admins
only; recorded in the audit log without the words."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from calibration import selectors as calibration_selectors
from config.schedules import SCHEDULES
from feedback import selectors as feedback_selectors
from feedback import services as feedback_services
from feedback.models import DraftFeedback, FeedbackEntry, FeedbackRevision
from learning.tenancy.cache import tenant_key
from outcomes import erasure, services
from outcomes.models import (
    ContentSettings,
    Conversation,
    ErasureRecord,
    Message,
    OutcomeRecord,
    Signal,
)
from outcomes.tasks import expire_content
from outcomes.tests.factories import OutcomeFactory

NAME = "Dana Whitfield"
ADDRESS = "dana.whitfield@example.com"
PHONE = "+1 415 555 0199"
SECRET = f"Hi, this is {NAME} ({ADDRESS}, {PHONE}), call me about the 40 seats."
# Fragments no stored text may hold afterwards (case-insensitive).
TRACES = ("whitfield", "415 555", "call me about")
KEPT = "Priya from Northwind, priya@example.org: keep this"


def content(body: str, subject: str = "") -> services.Content:
    return services.Content(channel="email", subject=subject, body=body)


def tenant_texts(world) -> str:
    """Every row of every table of the tenant's schema, as text (lower case)."""
    with tenant_context(world.tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        dumped = []
        for table in tables:
            cursor.execute(
                f"SELECT coalesce(string_agg(row_to_json(t)::text, '\n'), '') FROM \"{table}\" t"  # noqa: S608
            )
            dumped.append(cursor.fetchone()[0])
    return "\n".join(dumped).lower()


def holds_secret(text: str) -> bool:
    text = text.lower()
    return any(trace in text for trace in TRACES)


@pytest.fixture
def told(alpha):
    """alpha-rep's conversation `conv-erase`, whose prospect's words are everywhere: the
    agent's content, an inbound message, a draft, a signal's data, a labeller's comment,
    a flag note, a manager's comment and correction (and the earlier one in its history);
    and `conv-keep`, another conversation, with words of its own."""
    manager = alpha.users["manager"]
    with tenant_context(alpha.tenant):
        OutcomeFactory(
            action_id="act-1",
            conversation_id="conv-erase",
            rep="alpha-rep",
            content=content(SECRET, subject=f"Quote for {NAME}"),
        )
        OutcomeFactory(
            action_id="act-2",
            conversation_id="conv-erase",
            rep="alpha-rep",
            predicted_confidence=0.4,
            status="ambiguous",
            content=content(f"Following up, {NAME}"),
        )
        OutcomeFactory(
            action_id="keep-1",
            conversation_id="conv-keep",
            rep="alpha-rep",
            status="positive",
            content=content(KEPT),
        )
        services.record_message(
            message_id="in-1",
            conversation_id="conv-erase",
            channel="email",
            body=SECRET,
            subject=f"Re: Quote for {NAME}",
            sent_at=timezone.now(),
            in_reply_to="act-1",
        )
        services.record_signal(
            conversation_id="conv-erase",
            action_id="act-1",
            kind="replied",
            occurred_at=timezone.now(),
            data={"note": SECRET, "sentiment": "positive"},
        )
        feedback_services.record_draft(
            action_id="act-1",
            conversation_id="conv-erase",
            original_draft=f"Dear {NAME}, here is the quote.",
            sent_version=SECRET,
            intent="quote",
        )
        services.label_outcome(
            outcome_id=OutcomeRecord.objects.get(action_id="act-2").pk,
            status="negative",
            user=manager,
            comment=f"{NAME} said no on the phone",
        )
        services.flag_conversations(
            ids=[Conversation.objects.get(external_id="conv-erase").pk],
            user=manager,
            flagged=True,
            note=f"coach on {ADDRESS}",
        )
        for comment in (f"{NAME} sounded keen", f"{NAME} wants a call"):
            feedback_services.record_feedback(
                reviewer=manager,
                target_type="message",
                target_id="act-1",
                conversation_id="conv-erase",
                source="dashboard",
                rating=4,
                comment=comment,
                correction=f"Hello {NAME}, ...",
            )
    return alpha


def figures(world) -> dict[str, object]:
    """What erasing must not change."""
    with tenant_context(world.tenant):
        since = timezone.now() - timedelta(days=30)
        return {
            "outcomes": sorted(
                OutcomeRecord.objects.values_list("action_id", "status", "score", "signal_source")
            ),
            "bins": [
                getattr(calibration_selectors.bin_sums(action_type="send_email"), name).tolist()
                for name in ("n", "sum_y", "sum_p", "sum_p2", "sum_py")
            ],
            "ratings": sorted(
                FeedbackEntry.objects.values_list(
                    "target_id", "source", "rating", "normalized_rating", "revision"
                )
            ),
            "history": sorted(FeedbackRevision.objects.values_list("rating", "revision")),
            "drafts": sorted(
                DraftFeedback.objects.values_list("action_id", "edit_distance", "significant")
            ),
            "approval": feedback_selectors.approval(since=since),
            "weekly": feedback_selectors.weekly_drafts(start=since, end=timezone.now()),
            "messages": Message.objects.count(),
            "signals": sorted(Signal.objects.values_list("kind", "action_id")),
        }


def erase(client, world, conversation_id: str, role: str = "agent"):
    return client.post(
        world.url(f"api/v1/conversations/{conversation_id}/erase/"), **world.bearer(role)
    )


def seen(client, world) -> str:
    """What a manager reads: the exports, the conversation page, the review flow."""
    world.login(client, "manager")
    parts = []
    for path in (
        "api/v1/exports/outcomes.jsonl",
        "api/v1/exports/outcomes.csv",
        "api/v1/exports/feedback.jsonl",
        "api/v1/exports/labels.csv",
    ):
        response = client.get(world.url(path))
        assert response.status_code == 200, (path, response.status_code)
        parts.append(b"".join(response.streaming_content).decode())
    for path in ("conversations/conv-erase/", "conversations/conv-keep/"):
        response = client.get(world.url(path))
        assert response.status_code == 200, path
        parts.append(response.content.decode())
    for position in (1, 2, 3):
        response = client.get(world.url(f"feedback/review/recent/{position}/"))
        if response.status_code == 200:
            parts.append(response.content.decode())
    return "\n".join(parts)


def cached_analytics() -> bytes:
    raw = cache._cache.get_client(write=False)  # type: ignore[attr-defined]
    keys = raw.keys(f"{settings.REDIS_PREFIX}:cache:*analytics:*")
    return b"\n".join(raw.get(key) or b"" for key in keys)


def test_erasing_a_conversation_leaves_no_word_and_every_figure(
    told, client, caplog, django_capture_on_commit_callbacks
) -> None:
    caplog.set_level(logging.DEBUG)
    before = figures(told)
    assert holds_secret(tenant_texts(told))  # the setup put the words everywhere
    assert holds_secret(seen(client, told))
    client.get(told.url("manager/"))  # dashboards cached
    with tenant_context(told.tenant):
        version = cache.get(tenant_key("analytics", "version"))

    # (the callbacks run when the block ends, after the request: in the tenant, as at
    # the commit of a real request)
    with tenant_context(told.tenant), django_capture_on_commit_callbacks(execute=True) as done:
        response = erase(client, told, "conv-erase")
        connection.set_tenant(told.tenant)
    assert done  # the dashboards' version bump
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["erased"] is True and body["conversation_ids"] == ["conv-erase"]
    assert body["removed"] == {
        "messages": 3,
        "label_comments": 1,
        "flag_notes": 1,
        "signal_data": 1,
        "drafts": 1,
        "feedback_comments": 1,
        "feedback_history": 1,
        "proposals": 0,
    }

    stored = tenant_texts(told)
    assert not holds_secret(stored), [t for t in TRACES if t in stored]
    assert KEPT.lower() in stored  # the other conversation is untouched
    shown = seen(client, told)
    assert not holds_secret(shown)
    assert "was erased on request on" in shown and "Words removed" in shown  # and says so
    assert "keep this" in shown
    assert not holds_secret(cached_analytics().decode(errors="replace"))
    assert figures(told) == before  # outcomes, bins, ratings, approval, counts

    with tenant_context(told.tenant):
        conversation = Conversation.objects.get(external_id="conv-erase")
        assert conversation.content_erased_at is not None
        assert conversation.flagged_at is not None  # still flagged, without its note
        assert set(
            Message.objects.filter(conversation=conversation).values_list("erased_at", flat=True)
        ) != {None}
        assert Signal.objects.get(action_id="act-1").data == {"sentiment": "positive"}
        record = ErasureRecord.objects.get()
        assert (record.kind, record.by, record.conversation_ids) == (
            "conversation",
            "agent:alpha-agent",
            ["conv-erase"],
        )
        assert record.removed == body["removed"]
        assert cache.get(tenant_key("analytics", "version")) != version

    # Again: nothing changes, nothing is recorded, and the answer says so.
    again = erase(client, told, "conv-erase")
    assert again.status_code == 200
    assert again.json()["erased"] is False and not any(again.json()["removed"].values())
    assert "Already erased" in again.json()["detail"]
    with tenant_context(told.tenant):
        assert ErasureRecord.objects.count() == 1

    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert "content_erased" in logged and not holds_secret(logged)


@pytest.mark.parametrize("role", ["rep", "manager", "executive"])
def test_only_the_agent_and_admins_erase(told, client, role) -> None:
    assert erase(client, told, "conv-erase", role=role).status_code == 403
    with tenant_context(told.tenant):
        assert not ErasureRecord.objects.exists()
        assert Message.objects.filter(body=SECRET).count() == 2


def test_an_admin_erases_and_another_tenant_cannot(told, beta, client) -> None:
    assert erase(client, beta, "conv-erase").status_code == 404  # beta has no such conversation
    assert erase(client, told, "no-such").status_code == 404
    with tenant_context(told.tenant):
        assert Message.objects.filter(body=SECRET).count() == 2
    response = erase(client, told, "conv-erase", role="admin")
    assert response.status_code == 200 and response.json()["erased"] is True
    with tenant_context(told.tenant):
        assert ErasureRecord.objects.get().by == "alpha-admin"


def test_the_admin_action_and_the_command(told, client) -> None:
    from django.core.management import call_command

    told.login(client, "manager")
    changelist = told.url("admin/outcomes/conversation/")
    assert "erase_content" not in client.get(changelist).content.decode()  # admins only
    with tenant_context(told.tenant):
        pk = Conversation.objects.get(external_id="conv-erase").pk
    told.login(client, "admin")
    assert "erase_content" in client.get(changelist).content.decode()
    client.post(changelist, {"action": "erase_content", "_selected_action": [pk]})
    with tenant_context(told.tenant):
        assert not Message.objects.filter(body=SECRET).exists()
        assert ErasureRecord.objects.get().by == "alpha-admin"

    import io

    out = io.StringIO()
    call_command("erase_conversation", "alpha", "conv-erase", "--json", stdout=out)
    assert json.loads(out.getvalue())["erased"] is False  # already erased
    out = io.StringIO()
    call_command("erase_conversation", "alpha", "conv-keep", "--json", stdout=out)
    assert json.loads(out.getvalue())["erased"] is True
    with tenant_context(told.tenant):
        assert ErasureRecord.objects.filter(by="ops (manage.py)").count() == 1


def test_retention_removes_old_texts_daily_and_records_it(told, client) -> None:
    with tenant_context(told.tenant):
        assert expire_content() == {"retention": "forever", "removed": {}}  # the default
        old = timezone.now() - timedelta(days=40)
        OutcomeFactory(
            action_id="old-1",
            conversation_id="conv-old",
            rep="alpha-rep",
            occurred_at=old,
            content=content(SECRET),
        )
        services.record_message(
            message_id="old-in",
            conversation_id="conv-old",
            channel="email",
            body=SECRET,
            sent_at=old,
        )
        feedback_services.record_draft(
            action_id="old-1",
            conversation_id="conv-old",
            original_draft=SECRET,
            sent_version=SECRET,
            sent_at=old,
        )
        before = figures(told)
        ContentSettings.objects.create(retention_days=30)
        result = expire_content()
        assert result["removed"]["messages"] == 2 and result["removed"]["drafts"] == 1
        assert not Message.objects.filter(
            conversation__external_id="conv-old", body=SECRET
        ).exists()
        # the recent conversation keeps its words
        assert (
            Message.objects.filter(conversation__external_id="conv-erase", body=SECRET).count() == 2
        )
        assert figures(told) == before
        record = ErasureRecord.objects.get()
        assert record.kind == "retention" and record.older_than is not None
        assert record.conversation_ids == [] and not holds_secret(json.dumps(record.removed))
        assert not any(expire_content()["removed"].values())  # a second run: nothing
        assert ErasureRecord.objects.count() == 1


def test_the_retention_schedule_is_declared() -> None:
    from config.celery import app

    schedule = next(s for s in SCHEDULES if s.task == "outcomes.expire_content")
    assert schedule.crontab == {"minute": "40", "hour": "3"} and schedule.why
    assert "outcomes.expire_content" in app.tasks


def test_erasing_a_contact(told, client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with tenant_context(told.tenant):
        services.record_message(
            message_id="other-in",
            conversation_id="conv-other",
            channel="chat",
            body=f"my address is {ADDRESS.upper()}",
            sent_at=timezone.now(),
        )
    response = client.post(
        told.url("api/v1/contacts/erase/"),
        data=json.dumps({"email": ADDRESS}),
        content_type="application/json",
        **told.bearer("agent"),
    )
    assert response.status_code == 200, response.content
    assert sorted(response.json()["conversation_ids"]) == ["conv-erase", "conv-other"]
    assert not holds_secret(tenant_texts(told)) and ADDRESS not in tenant_texts(told)
    assert KEPT.lower() in tenant_texts(told)
    with tenant_context(told.tenant):
        record = ErasureRecord.objects.get()
        assert record.kind == "contact" and ADDRESS not in json.dumps(
            [record.by, record.conversation_ids, record.removed]
        )
    bad = client.post(
        told.url("api/v1/contacts/erase/"),
        data=json.dumps({"email": "not an address"}),
        content_type="application/json",
        **told.bearer("agent"),
    )
    assert bad.status_code == 400 and "email" in bad.json()
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert "content_erased" in logged and ADDRESS not in logged.lower()


def test_masking_at_ingest(alpha, client) -> None:
    text = f"Reach me at {ADDRESS} or {PHONE}; quote of $38,400 sent 2026-11-01, ref 12345."
    with tenant_context(alpha.tenant):
        assert erasure.masked(text) == (
            "Reach me at [email] or [phone]; quote of $38,400 sent 2026-11-01, ref 12345."
        )
        services.record_message(
            message_id="m-0",
            conversation_id="c",
            channel="email",
            body=text,
            sent_at=timezone.now(),
        )
        assert Message.objects.get(message_id="m-0").body == text  # off by default
        ContentSettings.objects.create(mask_contact_details=True)
        services.record_message(
            message_id="m-1",
            conversation_id="c",
            channel="email",
            body=text,
            sent_at=timezone.now(),
        )
        OutcomeFactory(action_id="a-1", conversation_id="c", content=content(text, subject=ADDRESS))
        feedback_services.record_draft(
            action_id="a-1", conversation_id="c", original_draft=text, sent_version=text
        )
        assert Message.objects.get(message_id="m-1").body == erasure.masked(text)
        agent = Message.objects.get(outcome__action_id="a-1")
        assert (agent.subject, agent.body) == ("[email]", erasure.masked(text))
        draft = DraftFeedback.objects.get(action_id="a-1")
        assert draft.original_draft == draft.sent_version == erasure.masked(text)
        assert draft.edit_distance == 0


def test_the_settings_and_the_audit_log_in_the_tenant_admin(told, client) -> None:
    told.login(client, "admin")
    assert client.get(told.url("admin/outcomes/contentsettings/"), follow=True).status_code == 200
    erase(client, told, "conv-erase")
    page = client.get(told.url("admin/outcomes/erasurerecord/"))
    assert page.status_code == 200 and "conv-erase" in page.content.decode()
    assert not holds_secret(page.content.decode())
    told.login(client, "manager")  # the audit log is the admins'
    assert client.get(told.url("admin/outcomes/erasurerecord/")).status_code in (302, 403)


def test_batch_learning_forgets_what_it_quoted(told, client) -> None:
    """Weekly learning quoted conv-erase's drafts in its proposals (examples, the typical
    edit, the proposed text): erasing the conversation blanks those quotes, withdraws the
    pending proposal whose text was an erased message, and keeps conv-keep's example."""
    from coaching import batch
    from coaching.erasure import WITHDRAWN
    from coaching.models import LearningProposal

    drafted = "Thank you for your interest in our pricing. " * 6
    with tenant_context(told.tenant):
        for action, conversation, sent in (
            ("p-1", "conv-erase", f"{NAME}, 40 seats are $30 each; call me about the rollout."),
            ("p-2", "conv-erase", f"{NAME}, 40 seats at $30 each; call me about the start."),
            ("p-3", "conv-keep", "Priya, 40 seats are $30 each; shall we talk about the rollout?"),
        ):
            feedback_services.record_draft(
                action_id=action,
                conversation_id=conversation,
                original_draft=drafted,
                sent_version=sent,
                intent="pricing",
            )
        proposals = batch.run().proposals
        assert {p.kind for p in proposals} == {"style", "playbook_change"}
        assert holds_secret(tenant_texts(told))
        quoted = {p.pk for p in proposals if holds_secret(p.proposed_content)}
        before = figures(told)

    response = erase(client, told, "conv-erase")
    assert response.status_code == 200
    assert response.json()["removed"]["proposals"] == 2
    assert not holds_secret(tenant_texts(told))
    assert figures(told) == before
    with tenant_context(told.tenant):
        for proposal in LearningProposal.objects.all():
            examples = {x["action_id"]: x for x in proposal.evidence["examples"]}
            assert examples["p-1"]["erased"] and examples["p-1"]["sent"] == ""
            assert examples["p-3"]["sent"].startswith("Priya") and "erased" not in examples["p-3"]
            assert proposal.count == 3 and proposal.summary == ""
            withdrawn = proposal.pk in quoted
            assert (proposal.status, proposal.decision_note) == (
                ("rejected", WITHDRAWN) if withdrawn else ("pending", "")
            )
        pk = LearningProposal.objects.get(kind="playbook_change").pk
    told.login(client, "admin")
    page = client.get(told.url(f"learning/proposals/{pk}/")).content.decode()
    assert "Removed on request" in page and not holds_secret(page)

    again = erase(client, told, "conv-erase")
    assert again.json()["removed"]["proposals"] == 0


def test_a_contact_named_only_in_feedback_is_found(told, client) -> None:
    """The address appears only in a manager's comment and a draft of two conversations
    that say nothing else about the contact: both are erased."""
    quiet = "erin.quiet@example.net"
    with tenant_context(told.tenant):
        OutcomeFactory(
            action_id="q-1", conversation_id="conv-q1", rep="alpha-rep", content=content("Hello")
        )
        OutcomeFactory(
            action_id="q-2", conversation_id="conv-q2", rep="alpha-rep", content=content("Hi")
        )
        feedback_services.record_feedback(
            reviewer=told.users["manager"],
            target_type="message",
            target_id="q-1",
            conversation_id="conv-q1",
            source="dashboard",
            rating=3,
            comment=f"she wrote from {quiet.upper()} later",
        )
        feedback_services.record_draft(
            action_id="q-2",
            conversation_id="conv-q2",
            original_draft="Hi there",
            sent_version=f"Hi, copying {quiet}",
        )
    response = client.post(
        told.url("api/v1/contacts/erase/"),
        data=json.dumps({"email": quiet}),
        content_type="application/json",
        **told.bearer("agent"),
    )
    assert response.status_code == 200, response.content
    assert sorted(response.json()["conversation_ids"]) == ["conv-q1", "conv-q2"]
    assert quiet not in tenant_texts(told)
    assert holds_secret(tenant_texts(told))  # conv-erase does not name this contact
