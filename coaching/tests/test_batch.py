"""Weekly batch learning: grouping, proposals with evidence, idempotent reruns, admin
decisions, the summary email, the optional summariser hook and the learning page."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from coaching import batch, report
from coaching.models import LearningProposal, PlaybookEntry
from feedback import selectors as feedback_selectors
from feedback import services as feedback_services
from feedback.models import DraftFeedback
from learning.errors import Conflict, Forbidden
from learning.models import Role, User
from learning.tenancy.urls import base_url
from tests.slack_support import CHANNEL, slack_channel

LONG = (
    "Hi {n}, thanks for your interest! I'd be happy to set up a demo of our platform at a "
    "time that suits you. Would Tuesday or Thursday afternoon work?"
)
GAPS = [
    "Hi Dana, great to hear Maya referred you! Happy to set up an intro call this week.",
    "Thanks Lee, any friend of Tom is welcome. Shall we book an intro call this week?",
    "Sam, thanks for reaching out on Ines's referral. Let's book a quick intro call this week.",
    "Hi Jo, yes we support SSO with Okta.",
    "Sure Priya, I'll call you at 3pm.",
]


def summarise(kind, title, evidence):
    return f"{kind}: {len(evidence.get('examples', []))} examples"


def broken(kind, title, evidence):
    raise RuntimeError("model offline")


@pytest.fixture
def week(alpha):
    """Four book_demo drafts cut to a short line, one sent as drafted, two follow-ups with
    a small fix (under the threshold), five messages the agent had no draft for."""
    with tenant_context(alpha.tenant):
        alpha.users["admin"].email = "adam@alpha.example"
        alpha.users["admin"].save(update_fields=["email"])
        for i, name in enumerate(["Dana", "Lee", "Sam", "Jo"]):
            feedback_services.record_draft(
                action_id=f"bd-{i}",
                conversation_id="conv-b",
                original_draft=LONG.format(n=name),
                sent_version=f"Hi {name}, Tuesday 2pm for a 20-min demo?",
                intent="book_demo",
            )
        feedback_services.record_draft(
            action_id="bd-ok",
            conversation_id="conv-b",
            original_draft=LONG.format(n="Al"),
            sent_version=LONG.format(n="Al"),
            intent="book_demo",
        )
        for i in range(2):
            text = "Hi Jo, just following up on my last note."
            feedback_services.record_draft(
                action_id=f"fu-{i}",
                conversation_id="conv-b",
                original_draft=text,
                sent_version=text.replace("Hi", "Hello"),
                intent="follow_up",
            )
        for i, text in enumerate(GAPS):
            feedback_services.record_draft(
                action_id=f"gap-{i}",
                conversation_id="conv-g",
                original_draft="",
                sent_version=text,
            )
        yield alpha


def test_clusters_group_similar_texts() -> None:
    groups = batch.clusters(GAPS)
    assert groups[0] == [0, 1, 2] and sorted(len(g) for g in groups) == [1, 1, 3]
    assert batch.suggested_name([GAPS[i] for i in groups[0]]) == "intro_call"


def test_run_proposes_style_playbook_and_new_intent_with_evidence(
    week, django_capture_on_commit_callbacks
) -> None:
    with tenant_context(week.tenant):
        with django_capture_on_commit_callbacks(execute=True):
            result = batch.run()
        proposals = {(p.kind, p.key): p for p in LearningProposal.objects.all()}
        assert set(proposals) == {
            ("style", "book_demo"),
            ("playbook_change", "book_demo"),
            ("new_intent", "intro_call"),
        }
        style = proposals[("style", "book_demo")]
        assert style.count == 4 and style.title == "Shorter drafts preferred for book_demo"
        ratio = style.evidence["median_length_ratio"]
        assert ratio == pytest.approx(41 / 154, abs=0.01)
        assert style.evidence["typical_edit"]["words_after"] == 8
        playbook = proposals[("playbook_change", "book_demo")]
        assert playbook.proposed_content.endswith("Tuesday 2pm for a 20-min demo?")
        intent = proposals[("new_intent", "intro_call")]
        assert intent.count == 3 and len(intent.evidence["examples"]) == 3
        assert (result.run.edits, result.run.gaps) == (4, 5)
        assert not DraftFeedback.objects.filter(
            action_id__startswith="bd-", significant=True, analyzed=False
        ).exists()
        # a second run over the same week updates the pending proposals, adds none
        batch.run()
        assert LearningProposal.objects.count() == 3
    (email,) = [m for m in mail.outbox if "Weekly learning" in m.subject]
    assert email.to == ["adam@alpha.example"]
    assert "[New intent, new] New intent intro_call" in email.body
    assert "4 edited drafts or corrections, and 5 messages the agent had no draft for" in email.body


def test_summariser_hook_is_optional_and_never_breaks_the_run(week, settings) -> None:
    settings.LL_PROPOSAL_SUMMARISER = f"{__name__}.summarise"
    with tenant_context(week.tenant):
        batch.run()
        assert LearningProposal.objects.get(kind="new_intent").summary == "new_intent: 3 examples"
        settings.LL_PROPOSAL_SUMMARISER = f"{__name__}.broken"
        batch.run()
        assert set(LearningProposal.objects.values_list("summary", flat=True)) == {""}


def test_only_admins_decide_and_approval_starts_an_experiment(week) -> None:
    with tenant_context(week.tenant):
        batch.run()
        style = LearningProposal.objects.get(kind="style")
        with pytest.raises(Forbidden):
            batch.approve(proposal_id=style.pk, user=week.users["manager"])
        style.refresh_from_db()
        assert style.status == "pending" and not PlaybookEntry.objects.exists()
        admin = week.users["admin"]
        batch.approve(proposal_id=style.pk, user=admin)
        again = batch.approve(proposal_id=style.pk, user=admin)  # a retry: no change
        entry = PlaybookEntry.objects.get(name="book_demo")
        assert (entry.kind, entry.status, entry.uses) == ("playbook", "experimental", 0)
        assert again.entry == entry and "Keep book_demo drafts to about 8 words" in entry.content
        playbook = LearningProposal.objects.get(kind="playbook_change")
        batch.approve(proposal_id=playbook.pk, user=admin)
        entry.refresh_from_db()
        assert entry.content.endswith("Tuesday 2pm for a 20-min demo?")
        # Each approval starts a randomised experiment against the text before it; the
        # earlier one stops (it tried another version).
        first, second = entry.experiments.order_by("id")
        assert first.status == "stopped" and first.control_content == ""
        assert second.status == "running" and second.treatment_content == entry.content
        assert second.control_content == first.treatment_content
        with pytest.raises(Conflict):
            batch.reject(proposal_id=playbook.pk, user=admin)


def test_a_decided_finding_is_not_proposed_again(week) -> None:
    """Run twice over the same week, an approved intent is proposed once (not again as
    "intro_call_2" with the same messages), nor is an approved rewrite or a rejected style
    note; new messages of the approved intent a week later make no new intent either."""
    with tenant_context(week.tenant):
        batch.run()
        admin = week.users["admin"]
        for kind in ("new_intent", "playbook_change"):
            batch.approve(proposal_id=LearningProposal.objects.get(kind=kind).pk, user=admin)
        batch.reject(proposal_id=LearningProposal.objects.get(kind="style").pk, user=admin)
        again = batch.run()
        assert again.proposals == []
        assert LearningProposal.objects.count() == 3
        assert not LearningProposal.objects.filter(status="pending").exists()

        later = timezone.now() + timedelta(days=8)
        for i, name in enumerate(["Ana", "Bo", "Cy"]):
            feedback_services.record_draft(
                action_id=f"gap-later-{i}",
                conversation_id="conv-later",
                original_draft="",
                sent_version=f"Hi {name}, thanks for the referral! Shall we book an intro call?",
            )
        DraftFeedback.objects.filter(action_id__startswith="gap-later-").update(sent_at=later)
        next_week = batch.run(now=later + timedelta(minutes=1))
        assert next_week.run.gaps == 3 and next_week.proposals == []
        assert LearningProposal.objects.filter(kind="new_intent").count() == 1


def test_a_new_pattern_after_a_decision_is_still_proposed(week) -> None:
    """Only what was decided is held back: with the intro-call intent rejected, its
    messages are not proposed again, while another group of messages and the edits'
    findings are proposed as usual."""
    with tenant_context(week.tenant):
        batch.run()
        intent = LearningProposal.objects.get(kind="new_intent")
        batch.reject(proposal_id=intent.pk, user=week.users["admin"])
        for i, name in enumerate(["Ana", "Bo", "Cy"]):
            feedback_services.record_draft(
                action_id=f"sso-{i}",
                conversation_id="conv-sso",
                original_draft="",
                sent_version=f"Hi {name}, yes: we support single sign-on with Okta and Azure.",
            )
        result = batch.run()
        (proposed,) = [p for p in result.proposals if p.kind == "new_intent"]
        assert set(proposed.evidence["action_ids"]) == {"gap-3", "sso-0", "sso-1", "sso-2"}
        assert {p.kind for p in result.proposals} == {"style", "playbook_change", "new_intent"}


def test_admin_actions_and_learning_page(week, client) -> None:
    with tenant_context(week.tenant):
        batch.run()
        pk = LearningProposal.objects.get(kind="new_intent").pk
    changelist = week.url("admin/coaching/learningproposal/")
    week.login(client, "manager")
    client.post(changelist, {"action": "approve_selected", "_selected_action": [pk]})
    with tenant_context(week.tenant):
        assert LearningProposal.objects.get(pk=pk).status == "pending"  # managers only read
    page = client.get(week.url("learning/"))
    assert page.status_code == 200 and "New intent intro_call" in page.content.decode()
    week.login(client, "admin")
    client.post(changelist, {"action": "approve_selected", "_selected_action": [pk]})
    with tenant_context(week.tenant):
        assert LearningProposal.objects.get(pk=pk).status == "approved"
        assert PlaybookEntry.objects.get(name="intro_call").kind == "intent"
    body = client.get(week.url("learning/")).content.decode()
    assert (
        "intro_call" in body and "experiment running" in body and "agent&#x27;s default" not in body
    )
    week.login(client, "rep")
    assert client.get(week.url("learning/")).status_code == 403


def test_command(week) -> None:
    out = StringIO()
    call_command("run_batch_learning", tenant=week.slug, stdout=out)
    assert (
        "4 edited drafts or corrections, 5 messages without a draft -> 3 proposal(s)"
        in out.getvalue()
    )


PRICING = (
    "Hello {n}, thank you so much for your time on the call today. As promised I am "
    "attaching our full pricing guide, which covers every plan, every add-on and the "
    "volume discounts we can offer. Let me know if you have any questions at all."
)


def test_reviewers_corrections_feed_batch_learning_like_edited_drafts(alpha) -> None:
    """Three reviewers' corrections of what send_pricing actions said (no draft: grouped
    by action type) make style and playbook proposals; a correction of a drafted action
    joins its draft's intent."""
    from outcomes.services import Content
    from outcomes.tests.factories import OutcomeFactory

    with tenant_context(alpha.tenant):
        reviewer = alpha.users["manager"]
        for i, name in enumerate(["Dana", "Lee", "Sam"]):
            outcome = OutcomeFactory(
                action_id=f"price-{i}",
                rep="alpha-rep",
                action_type="send_pricing",
                content=Content(channel="email", body=PRICING.format(n=name)),
            )
            feedback_services.record_feedback(
                reviewer=reviewer,
                target_type="message",
                target_id=outcome.action_id,
                conversation_id=outcome.conversation.external_id,
                source="dashboard",
                rating=2,
                correction=f"Hi {name}, pricing guide attached: plans from $40 a seat.",
            )
        # a drafted action: its correction is read with its draft's intent, against the draft
        drafted = OutcomeFactory(action_id="bd-x", rep="alpha-rep", action_type="send_email")
        feedback_services.record_draft(
            action_id="bd-x",
            conversation_id=drafted.conversation.external_id,
            original_draft=LONG.format(n="Al"),
            sent_version=LONG.format(n="Al"),
            intent="book_demo",
        )
        feedback_services.record_feedback(
            reviewer=reviewer,
            target_type="message",
            target_id="bd-x",
            conversation_id=drafted.conversation.external_id,
            source="dashboard",
            rating=3,
            correction="Hi Al, Tuesday 2pm for a demo?",
        )
        (read,) = [
            t
            for t in feedback_selectors.corrections(
                start=timezone.now() - timedelta(days=1), end=timezone.now() + timedelta(seconds=1)
            )
            if t.action_id == "bd-x"
        ]
        assert (read.intent, read.original_draft) == ("book_demo", LONG.format(n="Al"))
        assert read.edit_distance > 0.5 and read.draft_id is None
        result = batch.run()
        proposals = {(p.kind, p.key): p for p in LearningProposal.objects.all()}
        assert set(proposals) == {("style", "send_pricing"), ("playbook_change", "send_pricing")}
        playbook = proposals[("playbook_change", "send_pricing")]
        assert playbook.title == "Reviewers correct send_pricing actions the same way (3 times)"
        assert playbook.proposed_content.endswith("plans from $40 a seat.")
        assert playbook.count == 3
        assert {
            e["corrected_by"] for e in proposals[("style", "send_pricing")].evidence["examples"]
        } == {"alpha-manager"}
        assert result.run.edits == 4


