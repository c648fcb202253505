"""The dashboards, the review lists, the conversation list and a conversation's timeline
do not grow with the tenant's history: the same statements with 10 outcomes or 100, and
none of them reads a table that grows with history whole once the planner knows it is big
(tests.plan_support). Each read is computed, not cached (the dashboards' cache is emptied
before it)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from feedback import review
from outcomes.models import OutcomeRecord
from tests.plan_support import (
    add_history,
    assert_index_bound,
    seq_scans,
    shapes,
    statements_of,
)


@dataclass(frozen=True)
class Read:
    role: str
    path: str
    api: bool  # with the person's token; else signed in (a page)
    queries: int  # computed, after a warm-up request
    notes: str  # what the statements are


# Every request starts with the tenant's search_path and who asks (an API: the token; a
# page: the session and the person); pages end with the alert bell's count.
READS = {
    "rep analytics": Read(
        "rep",
        "api/v1/analytics/rep/?days=30",
        True,
        7,
        "stored outcome rollups; today's outcomes (live); stored feedback rollups; today's "
        "feedback (live); qualification (conversations first acted on in the period)",
    ),
    "manager analytics": Read(
        "manager",
        "api/v1/analytics/manager/?days=30",
        True,
        12,
        "the team; outcome rollups; today's outcomes; feedback rollups; today's feedback; "
        "calibration bins; their sample counts; qualification; the To label count (a "
        "LIMIT); the last coaching run",
    ),
    "executive analytics": Read(
        "executive",
        "api/v1/analytics/executive/?days=30",
        True,
        7,
        "outcome rollups; today's outcomes; the analytics settings; the previous period's "
        "rollups; qualification",
    ),
    "rep page": Read(
        "rep",
        "rep/",
        False,
        9,
        "the action types (filter); the rep analytics' five reads",
    ),
    "manager page": Read(
        "manager",
        "manager/",
        False,
        21,
        "the action types; the manager analytics' ten reads; the page's calibration "
        "curves (bins, counts); review queues; adjustment log; coaching (two reads); bell",
    ),
    "executive page": Read(
        "executive",
        "executive/",
        False,
        10,
        "the action types; the executive analytics' five reads; bell",
    ),
    "to label": Read(
        "manager",
        "feedback/review/to-label/1/",
        False,
        21,
        "recent (200 newest, index) and my verdicts on them; the critical ones (200) and "
        "my verdicts; feedback settings (three times); fatigue; To label (200 oldest) and "
        "my verdicts; my managers' queues; the rubric; the item's actions, messages, "
        "signals, automatic score and draft; bell",
    ),
    "needs you": Read("manager", "feedback/review/needs-you/1/", False, 21, "as to label"),
    "recent": Read("manager", "feedback/review/recent/1/", False, 21, "as to label"),
    "queues": Read("manager", "feedback/queues/", False, 5, "the queues; bell"),
    "conversation list": Read(
        "manager",
        "admin/outcomes/conversation/",
        False,
        10,
        "the admin's user; the scope's count; permissions (two); the page's rows with "
        "their reps; bell; the deal stages (filter)",
    ),
    "labelling list": Read(
        "manager",
        "admin/outcomes/ambiguousoutcome/",
        False,
        11,
        "as the conversation list, with the action types of the filter",
    ),
    "timeline": Read(
        "manager",
        "conversations/a-conv-0/",
        False,
        11,
        "the conversation; its actions, messages, signals, ratings, drafts; pg_trgm there; bell",
    ),
}


def _ask(world, client, read: Read):
    url = world.url(read.path)
    if read.api:
        return lambda: client.get(url, **world.bearer(read.role))
    world.login(client, read.role)
    return lambda: client.get(url)


# Known to read every conversation of the scope still: the admin's paginator counts them
# and its deal stage filter lists their stages (conversations grow with history, if far
# more slowly than outcomes: 20,000 for 1,000,000 outcomes in the bench).
WHOLE = {"conversation list"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=[pytest.mark.xfail(strict=True, reason="counts and lists every conversation")]
            if name in WHOLE
            else [],
        )
        for name in READS
    ],
)
def test_reads_do_not_grow_with_history(alpha, client, name) -> None:
    read = READS[name]
    reps = [alpha.users["rep"].pk]
    add_history(alpha.tenant, outcomes=10, reps=reps, prefix="a", days=20)
    ask = _ask(alpha, client, read)
    ask()  # warm-up: the tenant's route and the credential remembered
    small = statements_of(alpha.tenant, ask)
    add_history(alpha.tenant, outcomes=90, reps=reps, prefix="b", days=20)
    bigger = statements_of(alpha.tenant, ask)
    assert len(small) == len(bigger) == read.queries, (shapes(small), shapes(bigger))
    # a tenant with history: a few thousand outcomes over the last year, analysed
    add_history(alpha.tenant, outcomes=4000, reps=reps, prefix="c", days=365, analyze=True)
    assert_index_bound(alpha.tenant, statements_of(alpha.tenant, ask))


def test_the_check_sees_a_table_read_whole(alpha) -> None:
    """The plan check fails a read of every outcome (so a pass above means something)."""
    add_history(alpha.tenant, outcomes=4000, reps=[alpha.users["rep"].pk], analyze=True)
    with tenant_context(alpha.tenant), CaptureQueriesContext(connection) as captured:
        OutcomeRecord.objects.filter(predicted_confidence__gte=0.5).count()  # no index
        OutcomeRecord.objects.filter(action_id="hist-7").exists()  # the unique index
    assert [scan.split(":")[0] for scan in seq_scans(alpha.tenant, captured)] == [
        "outcomes_outcomerecord"
    ]


@pytest.mark.parametrize(("counted", "shown", "more"), [(4, 4, True), (10, 10, False)])
def test_the_to_label_count_stops_at_its_limit(
    alpha, client, monkeypatch, counted, shown, more
) -> None:
    """The manager's To label count reads at most COUNTED + 1 outcomes, and says when
    more wait: 10 wait here."""
    add_history(alpha.tenant, outcomes=10, reps=[alpha.users["rep"].pk], days=20)
    with tenant_context(alpha.tenant):
        OutcomeRecord.objects.update(status="ambiguous", score=None)
    monkeypatch.setattr(review, "COUNTED", counted)
    answer = client.get(
        alpha.url("api/v1/analytics/manager/?days=30"), **alpha.bearer("manager")
    ).json()
    assert (answer["review_queue"], answer["review_queue_more"]) == (shown, more)
