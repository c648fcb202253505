"""Managers' review queues: what goes in (spot checks drawn once, with their probability),
who reviews, how several verdicts settle an outcome, and the agreement figures."""

from __future__ import annotations

import random

import krippendorff
import numpy as np
import pytest
from django_tenants.utils import tenant_context
from sklearn.metrics import cohen_kappa_score

from conftest import PASSWORD
from feedback import queues
from feedback.models import Judgement, QueueItem, ReviewQueue
from learning.errors import Forbidden, InvalidInput
from learning.tests.factories import UserFactory
from outcomes.models import OutcomeRecord
from outcomes.tests.factories import OutcomeFactory


@pytest.fixture
def team(alpha):
    """alpha-manager's team: alpha-rep and rep2, with 4 ambiguous, 10 positive and 10
    negative emails; another manager's rep with one of their own."""
    with tenant_context(alpha.tenant):
        UserFactory(username="rep2", manager="alpha-manager")
        UserFactory(username="other-manager", role="manager")
        UserFactory(username="other-rep", manager="other-manager")
        for i in range(4):
            OutcomeFactory(action_id=f"amb-{i}", rep="alpha-rep", status="ambiguous")
        for i in range(10):
            OutcomeFactory(action_id=f"pos-{i}", rep="rep2", status="positive")
            OutcomeFactory(action_id=f"neg-{i}", rep="rep2", status="negative")
        OutcomeFactory(action_id="theirs", rep="other-rep", status="ambiguous")
    return alpha


def make(world, **kwargs):
    with tenant_context(world.tenant):
        return queues.create_queue(owner=world.users["manager"], **kwargs)


def items(world, queue) -> dict[str, tuple[str, float]]:
    with tenant_context(world.tenant):
        return {
            i.outcome.action_id: (i.reason, i.inclusion_probability)
            for i in QueueItem.objects.filter(queue=queue).select_related("outcome")
        }


def test_a_plain_queue_takes_every_match_of_the_team(team) -> None:
    queue = make(team, name="Emails", reviewers=["alpha-rep"], statuses=["ambiguous"])
    assert items(team, queue) == {f"amb-{i}": ("ambiguous", 1.0) for i in range(4)}  # not theirs


def test_a_spot_check_draws_each_decided_action_once_with_its_probability(team) -> None:
    queue = make(
        team,
        name="Spot check",
        reviewers=["alpha-rep", "rep2"],
        spot_check_share=0.5,
        rng=random.Random(3),
    )
    found = items(team, queue)
    drawn = {k for k, (reason, _) in found.items() if reason == "spot_check"}
    assert {k for k, (r, _) in found.items() if r == "ambiguous"} == {f"amb-{i}" for i in range(4)}
    assert 0 < len(drawn) < 20 and all(found[k][1] == 0.5 for k in drawn)
    with tenant_context(team.tenant):
        again = queues.fill(queue=ReviewQueue.objects.get(pk=queue.pk), rng=random.Random(99))
        assert again == 0  # the decided actions were drawn already: never twice
        OutcomeFactory(action_id="late", rep="rep2", status="positive")
        queue.refresh_from_db()
        queues.fill(queue=queue, rng=random.Random(0))  # 0.84 > 0.5 with this seed: not drawn
        queues.fill(queue=queue, rng=random.Random(1))  # and not drawn again later
    assert "late" not in items(team, queue)


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"reviewers": ["other-rep"]}, "reviewers"),  # not on this manager's team
        ({"reviewers": []}, "reviewers"),
        ({"reviewers": ["alpha-rep"], "reviewers_per_item": 2}, "reviewers_per_item"),
        ({"reviewers": ["alpha-rep"], "reps": ["other-rep"]}, "reps"),
        ({"reviewers": ["alpha-rep"], "statuses": ["won"]}, "statuses"),
        ({"reviewers": ["alpha-rep"], "spot_check_share": 1.5}, "spot_check_share"),
        ({"reviewers": ["alpha-rep"], "name": "  "}, "name"),
    ],
)
def test_bad_queues_are_refused_and_nothing_is_stored(team, kwargs, field) -> None:
    with pytest.raises(InvalidInput) as error:
        make(team, **{"name": "Q", **kwargs})
    assert error.value.field == field
    with tenant_context(team.tenant):
        assert not ReviewQueue.objects.exists() and not QueueItem.objects.exists()


