"""Alert episodes: opened and notified once, kept while the rule holds, closed after."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from insights import alerts, rollups
from insights.models import Alert, AlertSettings
from outcomes.models import OutcomeRecord
from outcomes.tests.factories import OutcomeFactory


@pytest.fixture
def in_alpha(alpha):
    with tenant_context(alpha.tenant):
        alpha.users["manager"].email = "maria@example.com"
        alpha.users["manager"].save(update_fields=["email"])
        yield alpha


def test_backlog_episode_opens_once_then_closes(
    in_alpha, django_capture_on_commit_callbacks
) -> None:
    AlertSettings.objects.create(ambiguous_backlog=3)
    for i in range(3):
        OutcomeFactory(action_id=f"amb-{i}", rep="alpha-rep", status="ambiguous")
    with django_capture_on_commit_callbacks(execute=True):
        first = alerts.evaluate()
    assert [(a.rule, a.subject) for a in first.opened] == [("ambiguous_backlog", "")]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["maria@example.com"]
    assert "3 outcomes wait for a human label across the company" in mail.outbox[0].body
    # maria's link says what her queue will show: her team's 3
    assert "Open your To label queue: 3 of them waiting now, your team's" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        again = alerts.evaluate()
    assert (again.opened, again.still_open) == ([], 1)
    assert len(mail.outbox) == 1  # no repeat every cycle
    OutcomeRecord.objects.filter(action_id="amb-0").update(status="positive")
    assert alerts.evaluate().closed == 1
    assert not Alert.objects.filter(closed_at__isnull=True).exists()
    OutcomeRecord.objects.filter(action_id="amb-0").update(status="ambiguous")
    with django_capture_on_commit_callbacks(execute=True):
        reopened = alerts.evaluate()
    assert len(reopened.opened) == 1 and Alert.objects.count() == 2  # a new episode
    assert len(mail.outbox) == 2


def test_escalation_spike(in_alpha) -> None:
    # The 7 days before: 1 escalation in 20 actions (5 %); today: 6 in 10 (60 %).
    for i in range(19):
        OutcomeFactory(action_id=f"old-{i}", rep="alpha-rep", days_ago=1 + i % 7)
    OutcomeFactory(
        action_id="old-x",
        rep="alpha-rep",
        days_ago=3,
        action_type="escalate",
        outcome_type="escalation_result",
    )
    for i in range(4):
        OutcomeFactory(action_id=f"new-{i}", rep="alpha-rep")
    for i in range(6):
        OutcomeFactory(
            action_id=f"new-x{i}",
            rep="alpha-rep",
            action_type="escalate",
            outcome_type="escalation_result",
        )
    rollups.refresh()
    (finding,) = [f for f in alerts.findings() if f.rule == "escalation_spike"]
    assert finding.value == pytest.approx(0.6) and finding.threshold == pytest.approx(0.1)
    assert finding.message.startswith("6 escalations today, 60% of actions")
    AlertSettings.objects.create(escalation_min_count=7)
    assert not [f for f in alerts.findings() if f.rule == "escalation_spike"]


def test_brier_worsening_and_engagement_drop(in_alpha) -> None:
    # 28 days before: confident and right; last 7 days: confident and wrong.
    for i in range(40):
        OutcomeFactory(
            action_id=f"b-{i}",
            rep="alpha-rep",
            days_ago=8 + i % 20,
            predicted_confidence=0.9,
            status="positive",
        )
    for i in range(40):
        OutcomeFactory(
            action_id=f"n-{i}",
            rep="alpha-rep",
            days_ago=i % 7,
            predicted_confidence=0.9,
            status="negative" if i % 4 else "positive",
        )
    rollups.refresh()
    found = {(f.rule, f.subject): f for f in alerts.findings()}
    brier = found[("brier_worsening", "send_email")]
    assert brier.value == pytest.approx((30 * 0.81 + 10 * 0.01) / 40)
    drop = found[("engagement_drop", "")]
    assert drop.value == pytest.approx(0.25) and drop.threshold == pytest.approx(0.7)


def test_bell_and_alerts_page(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        now = timezone.now()
        Alert.objects.create(
            rule="ambiguous_backlog",
            message="30 outcomes wait",
            value=30,
            threshold=25,
            opened_at=now - timedelta(hours=1),
            last_seen_at=now,
        )
    alpha.login(client, "manager")
    page = client.get(alpha.url("manager/")).content.decode()
    assert 'aria-label="Alerts: 1 open"' in page
    assert "30 outcomes wait" in client.get(alpha.url("alerts/")).content.decode()
    alpha.login(client, "rep")
    assert "bell-count" not in client.get(alpha.url("rep/")).content.decode()
    assert client.get(alpha.url("alerts/")).status_code == 403


def _waiting_on_tab(page: str) -> int:
    """The count the To label tab shows ("N waiting")."""
    tab = re.search(
        r'href="[^"]*/feedback/review/to-label/1/"[^>]*>To label <span class="count">(\d+) waiting',
        page,
    )
    assert tab, "no To label tab"
    return int(tab.group(1))


def test_backlog_alert_counts_what_its_link_shows(alpha, client) -> None:
    """2 outcomes to label on alpha-rep's (the manager's team), 3 on the outsider's: the
    alert counts the company's 5, as the admin's queue shows them; the manager's link
    says 2, as their queue shows them."""
    with tenant_context(alpha.tenant):
        from learning import services as learning_services

        learning_services.create_user(username="outsider", role="rep", password="x" * 12)
        AlertSettings.objects.create(ambiguous_backlog=3)
        for i in range(2):
            OutcomeFactory(action_id=f"team-{i}", rep="alpha-rep", status="ambiguous")
        for i in range(3):
            OutcomeFactory(action_id=f"out-{i}", rep="outsider", status="ambiguous")
        (alert,) = alerts.evaluate().opened
        assert alert.value == 5
    for role, shown in (("manager", 2), ("admin", 5)):
        alpha.login(client, role)
        page = " ".join(client.get(alpha.url("alerts/")).content.decode().split())
        link = re.search(r'<a href="([^"]+)">(Open [^<]*) →</a>', html.unescape(page))
        assert link and link.group(1).endswith("/feedback/review/to-label/1/")
        queue = client.get(link.group(1)).content.decode()
        assert _waiting_on_tab(queue) == shown
        assert f" {shown} " in f" {link.group(2)} "
        if role == "manager":
            assert link.group(2) == "Open your To label queue: 2 of them waiting now, your team's"
        else:
            assert link.group(2) == "Open the To label queue: 5 waiting now, the whole company's"
            assert _waiting_on_tab(queue) == alert.value
    assert "5 outcomes wait for a human label across the company" in page