def _reports() -> list:
    return [m for m in mail.outbox if "Weekly learning" in m.subject]


def test_weekly_learning_report_to_each_admin_and_the_reports_channel(
    week, client, settings, django_capture_on_commit_callbacks
) -> None:
    """After a run that proposes: one email to each active admin with an address (HTML and
    text, the count and an absolute link to the proposals), one post to the channel."""
    with tenant_context(week.tenant):
        User.objects.create_user(
            username="alpha-admin2", role=Role.ADMIN, email="ada@alpha.example"
        )
        User.objects.create_user(
            username="alpha-gone", role=Role.ADMIN, email="gone@alpha.example", is_active=False
        )
        with slack_channel(settings) as fake:
            with django_capture_on_commit_callbacks(execute=True):
                run = batch.run().run
            (post,) = fake.calls_to("chat.postMessage")
        intent = LearningProposal.objects.get(kind="new_intent")
    link = base_url() + week.url("learning/#proposals-heading")
    emails = _reports()
    assert sorted(m.to[0] for m in emails) == ["ada@alpha.example", "adam@alpha.example"]
    for email in emails:
        assert email.subject == "[Learning Loop] Weekly learning: 3 improvements to review"
        assert "3 improvements suggested by batch learning wait for your review: 3 new this " in (
            email.body
        )
        assert "week, 0 older." in email.body and f"Review proposals: {link}" in email.body
        assert base_url() + week.url(f"learning/proposals/{intent.pk}/") in email.body
        assert "Nothing was approved or rejected this week." in email.body
        assert f'href="{link}"' in email.alternatives[0][0]
    assert post.args["channel"] == CHANNEL
    header, section, actions, context = post.args["blocks"]
    assert header["text"]["text"] == "Weekly learning report"
    assert section["text"]["text"].startswith(
        "3 improvements suggested by batch learning wait for review (3 new this week, 0 older)."
    )
    assert actions["elements"][0]["url"] == link
    assert context["elements"][0]["text"] == "Nothing was approved or rejected this week."
    with tenant_context(week.tenant):
        run.refresh_from_db()
        assert run.notified_at is not None
    week.login(client, "admin")
    assert client.get(link.removeprefix(base_url())).status_code == 200


