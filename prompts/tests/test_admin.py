"""Prompts in the tenant admin: the Slack connection (admins; the token never shown nor
logged), who people are in Slack, and the prompts list (managers: their team's)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from learning.models import User
from outcomes.tests.factories import OutcomeFactory
from prompts import vault
from prompts.models import Preference, Prompt, SlackConnection
from tests.slack_server import running_slack

GOOD = "xoxb-good-0123456789-secret"
SECRET = "signing-secret-abcdef0123456789"
PAGE = "admin/prompts/slackconnection/1/change/"


@pytest.fixture
def fake_slack(settings):
    with running_slack(tokens={GOOD}) as fake:
        settings.SLACK_API_URL = fake.api_url
        yield fake


def row(world):
    with tenant_context(world.tenant):
        return SlackConnection.objects.filter(pk=1).first()


def open_page(world, client):
    world.login(client, "admin")
    listing = client.get(world.url("admin/prompts/slackconnection/"))  # the row, made
    assert listing.status_code == 302 and listing["Location"].endswith("/1/change/")
    page = client.get(world.url(PAGE))
    assert page.status_code == 200
    return page


def save(world, client, **fields):
    body = {"bot_token": "", "signing_secret": "", "reports_channel": "", "_save": "Save"}
    return client.post(world.url(PAGE), {**body, **fields})


def test_connecting_checks_the_token_and_never_shows_or_logs_it(
    alpha, client, fake_slack, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = [open_page(alpha, client).content.decode()]
    assert 'type="password"' in bodies[0] and "Leave blank to keep the current one" in bodies[0]
    saved = save(alpha, client, bot_token=GOOD, signing_secret=SECRET, reports_channel="C0REPORTS")
    assert saved.status_code == 302, saved.content.decode()
    assert len(fake_slack.calls_to("auth.test")) >= 1
    stored = row(alpha)
    assert stored.connected and vault.unseal(stored.bot_token_encrypted) == GOOD
    assert vault.unseal(stored.signing_secret_encrypted) == SECRET
    assert (stored.team_name, stored.token_hint, stored.connected_by) == (
        "Acme Sales",
        "xoxb-…",
        "alpha-admin",
    )
    assert stored.reports_channel == "C0REPORTS"
    page = client.get(alpha.url(PAGE))
    bodies += [saved.content.decode(), page.content.decode()]
    shown = page.content.decode()
    assert "Acme Sales" in shown and "xoxb-…" in shown and "Disconnect Slack" in shown
    assert "alpha-admin" in shown
    # A second save with the token field blank keeps the token (and asks Slack nothing).
    calls = len(fake_slack.calls_to("auth.test"))
    kept = save(alpha, client, reports_channel="C0OTHER")
    assert kept.status_code == 302
    assert len(fake_slack.calls_to("auth.test")) == calls
    again = row(alpha)
    assert vault.unseal(again.bot_token_encrypted) == GOOD and again.reports_channel == "C0OTHER"
    assert vault.unseal(again.signing_secret_encrypted) == SECRET
    bodies.append(client.get(alpha.url("admin/admin/logentry/")).content.decode())
    bodies.append(client.get(alpha.url("admin/")).content.decode())
    for body in bodies:
        assert GOOD not in body and SECRET not in body
        assert stored.bot_token_encrypted not in body
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert "slack_connected" in logged  # the log was captured...
    assert GOOD not in logged and SECRET not in logged  # ...and holds neither secret


def test_a_token_slack_refuses_is_an_error_and_nothing_is_stored(
    alpha, client, fake_slack, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    open_page(alpha, client)
    refused = save(alpha, client, bot_token="xoxb-wrong-token", reports_channel="C0REPORTS")
    assert refused.status_code == 200  # the form again, with the error
    body = refused.content.decode()
    assert "Slack does not know this token" in body and "invalid_auth" in body
    assert "xoxb-wrong-token" not in body
    stored = row(alpha)
    assert not stored.connected and stored.bot_token_encrypted == ""
    assert stored.reports_channel == "" and stored.team_name == ""
    assert "xoxb-wrong-token" not in caplog.text
    # Not a bot token at all: refused before asking Slack.
    calls = len(fake_slack.calls_to("auth.test"))
    assert "starts with xoxb-" in save(alpha, client, bot_token="xoxp-user").content.decode()
    assert len(fake_slack.calls_to("auth.test")) == calls


def test_slack_down_is_said_plainly(alpha, client, fake_slack) -> None:
    open_page(alpha, client)
    fake_slack.fail_next("auth.test", status=500)
    body = save(alpha, client, bot_token=GOOD).content.decode()
    assert "Slack could not be reached" in body
    assert not row(alpha).connected


def test_disconnect_forgets_the_token(alpha, client, fake_slack) -> None:
    open_page(alpha, client)
    assert save(alpha, client, bot_token=GOOD).status_code == 302
    url = alpha.url("admin/prompts/slackconnection/disconnect/")
    assert client.get(url).status_code == 405
    done = client.post(url)
    assert done.status_code == 302
    stored = row(alpha)
    assert not stored.connected and stored.bot_token_encrypted == "" and stored.token_hint == ""
    assert "Not connected" in client.get(alpha.url(PAGE)).content.decode()


@pytest.mark.parametrize("role", ["manager", "rep"])
def test_only_admins_open_the_slack_connection(alpha, client, role) -> None:
    with tenant_context(alpha.tenant):
        SlackConnection.objects.create(bot_token_encrypted=vault.seal(GOOD), team_name="Acme")
    alpha.login(client, role)
    expected = 403 if role == "manager" else 302  # a rep is not staff: asked to sign in
    assert client.get(alpha.url(PAGE)).status_code == expected
    # Turned away (to the admin's index, or to sign in), and nothing changes.
    assert client.post(alpha.url("admin/prompts/slackconnection/disconnect/")).status_code == 302
    assert row(alpha).connected
    if role == "manager":
        assert "slackconnection" not in client.get(alpha.url("admin/")).content.decode()


def test_an_admin_sets_who_a_person_is_in_slack(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        rep = User.objects.get(username="alpha-rep")
        preference = Preference.objects.create(user=rep, quiet_start=None)
    alpha.login(client, "admin")
    url = alpha.url(f"admin/prompts/preference/{preference.pk}/change/")
    assert client.get(url).status_code == 200
    bad = client.post(url, {"slack_user_id": "alice", "_save": "Save"})
    assert bad.status_code == 200 and "looks like U0123ABCD" in bad.content.decode()
    good = client.post(url, {"slack_user_id": "U0ALICE", "_save": "Save"})
    assert good.status_code == 302
    with tenant_context(alpha.tenant):
        preference.refresh_from_db()
        assert (preference.slack_user_id, preference.slack_user_found_by) == ("U0ALICE", "admin")
    with tenant_context(alpha.tenant):
        SlackConnection.objects.create(bot_token_encrypted=vault.seal(GOOD), team_name="Acme")
    alpha.login(client, "rep")
    shown = client.get(alpha.url("settings/prompts/")).content.decode()
    assert "An admin set who you are in Slack" in shown and GOOD not in shown


def test_managers_read_their_teams_preferences_and_change_none(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        mine = Preference.objects.create(user=User.objects.get(username="alpha-rep"))
        other = Preference.objects.create(user=User.objects.get(username="alpha-executive"))
    alpha.login(client, "manager")
    listing = client.get(alpha.url("admin/prompts/preference/")).content.decode()
    assert "alpha-rep" in listing and "alpha-executive" not in listing
    change = alpha.url(f"admin/prompts/preference/{mine.pk}/change/")
    client.post(change, {"slack_user_id": "U0HACK", "_save": "Save"})
    with tenant_context(alpha.tenant):
        mine.refresh_from_db()
        assert mine.slack_user_id == ""
    assert client.get(alpha.url(f"admin/prompts/preference/{other.pk}/change/")).status_code in (
        302,
        404,
    )


def test_prompts_list_is_read_only_and_scoped(alpha, client) -> None:
    now = timezone.now()
    with tenant_context(alpha.tenant):
        rep = User.objects.get(username="alpha-rep")
        executive = User.objects.get(username="alpha-executive")
        outcome = OutcomeFactory(action_id="adm-prompt", rep="alpha-rep", action_type="escalate")
        Prompt.objects.create(
            recipient=rep, outcome=outcome, channel="slack", status="sent", sent_at=now
        )
        Prompt.objects.create(
            recipient=executive,
            outcome=outcome,
            channel="email",
            status="failed",
            reason="mail server down",
            sent_at=now - timedelta(minutes=1),
        )
    alpha.login(client, "manager")
    listing = client.get(alpha.url("admin/prompts/prompt/")).content.decode()
    assert "alpha-rep" in listing and "mail server down" not in listing
    alpha.login(client, "admin")
    everything = client.get(alpha.url("admin/prompts/prompt/")).content.decode()
    assert "alpha-rep" in everything and "mail server down" in everything
    failed = client.get(alpha.url("admin/prompts/prompt/?status__exact=failed")).content.decode()
    assert "mail server down" in failed and "adm-prompt" not in failed.split("result_list")[0]
    found = client.get(alpha.url("admin/prompts/prompt/?q=alpha-exec")).content.decode()
    assert "mail server down" in found
    with tenant_context(alpha.tenant):
        prompt = Prompt.objects.get(recipient=rep)
    detail = client.get(alpha.url(f"admin/prompts/prompt/{prompt.pk}/change/")).content.decode()
    assert "escalate (adm-prompt)" in detail and 'name="_save"' not in detail
