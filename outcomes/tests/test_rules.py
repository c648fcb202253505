"""Every row of the rule table, judged through the service that applies it."""

from __future__ import annotations

import pytest

from outcomes import rules

CASES = [
    # outcome type, kind, data, current stage, expected (status, score) or None
    ("email_engagement", "replied", {}, "", ("positive", 1.0)),
    ("email_engagement", "clicked", {}, "", ("positive", 1.0)),
    ("email_engagement", "bounced", {}, "", ("negative", 0.0)),
    ("email_engagement", "unsubscribed", {}, "", ("negative", 0.0)),
    ("email_engagement", "spam_reported", {}, "", ("negative", 0.0)),
    ("email_engagement", "opened", {}, "", ("weak", None)),
    ("deal_progression", "deal_won", {}, "", ("positive", 1.0)),
    ("deal_progression", "deal_lost", {}, "", ("negative", 0.0)),
    ("deal_progression", "opportunity_created", {}, "", ("positive", 0.5)),
    (
        "deal_progression",
        "stage_changed",
        {"from": "discovery", "to": "demo"},
        "",
        ("positive", 0.5),
    ),
    (
        "deal_progression",
        "stage_changed",
        {"from": "discovery", "to": "proposal"},
        "",
        ("positive", 0.75),
    ),
    (
        "deal_progression",
        "stage_changed",
        {"to": "negotiation"},
        "qualification",
        ("positive", 0.75),
    ),
    (
        "deal_progression",
        "stage_changed",
        {"from": "proposal", "to": "discovery"},
        "",
        ("negative", 0.25),
    ),
    (
        "deal_progression",
        "stage_changed",
        {"from": "proposal", "to": "closed_won"},
        "",
        ("positive", 1.0),
    ),
    (
        "deal_progression",
        "stage_changed",
        {"from": "proposal", "to": "closed_lost"},
        "",
        ("negative", 0.0),
    ),
    ("deal_progression", "stage_changed", {"to": "demo"}, "", ("positive", 0.5)),
    ("deal_progression", "stage_changed", {"from": "demo", "to": "demo"}, "", None),
    ("meeting_outcome", "meeting_attended", {"sentiment": "positive"}, "", ("positive", 1.0)),
    ("meeting_outcome", "meeting_attended", {}, "", ("positive", 0.5)),
    ("meeting_outcome", "meeting_no_show", {}, "", ("negative", 0.0)),
    ("meeting_outcome", "meeting_cancelled", {}, "", ("negative", 0.0)),
    ("meeting_outcome", "meeting_scheduled", {}, "", ("weak", None)),
    ("escalation_result", "escalation_resolved", {}, "", ("positive", 1.0)),
    ("escalation_result", "escalation_unneeded", {}, "", ("negative", 0.0)),
    ("escalation_result", "escalation_acknowledged", {}, "", ("weak", None)),
]


@pytest.mark.parametrize("outcome_type,kind,data,stage,expected", CASES)
def test_rule_table(outcome_type, kind, data, stage, expected) -> None:
    rule = rules.RULES[outcome_type]
    verdict = rule.judge(kind, data, stage)
    if expected is None:
        assert verdict is None
        return
    status, score = expected
    assert verdict.status == status
    assert (rule.score(verdict.level) if verdict.level else None) == score


def test_every_rule_row_is_covered() -> None:
    covered = {(t, k) for t, k, *_ in CASES}
    table = {(t, k) for t, rule in rules.RULES.items() for k in rule.signals}
    assert covered == table


def test_windows_and_scales() -> None:
    assert {t: (r.window.days, r.levels, r.silence_is_failure) for t, r in rules.RULES.items()} == {
        "email_engagement": (7, 2, True),
        "deal_progression": (30, 5, False),
        "meeting_outcome": (14, 3, False),
        "escalation_result": (7, 2, False),
    }


@pytest.mark.parametrize(
    "data,field",
    [({}, "data.to"), ({"to": "mars"}, "data.to"), ({"from": "mars", "to": "demo"}, "data.from")],
)
def test_unjudgeable_stage_changes(data, field) -> None:
    with pytest.raises(rules.SignalDataError) as error:
        rules.RULES["deal_progression"].judge("stage_changed", data, "")
    assert error.value.field == field
