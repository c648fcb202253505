"""Extraction over real rows: exact counts and sums over conversations from SQL (local hours
included), the stored run and patterns, no pattern on a null data set, improvement areas
and escalation stages tested with the conversation as the unit, the API by role and
tenant, the page."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from coaching import services, stats
from coaching.models import CoachingPattern, CoachingRun, CoachingSettings
from learning.models import User
from outcomes import selectors as outcome_selectors
from outcomes import services as outcome_services

NOW = datetime.now(UTC)


def _outcomes(rows: list[tuple], rep: str = "alpha-rep") -> None:
    """(action_id, attributes, status, occurred_at[, conversation_id, action_type]):
    recorded, then resolved. Without a conversation each action is one of its own."""
    recorded = outcome_services.record_outcomes(
        items=[
            outcome_services.OutcomeInput(
                action_id=row[0],
                conversation_id=row[4] if len(row) > 4 else f"c-{row[0]}",
                action_type=row[5] if len(row) > 5 else "send_email",
                predicted_confidence=0.6,
                outcome_type="email_engagement",
                occurred_at=row[3],
                rep=rep,
                attributes=row[1],
            )
            for row in rows
        ]
    )
    by_status: dict[str, list[int]] = {}
    for r, (_, _, status, *_) in zip(recorded, rows, strict=True):
        by_status.setdefault(status, []).append(r.id)
    for status, ids in by_status.items():
        if status != "pending":
            outcome_services.transition_outcomes(
                ids=ids,
                status=status,
                score=1.0 if status == "positive" else 0.0,
                source="event",
                reason="test",
                from_statuses=("pending",),
            )


@pytest.fixture
def personas(alpha):
    """vp_sales: 32 of 40 replied; cfo: 12 of 60; cto: 30 of 60 (2 of them expired
    instead of bounced); plus pending ones and one outside the period."""
    with tenant_context(alpha.tenant):
        rows = []
        for persona, good, n in (("vp_sales", 32, 40), ("cfo", 12, 60), ("cto", 30, 60)):
            for i in range(n):
                status = "positive" if i < good else ("expired" if i % 29 == 0 else "negative")
                rows.append(
                    (f"{persona}-{i}", {"persona": persona}, status, NOW - timedelta(days=2))
                )
        rows += [(f"pending-{i}", {"persona": "cfo"}, "pending", NOW) for i in range(5)]
        rows.append(("old", {"persona": "cfo"}, "positive", NOW - timedelta(days=200)))
        _outcomes(rows)
        yield alpha


def test_cells_count_decided_outcomes_per_level(personas) -> None:
    with tenant_context(personas.tenant):
        found, total = services.cells(start=NOW - timedelta(days=90), end=NOW + timedelta(1))
    persona = {c.level: (c.successes, c.trials) for c in found if c.dimension == "persona"}
    assert persona == {"vp_sales": (32, 40), "cfo": (12, 60), "cto": (30, 60)}
    assert total == 160
    assert {c.stratum for c in found} == {"email_engagement"}


def test_hours_and_weekdays_are_read_in_the_reps_time_zone(alpha) -> None:
    with tenant_context(alpha.tenant):
        User.objects.filter(username="alpha-rep").update(time_zone="America/New_York")
        # 2026-11-02 (a Monday) 02:30 UTC is Sunday 21:30 in New York (EST, UTC-5)
        when = datetime(2026, 11, 2, 2, 30, tzinfo=UTC)
        _outcomes([("tz-1", {}, "positive", when)])
        found, _ = services.cells(start=when - timedelta(1), end=when + timedelta(1))
    levels = {c.dimension: c.level for c in found}
    assert (levels["hour_of_day"], levels["weekday"]) == ("21", "Sunday")


def test_extract_stores_the_run_and_its_tested_patterns(personas) -> None:
    with tenant_context(personas.tenant):
        CoachingSettings.objects.create(min_group=30, false_discovery_rate=0.1)
        extracted = services.extract(now=NOW + timedelta(minutes=1))
        run = CoachingRun.objects.get()
        # 3 personas against the rest, and send_email against the improvement bar
        assert (run.outcomes, run.comparisons, run.finished_at is not None) == (160, 4, True)
        segments = list(CoachingPattern.objects.filter(kind="segment").order_by("rank"))
    # the same family from the counts (each action its own conversation)
    comparisons = stats.compare(
        [
            stats.Cell("email_engagement", "persona", "cfo", 12, 60),
            stats.Cell("email_engagement", "persona", "cto", 30, 60),
            stats.Cell("email_engagement", "persona", "vp_sales", 32, 40),
        ],
        min_group=30,
    )
    bar = stats.below_bar(
        [stats.Cell("email_engagement", "action_type", "send_email", 74, 160)],
        bar=0.4,
        min_group=30,
    )
    found = stats.discoveries([*comparisons, *bar], q=0.1)
    expected = {c.level: (c, p) for c, p in found if isinstance(c, stats.Comparison)}
    assert [p.level for p in segments] == ["vp_sales", "cfo"]  # strongest interval first
    assert set(expected) == {"vp_sales", "cfo"}
    vp = segments[0]
    c, adjusted = expected["vp_sales"]
    assert (vp.successes, vp.trials, vp.rest_successes, vp.rest_trials) == (32, 40, 42, 120)
    assert vp.p_value == pytest.approx(c.p_value) and vp.adjusted_p == pytest.approx(adjusted)
    assert (vp.ci_low, vp.ci_high) == pytest.approx((c.ci_low, c.ci_high))
    assert vp.description.startswith(
        "Actions with vp_sales contacts get a reply or click 80% of the time, against 35%"
    )
    # each action its own conversation here: the plain test (design effect 1)
    assert vp.description.endswith("40 vs 120 decided messages, in 40 vs 120 conversations).")
    assert (vp.supporting["conversations"], vp.supporting["design_effect"]) == (40, 1.0)
    assert "Lean in with vp_sales contacts" in vp.recommendation
    assert segments[1].effect < 0 and "Adapt the message for cfo" in segments[1].recommendation
    assert vp.supporting["levels"][0] == {
        "level": "cfo",
        "successes": 12,
        "trials": 60,
        "conversations": 60,
    }
    # send_email: 74 of 160 (46 %) is not below the 40 % bar: no improvement area; and with no
    # other action type to be better than, no top action either (a top action is tested).
    kinds = [(p.kind, p.level) for p in extracted.patterns if p.kind != "segment"]
    assert kinds == []


def test_a_null_data_set_gives_no_segment_pattern(alpha) -> None:
    rng = random.Random(5)
    personas = ("cfo", "cto", "vp_sales", "ops")
    stages = ("discovery", "demo", "proposal")
    with tenant_context(alpha.tenant):
        _outcomes(
            [
                (
                    f"null-{i}",
                    {"persona": rng.choice(personas), "deal_stage": rng.choice(stages)},
                    "positive" if rng.random() < 0.35 else "negative",
                    NOW - timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 23)),
                )
                for i in range(1500)
            ]
        )
        extracted = services.extract(now=NOW + timedelta(minutes=1))
    assert extracted.run.comparisons > 30
    assert [p for p in extracted.patterns if p.kind == "segment"] == []


def test_patterns_api_by_role_and_tenant(personas, beta, client) -> None:
    with tenant_context(personas.tenant):
        services.extract(now=NOW + timedelta(minutes=1))
    url = personas.url("api/v1/coaching/patterns/")
    for role in ("rep", "manager", "agent"):
        body = client.get(url, **personas.bearer(role)).json()
        assert [p["level"] for p in body["patterns"]][:2] == ["vp_sales", "cfo"]
        assert body["run"]["comparisons"] == 4
    improvement = client.get(url + "?kind=improvement", **personas.bearer("rep")).json()
    assert improvement["patterns"] == []
    bad = client.get(url + "?kind=everything", **personas.bearer("rep"))
    assert bad.status_code == 400 and "kind" in bad.json()
    assert client.get(url).status_code in (401, 403)
    other = client.get(beta.url("api/v1/coaching/patterns/"), **beta.bearer("manager")).json()
    assert other == {"run": None, "patterns": []}  # beta has its own, empty coaching
    # alpha's token does not open beta
    assert (
        client.get(beta.url("api/v1/coaching/patterns/"), **personas.bearer("manager")).status_code
        == 401
    )


def test_command_and_manager_page(personas, client) -> None:
    out = StringIO()
    call_command("extract_coaching_patterns", tenant=personas.slug, stdout=out)
    assert "160 decided outcomes, 4 comparisons" in out.getvalue()
    personas.login(client, "manager")
    page = client.get(personas.url("manager/")).content.decode()
    assert "Coaching patterns" in page and "Lean in with vp_sales contacts" in page
    assert 'class="forest"' in page
    with tenant_context(personas.tenant):
        assert CoachingRun.objects.filter(finished_at__lte=timezone.now()).count() == 1


def _staged(stages: list[tuple[str, int, int, int]]) -> list[outcome_services.OutcomeInput]:
    """(stage, conversations, actions each, escalating conversations): the first action of
    an escalating conversation is its escalation."""
    rows = []
    for stage, conversations, each, escalating in stages:
        for c in range(conversations):
            for i in range(each):
                escalation = c < escalating and i == 0
                rows.append(
                    outcome_services.OutcomeInput(
                        action_id=f"{stage}-{c}-{i}",
                        conversation_id=f"c-{stage}-{c}",
                        action_type="escalate" if escalation else "send_email",
                        predicted_confidence=0.5,
                        outcome_type="escalation_result" if escalation else "email_engagement",
                        occurred_at=NOW - timedelta(days=3),
                        rep="alpha-rep",
                        attributes={"deal_stage": stage},
                    )
                )
    return rows


def test_stages_where_the_agent_escalates_often_are_improvement_areas(alpha) -> None:
    # negotiation: 30 of 80 actions (40 conversations); discovery: 10 of 200 (100)
    rows = _staged([("negotiation", 40, 2, 30), ("discovery", 100, 2, 10)])
    with tenant_context(alpha.tenant):
        outcome_services.record_outcomes(items=rows)
        extracted = services.extract(now=NOW + timedelta(minutes=1))
    (area,) = [p for p in extracted.patterns if p.dimension == "deal_stage"]
    assert (area.kind, area.level, area.successes, area.trials) == (
        "improvement",
        "negotiation",
        30,
        80,
    )
    assert area.description == (
        "In the negotiation stage the agent escalates 38% of its actions (30 of 80, in 40 "
        "conversations; 14% across all stages)."
    )
    assert area.supporting["conversations"] == 40 and area.adjusted_p <= 0.1


def test_one_conversation_is_not_a_stage_pattern(alpha) -> None:
    """12 escalations in 30 actions of a single conversation: one prospect's hand-offs,
    not the stage's (counted as independent actions it was flagged)."""
    rows = _staged([("negotiation", 1, 30, 0), ("discovery", 100, 1, 5)])
    for i, row in enumerate(rows[:12]):
        rows[i] = dataclasses.replace(row, action_type="escalate", outcome_type="escalation_result")
    with tenant_context(alpha.tenant):
        outcome_services.record_outcomes(items=rows)
        stage_rows = outcome_selectors.escalations_by_stage_and_conversation(
            start=NOW - timedelta(days=30), end=NOW
        )
        extracted = services.extract(now=NOW + timedelta(minutes=1))
    sums = {r.level: (r.successes, r.actions, r.conversations) for r in stage_rows}
    assert sums == {"negotiation": (12, 30, 1), "discovery": (5, 100, 100)}
    assert [p for p in extracted.patterns if p.dimension == "deal_stage"] == []
    plain = [stats.Cell("stages", "deal_stage", s, e, n) for s, (e, n, _) in sums.items()]
    assert stats.discoveries(stats.compare(plain, min_group=30), q=0.1)  # the old count