def test_the_form_offers_each_action_type_once(team, client) -> None:
    with tenant_context(team.tenant):
        for days in (1, 2, 3):
            OutcomeFactory(action_id=f"old-{days}", rep="rep2", days_ago=days)
    team.login(client, "manager")
    page = client.get(team.url("feedback/queues/new/")).content.decode()
    assert page.count('name="action_types" value="send_email"') == 1


def test_only_managers_make_queues(team) -> None:
    with tenant_context(team.tenant), pytest.raises(Forbidden):
        queues.create_queue(owner=team.users["rep"], name="Q", reviewers=["alpha-rep"])


def _judge(world, queue, reviewer, action_id, label, stars=None):
    from feedback.review import record_review

    with tenant_context(world.tenant):
        item = QueueItem.objects.select_related("outcome__conversation", "queue").get(
            queue=queue, outcome__action_id=action_id
        )
        record_review(
            reviewer=world.users[reviewer] if reviewer in world.users else _user(reviewer),
            outcome=item.outcome,
            source="dashboard" if stars else None,
            rating=stars,
            label=label,
            queue_item=item,
        )


def _user(username):
    from learning.models import User

    return User.objects.get(username=username)


def status_of(world, action_id) -> str:
    with tenant_context(world.tenant):
        return OutcomeRecord.objects.get(action_id=action_id).status


def test_two_reviewers_settle_by_majority_and_a_tie_goes_to_the_owner(team) -> None:
    queue = make(
        team,
        name="Pairs",
        reviewers=["alpha-rep", "alpha-manager"],
        reviewers_per_item=2,
        statuses=["ambiguous"],
    )
    _judge(team, queue, "rep", "amb-0", "positive")
    assert status_of(team, "amb-0") == "ambiguous"  # waits for its second reviewer
    _judge(team, queue, "manager", "amb-0", "positive")
    assert status_of(team, "amb-0") == "positive"  # both: positive
    _judge(team, queue, "rep", "amb-1", "positive")
    _judge(team, queue, "manager", "amb-1", "negative")  # a tie: the owner's label
    assert status_of(team, "amb-1") == "negative"
    with tenant_context(team.tenant):
        outcome = OutcomeRecord.objects.get(action_id="amb-1")
        assert "a tie, decided by the most senior reviewer" in outcome.label_comment
        assert outcome.resolved_by.username == "alpha-manager"


def test_a_tie_among_equals_waits_for_one_more(team) -> None:
    queue = make(
        team,
        name="Reps",
        reviewers=["alpha-rep", "rep2"],
        reviewers_per_item=2,
        statuses=["ambiguous"],
    )
    _judge(team, queue, "rep", "amb-2", "positive")
    _judge(team, queue, "rep2", "amb-2", "negative")
    assert status_of(team, "amb-2") == "ambiguous"


def test_reviewers_settle_actions_outside_their_own_scope(team) -> None:
    """A queue gives rep2 alpha-rep's actions and alpha-rep rep2's: when both agree, the
    label is stored in the decider's name although the action is not theirs to see."""
    with tenant_context(team.tenant):
        OutcomeFactory(action_id="rep2-amb", rep="rep2", status="ambiguous")
    queue = make(
        team,
        name="Crossed",
        reviewers=["alpha-rep", "rep2"],
        reviewers_per_item=2,
        statuses=["ambiguous"],
    )
    for action_id in ("amb-3", "rep2-amb"):
        _judge(team, queue, "rep2", action_id, "negative")
        _judge(team, queue, "rep", action_id, "negative")
        assert status_of(team, action_id) == "negative"


def test_someone_outside_the_queue_cannot_judge_it(team) -> None:
    queue = make(team, name="Solo", reviewers=["rep2"], statuses=["ambiguous"])
    with pytest.raises(Forbidden):
        _judge(team, queue, "rep", "amb-0", "positive")
    assert status_of(team, "amb-0") == "ambiguous"


