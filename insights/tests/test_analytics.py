"""Dashboard numbers: exact on a fixed data set, scoped by role, rollups equal raw rows."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from insights import rollups
from insights.models import AnalyticsSettings, DailyOutcomeRollup, RollupState
from learning import services as learning_services
from outcomes import services as outcome_services
from outcomes.models import OutcomeRecord
from outcomes.tests.factories import OutcomeFactory, today_noon

TODAY = today_noon()


def record(action_id: str, **kwargs) -> OutcomeRecord:
    """An action of alpha-rep's (unless another rep is named), made by the factory."""
    return OutcomeFactory(action_id=action_id, **{"rep": "alpha-rep", **kwargs})


@pytest.fixture
def fixed(alpha):
    """alpha-rep: 4 emails (2 replied, 1 bounced, 1 pending) yesterday and today, one
    escalation resolved well, one deal advanced (score 0.75) and one lost; `outsider`
    (not on the manager's team) one replied email."""
    with tenant_context(alpha.tenant):
        learning_services.create_user(username="outsider", role="rep", password="x" * 12)
        record("e1", days_ago=1, status="positive", predicted_confidence=0.9)
        record("e2", days_ago=1, status="negative", predicted_confidence=0.7)
        record("e3", status="positive", predicted_confidence=0.6)
        record("e4", predicted_confidence=0.5)
        record("x1", action_type="escalate", outcome_type="escalation_result", status="positive")
        record(
            "d1",
            days_ago=1,
            action_type="advance_stage",
            outcome_type="deal_progression",
            status="positive",
            score=0.75,
        )
        record(
            "d2",
            action_type="advance_stage",
            outcome_type="deal_progression",
            status="negative",
            score=0.0,
        )
        record("o1", rep="outsider", status="positive")
        rollups.refresh()
    return alpha


def get(client, world, path, role):
    return client.get(world.url(f"api/v1/analytics/{path}"), **world.bearer(role))


def test_rep_view_numbers(fixed, client) -> None:
    body = get(client, fixed, "rep/?days=7", "rep").json()
    assert body["rep"] == "alpha-rep"
    assert body["totals"] == {
        "actions": 7,
        "decided": 6,
        "positive": 4,
        "negative": 2,
        "expired": 0,
        "ambiguous": 0,
        "pending": 1,
        "success_rate": 4 / 6,
        # scored: e1 (0.9, 1), e2 (0.7, 0), e3 (0.6, 1), x1 (0.8, 1), d1 (0.8, 1), d2 (0.8, 0)
        "brier_score": pytest.approx(
            ((0.9 - 1) ** 2 + 0.7**2 + (0.6 - 1) ** 2 + 0.2**2 + 0.2**2 + 0.8**2) / 6
        ),
        # 1 of 7 still pending (14 % > 5 %): not settled, and it ends at 4/7 or 5/7.
        "waiting": 1,
        "waiting_share": pytest.approx(1 / 7),
        "settled": False,
        "settled_rate": None,
        "rate_low": pytest.approx(4 / 7),
        "rate_high": pytest.approx(5 / 7),
    }
    assert body["response_rate"] == pytest.approx(2 / 3)
    # 1 of 4 emails still pending: not settled, it ends at 2/4 or 3/4
    assert body["response"]["settled"] is False
    assert (body["response"]["rate_low"], body["response"]["rate_high"]) == (0.5, 0.75)
    assert body["escalations"] == {"count": 1, "rate": 1 / 7, "resolved_well": 1, "needless": 0}
    assert body["deal_impact"] == {
        "actions": 2,
        "advanced": 1,
        "lost_or_back": 1,
        "mean_score": 0.375,
    }
    yesterday, today = body["trend"][-2], body["trend"][-1]
    assert (yesterday["actions"], today["actions"]) == (3, 4)  # today comes from live rows
    assert (today["escalations"], today["pending"]) == (1, 1)
    assert len(body["trend"]) == 7
    only = get(client, fixed, "rep/?days=7&action_type=advance_stage", "rep").json()
    assert only["totals"]["actions"] == 2