def test_sums_over_conversations_from_sql_match_the_pure_ones(alpha) -> None:
    """Conversations of 1 to 5 actions, persona per conversation (sometimes not recorded),
    action type per action (a conversation has several), pending ones left out."""
    rng = random.Random(9)
    rows, truth = [], []
    for c in range(90):
        persona = rng.choice(["cfo", "cto", "vp_sales", None])
        for i in range(rng.randint(1, 5)):
            status = rng.choice(["positive", "negative", "expired", "positive", "pending"])
            action_type = rng.choice(["send_email", "follow_up", "book_meeting"])
            attributes = {"persona": persona} if persona else {}
            rows.append(
                (f"a{c}-{i}", attributes, status, NOW - timedelta(days=2), f"c{c}", action_type)
            )
            if status != "pending":
                truth.append((persona, action_type, f"c{c}", int(status == "positive")))
    with tenant_context(alpha.tenant):
        _outcomes(rows)
        found, total = services.cells(start=NOW - timedelta(days=30), end=NOW)
    assert total == len(truth)
    conversation = [t[2] for t in truth]
    y = [t[3] for t in truth]
    for dimension, k in (("persona", 0), ("action_type", 1)):
        expected = stats.clustered_cells(
            "email_engagement", dimension, [t[k] for t in truth], conversation, y
        )
        got = [c for c in found if c.dimension == dimension]
        assert [(c.level, c.successes, c.trials) for c in got] == [
            (c.level, c.successes, c.trials) for c in expected
        ]
        for a, b in zip(got, expected, strict=True):
            assert dataclasses.astuple(a.sums) == pytest.approx(dataclasses.astuple(b.sums))
    assert any(c.sums.alone < c.conversations for c in found if c.dimension == "action_type")