def test_agreement_figures_match_the_references(team) -> None:
    """Three reviewers label 20 decided emails of a spot check drawn at 50 %; the queue's
    alpha and kappas are the reference packages' on the same labels, and the agreement
    with the automatic verdicts is weighted by 1 / 0.5 (here: the same for all)."""
    queue = make(
        team,
        name="Three",
        reviewers=["alpha-rep", "rep2", "alpha-manager"],
        reviewers_per_item=3,
        statuses=["positive", "negative"],
    )
    rng = random.Random(5)
    who = {"rep": "alpha-rep", "rep2": "rep2", "manager": "alpha-manager"}
    labels: dict[str, list[str]] = {name: [] for name in who}
    stars: dict[str, list[int]] = {name: [] for name in who}
    ids = [f"pos-{i}" for i in range(10)] + [f"neg-{i}" for i in range(10)]
    for action_id in ids:
        truth = "positive" if action_id.startswith("pos") else "negative"
        for name in who:
            label = (
                truth if rng.random() < 0.8 else ("negative" if truth == "positive" else "positive")
            )
            star = rng.randint(1, 5)
            _judge(team, queue, name, action_id, label, stars=star)
            labels[name].append(label)
            stars[name].append(star)
    with tenant_context(team.tenant):
        s = queues.summary(queue=ReviewQueue.objects.get(pk=queue.pk))
    assert (s.items, s.complete, s.multi_judged) == (20, 20, 20)
    order = sorted(who.values())
    data = np.array(
        [[1.0 if x == "positive" else 0.0 for x in labels[k]] for k in sorted(who, key=who.get)]
    )
    assert s.label_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=1e-9
    )
    star_data = np.array([stars[k] for k in sorted(who, key=who.get)], dtype=float)
    assert s.star_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=star_data, level_of_measurement="ordinal"), abs=1e-9
    )
    pairs = {(p.first, p.second): p.kappa for p in s.pairs}
    name_of = {v: k for k, v in who.items()}
    for first, second in (
        ("alpha-manager", "alpha-rep"),
        ("alpha-manager", "rep2"),
        ("alpha-rep", "rep2"),
    ):
        assert pairs[(first, second)] == pytest.approx(
            cohen_kappa_score(labels[name_of[first]], labels[name_of[second]]), abs=1e-9
        )
    assert order == ["alpha-manager", "alpha-rep", "rep2"]
    with tenant_context(team.tenant):
        assert Judgement.objects.count() == 60
    assert s.spot_checked == 0  # a plain queue: no spot checks to weigh


def test_people_against_the_signals_weighted_by_inclusion(team) -> None:
    with tenant_context(team.tenant):
        queue = queues.create_queue(
            owner=team.users["manager"],
            name="Spot",
            reviewers=["alpha-manager"],
            statuses=["positive", "negative"],
            spot_check_share=1.0,
        )
        # as if two had been drawn at 1 in 4 and the rest at 1 in 1
        QueueItem.objects.filter(queue=queue, outcome__action_id__in=["pos-0", "neg-0"]).update(
            inclusion_probability=0.25
        )
    # agrees on pos-0 (weight 4) and neg-1..neg-3 (1 each); disagrees on neg-0 (4), pos-1 (1)
    for action_id, label in [
        ("pos-0", "positive"),
        ("neg-0", "positive"),
        ("pos-1", "negative"),
        ("neg-1", "negative"),
        ("neg-2", "negative"),
        ("neg-3", "negative"),
    ]:
        _judge(team, queue, "manager", action_id, label)
    with tenant_context(team.tenant):
        s = queues.summary(queue=ReviewQueue.objects.get(pk=queue.pk))
    assert s.spot_checked == 6
    assert s.automatic_agreement == pytest.approx(7 / 12, abs=1e-12)
    human = ["positive", "positive", "negative", "negative", "negative", "negative"]
    automatic = ["positive", "negative", "positive", "negative", "negative", "negative"]
    weights = [4, 4, 1, 1, 1, 1]
    assert s.automatic_kappa == pytest.approx(
        cohen_kappa_score(human, automatic, sample_weight=weights), abs=1e-9
    )