def test_manager_and_executive_views(fixed, client) -> None:
    manager = get(client, fixed, "manager/?days=7", "manager").json()
    assert manager["team"] == ["alpha-rep"]  # not the outsider
    assert manager["totals"]["actions"] == 7
    (rep,) = manager["per_rep"]
    assert (rep["rep"], rep["actions"], rep["escalation_rate"]) == ("alpha-rep", 7, 1 / 7)
    assert manager["review_queue"] == 0
    with tenant_context(fixed.tenant):
        AnalyticsSettings.objects.create(
            agent_cost_per_interaction="0.10",
            human_minutes_per_interaction=6,
            human_hourly_cost="50",
            human_success_rate=0.5,
        )
    body = get(client, fixed, "executive/?days=7", "executive").json()
    assert body["totals"]["actions"] == 8  # everyone
    # Every action costs; only the 5 that worked (e1, e3, x1, d1, o1) save work: the 2 that
    # failed (e2, d2) and the one still pending (e4) save nothing.
    assert body["roi"] == {
        "currency": "USD",
        "interactions": 8,
        "worked": 5,
        "not_worked": 2,
        "still_waiting": 1,
        "agent_cost": 0.8,
        "cost_per_interaction": 0.1,
        "hours_saved": 0.5,  # 5 x 6 minutes
        "human_cost_of_same_work": 25.0,  # 0.5 hours at 50
        "net_savings": 24.2,
        "roi": 30.25,  # 24.2 / 0.8
        "minutes_per_interaction": 6.0,
        "hourly_cost": 50.0,
        "previous": {  # the 7 days before: nothing happened then
            "window": {
                "start": (datetime.now(UTC).date() - timedelta(days=13)).isoformat(),
                "end": (datetime.now(UTC).date() - timedelta(days=7)).isoformat(),
            },
            "interactions": 0,
            "worked": 0,
            "not_worked": 0,
            "still_waiting": 0,
            "agent_cost": 0.0,
            "hours_saved": 0.0,
            "human_cost_of_same_work": 0.0,
            "net_savings": 0.0,
            "roi": None,
        },
    }
    assert body["agent_vs_human"]["agent_success_rate"] == pytest.approx(5 / 7)
    assert body["agent_vs_human"]["lift"] == pytest.approx(5 / 7 - 0.5)
    assert body["insights"]


@pytest.mark.parametrize(
    "path,role,status",
    [
        ("rep/", "rep", 200),
        ("manager/", "rep", 403),
        ("executive/", "rep", 403),
        ("executive/", "manager", 403),
        ("manager/", "executive", 200),
        ("rep/", "agent", 403),
        ("rep/?rep=outsider", "manager", 404),
        ("rep/?rep=alpha-rep", "manager", 200),
        ("rep/?days=0", "rep", 400),
        ("rep/?action_type=Bad Type", "rep", 400),
    ],
)
def test_role_checks_and_bad_parameters(fixed, client, path, role, status) -> None:
    assert get(client, fixed, path, role).status_code == status


def raw_rollup() -> dict:
    silence = {"email_engagement"}
    rows: dict = defaultdict(lambda: defaultdict(float))
    for o in OutcomeRecord.objects.all():
        key = (o.occurred_at.astimezone(UTC).date(), o.action_type, o.outcome_type, o.rep_id)
        row = rows[key]
        row["total"] += 1
        row[o.status] += 1
        scored = o.status in ("positive", "negative") or (
            o.status == "expired" and o.outcome_type in silence
        )
        if scored:
            y = 1.0 if o.status == "positive" else 0.0
            p = o.predicted_confidence
            row["scored"] += 1
            row["sum_p"] += p
            row["sum_py"] += p * y
        row["sum_score"] += o.score or 0
    return {k: dict(v) for k, v in rows.items()}


def stored_rollup() -> dict:
    result = {}
    for r in DailyOutcomeRollup.objects.all():
        row = {
            k: float(getattr(r, k))
            for k in (
                "total",
                "pending",
                "positive",
                "negative",
                "ambiguous",
                "expired",
                "scored",
                "sum_p",
                "sum_py",
                "sum_score",
            )
            if getattr(r, k)
        }
        result[(r.day, r.action_type, r.outcome_type, r.rep_id)] = row
    return result


