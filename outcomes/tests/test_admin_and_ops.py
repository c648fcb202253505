"""The labelling queue in admin, the ops command and the beat task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from learning.errors import Forbidden
from outcomes import services, sweeps, tasks
from outcomes.models import Conversation, OutcomeRecord, Signal

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def make_ambiguous(action_id: str, rep: str = "alpha-rep") -> OutcomeRecord:
    outcome = services.record_outcome(
        item=services.OutcomeInput(
            action_id=action_id,
            conversation_id=f"conv-{action_id}",
            action_type="send_email",
            predicted_confidence=0.8,
            outcome_type="email_engagement",
            occurred_at=T0,
            rep=rep,
        )
    ).outcome
    Signal.objects.create(
        conversation=outcome.conversation, kind="opened", occurred_at=T0 + timedelta(hours=1)
    )
    sweeps.run_sweep(window="expiry", now=T0 + timedelta(days=8))
    outcome.refresh_from_db()
    assert outcome.status == "ambiguous"
    return outcome


def test_manager_labels_from_the_queue_with_one_click(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        mine = make_ambiguous("team-1")
        other = make_ambiguous("not-team", rep="alpha-executive")
    alpha.login(client, "manager")
    queue = client.get(alpha.url("admin/outcomes/ambiguousoutcome/"))
    assert queue.status_code == 200
    page = queue.content.decode()
    assert "conv-team-1" in page and "conv-not-team" not in page  # a manager sees their team
    response = client.post(
        alpha.url(f"admin/outcomes/ambiguousoutcome/{mine.pk}/label/negative/"),
        {f"comment-{mine.pk}": "wrong persona"},
    )
    assert response.status_code == 302
    with tenant_context(alpha.tenant):
        mine.refresh_from_db()
        assert (mine.status, mine.signal_source, mine.label_comment) == (
            "negative",
            "human_label",
            "wrong persona",
        )
        assert mine.resolved_by.username == "alpha-manager"
    # Outside the team: refused, nothing changes.
    client.post(alpha.url(f"admin/outcomes/ambiguousoutcome/{other.pk}/label/positive/"))
    with tenant_context(alpha.tenant):
        other.refresh_from_db()
        assert other.status == "ambiguous"
    assert (
        "conv-team-1"
        not in client.get(alpha.url("admin/outcomes/ambiguousoutcome/")).content.decode()
    )


def test_reps_cannot_open_the_review_admin(alpha, client) -> None:
    alpha.login(client, "rep")
    assert client.get(alpha.url("admin/outcomes/ambiguousoutcome/")).status_code == 302


def test_conversation_page_shows_actions_and_signals_in_time_order(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        outcome = make_ambiguous("conv-page")
    alpha.login(client, "admin")
    page = client.get(alpha.url(f"admin/outcomes/conversation/{outcome.conversation_id}/change/"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "conv-page" in body and "opened" in body


def test_check_signals_command(alpha) -> None:
    with tenant_context(alpha.tenant):
        services.record_outcome(
            item=services.OutcomeInput(
                action_id="old",
                conversation_id="c-old",
                action_type="send_email",
                predicted_confidence=0.4,
                outcome_type="email_engagement",
                occurred_at=T0,
            )
        )
    out = StringIO()
    call_command("check_signals", "--tenant", "alpha", "--window", "expiry", stdout=out)
    assert "expiry" in out.getvalue()
    with tenant_context(alpha.tenant):
        assert OutcomeRecord.objects.get(action_id="old").status == "expired"


def test_sweep_task_runs_in_the_tenant(alpha) -> None:
    with tenant_context(alpha.tenant):
        services.record_outcome(
            item=services.OutcomeInput(
                action_id="task-old",
                conversation_id="c-task",
                action_type="send_email",
                predicted_confidence=0.4,
                outcome_type="meeting_outcome",
                occurred_at=T0,
            )
        )
        result = tasks.sweep.apply(kwargs={"window": "expiry"}).get()
        assert result["resolved"] == {"expired": 1}
        assert tasks.sweep.apply(kwargs={"window": "expiry"}).get()["resolved"] == {}


def test_manager_flags_team_conversations_and_bulk_labels_from_admin(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        mine = make_ambiguous("flag-mine")
        other = make_ambiguous("flag-other", rep="alpha-executive")
        resolved = make_ambiguous("flag-done")
        services.label_outcome(outcome_id=resolved.pk, status="positive", user=alpha.users["admin"])
    alpha.login(client, "manager")
    changelist = alpha.url("admin/outcomes/conversation/")
    ids = [mine.conversation_id, other.conversation_id]
    client.post(changelist, {"action": "flag_selected", "_selected_action": ids})
    with tenant_context(alpha.tenant):
        flagged = Conversation.objects.filter(flagged_at__isnull=False)
        # the executive's conversation is outside the manager's team: untouched
        assert [(c.external_id, c.flagged_by.username) for c in flagged] == [
            ("conv-flag-mine", "alpha-manager")
        ]
        first = flagged.get().flagged_at
    client.post(changelist, {"action": "flag_selected", "_selected_action": ids})  # retried
    listing = client.get(changelist + "?flagged=yes").content.decode()
    assert "conv-flag-mine" in listing and "conv-flag-done" not in listing
    with tenant_context(alpha.tenant):
        assert Conversation.objects.get(pk=mine.conversation_id).flagged_at == first
    client.post(changelist, {"action": "clear_flag", "_selected_action": ids})
    with tenant_context(alpha.tenant):
        assert not Conversation.objects.filter(flagged_at__isnull=False).exists()

    outcomes_page = alpha.url("admin/outcomes/outcomerecord/")
    response = client.post(
        outcomes_page,
        {"action": "label_negative", "_selected_action": [mine.pk, resolved.pk, other.pk]},
        follow=True,
    )
    body = response.content.decode()
    assert "1 action(s) labelled negative" in body
    assert "Flag-done: This outcome is already positive" in body
    with tenant_context(alpha.tenant):
        statuses = dict(OutcomeRecord.objects.values_list("action_id", "status"))
    assert statuses == {"flag-mine": "negative", "flag-done": "positive", "flag-other": "ambiguous"}


def test_reps_cannot_flag(alpha) -> None:
    with tenant_context(alpha.tenant):
        outcome = make_ambiguous("flag-rep")
        with pytest.raises(Forbidden):
            services.flag_conversations(
                ids=[outcome.conversation_id], user=alpha.users["rep"], flagged=True
            )
        assert not Conversation.objects.filter(flagged_at__isnull=False).exists()
