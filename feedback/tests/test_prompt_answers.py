"""Whether people answer prompts, per channel: the manager's feedback page and
GET feedback/prompts/, with exact numbers, in the viewer's scope and tenant only."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback.selectors import minutes_in_words
from learning.models import User
from outcomes.tests.factories import OutcomeFactory
from prompts.models import Prompt

_ids = itertools.count()


def prompt(username, channel, *, status="sent", answered_after=None, reason="", days_ago=1):
    """A prompt to `username` about an action of theirs, sent `days_ago` days ago at noon
    (or not: failed and skipped ones have no sending time), answered after
    `answered_after` minutes, if given."""
    sent_at = timezone.now() - timedelta(days=days_ago)
    outcome = OutcomeFactory(action_id=f"pa-{next(_ids)}", rep=username, days_ago=days_ago)
    row = Prompt.objects.create(
        recipient=User.objects.get(username=username),
        outcome=outcome,
        channel=channel,
        status=status,
        reason=reason,
        sent_at=sent_at if status == "sent" else None,
        answered_at=sent_at + timedelta(minutes=answered_after) if answered_after else None,
    )
    Prompt.objects.filter(pk=row.pk).update(created_at=sent_at)
    return row


@pytest.fixture
def prompted(alpha):
    with tenant_context(alpha.tenant):
        # alpha-rep, in alpha-manager's team, on Slack: 4 sent, 3 answered (10, 20, 60 min)
        for minutes in (10, 20, 60, None):
            prompt("alpha-rep", "slack", answered_after=minutes)
        prompt("alpha-rep", "slack", status="failed", reason="Slack: channel_not_found")
        prompt("alpha-rep", "slack", status="failed", reason="Slack: channel_not_found")
        prompt("alpha-rep", "slack", status="skipped", reason="Not sent: quiet hours.")
        # the manager themselves, by email: 2 sent, 1 answered after 14 min
        prompt("alpha-manager", "email", answered_after=14)
        prompt("alpha-manager", "email")
        prompt("alpha-manager", "email", status="skipped", reason="Not sent: allowance reached.")
        # outside the manager's team: only executives and admins count it
        prompt("alpha-executive", "email", answered_after=5)
        # before the last 30 days: nobody counts it
        prompt("alpha-rep", "email", answered_after=1, days_ago=40)
    return alpha


def by_channel(response):
    assert response.status_code == 200, response.content
    return {row["channel"]: row for row in response.json()["prompts_by_channel"]}


def test_the_api_counts_exactly_in_the_callers_scope(prompted, client) -> None:
    url = prompted.url("api/v1/feedback/prompts/")
    rows = by_channel(client.get(url, **prompted.bearer("manager")))
    assert rows["slack"] == {
        "channel": "slack",
        "label": "Slack direct message",
        "sent": 4,
        "answered": 3,
        "answer_rate": 0.75,
        "median_minutes_to_answer": 20.0,
        "median_in_words": "20 min",
        "failed": 2,
        "not_sent": 1,
        "top_reason": "Slack: channel_not_found",
    }
    assert rows["email"] == {
        "channel": "email",
        "label": "Email",
        "sent": 2,
        "answered": 1,
        "answer_rate": 0.5,
        "median_minutes_to_answer": 14.0,
        "median_in_words": "14 min",
        "failed": 0,
        "not_sent": 1,
        "top_reason": "Not sent: allowance reached.",
    }
    # An executive sees everyone: the executive's own email prompt too (5 and 14 min).
    everyone = by_channel(client.get(url, **prompted.bearer("executive")))
    assert (everyone["email"]["sent"], everyone["email"]["answered"]) == (3, 2)
    assert everyone["email"]["median_minutes_to_answer"] == 9.5
    # Over 60 days, the old one counts too (alpha-rep's email, answered after 1 min: 1, 14).
    longer = by_channel(client.get(url + "?days=60", **prompted.bearer("manager")))
    assert (longer["email"]["sent"], longer["email"]["answered"]) == (3, 2)
    assert longer["email"]["median_minutes_to_answer"] == 7.5
    assert client.get(url + "?days=0", **prompted.bearer("manager")).status_code == 400


@pytest.mark.parametrize("role", ["rep", "agent"])
def test_reps_and_the_agent_cannot_read_it(prompted, client, role) -> None:
    url = prompted.url("api/v1/feedback/prompts/")
    assert client.get(url, **prompted.bearer(role)).status_code == 403


def test_another_tenant_sees_none_of_it(prompted, beta, client) -> None:
    rows = by_channel(client.get(beta.url("api/v1/feedback/prompts/"), **beta.bearer("admin")))
    assert all(
        (row["sent"], row["answered"], row["failed"], row["not_sent"]) == (0, 0, 0, 0)
        for row in rows.values()
    )
    assert rows["slack"]["answer_rate"] is None and rows["slack"]["median_in_words"] == ""
    beta.login(client, "manager")
    page = client.get(beta.url("feedback/team/")).content.decode()
    assert "Prompts: do people answer?" in page and "No prompts sent yet" in page


def test_the_feedback_page_says_it_plainly(prompted, client) -> None:
    prompted.login(client, "manager")
    page = client.get(prompted.url("feedback/team/"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Prompts: do people answer?" in body
    assert "answered 3 of 4, 75 %" in body and "median 20 min" in body
    assert "answered 1 of 2, 50 %" in body and "median 14 min" in body
    assert "Most often failed or not sent because: Slack: channel_not_found" in body
    assert "No prompts sent yet" not in body


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (None, ""),
        (0.4, "under a minute"),
        (14.2, "14 min"),
        (150, "2.5 h"),
        (120, "2 h"),
        (4320, "3 days"),
    ],
)
def test_minutes_in_words(minutes, words) -> None:
    assert minutes_in_words(minutes) == words