def test_learning_report_rule_new_or_weekly_reminder_else_nothing(
    week, django_capture_on_commit_callbacks
) -> None:
    """A rerun over the same week with nothing new sends nothing (the first report still
    stands); a week later what still waits is recalled once; nothing waiting and nothing
    decided in the week: nothing."""
    admin = week.users["admin"]

    def run(**kwargs) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            batch.run(**kwargs)
        return len(_reports())

    with tenant_context(week.tenant):
        assert run() == 1
        assert run() == 1  # the same week again: nothing new
        style = LearningProposal.objects.get(kind="style")
        batch.approve(proposal_id=style.pk, user=admin)
        later = timezone.now() + timedelta(days=7)
        assert run(now=later) == 2  # a week later: nothing new, two still wait
        reminder = _reports()[-1]
        assert reminder.subject == "[Learning Loop] Weekly learning: 2 improvements to review"
        assert "2 improvements suggested by batch learning wait for your review: 0 new this " in (
            reminder.body
        )
        assert run(now=later) == 2  # and once
        for proposal in LearningProposal.objects.filter(status="pending"):
            batch.reject(proposal_id=proposal.pk, user=admin)
        assert run(now=later + timedelta(days=7)) == 2  # nothing waits, nothing decided then


def test_learning_report_says_what_was_decided_in_the_week(week) -> None:
    with tenant_context(week.tenant):
        run = batch.run().run
        admin = week.users["admin"]
        batch.approve(proposal_id=LearningProposal.objects.get(kind="style").pk, user=admin)
        batch.reject(proposal_id=LearningProposal.objects.get(kind="new_intent").pk, user=admin)
        built = report.build(run)
    assert (built.pending, built.new_this_week, built.older) == (1, 1, 0)
    assert built.decided_line == (
        "This week: 1 approved (Shorter drafts preferred for book_demo); 1 rejected "
        "(New intent intro_call: 3 messages the agent had no draft for)."
    )
