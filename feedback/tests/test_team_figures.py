"""The manager's feedback page: every figure about people's ratings counts the same
ratings, over the same days (headline, role table, chart, fatigue table, API)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback import services
from feedback.models import FeedbackEntry, Source
from feedback.periods import period_start
from learning.models import User
from outcomes.models import Conversation

DRAFT = "Hi Dana, I'd be happy to help you find a time for a demo next week."


@pytest.fixture
def rated(convos):
    """On alpha-rep's c-rep (the manager's team): alpha-rep rates twice (1.0, 0.75),
    alpha-manager once (0.25), an executive's spot check once (0.0), and an edited draft
    scores itself (automatic, in alpha-rep's name). alpha-manager also rated the outsider's
    c-out (given it by a review queue), and alpha-rep once a minute before the 30 days began."""
    with tenant_context(convos.tenant):
        users = {u.username: u for u in User.objects.all()}

        def rate(who, target, conversation, source, rating, assigned=False):
            services.record_feedback(
                assigned=assigned,
                reviewer=users[who],
                target_type="message",
                target_id=target,
                conversation_id=conversation,
                source=source,
                rating=rating,
            )

        rate("alpha-rep", "m-1", "c-rep", "inline", 1)
        rate("alpha-rep", "d-1", "c-rep", "dashboard", 4)
        rate("alpha-manager", "m-1", "c-rep", "dashboard", 2)
        rate("alpha-executive", "m-1", "c-rep", "inline", -1)
        rate("alpha-manager", "m-out", "c-out", "inline", 1, assigned=True)
        rate("alpha-rep", "old", "c-rep", "inline", 1)
        FeedbackEntry.objects.filter(target_id="old").update(
            rated_at=period_start(days=30, now=timezone.now()) - timedelta(minutes=1)
        )
        Conversation.objects.filter(external_id="c-rep").update(rep=users["alpha-rep"])
        services.record_draft(
            action_id="m-2", conversation_id="c-rep", original_draft=DRAFT, sent_version="Sure."
        )
        assert FeedbackEntry.objects.filter(source=Source.DRAFT_EDIT).count() == 1
    return convos


def _figure(page: str, term: str) -> str:
    return re.search(rf"<dt>{re.escape(term)}</dt><dd>([^<]*)</dd>", page).group(1)


def _role_rows(page: str) -> dict[str, tuple[int, str]]:
    table = page[
        page.index('id="by-reviewer-role"') : page.index(
            "</tbody>", page.index('id="by-reviewer-role"')
        )
    ]
    return {
        name: (int(count), average)
        for name, count, average in re.findall(
            r"<tr><td>([^<]*)</td><td>(\d+)</td><td>([^<]*)</td></tr>", table
        )
    }


def test_role_table_headline_chart_and_fatigue_agree(rated, client) -> None:
    rated.login(client, "manager")
    page = client.get(rated.url("feedback/team/")).content.decode()
    # headline: the 4 people's ratings on the team's conversations, average (1+.75+.25+0)/4
    assert _figure(page, "Ratings by people") == "4"
    assert _figure(page, "Their average") == "0.50"
    # the role table counts people's ratings only: the automatic draft score is not a rep's
    roles = _role_rows(page)
    assert roles == {
        "rep": (2, "0.88"),
        "manager": (1, "0.25"),
        "executive": (1, "0.00"),
        "admin": (0, "\u2013"),  # a dash: no rating
    }
    assert sum(count for count, _ in roles.values()) == 4
    automatic = re.search(r"automatic scores from edited drafts[^<]*</td><td>(\d+)</td>", page)
    assert automatic.group(1) == "1"
    # the chart: the same ratings, day by day over the same 30 days
    start = page.index('id="feedback-trend-data" type="application/json">')
    trend = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    assert len(trend) == 30 and sum(day["count"] for day in trend) == 4
    weighted = sum(day["count"] * day["average_rating"] for day in trend if day["count"])
    assert weighted / 4 == pytest.approx(0.5)
    # the fatigue table: by who gave them, over the same days (the old one is out of both):
    # alpha-rep 2, alpha-manager 2 (one on c-out), = 4 - 1 outside + 1 executive's = 4
    flat = re.sub(r">\s+<", "><", page)
    fatigue = {
        name: int(recent)
        for name, recent in re.findall(
            r'<td>([\w-]+) <span class="muted">\w+</span></td>(?:<td>[^<]*</td>){3}<td>(\d+)</td>',
            flat,
        )
    }
    assert fatigue == {"alpha-manager": 2, "alpha-rep": 2}
    assert re.search(r'<td id="fatigue-total">4</td>', page)
    words = " ".join(page.split())
    assert "1 of the listed people's ratings are on conversations you do not see" in words
    assert "1 rating on your conversations came from people not listed here" in words


def test_api_tells_the_same(rated, client) -> None:
    for role, explicit, listed, outside, others in (
        ("manager", 4, 4, 1, 1),
        ("executive", 5, 5, 0, 0),  # everyone's: the same ratings both ways
    ):
        summary = client.get(rated.url("api/v1/feedback/summary/"), **rated.bearer(role)).json()
        fatigue = client.get(rated.url("api/v1/feedback/fatigue/"), **rated.bearer(role)).json()
        assert summary["explicit"]["count"] == explicit
        assert sum(r["count"] for r in summary["by_reviewer_role"].values()) == explicit
        assert sum(d["count"] for d in summary["people_trend"]) == explicit
        assert sum(r["ratings_30_days"] for r in fatigue["reviewers"]) == listed
        assert (fatigue["ratings_listed"], fatigue["on_conversations_outside_scope"]) == (
            listed,
            outside,
        )
        assert fatigue["from_reviewers_not_listed"] == others
        assert listed - outside + others == explicit
    summary = client.get(rated.url("api/v1/feedback/summary/"), **rated.bearer("manager")).json()
    assert summary["by_source"]["draft_edit"]["count"] == 1
    assert summary["total_feedback_count"] == 5  # people's 4 and the automatic score
