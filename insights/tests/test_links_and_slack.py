"""Alerts and reports that lead somewhere: an alert's email links (absolutely) to the page
that shows it and to the alerts page, and alerts and report summaries reach the tenant's
Slack reports channel once, through a task that waits out Slack's Retry-After."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context
from structlog.testing import capture_logs

from insights import alerts, reports, rollups
from insights.models import Alert, AlertSettings
from learning.tenancy.urls import base_url
from outcomes.tests.factories import OutcomeFactory, today_noon
from tests.slack_support import CHANNEL, slack_channel

TODAY = today_noon().date()


@pytest.fixture
def in_alpha(alpha):
    with tenant_context(alpha.tenant):
        alpha.users["manager"].email = "maria@example.com"
        alpha.users["manager"].save(update_fields=["email"])
        yield alpha


def _alert(rule: str, subject: str = "") -> Alert:
    now = timezone.now()
    return Alert.objects.create(
        rule=rule,
        subject=subject,
        message=f"{rule} holds <now> & then",
        value=1,
        threshold=1,
        opened_at=now,
        last_seen_at=now,
    )


# (rule, subject, the path and query the email links to, after the tenant's prefix)
LINKED = [
    ("ambiguous_backlog", "", "feedback/review/to-label/1/"),
    ("feedback_fatigue", "alpha-rep", "feedback/team/#fatigue-heading"),
    ("escalation_spike", "", "manager/?days=7&action_type=escalate"),
    ("engagement_drop", "", "manager/?days=7&action_type=send_email"),
    ("brier_worsening", "send_email", "manager/?days=7&action_type=send_email"),
    ("calibration_changed", "book_demo", "manager/?days=7&action_type=book_demo"),
]


@pytest.mark.parametrize(("rule", "subject", "path"), LINKED)
def test_alert_email_links_to_its_page_and_the_alerts_page(
    in_alpha, client, rule, subject, path
) -> None:
    alert = _alert(rule, subject)
    alerts.notify(alert)
    (email,) = mail.outbox
    html = email.alternatives[0][0]
    link = base_url() + in_alpha.url(path)
    alerts_page = base_url() + in_alpha.url(f"alerts/#alert-{alert.pk}")
    assert link in email.body and alerts_page in email.body
    assert f'href="{link.replace("&", "&amp;")}"' in html and f'href="{alerts_page}"' in html
    assert f"What happened: {rule} holds <now> & then" in email.body  # plain text, unescaped
    assert "What happened:</strong> " + f"{rule} holds &lt;now&gt; &amp; then" in html
    in_alpha.login(client, "manager")
    assert client.get(link.removeprefix(base_url())).status_code == 200
    assert client.get(alerts_page.removeprefix(base_url())).status_code == 200


def test_every_rule_with_a_page_is_in_the_table() -> None:
    assert {rule for rule, _, _ in LINKED} == {rule.value for rule in alerts.AlertRule}


def _backlog(count: int = 3) -> None:
    AlertSettings.objects.create(ambiguous_backlog=count)
    for i in range(count):
        OutcomeFactory(action_id=f"amb-{i}", rep="alpha-rep", status="ambiguous")


def test_a_new_alert_is_posted_once_to_the_reports_channel(
    in_alpha, settings, django_capture_on_commit_callbacks
) -> None:
    _backlog()
    with slack_channel(settings) as fake:
        with django_capture_on_commit_callbacks(execute=True):
            opened = alerts.evaluate().opened
        (post,) = fake.calls_to("chat.postMessage")
        with django_capture_on_commit_callbacks(execute=True):
            assert alerts.evaluate().still_open == 1  # still open: nothing posted again
        assert len(fake.calls_to("chat.postMessage")) == 1
    assert post.args["channel"] == CHANNEL
    header, section, actions, context = post.args["blocks"]
    assert header["text"]["text"] == "🔔 Backlog of outcomes to label"
    assert section["text"]["text"] == (
        "3 outcomes wait for a human label across the company (all teams' To label queues "
        "together)."
    )
    (button,) = actions["elements"]
    assert button["text"]["text"] == "Open in Learning Loop"
    assert button["url"] == base_url() + in_alpha.url("feedback/review/to-label/1/")
    assert context["elements"][0]["text"].startswith(
        f"Opened {opened[0].opened_at:%Y-%m-%d %H:%M} UTC · <{base_url()}"
    )
    assert len(mail.outbox) == 1  # the email as before


def test_rate_limited_post_is_retried_after_retry_after(in_alpha, settings) -> None:
    alert = _alert("ambiguous_backlog")
    with slack_channel(settings) as fake, capture_logs() as logs:
        fake.fail_next("chat.postMessage", status=429, retry_after=7)
        alerts.notify(alert)
        first, second = fake.calls_to("chat.postMessage")
    assert (first.status, second.status, second.error) == (429, 200, None)
    (retry,) = [entry for entry in logs if entry["event"] == "channel_post_retry"]
    assert retry["countdown"] == 7  # Slack's Retry-After, not our own backoff


def test_slack_failing_never_fails_the_alert(in_alpha, settings) -> None:
    alert = _alert("ambiguous_backlog")
    with slack_channel(settings) as fake, capture_logs() as logs:
        fake.fail_next("chat.postMessage", error="channel_not_found")
        alerts.notify(alert)
    assert [entry["error"] for entry in logs if entry["event"] == "channel_post_failed"] == [
        "channel_not_found"
    ]
    alert.refresh_from_db()
    assert alert.notified_at is not None and len(mail.outbox) == 1


def test_no_reports_channel_no_post(in_alpha, settings, django_capture_on_commit_callbacks) -> None:
    _backlog()
    with slack_channel(settings, channel="") as fake:
        with django_capture_on_commit_callbacks(execute=True):
            assert len(alerts.evaluate().opened) == 1
        assert reports.send(kind="manager_daily", today=TODAY).posted is False
        assert fake.calls_to("chat.postMessage") == []
    assert len(mail.outbox) == 2  # the alert's email and the manager's report


@pytest.fixture
def yesterday(in_alpha):
    """Yesterday: 3 emails replied to, 1 bounced, 1 escalation; 2 outcomes to label."""
    for i, status in enumerate(["positive"] * 3 + ["negative"]):
        OutcomeFactory(action_id=f"y{i}", rep="alpha-rep", days_ago=1, status=status)
    OutcomeFactory(
        action_id="yx",
        rep="alpha-rep",
        days_ago=1,
        action_type="escalate",
        outcome_type="escalation_result",
        status="positive",
    )
    for i in range(2):
        OutcomeFactory(action_id=f"a{i}", rep="alpha-rep", days_ago=3, status="ambiguous")
    rollups.refresh()
    return in_alpha


def test_daily_report_posts_its_summary_once(yesterday, settings) -> None:
    with slack_channel(settings) as fake:
        first = reports.send(kind="manager_daily", today=TODAY)
        again = reports.send(kind="manager_daily", today=TODAY)  # a rerun: nothing twice
        (post,) = fake.calls_to("chat.postMessage")
    assert (first.sent, first.posted, again.skipped, again.posted) == (
        ["alpha-manager"],
        True,
        ["alpha-manager"],
        False,
    )
    day = TODAY - timedelta(days=1)
    line = (
        f"Yesterday ({day:%a %-d %b}): 5 agent actions, 80 % worked (settled), "
        "1 escalation; 2 to label across the company."
    )
    assert post.args["channel"] == CHANNEL
    assert post.args["text"] == f"Daily report: {line}"
    header, section, actions, context = post.args["blocks"]
    assert header["text"]["text"] == "Daily report" and section["text"]["text"] == line
    assert actions["elements"][0]["url"] == base_url() + yesterday.url("manager/?days=7")
    assert "_Worked_: positive among the outcomes decided so far" in context["elements"][0]["text"]


def test_weekly_report_summary_and_a_failing_slack_never_fails_the_report(
    yesterday, settings
) -> None:
    with slack_channel(settings) as fake:
        fake.fail_next("chat.postMessage", status=500, times=10)
        result = reports.send(kind="executive_weekly", today=TODAY)
        posts = fake.calls_to("chat.postMessage")
    assert result.posted is True and len(posts) == 7  # the first try and 6 retries
    text = posts[0].args["text"]
    assert text.startswith("Weekly executive report: Last week (")
    assert "7 agent actions, 80 % worked (settled) against a human baseline of" in text