def test_improvement_areas_are_significantly_below_the_bar(alpha) -> None:
    """The bar is 40 %. cold_call: 15 % over 60 conversations: named. send_email: 45 %;
    share_pricing: 36 % of 50, below the bar as a point estimate but within chance of it
    (named by the old rule): neither is named."""
    rows = []
    for name, conversations, each, good in (
        ("send_email", 100, 2, 45),
        ("cold_call", 60, 2, 9),
        ("share_pricing", 50, 1, 18),
    ):
        for c in range(conversations):
            for i in range(each):
                status = "positive" if c < good else "negative"
                rows.append(
                    (f"{name}-{c}-{i}", {}, status, NOW - timedelta(days=2), f"{name}-{c}", name)
                )
    with tenant_context(alpha.tenant):
        _outcomes(rows)
        extracted = services.extract(now=NOW + timedelta(minutes=1))
    (area,) = [p for p in extracted.patterns if p.kind == "improvement"]
    assert (area.level, area.successes, area.trials, area.test) == ("cold_call", 18, 120, "z")
    assert area.adjusted_p <= 0.1 and area.stratum == "email_engagement"
    assert area.description.startswith("cold_call succeeds only 15% of the time (95 % interval")
    assert area.description.endswith(
        "120 decided outcomes in 60 conversations): below the 40% bar by more than chance."
    )
    # two actions of a conversation succeed or fail together here: half the information
    assert area.supporting["design_effect"] == pytest.approx(2.0, rel=0.05)


