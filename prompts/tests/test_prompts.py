"""Who is prompted, where and when; what is sent; what failures do. In-process: tasks are
called directly (tests/test_flow.py runs the whole path on a worker)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import tenant_context
from prometheus_client import REGISTRY

from feedback import prompting
from feedback.models import FeedbackSettings
from learning.models import User
from outcomes.tests.factories import OutcomeFactory
from prompts import preferences, selectors, slack, tasks, vault
from prompts.models import Channel, Preference, Prompt, SlackConnection, Status
from tests.slack_server import running_slack


@pytest.fixture
def in_alpha(alpha):
    with tenant_context(alpha.tenant):
        User.objects.filter(username="alpha-rep").update(email="rita@example.com")
        User.objects.filter(username="alpha-manager").update(email="maria@example.com")
        yield alpha


@pytest.fixture
def fake_slack(in_alpha, settings):
    with running_slack(
        tokens={"xoxb-unit"}, users={"rita@example.com": "U0RITA", "maria@example.com": "U0MARIA"}
    ) as fake:
        settings.SLACK_API_URL = fake.api_url
        slack.connect(bot_token="xoxb-unit", reports_channel="C0REPORTS")
        yield fake


def rep() -> Any:
    return User.objects.get(username="alpha-rep")


def escalation(action_id: str = "esc", **kw: Any) -> Any:
    return OutcomeFactory(
        action_id=action_id,
        rep="alpha-rep",
        outcome_type="escalation_result",
        action_type="escalate",
        **kw,
    )


def prompts_of(user: Any) -> list[tuple[str, str, str]]:
    return [
        (p.outcome.action_id, p.channel, p.status)
        for p in Prompt.objects.filter(recipient=user).order_by("id")
    ]


# --- who and where ------------------------------------------------------------------------


def test_only_critical_actions_prompt_and_each_once(in_alpha) -> None:
    critical, routine = escalation(), OutcomeFactory(action_id="mail", rep="alpha-rep")
    moved = OutcomeFactory(action_id="move", rep="alpha-rep", outcome_type="deal_progression")
    assert prompting.prompt_for_actions([critical.id, routine.id, moved.id]) == 2
    assert prompting.prompt_for_actions([critical.id, moved.id]) == 0  # a retried task
    assert prompts_of(rep()) == [("esc", "email", "queued"), ("move", "email", "queued")]


def test_critical_types_are_the_tenants_and_managers_by_setting(in_alpha) -> None:
    prompting.forget_critical()
    FeedbackSettings.objects.create(
        critical_outcome_types=["deal_progression"],
        critical_action_types=["offer_discount"],
        prompt_managers=True,
    )
    discount = OutcomeFactory(action_id="disc", rep="alpha-rep", action_type="offer_discount")
    prompting.prompt_for_actions([escalation().id, discount.id])
    assert prompts_of(rep()) == [("disc", "email", "queued")]
    assert prompts_of(User.objects.get(username="alpha-manager")) == [("disc", "email", "queued")]
    prompt = Prompt.objects.filter(recipient=rep()).get()
    assert prompt.why == "“Offer discount”, an action the agent took: critical"


def test_the_days_allowance_is_kept_and_the_rest_recorded_as_not_sent(in_alpha) -> None:
    FeedbackSettings.objects.create(prompts_per_day=2)
    ids = [escalation(f"e{i}").id for i in range(3)]
    assert prompting.prompt_for_actions(ids) == 2
    skipped = Prompt.objects.get(outcome__action_id="e2")
    assert (skipped.status, skipped.reason) == (
        "skipped",
        "Not sent: today's allowance of 2 prompts is reached.",
    )


def test_channels_follow_the_persons_choice(in_alpha) -> None:
    person = rep()
    assert preferences.channels_for(person, slack_connected=True) == (["slack"], "")
    assert preferences.channels_for(person, slack_connected=False) == (["email"], "")
    Preference.objects.create(user=person, slack=True, email=True, email_also=True)
    assert preferences.channels_for(person, slack_connected=True) == (["slack", "email"], "")
    Preference.objects.filter(user=person).update(slack=False, email=False)
    assert preferences.channels_for(person, slack_connected=True) == (
        [],
        "they turned prompts off",
    )
    User.objects.filter(pk=person.pk).update(email="")
    Preference.objects.filter(user=person).update(email=True)
    assert preferences.channels_for(rep(), slack_connected=False) == (
        [],
        "no Slack connected and no email address",
    )


@pytest.mark.parametrize(
    ("now", "held_until"),
    [
        # quiet 20:00-07:00 in New York (UTC-5 in December)
        (datetime(2026, 12, 7, 2, 0, tzinfo=UTC), datetime(2026, 12, 7, 12, 0, tzinfo=UTC)),
        (datetime(2026, 12, 7, 11, 59, tzinfo=UTC), datetime(2026, 12, 7, 12, 0, tzinfo=UTC)),
        (datetime(2026, 12, 7, 12, 0, tzinfo=UTC), None),  # 07:00 there: awake
        (datetime(2026, 12, 7, 0, 59, tzinfo=UTC), None),  # 19:59 there
        (datetime(2026, 12, 7, 1, 0, tzinfo=UTC), datetime(2026, 12, 7, 12, 0, tzinfo=UTC)),
    ],
)
def test_quiet_hours_are_in_the_persons_time_zone(in_alpha, now, held_until) -> None:
    person = rep()
    User.objects.filter(pk=person.pk).update(time_zone="America/New_York")
    Preference.objects.create(user=person, quiet_start=time(20), quiet_end=time(7))
    assert preferences.quiet_until(rep(), now=now) == held_until


def test_a_prompt_in_quiet_hours_is_held_and_sent_when_they_end(in_alpha, monkeypatch) -> None:
    person = rep()
    Preference.objects.create(user=person, quiet_start=time(0), quiet_end=time(23, 59))
    prompting.prompt_for_actions([escalation().id])
    held = Prompt.objects.get()
    assert held.status == "held" and held.send_after is not None
    assert selectors.stale() == []  # not yet
    Prompt.objects.update(send_after=timezone.now())
    assert [p.pk for p in selectors.stale()] == [held.pk]


# --- Slack ----------------------------------------------------------------------------------


def test_a_slack_prompt_is_sent_once(fake_slack) -> None:
    prompting.prompt_for_actions([escalation(content=None).id])
    prompt = Prompt.objects.get()
    assert prompt.channel == Channel.SLACK
    assert tasks.deliver_slack.apply((prompt.pk,)).get() == "sent"
    assert tasks.deliver_slack.apply((prompt.pk,)).get() == "not waiting"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert len(fake_slack.calls_to("users.lookupByEmail")) == 1  # then remembered
    assert Preference.objects.get(user=rep()).slack_user_id == "U0RITA"
    sent = Prompt.objects.get()
    assert (sent.status, sent.slack_user, sent.slack_channel) == ("sent", "U0RITA", "D0RITA")


def test_slack_rate_limits_are_waited_out(fake_slack) -> None:
    prompting.prompt_for_actions([escalation().id])
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)
    prompt = Prompt.objects.get()
    assert tasks.deliver_slack.apply((prompt.pk,)).get() == "sent"
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert Prompt.objects.get().attempts == 2
    assert tasks.retry_delay(slack.SlackError("ratelimited", True, 7), 0) == 7
    assert tasks.retry_delay(slack.SlackError("http_500", True), 3) == 80


def test_someone_slack_cannot_find_gets_an_email_instead(fake_slack) -> None:
    User.objects.filter(username="alpha-rep").update(email="rita@elsewhere.example")
    prompting.prompt_for_actions([escalation().id])
    assert tasks.deliver_slack.apply((Prompt.objects.get().pk,)).get() == "no slack user"
    failed, fallback = Prompt.objects.order_by("id")
    assert (failed.status, failed.reason) == (
        "failed",
        "Not found in Slack by their email; set their Slack user id in the admin.",
    )
    assert (fallback.channel, fallback.status) == ("email", "queued")


def test_a_slack_that_stays_down_fails_the_prompt_with_why(fake_slack) -> None:
    prompting.prompt_for_actions([escalation().id])
    fake_slack.fail_next("chat.postMessage", status=500, times=20)
    assert tasks.deliver_slack.apply((Prompt.objects.get().pk,)).get() == "failed"
    slack_prompt = Prompt.objects.get(channel="slack")
    assert (slack_prompt.status, slack_prompt.reason) == ("failed", "Slack: internal_error.")
    assert slack_prompt.attempts == tasks.MAX_ATTEMPTS + 1
    assert Prompt.objects.filter(channel="email").exists()  # they still hear of it


def test_only_fresh_actions_prompt_and_a_refusing_broker_never_fails_ingest(
    in_alpha, monkeypatch, caplog
) -> None:
    from feedback import tasks as feedback_tasks
    from outcomes.events import RecordedAction

    queued: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        queued.append(args)
        raise OSError("broker down")

    monkeypatch.setattr(feedback_tasks.prompt_for_actions, "apply_async", refuse)
    prompting.forget_critical()
    backfilled = timezone.now() - prompting.FRESH - timezone.timedelta(minutes=1)
    prompting.on_actions_recorded(
        [RecordedAction(1, "escalate", "escalation_result", 5, backfilled)]
    )
    assert queued == []  # history imported later interrupts nobody
    prompting.on_actions_recorded(
        [RecordedAction(2, "escalate", "escalation_result", 5, timezone.now())]
    )
    assert queued == [(([2],),)]
    assert any("prompts_not_queued" in r.getMessage() for r in caplog.records)


# --- email -----------------------------------------------------------------------------------


def test_email_prompts_are_gathered_into_one_message(in_alpha, client, mailoutbox) -> None:
    ids = [escalation(f"e{i}").id for i in range(3)]
    prompting.prompt_for_actions(ids)
    assert tasks.send_email_prompts.apply((rep().pk,)).get() == 3
    assert tasks.send_email_prompts.apply((rep().pk,)).get() == 0  # nothing left
    [message] = mailoutbox
    assert message.to == ["rita@example.com"]
    assert message.subject == "3 actions of the agent wait for your verdict"
    html = message.alternatives[0][0]
    links = re.findall(r'href="([^"]+/f/[^"]+)"', html)
    assert len(links) == 9  # Good, Neutral, Bad for each
    assert all(link in message.body for link in links)
    assert {p.status for p in Prompt.objects.all()} == {"sent"}
    # the first "Good" link: confirm, then recorded once as the rep; the prompt is answered
    in_alpha.login(client, "rep")
    path = urlsplit(links[0]).path
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 200
    answered = Prompt.objects.get(outcome__action_id="e0")
    assert (answered.answered_via, answered.answer) == ("link", 1.0)


# --- what the operator sees (learning.metrics; /metrics serves them) ------------------------


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_prompts_sent_and_failed_are_counted_per_tenant_and_channel(fake_slack) -> None:
    slack_sent = {"tenant": "alpha", "channel": "slack"}
    email = {"tenant": "alpha", "channel": "email"}
    retries = {"task": "prompts.deliver_slack"}
    before = {
        "sent": counted("ll_prompts_sent_total", **slack_sent),
        "failed": counted("ll_prompts_failed_total", **slack_sent),
        "email": counted("ll_prompts_sent_total", **email),
        "retried": counted("ll_celery_task_retries_total", **retries),
    }
    prompting.prompt_for_actions([escalation("ok").id])
    assert tasks.deliver_slack.apply((Prompt.objects.get().pk,)).get() == "sent"
    assert tasks.deliver_slack.apply((Prompt.objects.get().pk,)).get() == "not waiting"
    assert counted("ll_prompts_sent_total", **slack_sent) == before["sent"] + 1

    prompting.prompt_for_actions([escalation("down").id])
    fake_slack.fail_next("chat.postMessage", status=500, times=20)
    down = Prompt.objects.get(outcome__action_id="down", channel="slack")
    assert tasks.deliver_slack.apply((down.pk,)).get() == "failed"
    assert counted("ll_prompts_failed_total", **slack_sent) == before["failed"] + 1
    assert counted("ll_prompts_sent_total", **slack_sent) == before["sent"] + 1
    assert counted("ll_celery_task_retries_total", **retries) == (
        before["retried"] + tasks.MAX_ATTEMPTS
    )
    # its email fallback, sent
    assert tasks.send_email_prompts.apply((rep().pk,)).get() == 1
    assert counted("ll_prompts_sent_total", **email) == before["email"] + 1


def test_answer_rates_per_channel(in_alpha) -> None:
    person = rep()
    sent = timezone.now() - timezone.timedelta(hours=1)
    for i, (channel, minutes) in enumerate(
        [("slack", 4), ("slack", 10), ("slack", None), ("email", 60), ("email", None)]
    ):
        outcome = escalation(f"r{i}")
        Prompt.objects.create(
            recipient=person,
            outcome_id=outcome.id,
            channel=channel,
            status=Status.SENT,
            sent_at=sent,
            answered_at=sent + timezone.timedelta(minutes=minutes) if minutes else None,
        )
    Prompt.objects.create(
        recipient=person, outcome_id=escalation("r9").id, channel="slack", status="failed"
    )
    rates = {
        r.channel: r
        for r in selectors.answer_rates(
            recipients=User.objects.all(), since=sent - timezone.timedelta(days=1)
        )
    }
    assert (rates["slack"].sent, rates["slack"].answered, rates["slack"].failed) == (3, 2, 1)
    assert rates["slack"].median_minutes == 7.0 and rates["slack"].rate == 2 / 3
    assert (rates["email"].sent, rates["email"].answered, rates["email"].median_minutes) == (
        2,
        1,
        60.0,
    )


# --- connecting ----------------------------------------------------------------------------


def test_configure_slack_keeps_the_token_sealed_and_never_prints_it(
    in_alpha, settings, capsys
) -> None:
    with running_slack(tokens={"xoxb-secret-123"}) as fake:
        settings.SLACK_API_URL = fake.api_url
        with pytest.raises(CommandError, match="Slack refused the token: invalid_auth"):
            call_command("configure_slack", "alpha", "--bot-token", "xoxb-wrong", "--json")
        assert not SlackConnection.objects.exists()
        call_command(
            "configure_slack", "alpha", "--bot-token", "xoxb-secret-123", "--reports-channel",
            "C0REPORTS", "--json",
        )  # fmt: skip
        out = capsys.readouterr().out
        assert "xoxb-secret-123" not in out and '"team": "Acme Sales"' in out
        assert "/t/alpha/integrations/slack/" in out
        row = SlackConnection.objects.get()
        assert "xoxb-secret-123" not in row.bot_token_encrypted
        assert vault.unseal(row.bot_token_encrypted) == "xoxb-secret-123"
        assert (row.team_name, row.reports_channel, row.token_hint) == (
            "Acme Sales",
            "C0REPORTS",
            "xoxb-…",
        )
        first = row.connected_at
        call_command("configure_slack", "alpha", "--bot-token", "xoxb-secret-123", "--json")
        assert SlackConnection.objects.get().connected_at == first  # a rerun changes nothing
        assert SlackConnection.objects.get().reports_channel == "C0REPORTS"
