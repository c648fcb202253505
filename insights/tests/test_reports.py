"""Emailed reports: exact figures, inline chart images, one send per user and period,
dry-run files, and nothing recorded when the mail server refuses."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django_tenants.utils import tenant_context

from insights import reports, rollups
from insights.models import AnalyticsSettings, ReportDelivery
from outcomes.tests.factories import OutcomeFactory, today_noon

TODAY_NOON = today_noon()

PNG = b"\x89PNG\r\n\x1a\n"


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


@pytest.fixture
def team(alpha):
    """alpha-rep: yesterday 3 replied emails and 1 bounced (75 %), one escalation; the 7
    days before, 2 of 4 (50 %). The manager and executive have addresses; the admin none."""
    with tenant_context(alpha.tenant):
        for role in ("manager", "executive"):
            alpha.users[role].email = f"{role}@alpha.example"
            alpha.users[role].save(update_fields=["email"])
        for i, status in enumerate(["positive"] * 3 + ["negative"]):
            OutcomeFactory(
                action_id=f"y{i}",
                rep="alpha-rep",
                days_ago=1,
                status=status,
                predicted_confidence=0.8,
            )
        OutcomeFactory(
            action_id="yx",
            rep="alpha-rep",
            days_ago=1,
            action_type="escalate",
            outcome_type="escalation_result",
        )
        for i, status in enumerate(["positive", "negative", "positive", "negative"]):
            OutcomeFactory(
                action_id=f"w{i}",
                rep="alpha-rep",
                days_ago=2 + i,
                status=status,
                predicted_confidence=0.6,
            )
        OutcomeFactory(
            action_id="old", rep="alpha-rep", days_ago=9, status="positive"
        )  # the 14-day chart, not the week
        rollups.refresh()
        yield alpha


def test_manager_report_figures_and_inline_charts(team) -> None:
    manager = team.users["manager"]
    report = reports.manager_report(user=manager, today=TODAY_NOON.date())
    context = report.context
    assert context["yesterday"]["actions"] == 5
    assert context["yesterday"]["decided"] == 4
    assert context["yesterday"]["success_rate"] == pytest.approx(0.75)
    assert context["yesterday"]["escalations"] == 1
    assert context["before"]["success_rate"] == pytest.approx(0.5)
    # yesterday's escalation still waits (1 of 5): 75 % so far, not compared yet
    assert (context["yesterday"]["settled"], context["change"]) == (False, None)
    (rep,) = context["per_rep"]
    assert (rep["rep"], rep["actions"], rep["positive"], rep["decided"]) == ("alpha-rep", 9, 5, 8)
    assert report.period.start == report.period.end == TODAY_NOON.date() - timedelta(days=1)

    text, html = report.render(inline=True)
    assert "Agent actions: 5" in text
    assert "Success rate: 75 % so far (not settled: will end 60\u201380 %)\n" in text
    assert (
        "alpha-rep: 9 actions, success 62 % so far (not settled: will end 56\u201367 %) of 8"
        in text
    )
    assert 'src="cid:trend"' in html and 'src="cid:reps"' in html

    message = message_from_bytes(report.message().message().as_bytes())
    assert message.get_content_type() == "multipart/related"
    images = {
        part["Content-ID"]: part.get_payload(decode=True)
        for part in message.walk()
        if part.get_content_type() == "image/png"
    }
    assert set(images) == {"<trend>", "<reps>"}
    assert all(png.startswith(PNG) and len(png) > 2_000 for png in images.values())


def test_executive_report_roi_and_week_on_week(team) -> None:
    with tenant_context(team.tenant):
        AnalyticsSettings.objects.create(
            agent_cost_per_interaction="0.10",
            human_minutes_per_interaction=6.0,
            human_hourly_cost=40,
        )
        report = reports.executive_report(user=team.users["executive"], today=TODAY_NOON.date())
    view = report.context["view"]
    # the week: 9 actions (5 yesterday, 4 before), 5 of 8 decided positive
    assert view["roi"]["interactions"] == 9
    assert view["roi"]["agent_cost"] == pytest.approx(0.9)
    # only the 5 that worked save work: 5 x 6 minutes = 0.5 hours, at 40 an hour
    assert view["roi"]["worked"] == 5
    assert view["roi"]["hours_saved"] == pytest.approx(0.5)
    assert view["roi"]["net_savings"] == pytest.approx(20 - 0.9)
    assert view["totals"]["success_rate"] == pytest.approx(5 / 8)
    assert report.context["prior"]["actions"] == 1  # `old`, 9 days ago
    assert report.context["change"] is None  # 1 of 9 still waits: not compared yet
    assert set(report.images) == {"trend", "types"}
    text, _ = report.render(inline=False)
    assert "Net savings: USD 19.10" in text
    assert "by the 5 of 9 actions that worked" in text


def test_send_once_per_user_and_period(team) -> None:
    with tenant_context(team.tenant):
        first = reports.send(kind="manager_daily", today=TODAY_NOON.date())
        again = reports.send(kind="manager_daily", today=TODAY_NOON.date())
        assert (first.sent, again.sent, again.skipped) == (["alpha-manager"], [], ["alpha-manager"])
        assert ReportDelivery.objects.count() == 1
        weekly = reports.send(kind="executive_weekly", today=TODAY_NOON.date())
    assert weekly.sent == ["alpha-executive"]  # the admin has no address: nobody else
    assert [m.to for m in mail.outbox] == [["manager@alpha.example"], ["executive@alpha.example"]]
    assert mail.outbox[0].subject.startswith("[Learning Loop] Your team on ")


def test_refused_send_records_nothing_so_the_next_run_retries(team, settings) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    with tenant_context(team.tenant):
        result = reports.send(kind="manager_daily", today=TODAY_NOON.date())
        assert (result.sent, result.failed) == ([], ["alpha-manager"])
        assert not ReportDelivery.objects.exists()


def test_dry_run_writes_files_and_sends_nothing(team, tmp_path: Path, capsys) -> None:
    call_command(
        "send_reports",
        tenant=team.slug,
        role="manager",
        dry_run=True,
        out=tmp_path,
        date=TODAY_NOON.date(),
    )
    yesterday = TODAY_NOON.date() - timedelta(days=1)
    stem = f"{team.slug}-manager_daily-{yesterday}-alpha-manager"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{stem}.eml", f"{stem}.html"]
    html = (tmp_path / f"{stem}.html").read_text()
    assert html.count('src="data:image/png;base64,') == 2
    assert "Your team on" in (tmp_path / f"{stem}.eml").read_text()
    assert mail.outbox == []
    with tenant_context(team.tenant):
        assert not ReportDelivery.objects.exists()
    assert f"{stem}.html" in capsys.readouterr().out


def test_manager_report_carries_the_strongest_coaching_patterns(team) -> None:
    from coaching.models import CoachingPattern, CoachingRun

    with tenant_context(team.tenant):
        run = CoachingRun.objects.create(
            started_at=TODAY_NOON,
            finished_at=TODAY_NOON,
            period_start=TODAY_NOON,
            period_end=TODAY_NOON,
            false_discovery_rate=0.1,
            min_group=30,
        )
        for rank in range(1, 6):
            CoachingPattern.objects.create(
                run=run,
                kind="segment",
                rank=rank,
                dimension="persona",
                level=f"p{rank}",
                description=f"finding {rank}",
                recommendation=f"advice {rank}",
                successes=1,
                trials=2,
                effect=0.1,
            )
        report = reports.manager_report(user=team.users["manager"], today=TODAY_NOON.date())
    text, html = report.render(inline=True)
    assert "- finding 1 advice 1" in text and "finding 3" in html and "finding 4" not in html
