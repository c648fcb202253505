"""A person's own prompt settings page: channels, quiet hours, time zone, and what was sent."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from learning.models import User
from outcomes.tests.factories import OutcomeFactory
from prompts import vault
from prompts.models import Preference, Prompt, SlackConnection

PAGE = "settings/prompts/"
VALID = {
    "slack": "",  # unticked: off
    "email": "on",
    "email_also": "on",
    "quiet_start": "19:00",
    "quiet_end": "08:00",
    "time_zone": "Europe/Paris",
}


def stored(world, username):
    with tenant_context(world.tenant):
        user = User.objects.get(username=username)
        preference = Preference.objects.filter(user=user).first()
        return user.time_zone, preference


@pytest.mark.parametrize("role", ["rep", "manager", "executive", "admin"])
def test_every_person_opens_their_settings(alpha, client, role) -> None:
    alpha.login(client, role)
    page = client.get(alpha.url(PAGE))
    assert page.status_code == 200
    body = page.content.decode()
    assert "we ask for your verdict where you work" in body
    assert "in your time zone UTC" in body
    assert '<option value="Europe/Paris"' in body
    assert "has not connected Slack" in body
    assert "No prompts sent to you yet." in body
    # the nav links to it
    assert f'href="{alpha.url(PAGE)}"' in body


def test_signed_out_is_sent_to_sign_in(alpha, client) -> None:
    assert client.get(alpha.url(PAGE)).status_code == 302


def test_saving_keeps_the_choices_and_the_time_zone(alpha, client) -> None:
    alpha.login(client, "rep")
    response = client.post(alpha.url(PAGE), VALID)
    assert response.status_code == 302 and response["Location"] == alpha.url(PAGE)
    zone, preference = stored(alpha, "alpha-rep")
    assert zone == "Europe/Paris"
    assert (preference.slack, preference.email, preference.email_also) == (False, True, True)
    assert (preference.quiet_start, preference.quiet_end) == (time(19), time(8))
    # Only their own: the manager's are as they were.
    assert stored(alpha, "alpha-manager") == ("UTC", None)
    page = client.get(alpha.url(PAGE)).content.decode()
    assert "in your time zone Europe/Paris" in page and 'value="19:00"' in page
    # Clearing quiet hours is allowed (both empty).
    again = client.post(alpha.url(PAGE), {**VALID, "quiet_start": "", "quiet_end": ""})
    assert again.status_code == 302
    _, preference = stored(alpha, "alpha-rep")
    assert (preference.quiet_start, preference.quiet_end) == (None, None)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"quiet_end": ""}, "quiet_end", "Give the time quiet hours end too"),
        ({"quiet_start": ""}, "quiet_start", "Give the time quiet hours start too"),
        ({"quiet_end": "19:00"}, "quiet_end", "must end at another time than they start"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Select a valid choice"),
        ({"quiet_start": "25:00"}, "quiet_start", "Enter a valid time"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(alpha, client, change, field, message) -> None:
    alpha.login(client, "manager")
    response = client.post(alpha.url(PAGE), {**VALID, **change})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(response.context["form"].errors) == [field]
    assert stored(alpha, "alpha-manager") == ("UTC", None)


def test_another_tenants_person_can_neither_see_nor_change(alpha, beta, client) -> None:
    alpha.login(client, "rep")
    # Signed in to alpha only: beta's page asks them to sign in, and nothing is kept there.
    assert client.get(beta.url(PAGE)).status_code == 302
    assert client.post(beta.url(PAGE), VALID).status_code == 302
    assert stored(beta, "beta-rep") == ("UTC", None)
    assert stored(alpha, "alpha-rep") == ("UTC", None)


def test_the_page_lists_their_own_last_ten_prompts(alpha, client) -> None:
    now = timezone.now()
    with tenant_context(alpha.tenant):
        rep = User.objects.get(username="alpha-rep")
        manager = User.objects.get(username="alpha-manager")
        for n in range(12):
            outcome = OutcomeFactory(
                action_id=f"pr-{n}", rep="alpha-rep", action_type="move_stage", days_ago=1
            )
            Prompt.objects.create(
                recipient=rep,
                outcome=outcome,
                channel="slack" if n % 2 else "email",
                status="sent",
                sent_at=now - timedelta(minutes=30),
                answered_at=now - timedelta(minutes=16) if n == 11 else None,
                answered_via="slack" if n == 11 else "",
            )
        skipped = OutcomeFactory(action_id="pr-skip", rep="alpha-rep", action_type="escalate")
        Prompt.objects.create(
            recipient=rep,
            outcome=skipped,
            channel="email",
            status="skipped",
            reason="Not sent: they turned prompts off.",
        )
        Prompt.objects.create(
            recipient=manager,
            outcome=skipped,
            channel="email",
            status="sent",
            why="for the manager only",
            sent_at=now,
        )
        connection = SlackConnection.objects.create(
            bot_token_encrypted=vault.seal("xoxb-secret-token"), team_name="Acme Sales"
        )
        Preference.objects.create(user=rep, slack_user_id="U0ALICE", slack_user_found_by="email")
    alpha.login(client, "rep")
    body = client.get(alpha.url(PAGE)).content.decode()
    assert body.count("<tr>") == 1 + 10  # the header and the last ten
    assert "Escalate" in body and "Not sent: they turned prompts off." in body
    assert "Move stage" in body and "with the Slack button" in body
    assert "14 min after it was sent" in body
    assert "workspace “Acme Sales”" in body and "found you there by your email" in body
    assert "xoxb" not in body and connection.bot_token_encrypted not in body
