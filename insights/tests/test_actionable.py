"""Pages that lead somewhere: an alert links to what it is about and can be acknowledged
or snoozed (saying who), a day of a chart opens that day's actions, a manager's Rep page
asks whose agent, the admin's "View site" opens the person's own dashboard, and the
feedback chart shows the same ratings as the headline above it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback.models import FeedbackEntry
from feedback.tests.factories import DraftFactory, FeedbackFactory
from insights.alerts import open_count
from insights.models import Alert
from outcomes.services import label_outcome
from outcomes.tests.factories import OutcomeFactory, today_noon


def _alert(tenant, rule: str = "ambiguous_backlog", subject: str = "") -> Alert:
    with tenant_context(tenant):
        now = timezone.now()
        return Alert.objects.create(
            rule=rule,
            subject=subject,
            message="30 outcomes wait for a human label.",
            value=30,
            threshold=25,
            opened_at=now - timedelta(hours=1),
            last_seen_at=now,
        )


def test_an_alert_links_to_its_subject_and_is_acknowledged_once_by_name(alpha, client) -> None:
    backlog = _alert(alpha.tenant)
    tired = _alert(alpha.tenant, "feedback_fatigue", "alpha-rep")
    worse = _alert(alpha.tenant, "brier_worsening", "send_email")
    alpha.login(client, "manager")
    page = client.get(alpha.url("alerts/")).content.decode()
    # the manager's queue holds their team's part: none of the 30 here
    assert (
        f'href="{alpha.url("feedback/review/to-label/1/")}">Open your To label queue: 0 of them'
        in page
    )
    assert f'href="{alpha.url("feedback/team/")}#fatigue-heading">See alpha-rep' in page
    assert "manager/?days=7&amp;action_type=send_email" in page
    with tenant_context(alpha.tenant):
        assert open_count() == 3

    response = client.post(alpha.url("alerts/"), {"alert": backlog.pk, "action": "acknowledge"})
    assert response.status_code == 302
    alpha.login(client, "executive")  # a retried or second acknowledgement changes nothing
    client.post(alpha.url("alerts/"), {"alert": backlog.pk, "action": "acknowledge"})
    with tenant_context(alpha.tenant):
        backlog.refresh_from_db()
        assert backlog.acknowledged_by.username == "alpha-manager"
        assert open_count() == 2
    page = client.get(alpha.url("alerts/")).content.decode()
    assert "Acknowledged by <strong>alpha-manager</strong>" in page
    assert f'id="alert-{tired.pk}"' in page and f'id="alert-{worse.pk}"' in page


def test_a_snooze_says_who_and_until_when_and_bad_input_changes_nothing(alpha, client) -> None:
    alert = _alert(alpha.tenant)
    alpha.login(client, "manager")
    for bad in ({"hours": "5"}, {"hours": "x"}, {}):
        client.post(alpha.url("alerts/"), {"alert": alert.pk, "action": "snooze", **bad})
    assert client.post(alpha.url("alerts/"), {"alert": alert.pk, "action": "x"}).status_code == 400
    assert client.post(alpha.url("alerts/"), {"alert": "y", "action": "snooze"}).status_code == 400
    with tenant_context(alpha.tenant):
        alert.refresh_from_db()
        assert alert.snoozed_until is None and alert.acknowledged_at is None
    page = client.post(
        alpha.url("alerts/"), {"alert": alert.pk, "action": "snooze", "hours": "x"}, follow=True
    ).content.decode()
    assert "Snooze for 24 or 168 hours." in page

    client.post(alpha.url("alerts/"), {"alert": alert.pk, "action": "snooze", "hours": "168"})
    with tenant_context(alpha.tenant):
        alert.refresh_from_db()
        assert alert.snoozed_by.username == "alpha-manager"
        left = alert.snoozed_until - timezone.now()
        assert timedelta(days=6, hours=23) < left <= timedelta(days=7)
        assert open_count() == 0
        assert open_count(now=timezone.now() + timedelta(days=8)) == 1  # it comes back
    assert (
        "Snoozed by <strong>alpha-manager</strong>"
        in client.get(alpha.url("alerts/")).content.decode()
    )


def test_alerts_are_for_managers_and_up_and_stay_in_their_tenant(alpha, beta, client) -> None:
    theirs = _alert(beta.tenant)
    alpha.login(client, "rep")
    assert (
        client.post(alpha.url("alerts/"), {"alert": theirs.pk, "action": "acknowledge"}).status_code
        == 403
    )
    alpha.login(client, "manager")  # alpha has no alert at all: beta's is not found
    response = client.post(alpha.url("alerts/"), {"alert": theirs.pk, "action": "acknowledge"})
    assert response.status_code == 404
    with tenant_context(beta.tenant):
        theirs.refresh_from_db()
        assert theirs.acknowledged_at is None


@pytest.fixture
def day_of_actions(alpha):
    with tenant_context(alpha.tenant):
        mine = OutcomeFactory(rep="alpha-rep", days_ago=2, status="positive")
        other = OutcomeFactory(rep="alpha-manager", days_ago=2, action_type="send_chat")
        OutcomeFactory(rep="alpha-rep", days_ago=3)  # another day
    return (today_noon() - timedelta(days=2)).date(), mine, other


def test_a_day_of_a_chart_opens_that_days_actions_filtered(alpha, client, day_of_actions) -> None:
    day, mine, other = day_of_actions
    alpha.login(client, "manager")
    page = client.get(alpha.url(f"actions/{day:%Y-%m-%d}/")).content.decode()
    assert "<strong>2</strong> (1 worked, 1 still waiting for signals)" in page
    assert mine.conversation.external_id in page and other.conversation.external_id in page
    only = client.get(alpha.url(f"actions/{day:%Y-%m-%d}/?action_type=send_chat")).content.decode()
    assert "<strong>1</strong> (1 still waiting for signals)" in only
    rep = client.get(alpha.url(f"actions/{day:%Y-%m-%d}/?rep=alpha-rep")).content.decode()
    assert "alpha-rep's actions" in rep and "<strong>1</strong> (1 worked)" in rep

    alpha.login(client, "rep")  # a rep sees their own actions only
    page = client.get(alpha.url(f"actions/{day:%Y-%m-%d}/")).content.decode()
    assert "<strong>1</strong> (1 worked)" in page
    assert client.get(alpha.url(f"actions/{day:%Y-%m-%d}/?rep=alpha-manager")).status_code == 404
    assert client.get(alpha.url("actions/2026-13-01/")).status_code == 404
    assert client.get(alpha.url("actions/yesterday/")).status_code == 404


def test_the_dashboards_charts_drill_into_the_days_list(alpha, client) -> None:
    for role, page in (("manager", "manager/"), ("rep", "rep/")):
        alpha.login(client, role)
        body = client.get(alpha.url(page)).content.decode()
        assert f'data-drill="{alpha.url("actions/DAY/")}"' in body, role


def test_a_manager_on_the_rep_page_picks_one_of_their_reps(alpha, client) -> None:
    alpha.login(client, "manager")
    page = client.get(alpha.url("rep/")).content.decode()
    assert "Whose agent?" in page
    assert 'href="?rep=alpha-rep"' in page
    assert "alpha-rep&#x27;s agent" in client.get(alpha.url("rep/?rep=alpha-rep")).content.decode()
    alpha.login(client, "rep")
    assert "My agent" in client.get(alpha.url("rep/")).content.decode()


def test_the_admins_view_site_opens_the_persons_dashboard(alpha, client) -> None:
    alpha.login(client, "manager")
    page = client.get(alpha.url("admin/")).content.decode()
    assert f'<a href="{alpha.url("manager/")}">View site</a>' in page
    alpha.login(client, "admin")
    page = client.get(alpha.url("admin/")).content.decode()
    assert f'<a href="{alpha.url("executive/")}">View site</a>' in page


def test_the_feedback_chart_counts_the_ratings_of_its_headline(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        manager = alpha.users["manager"]
        OutcomeFactory(action_id="fb-1", rep="alpha-rep", conversation_id="fb-conv")
        FeedbackFactory(
            reviewer=manager,
            target_id="fb-1",
            conversation_id="fb-conv",
            rating=5,
            source="dashboard",
        )
        DraftFactory(
            action_id="fb-1", conversation_id="fb-conv", sent_version="Rewritten entirely, sorry."
        )
        assert FeedbackEntry.objects.filter(source="draft_edit").count() == 1
    alpha.login(client, "manager")
    response = client.get(alpha.url("feedback/team/"))
    trend = response.context["trend_json"]
    assert (
        sum(day["count"] for day in trend) == response.context["summary"]["explicit"]["count"] == 1
    )
    assert [d["average_rating"] for d in trend if d["count"]] == [1.0]


def test_the_to_label_count_is_the_queues_and_a_label_counts_at_once(
    alpha, client, django_capture_on_commit_callbacks
) -> None:
    with tenant_context(alpha.tenant):
        first = OutcomeFactory(rep="alpha-rep", days_ago=40, status="ambiguous")  # any period
        OutcomeFactory(rep="alpha-rep", days_ago=1, status="ambiguous")
    alpha.login(client, "manager")
    assert client.get(alpha.url("manager/")).context["data"]["review_queue"] == 2
    tab = client.get(alpha.url("feedback/review/to-label/1/")).content.decode()
    assert 'To label <span class="count">2 waiting</span>' in tab
    with tenant_context(alpha.tenant), django_capture_on_commit_callbacks(execute=True):
        label_outcome(outcome_id=first.pk, status="positive", user=alpha.users["manager"])
    assert client.get(alpha.url("manager/")).context["data"]["review_queue"] == 1


def test_roi_shows_its_assumptions_and_the_period_before(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        OutcomeFactory(rep="alpha-rep", days_ago=0)
    alpha.login(client, "executive")
    page = client.get(alpha.url("executive/?days=7")).content.decode()
    assert "The agent did <strong>1</strong> action for <strong>0.05 USD</strong>" in page
    assert "a rep would spend 6 minutes on the same action, at 45.00 USD an hour" in page
    assert "No actions in the 7 days before, so nothing to compare with." in page
