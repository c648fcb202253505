"""A proposal's page: its evidence as examples (not JSON), and an admin approves or
rejects it there, with a note; managers read it; the decision is shown with who made it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from coaching.models import BatchRun, LearningProposal


@pytest.fixture
def proposal(alpha) -> LearningProposal:
    with tenant_context(alpha.tenant):
        now = timezone.now()
        run = BatchRun.objects.create(
            started_at=now, period_start=now - timedelta(days=7), period_end=now
        )
        return LearningProposal.objects.create(
            run=run,
            kind="playbook",
            key="book_demo",
            title="Reps rewrite book_demo drafts the same way (3 times)",
            proposed_content="Offer two times, and keep it to three lines.",
            count=3,
            evidence={
                "typical_edit": {
                    "original": "Dear Dana, I hope this finds you well. Would you like a demo?",
                    "sent": "Hi Dana, Tue 10:00 or Wed 14:00 for a 20-min demo?",
                    "words_before": 12,
                    "words_after": 10,
                },
                "examples": [
                    {"action_id": "bd-1", "sent": "Hi Sam, Thu 9:00 or Fri 11:00 for a demo?"},
                    {
                        "action_id": "bd-2",
                        "sent": "Hi Jo, Mon 15:00 or Tue 9:30?",
                        "corrected_by": "maria",
                    },
                ],
            },
        )


def test_the_evidence_reads_as_examples(alpha, client, proposal) -> None:
    alpha.login(client, "manager")
    page = client.get(alpha.url(f"learning/proposals/{proposal.pk}/")).content.decode()
    assert "The typical edit" in page
    assert "Hi Dana, Tue 10:00 or Wed 14:00 for a 20-min demo?" in page
    assert "2 examples of what people sent" in page
    assert "corrected by maria" in page
    assert "typical_edit" not in page and "{&quot;" not in page  # no raw JSON
    assert "An admin approves or rejects proposals." in page
    assert 'name="decision"' not in page
    learning = client.get(alpha.url("learning/")).content.decode()
    assert f'href="{alpha.url(f"learning/proposals/{proposal.pk}/")}"' in learning


def test_a_manager_cannot_decide_and_bad_input_changes_nothing(alpha, client, proposal) -> None:
    url = alpha.url(f"learning/proposals/{proposal.pk}/")
    alpha.login(client, "manager")
    page = client.post(url, {"decision": "approve"}, follow=True).content.decode()
    assert "Only admins approve or reject learning proposals." in page
    alpha.login(client, "admin")
    assert client.post(url, {"decision": "maybe"}).status_code == 400
    assert (
        client.post(alpha.url("learning/proposals/999999/"), {"decision": "reject"}).status_code
        == 404
    )
    alpha.login(client, "rep")
    assert client.get(url).status_code == 403
    with tenant_context(alpha.tenant):
        proposal.refresh_from_db()
        assert proposal.status == "pending" and proposal.decided_by is None


def test_an_admin_approves_with_a_note_and_everyone_sees_who(alpha, client, proposal) -> None:
    url = alpha.url(f"learning/proposals/{proposal.pk}/")
    alpha.login(client, "admin")
    page = client.post(url, {"decision": "approve", "note": "what top reps do"}, follow=True)
    assert "Proposal approved." in page.content.decode()
    client.post(url, {"decision": "approve"})  # a retried click: nothing changes
    with tenant_context(alpha.tenant):
        proposal.refresh_from_db()
        assert proposal.status == "approved"
        assert proposal.decided_by.username == "alpha-admin"
        assert proposal.decision_note == "what top reps do"
        assert proposal.entry is not None and proposal.entry.status == "experimental"
    alpha.login(client, "manager")
    page = client.get(url).content.decode()
    assert "by <strong>alpha-admin</strong>" in page and "what top reps do" in page
    assert 'name="decision"' not in page