def assert_same(raw: dict, stored: dict) -> None:
    assert set(raw) == set(stored)
    for key, row in raw.items():
        for name, value in row.items():
            assert stored[key].get(name, 0.0) == pytest.approx(value), (key, name)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_raw_rows_after_random_changes(alpha, seed) -> None:
    rng = random.Random(seed)
    types = [
        ("send_email", "email_engagement"),
        ("escalate", "escalation_result"),
        ("advance_stage", "deal_progression"),
    ]
    with tenant_context(alpha.tenant):
        learning_services.create_user(username="rep2", role="rep", password="x" * 12)

        def batch(prefix: str, n: int) -> None:
            for i in range(n):
                action_type, outcome_type = rng.choice(types)
                record(
                    f"{prefix}-{i}",
                    rep=rng.choice(["alpha-rep", "rep2", None]),
                    days_ago=rng.randrange(0, 20),
                    action_type=action_type,
                    outcome_type=outcome_type,
                    predicted_confidence=round(rng.random(), 2),
                    status=rng.choice([None, "positive", "negative", "ambiguous", "expired"]),
                    score=rng.random(),
                )

        batch("a", 120)
        rollups.refresh()
        assert_same(raw_rollup(), stored_rollup())
        # Later: the first rows are old news; more arrive, some pending ones resolve.
        OutcomeRecord.objects.update(
            created_at=timezone.now() - timedelta(hours=2),
            resolved_at=timezone.now() - timedelta(hours=2),
        )
        RollupState.objects.update(refreshed_at=timezone.now() - timedelta(hours=1))
        batch("b", 40)
        pending = list(OutcomeRecord.objects.filter(status="pending").values_list("id", flat=True))
        outcome_services.transition_outcomes(
            ids=pending[: len(pending) // 2],
            status="positive",
            score=1.0,
            source="event",
            reason="later",
        )
        touched = rollups.refresh()
        assert 0 < touched.outcome_days <= 20
        assert_same(raw_rollup(), stored_rollup())
        full = rollups.refresh(full=True)
        assert full.outcome_days >= touched.outcome_days
        assert_same(raw_rollup(), stored_rollup())


def test_refresh_rollups_command(fixed) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("refresh_rollups", "--tenant", "alpha", "--full", stdout=out)
    assert "alpha: 2 days of outcomes" in out.getvalue()


def test_admins_set_the_human_baseline(alpha, client) -> None:
    alpha.login(client, "admin")
    old = client.get(alpha.url("admin/learning/analyticssettings/?x=1"))  # a bookmark
    assert old.status_code == 301
    assert old["Location"] == alpha.url("admin/insights/analyticssettings/?x=1")
    listing = client.get(alpha.url("admin/insights/analyticssettings/"))
    assert listing.status_code == 302 and listing["Location"].endswith("/1/change/")
    form = {
        "agent_cost_per_interaction": "0.2",
        "human_minutes_per_interaction": "4",
        "human_hourly_cost": "60",
        "human_success_rate": "0.3",
        "currency": "EUR",
    }
    url = alpha.url("admin/insights/analyticssettings/1/change/")
    assert client.post(url, {**form, "human_success_rate": "1.5"}).status_code == 200  # error
    assert client.post(url, form).status_code == 302
    alpha.login(client, "manager")
    assert client.post(url, {**form, "currency": "GBP"}).status_code == 403
    with tenant_context(alpha.tenant):
        assert AnalyticsSettings.objects.get().currency == "EUR"


def page_data(response) -> dict:
    import json

    page = response.content.decode()
    marker = 'id="dashboard-data" type="application/json">'
    start = page.index(marker) + len(marker)
    return json.loads(page[start : page.index("</script>", start)])


def test_dashboard_pages(fixed, client) -> None:
    fixed.login(client, "rep")
    rep = client.get(fixed.url("rep/?days=7"))
    assert rep.status_code == 200 and page_data(rep)["totals"]["actions"] == 7
    assert 'id="trend-chart"' in rep.content.decode()
    assert client.get(fixed.url("rep/?rep=outsider")).status_code == 404
    # A hand-edited URL falls back to the defaults instead of failing.
    assert page_data(client.get(fixed.url("rep/?days=abc&action_type=nope")))["window"]
    fixed.login(client, "manager")
    manager = client.get(fixed.url("manager/?days=7"))
    body = manager.content.decode()
    assert page_data(manager)["team"] == ["alpha-rep"]
    assert 'id="reps-chart"' in body and "Calibration by action type" in body
    assert page_data(client.get(fixed.url("rep/?rep=alpha-rep&days=7")))["rep"] == "alpha-rep"
    assert client.get(fixed.url("executive/")).status_code == 403
    fixed.login(client, "executive")
    executive = client.get(fixed.url("executive/?days=7"))
    assert page_data(executive)["roi"]["interactions"] == 8
    shown = " ".join(executive.content.decode().split())
    assert "Return on the agent" in shown
    # the page's ROI counts what the API counts: saved work from the 5 that worked only
    assert '<dd data-figure="roi.worked">5</dd>' in shown
    assert "<strong>5</strong> of them worked" in shown
    assert "2 did not work and save nothing; 1 still wait" in shown


def test_cached_dashboards_are_invalidated_by_resolutions(
    fixed, client, django_capture_on_commit_callbacks
) -> None:
    url = "rep/?days=7"
    assert get(client, fixed, url, "rep").json()["totals"]["pending"] == 1
    with tenant_context(fixed.tenant):
        OutcomeRecord.objects.filter(action_id="e4").update(status="negative")  # behind its back
    assert get(client, fixed, url, "rep").json()["totals"]["pending"] == 1  # cached
    with tenant_context(fixed.tenant), django_capture_on_commit_callbacks(execute=True):
        record("e5", status="positive")  # a resolution: invalidates after commit
    totals = get(client, fixed, url, "rep").json()["totals"]
    assert (totals["pending"], totals["actions"]) == (0, 8)


def test_review_queue_counts_old_and_today(fixed, client) -> None:
    with tenant_context(fixed.tenant):
        record("amb-old", days_ago=40, status="ambiguous")  # outside the 7-day window
        record("amb-now", status="ambiguous")
        rollups.refresh(full=True)
    assert get(client, fixed, "manager/?days=7", "manager").json()["review_queue"] == 2
    only = get(client, fixed, "manager/?days=7&action_type=send_email", "manager").json()
    assert only["review_queue"] == 2


def _rate_cells(page: str, first_cell: str) -> list[str]:
    """The words of the row whose first cell links or reads `first_cell`, cell by cell (a
    range's dash as a hyphen)."""
    flat = " ".join(page.split()).replace("\u2013", "-")
    row = re.search(rf"<tr><td>(?:<a [^>]*>)?{re.escape(first_cell)}(?:</a>)?</td>(.*?)</tr>", flat)
    assert row, first_cell
    return [
        re.sub(r"<[^>]+>", " ", cell).split()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    ]


def test_unsettled_rates_in_the_tables_carry_their_range(fixed, client) -> None:
    """alpha-rep: 7 actions, 1 still pending (14 % > 5 %): 4 of 6 decided so far, ending
    at 4/7 or 5/7. Their emails: 2 of 3 so far, 1 of 4 pending, ending at 2/4 or 3/4;
    escalations and deal moves are settled and show their rate alone."""
    fixed.login(client, "manager")
    page = client.get(fixed.url("manager/?days=7")).content.decode()
    (actions, rate, *_) = _rate_cells(page, "alpha-rep")
    assert actions == ["7"]
    assert " ".join(rate) == "67 % so far not settled: will end 57-71 %"
    page = client.get(fixed.url("rep/?rep=alpha-rep&days=7")).content.decode()
    assert " ".join(_rate_cells(page, "Email")[2]) == "67 % so far not settled: will end 50-75 %"
    assert " ".join(_rate_cells(page, "Escalation")[2]) == "100 %"  # settled: no range
    assert " ".join(_rate_cells(page, "Deal-stage move")[2]) == "50 %"
    assert 'marked "so far" is not settled yet' in " ".join(page.split())
    response = re.search(r'<dd id="response-rate">(.*?)</dd>', " ".join(page.split()))
    response_words = re.sub(r"<[^>]+>", " ", response.group(1)).replace("\u2013", "-").split()
    assert " ".join(response_words) == "67 % so far not settled: will end 50-75 %"
    fixed.login(client, "executive")
    page = client.get(fixed.url("executive/?days=7")).content.decode()
    # the outsider's replied email too: 3 of 4 so far, 1 of 5 pending
    assert " ".join(_rate_cells(page, "Email")[1]) == "75 % so far not settled: will end 60-80 %"
    assert " ".join(_rate_cells(page, "Escalation")[1]) == "100 %"