# --- the pages --------------------------------------------------------------------------------


def test_a_manager_makes_a_spot_check_for_two_reviewers_who_review_it(team, client) -> None:
    team.login(client, "manager")
    form = {
        "name": "Friday spot check",
        "reviewers": ["alpha-rep", "rep2"],
        "reviewers_per_item": "2",
        "statuses": ["positive", "negative"],
        "spot_check_percent": "100",
    }
    made = client.post(team.url("feedback/queues/new/"), form)
    assert made.status_code == 302
    with tenant_context(team.tenant):
        queue = ReviewQueue.objects.get(name="Friday spot check")
    detail = client.get(made["Location"]).content.decode()
    assert "0 of 20" not in detail and ">20<" in detail  # 20 items, none done
    for reviewer in ("alpha-rep", "rep2"):
        client.logout()
        password = PASSWORD if reviewer == "alpha-rep" else "a-long-test-password"
        signed_in = client.post(
            team.url("login/"), {"username": reviewer, "password": password, "next": "/"}
        )
        assert signed_in.status_code == 302
        page = client.get(team.url(f"feedback/review/q{queue.pk}/1/")).content.decode()
        assert "A spot check, drawn at random (100% of the decided actions)" in page
        assert "status-positive" not in page and "status-negative" not in page  # blind
        for position in (1, 2, 3):
            here = team.url(f"feedback/review/q{queue.pk}/{position}/")
            action_id = client.get(here).content.decode().split('name="action_id" value="')[1]
            saved = client.post(
                here, {"action_id": action_id.split('"')[0], "label": "positive", "stars": "4"}
            )
            assert saved["Location"] == team.url(f"feedback/review/q{queue.pk}/{position + 1}/")
        again = client.get(team.url(f"feedback/review/q{queue.pk}/1/")).content.decode()
        assert 'value="positive" checked' in again  # their label, shown back to them
    team.login(client, "manager")
    home = client.get(team.url("manager/")).content.decode()
    assert "Friday spot check" in home and "items done" in home
    with tenant_context(team.tenant):
        s = queues.summary(queue=queue)
    assert [(r.username, r.judged) for r in s.reviewers] == [("alpha-rep", 3), ("rep2", 3)]
    assert s.complete == 3 and s.spot_checked == 3


@pytest.mark.parametrize(
    "change,field",
    [
        ({"reviewers": ["other-rep"]}, "reviewers"),
        ({"reviewers_per_item": "9"}, "reviewers_per_item"),
        ({"spot_check_percent": "150"}, "spot_check_percent"),
        ({"name": ""}, "name"),
        ({"statuses": ["won"]}, "statuses"),
    ],
)
def test_the_form_refuses_bad_queues_with_the_field(team, client, change, field) -> None:
    team.login(client, "manager")
    form = {"name": "Q", "reviewers": ["alpha-rep"], "reviewers_per_item": "1", **change}
    response = client.post(team.url("feedback/queues/new/"), form)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    with tenant_context(team.tenant):
        assert not ReviewQueue.objects.exists()


def test_who_sees_which_queue(team, client) -> None:
    queue = make(team, name="Mine", reviewers=["alpha-rep"])
    team.login(client, "rep")
    assert client.get(team.url("feedback/queues/")).status_code == 403
    team.login(client, "executive")
    assert client.get(team.url(f"feedback/queues/{queue.pk}/")).status_code == 200
    with tenant_context(team.tenant):
        other = queues.create_queue(
            owner=_user("other-manager"), name="Theirs", reviewers=["other-rep"]
        )
    team.login(client, "manager")
    assert client.get(team.url(f"feedback/queues/{other.pk}/")).status_code == 404
    closed = client.post(team.url(f"feedback/queues/{queue.pk}/"), {"close": "1"})
    assert closed.status_code == 302
    team.login(client, "rep")
    tabs = client.get(team.url("feedback/review/recent/1/")).content.decode()
    assert "Mine" not in tabs  # a closed queue is no one's to review