def test_an_empty_tenant_gets_an_empty_run(beta) -> None:
    with tenant_context(beta.tenant):
        extracted = services.extract()
    assert (extracted.run.outcomes, extracted.run.comparisons, extracted.patterns) == (0, 0, [])


def test_each_pattern_says_in_how_many_recent_runs_it_was_found(personas, client) -> None:
    from coaching import selectors

    with tenant_context(personas.tenant):
        CoachingSettings.objects.create(min_group=30, false_discovery_rate=0.1)
        for minutes in (1, 2, 3):
            services.extract(now=NOW + timedelta(minutes=minutes))
        run = CoachingRun.objects.first()
        # A finding of the last run only (as a one-day fluke would be).
        CoachingPattern.objects.create(
            run=run,
            rank=99,
            kind="segment",
            stratum="email_engagement",
            dimension="persona",
            level="intern",
            description="Actions with intern contacts get a reply more often.",
            recommendation="",
            successes=20,
            trials=30,
            rest_successes=40,
            rest_trials=130,
            effect=0.36,
            ci_low=0.15,
            ci_high=0.5,
            p_value=0.001,
            adjusted_p=0.004,
            test="z",
        )
        found = list(run.patterns.order_by("rank"))
        selectors.with_stability(found, run=run)
        counts = {p.level: (p.found_in, p.of_runs) for p in found}
    assert counts == {"vp_sales": (3, 3), "cfo": (3, 3), "intern": (1, 3)}
    personas.login(client, "manager")
    page = client.get(personas.url("manager/")).content.decode()
    assert "found in each of the last 3 runs" in page and "found in 1 of the last 3 runs" in page
    api = client.get(personas.url("api/v1/coaching/patterns/")).json()["patterns"]
    assert {p["level"]: p["stability"]["found_in"] for p in api} == {
        "vp_sales": 3,
        "cfo": 3,
        "intern": 1,
    }


