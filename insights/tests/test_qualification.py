"""Qualification completion (insights.qualification), from hand-built conversations with
known deal stages: per rep, team and tenant, by period, settled like every rate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import tenant_context

from learning import services as learning_services
from outcomes.tests.factories import OutcomeFactory, SignalFactory, today_noon


def _conversation(
    external_id: str, rep: str | None, days_ago: int, *signals: dict, stage: str = ""
) -> None:
    attributes = {"deal_stage": stage} if stage else {}
    OutcomeFactory(rep=rep, conversation_id=external_id, days_ago=days_ago, attributes=attributes)
    at = today_noon() - timedelta(days=days_ago) + timedelta(hours=1)
    for number, signal in enumerate(signals):
        SignalFactory(
            conversation_id=external_id, occurred_at=at + timedelta(minutes=number), **signal
        )


def to(stage: str) -> dict:
    return {"kind": "stage_changed", "data": {"to": stage}}


@pytest.fixture
def stages(alpha):
    """alpha-rep: 8 conversations, rep2: 4, and one credited to no rep."""
    with tenant_context(alpha.tenant):
        learning_services.create_user(
            username="alpha-rep2", role="rep", manager_username="alpha-manager"
        )
        rep = "alpha-rep"
        _conversation("c-pass", rep, 10, to("qualification"), to("discovery"))
        _conversation("c-won", rep, 5, {"kind": "deal_won"})
        _conversation("c-lost", rep, 12, to("qualification"), to("closed_lost"))
        # passed qualification, lost later: it completed qualification
        _conversation("c-lost-after", rep, 20, to("discovery"), to("closed_lost"))
        _conversation("c-stuck", rep, 40, to("qualification"))  # 40 days on: did not
        _conversation("c-young", rep, 25, to("qualification"))  # 25 days: still open
        _conversation("c-open", rep, 3, to("qualification"))
        _conversation("c-quiet", rep, 1)
        _conversation("r2-pass", "alpha-rep2", 8, to("demo"))  # prospecting skipped
        _conversation("r2-old", "alpha-rep2", 60)
        # met at the proposal stage (the agent's action says so): past qualification
        _conversation("r2-late", "alpha-rep2", 6, stage="proposal")
        _conversation(
            "r2-early", "alpha-rep2", 9, stage="qualification"
        )  # a qualification action alone: open
        _conversation("c-nobody", None, 2, to("discovery"))
    return alpha


def _get(world, client, view: str, role: str, days: int) -> dict:
    response = client.get(world.url(f"api/v1/analytics/{view}/?days={days}"), **world.bearer(role))
    assert response.status_code == 200
    return response.json()["qualification"]


FIELDS = ("conversations", "completed", "lost_before", "timed_out", "still_open")


def test_a_reps_completion_with_what_is_still_open(stages, client) -> None:
    q = _get(stages, client, "rep", "rep", 30)
    assert [q[f] for f in FIELDS] == [7, 3, 1, 0, 3]
    assert q["completion_rate"] == pytest.approx(3 / 4)
    assert (q["settled"], q["waiting"]) == (False, 3)
    assert q["settled_rate"] is None
    assert (q["rate_low"], q["rate_high"]) == (pytest.approx(3 / 7), pytest.approx(6 / 7))
    q90 = _get(stages, client, "rep", "rep", 90)  # c-stuck begun 40 days ago: timed out
    assert [q90[f] for f in FIELDS] == [8, 3, 1, 1, 3]
    assert q90["completion_rate"] == pytest.approx(3 / 5)


def test_the_team_and_each_rep(stages, client) -> None:
    q = _get(stages, client, "manager", "manager", 30)
    assert [q[f] for f in FIELDS] == [10, 5, 1, 0, 4]
    assert q["completion_rate"] == pytest.approx(5 / 6)
    per_rep = {row["rep"]: row for row in q["per_rep"]}
    assert [per_rep["alpha-rep"][f] for f in FIELDS] == [7, 3, 1, 0, 3]
    second = per_rep["alpha-rep2"]
    assert [second[f] for f in FIELDS] == [3, 2, 0, 0, 1]
    assert (second["completion_rate"], second["settled"], second["settled_rate"]) == (
        1,
        False,
        None,
    )
    assert (second["rate_low"], second["rate_high"]) == (pytest.approx(2 / 3), 1)
    second90 = {
        row["rep"]: row for row in _get(stages, client, "manager", "manager", 90)["per_rep"]
    }
    assert [second90["alpha-rep2"][f] for f in FIELDS] == [4, 2, 0, 1, 1]


def test_the_whole_tenant_and_the_pages(stages, client) -> None:
    q = _get(stages, client, "executive", "executive", 30)
    assert [q[f] for f in FIELDS] == [11, 6, 1, 0, 4]
    assert q["completion_rate"] == pytest.approx(6 / 7)
    stages.login(client, "manager")
    body = client.get(stages.url("manager/?days=30")).content.decode()
    assert (
        '<strong data-figure="qualification.completion_rate" data-format="percent">83 %</strong> '
        "of the decided "
        "conversations passed the qualification stage: 5 reached discovery or a later stage, "
        "1 lost before it, 0 not past it 30 days after the agent's first action. Still open: "
        "4 of the 10 conversations begun in these 30 days."
    ) in body
    assert (
        "Not settled yet: 40 % of these conversations are still open, so it will end "
        "between 50 % and 90 %." in body
    )
    assert "<td>alpha-rep2</td><td>3</td><td>2</td><td>0</td><td>0</td><td>1</td><td>100 %" in body
    stages.login(client, "rep")
    assert "75 %</strong> of the decided" in client.get(stages.url("rep/")).content.decode()
    stages.login(client, "executive")
    assert "86 %</strong> of the decided" in client.get(stages.url("executive/")).content.decode()