def test_the_deal_stage_where_most_qualification_signals_are_gathered(alpha, client) -> None:
    """6 conversations pass qualification: q1-q4 with 2 replies in qualification and 1 in
    prospecting before they pass, q5-q6 with 1 in prospecting (and a failure). Left out:
    what worked after passing, an action with no stage, a conversation lost first, one
    still open."""
    from outcomes.tests.factories import OutcomeFactory, SignalFactory

    start = NOW - timedelta(days=5)

    def action(conversation: str, minutes: int, stage: str | None, status: str) -> None:
        OutcomeFactory(
            rep="alpha-rep",
            conversation_id=conversation,
            occurred_at=start + timedelta(minutes=minutes),
            attributes={"deal_stage": stage} if stage else {},
            status=status,
        )

    def move(conversation: str, minutes: int, stage: str) -> None:
        SignalFactory(
            conversation_id=conversation,
            kind="stage_changed",
            data={"to": stage},
            occurred_at=start + timedelta(minutes=minutes),
        )

    with tenant_context(alpha.tenant):
        CoachingSettings.objects.create(pk=1, min_group=5)
        for n in range(1, 5):
            action(f"q{n}", 1, "prospecting", "positive")
            action(f"q{n}", 2, "qualification", "positive")
            action(f"q{n}", 3, "qualification", "positive")
            move(f"q{n}", 10, "discovery")
        for n in (5, 6):
            action(f"q{n}", 1, "prospecting", "positive")
            action(f"q{n}", 2, "qualification", "negative")
            move(f"q{n}", 10, "demo")
        action("q1", 20, "discovery", "positive")  # after it passed
        action("q2", 4, None, "positive")  # no stage recorded
        for minutes in (1, 2, 3):
            action("lost", minutes, "qualification", "positive")
        move("lost", 10, "closed_lost")
        action("open", 1, "qualification", "positive")
        extracted = services.extract(now=NOW + timedelta(minutes=1))
    (found,) = [p for p in extracted.patterns if p.kind == "qualification"]
    # Wilson on the effective counts 8 / (14 / 6) of 14 / (14 / 6) = 3.43 of 6
    low, high = 0.2331, 0.8540
    assert (found.dimension, found.level, found.successes, found.trials) == (
        "deal_stage",
        "qualification",
        8,
        14,
    )
    assert (round(found.ci_low, 4), round(found.ci_high, 4)) == (low, high)
    assert found.description == (
        "Most qualification signals are gathered in the qualification stage: 8 of the 14 "
        "actions that worked (57%, 95 % interval 23% to 85%) before 6 "
        "conversations passed qualification were taken there (prospecting: 6)."
    )
    assert found.supporting == {
        "stages": [
            {"stage": "prospecting", "signals": 6, "conversations": 6},
            {"stage": "qualification", "signals": 8, "conversations": 4},
        ],
        "conversations": 6,
        "design_effect": 2.333,
    }
    alpha.login(client, "manager")
    body = client.get(alpha.url("manager/")).content.decode()
    assert "Where qualification is earned" in body
    assert "Most qualification signals are gathered in the qualification stage" in body


def test_too_few_qualified_conversations_give_no_stage_pattern(alpha) -> None:
    from outcomes.tests.factories import OutcomeFactory, SignalFactory

    with tenant_context(alpha.tenant):
        CoachingSettings.objects.create(pk=1, min_group=5)
        for n in range(4):  # 4 conversations: fewer than the 5 needed
            OutcomeFactory(
                rep="alpha-rep",
                conversation_id=f"few-{n}",
                occurred_at=NOW - timedelta(days=2),
                attributes={"deal_stage": "qualification"},
                status="positive",
            )
            SignalFactory(
                conversation_id=f"few-{n}",
                kind="stage_changed",
                data={"to": "discovery"},
                occurred_at=NOW - timedelta(days=1),
            )
        extracted = services.extract(now=NOW + timedelta(minutes=1))
    assert [p for p in extracted.patterns if p.kind == "qualification"] == []
