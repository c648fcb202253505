"""Experiments: the paired two-arm test (its wealth by hand, its mean of 1 under the
hypothesis, the pairing and its horizon, no decision while an arm is unobserved, error
rates at unequal splits and under a drifting rate, time to a decision), the assignment,
the API, a whole experiment through drafts, and exact counts under concurrent drafts."""

from __future__ import annotations

import math
import random
import statistics
import threading
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connections
from django_tenants.utils import tenant_context

from coaching import experiments
from coaching.models import Experiment, ExperimentExposure, PlaybookEntry
from coaching.stats import (
    DEMOTE_AFTER,
    PAIR_BETS,
    PAIR_HORIZON,
    PROMOTE_AFTER,
    ArmTest,
    pair_log_evidence,
)
from feedback import services as feedback_services


def run_experiment(
    rng: random.Random,
    control: float,
    treatment: float,
    limit: int = 1_000,
    share: float = 0.5,
    drift: float = 0.0,
) -> tuple[str, int]:
    """Observations from the treatment with probability `share`, checked after every one
    with the product's floors; both rates multiplied by 1 - drift * (n / limit) (a common
    rate falling over the run): ("promoted" | "demoted" | "running", observations)."""
    test = ArmTest()
    for n in range(1, limit + 1):
        arm = rng.random() < share
        scale = 1 - drift * n / limit
        test.observe(treatment=arm, success=rng.random() < (treatment if arm else control) * scale)
        decision = test.decision(experiments.ALPHA)
        if decision is not None:
            return decision, n
    return "running", limit


@pytest.mark.parametrize(
    ("rate", "share"), [(0.1, 0.5), (0.5, 0.5), (0.9, 0.5), (0.3, 0.45), (0.3, 0.55), (0.3, 0.2)]
)
def test_equal_versions_are_rarely_promoted_or_demoted(rate, share) -> None:
    """Both arms at the same rate, checked after every observation up to 1,000, the
    treatment observed in `share` of them: any decision is an error, and errors stay
    under alpha = 5 % whatever the common rate and the split (the test this one replaced
    promoted 98 % of such runs at a 45 % share)."""
    rng = random.Random(int(rate * 100 + share * 1000))
    runs = [run_experiment(rng, rate, rate, share=share) for _ in range(400)]
    wrong = sum(status != "running" for status, _ in runs) / len(runs)
    assert wrong < experiments.ALPHA


def test_equal_versions_under_a_falling_rate_at_an_unequal_split() -> None:
    """The common rate falls from 40 % to 24 % over the run while the treatment gives 30 %
    of the observations: pairs are close in time, so still under alpha."""
    rng = random.Random(11)
    runs = [run_experiment(rng, 0.4, 0.4, 2_000, share=0.3, drift=0.4) for _ in range(300)]
    assert sum(status != "running" for status, _ in runs) / len(runs) < experiments.ALPHA


def test_a_better_version_wins_and_a_worse_one_loses() -> None:
    rng = random.Random(7)
    better = [run_experiment(rng, 0.5, 0.7) for _ in range(100)]
    worse = [run_experiment(rng, 0.5, 0.3) for _ in range(100)]
    skewed = [run_experiment(rng, 0.5, 0.7, share=0.25) for _ in range(100)]
    assert sum(s == "promoted" for s, _ in better) >= 95
    assert sum(s == "demoted" for s, _ in worse) >= 95
    assert sum(s == "promoted" for s, _ in skewed) >= 90  # fewer pairs, still found
    assert not any(s == "demoted" for s, _ in better + skewed)
    assert statistics.median(n for _, n in better) < 300
    assert min(n for s, n in better if s == "promoted") >= PROMOTE_AFTER
    assert min(n for s, n in worse if s == "demoted") >= DEMOTE_AFTER


def test_the_wealth_by_hand() -> None:
    """Arrivals T+ C- (a pair the treatment won), T+ T- (both wait), C+ (pairs with the
    newest waiting, T-: the control won), C+ (pairs with T+: concordant), T+ C- (won)."""
    test = ArmTest()
    arrivals = [(True, 1), (False, 0), (True, 1), (True, 0), (False, 1), (False, 1)]
    results = [test.observe(treatment=t, success=bool(s)) for t, s in arrivals]
    assert results == [None, 1, None, None, -1, 0]
    assert (test.treatment_better, test.control_better, test.same) == (1, 1, 1)
    # One win, one loss: every bet's wealth is (1 + b)(1 - b), on either side.
    assert test.evidence == pytest.approx(1 - (0.05**2 + 0.1**2 + 0.2**2 + 0.4**2 + 0.8**2) / 5)
    assert test.evidence == pytest.approx(0.8295, abs=1e-12)
    test.observe(treatment=True, success=True)
    test.observe(treatment=False, success=False)
    # Two wins, one loss: better (1 + b)²(1 - b), worse (1 - b)²(1 + b); the mean of the ten.
    by_hand = sum((1 + b) ** 2 * (1 - b) + (1 - b) ** 2 * (1 + b) for b in PAIR_BETS) / 10
    assert by_hand == pytest.approx(0.8295)  # = mean(1 - b²): one net win adds nothing yet
    assert test.evidence == pytest.approx(by_hand, abs=1e-12)
    assert test.observations == 8 and test.waiting == []
    # Two more wins (C- waits, T+ pairs with it): four wins, one loss.
    for _ in range(2):
        assert test.observe(treatment=False, success=False) is None
        assert test.observe(treatment=True, success=True) == 1
    four_one = sum((1 + b) ** 4 * (1 - b) + (1 - b) ** 4 * (1 + b) for b in PAIR_BETS) / 10
    # = mean of (1 - b²)(2 + 6b²) / 2: (2.0099625 + 2.0394 + 2.1504 + 2.4864 + 2.1024) / 10
    assert four_one == pytest.approx(1.07885625, abs=1e-12)
    assert test.evidence == pytest.approx(four_one, abs=1e-12)
    assert test.decision(experiments.ALPHA) is None  # 20 is far
    better, worse = pair_log_evidence(4, 1)
    assert better > 0 > worse and test.log_wealth == pytest.approx(math.log(four_one))


@pytest.mark.parametrize("pairs", [1, 2, 5, 12, 30])
def test_the_evidence_has_mean_one_under_a_fair_coin(pairs) -> None:
    """Exactly: over every sequence of `pairs` discordant pairs, each of probability
    2^-pairs, the mean evidence is 1 (a test martingale; Ville's inequality applies)."""
    mean = sum(
        math.comb(pairs, won) / 2**pairs * _evidence(won, pairs - won) for won in range(pairs + 1)
    )
    assert mean == pytest.approx(1.0, abs=1e-12)


def _evidence(won: int, lost: int) -> float:
    better, worse = pair_log_evidence(won, lost)
    return (math.exp(better) + math.exp(worse)) / 2


def test_no_decision_while_one_arm_is_unobserved() -> None:
    """A control that never drafts: no pair, evidence 1, never a decision, however
    one-sided the treatment's observations; the waiting queue stays within the horizon."""
    test = ArmTest()
    for _ in range(5_000):
        test.observe(treatment=True, success=True)
        assert test.decision(experiments.ALPHA) is None
    assert test.evidence == 1.0 and test.pairs == 0
    assert len(test.waiting) == PAIR_HORIZON + 1
    assert test.waiting[0][0] == 5_000 - 1 - PAIR_HORIZON
    # The first control observation pairs with the newest treatment one.
    assert test.observe(treatment=False, success=False) == 1
    assert test.waiting[-1][0] == 5_000 - 2


def test_a_resumed_test_is_the_same_test() -> None:
    """What coaching.experiments does on every observation (state from the row, one
    observation, state back) gives exactly the uninterrupted test."""
    rng = random.Random(5)
    whole, state = ArmTest(horizon=8), {}
    counts = {"treatment_better": 0, "control_better": 0, "same": 0, "observations": 0}
    for _ in range(400):
        treatment, success = rng.random() < 0.35, rng.random() < 0.4
        whole.observe(treatment=treatment, success=success)
        part = ArmTest(**counts, waiting=state, horizon=8)
        part.observe(treatment=treatment, success=success)
        counts = {
            "treatment_better": part.treatment_better,
            "control_better": part.control_better,
            "same": part.same,
            "observations": part.observations,
        }
        state = part.waiting_state()
        assert part.log_wealth == whole.log_wealth and part.waiting == whole.waiting
    assert all(arrival >= 400 - 1 - 8 for arrival, _ in whole.waiting)


def test_assignment_is_stable_and_fair() -> None:
    arms = [experiments.arm_of("salt", f"conv-{i}") for i in range(10_000)]
    assert abs(arms.count("treatment") / 10_000 - 0.5) < 0.02
    assert experiments.arm_of("salt", "conv-1") == arms[1]  # the same every time
    other = [experiments.arm_of("pepper", f"conv-{i}") for i in range(10_000)]
    agree = sum(a == b for a, b in zip(arms, other, strict=True)) / 10_000
    assert abs(agree - 0.5) < 0.02  # another experiment splits independently


def _draft(action_id: str, intent: str, *, edited: bool, conversation: str = "conv-exp") -> None:
    text = "Hi Dana, Tuesday 2pm for a 20-min demo?"
    feedback_services.record_draft(
        action_id=action_id,
        conversation_id=conversation,
        original_draft=text,
        sent_version=text + " Thanks a lot for your patience with us!" if edited else text,
        intent=intent,
    )


def test_an_experiment_through_assignments_and_drafts(alpha) -> None:
    """A changed entry (previous text kept as control): conversations ask, draft; the new
    version is approved 90 % of the time, the previous 40 %: promoted, with exact counts;
    drafts of conversations never assigned, and later drafts of assigned ones, count as
    uses only."""
    rng = random.Random(3)
    with tenant_context(alpha.tenant):
        entry = PlaybookEntry.objects.create(kind="playbook", name="referral", content="new")
        experiment = experiments.start(entry, control_content="old")
        arms = {}
        for i in range(400):
            answer = experiments.assign(name="referral", conversation_id=f"c{i}")
            if not answer.running:
                break
            again = experiments.assign(name="referral", conversation_id=f"c{i}")
            assert again.arm == answer.arm and not again.first_exposure and answer.first_exposure
            assert answer.content == ("new" if answer.arm == "treatment" else "old")
            arms[f"c{i}"] = answer.arm
            rate = 0.9 if answer.arm == "treatment" else 0.4
            _draft(f"a{i}", "referral", edited=rng.random() >= rate, conversation=f"c{i}")
            _draft(f"b{i}", "referral", edited=True, conversation=f"c{i}")  # not observed
            _draft(f"n{i}", "referral", edited=True, conversation=f"never-{i}")  # unassigned
        experiment.refresh_from_db()
        entry.refresh_from_db()
        observed = ExperimentExposure.objects.filter(experiment=experiment)
        assert experiment.status == "promoted" and entry.status == "active"
        assert entry.content == "new" and entry.decision_reason.startswith("promoted: in ")
        won = experiment.pairs_treatment_better
        differed = won + experiment.pairs_control_better
        assert f"in {won} of {differed} pairs that differed, the new version's draft was sent " in (
            experiment.decision_reason
        )
        pairs = differed + experiment.pairs_same
        assert 2 * pairs + len(experiment.waiting.get("queue", [])) == experiment.observations
        assert experiment.observations == len(arms) == observed.count()
        assert experiment.treatment_uses == list(arms.values()).count("treatment")
        assert (
            experiment.treatment_approvals
            == observed.filter(arm="treatment", approved=True).count()
        )
        assert entry.uses == 3 * len(arms)  # every draft naming it is still a use
        # Decided: everyone gets the winner, nothing more is logged.
        after = experiments.assign(name="referral", conversation_id="late")
        assert (after.running, after.arm, after.content) == (False, None, "new")
        assert not ExperimentExposure.objects.filter(conversation_id="late").exists()
        # The row's state is the test replayed in the order the observations were taken
        # (what the migration does for experiments running when the test changed).
        kept = Experiment.objects.filter(pk=experiment.pk).values().get()
        Experiment.objects.filter(pk=experiment.pk).update(
            status="running",
            pairs_treatment_better=0,
            pairs_control_better=0,
            pairs_same=0,
            waiting={},
            log_wealth=0.0,
        )
        import_module("coaching.migrations.0005_paired_experiment_test").replay_running(apps, None)
        assert Experiment.objects.filter(pk=experiment.pk).values().get() == {
            **kept,
            "status": "running",
        }
        Experiment.objects.filter(pk=experiment.pk).update(status="promoted")


def test_a_worse_change_is_demoted_and_the_previous_text_kept(alpha) -> None:
    rng = random.Random(4)
    with tenant_context(alpha.tenant):
        entry = PlaybookEntry.objects.create(kind="playbook", name="pricing", content="new")
        experiment = experiments.start(entry, control_content="old")
        for i in range(600):
            answer = experiments.assign(name="pricing", conversation_id=f"p{i}")
            if not answer.running:
                break
            rate = 0.2 if answer.arm == "treatment" else 0.7
            _draft(f"p{i}", "pricing", edited=rng.random() >= rate, conversation=f"p{i}")
        experiment.refresh_from_db()
        entry.refresh_from_db()
    assert experiment.status == "demoted" and experiment.observations >= DEMOTE_AFTER
    assert (entry.status, entry.content) == ("active", "old")


def test_a_control_that_never_drafts_decides_nothing(alpha) -> None:
    """A new intent whose control conversations (the agent's default) never produce a
    draft: the treatment's drafts, all sent unedited, are never compared with anything."""
    with tenant_context(alpha.tenant):
        entry = PlaybookEntry.objects.create(kind="intent", name="upsell", content="new")
        experiment = experiments.start(entry, control_content="")
        treated = 0
        for i in range(600):
            answer = experiments.assign(name="upsell", conversation_id=f"u{i}")
            if answer.arm == "treatment":  # its first draft, sent unedited
                experiments.observe(conversation_id=f"u{i}", approved=True)
                treated += 1
            if treated > PAIR_HORIZON + 20:
                break
        experiment.refresh_from_db()
    assert experiment.status == "running" and experiment.evidence == 1.0
    assert (experiment.treatment_uses, experiment.control_uses) == (treated, 0)
    assert experiment.waiting["arm"] == "treatment"
    assert len(experiment.waiting["queue"]) == PAIR_HORIZON + 1  # bounded by the horizon


def test_assign_api(alpha, beta, client) -> None:
    with tenant_context(alpha.tenant):
        entry = PlaybookEntry.objects.create(kind="intent", name="referral", content="ask")
        experiments.start(entry, control_content="")
    url = alpha.url("api/v1/experiments/assign/")
    agent = {"HTTP_AUTHORIZATION": f"Bearer {alpha.agent_key}"}
    body = {"experiment": "referral", "conversation_id": "conv-9"}
    first = client.post(url, body, content_type="application/json", **agent)
    second = client.post(url, body, content_type="application/json", **agent)
    assert first.status_code == second.status_code == 200
    assert first.json()["arm"] == second.json()["arm"] and first.json()["running"]
    assert first.json()["first_exposure"] and not second.json()["first_exposure"]
    missing = client.post(url, {"experiment": "referral"}, content_type="application/json", **agent)
    assert missing.status_code == 400 and "conversation_id" in missing.json()
    unknown = client.post(
        url, {**body, "experiment": "nope"}, content_type="application/json", **agent
    )
    assert unknown.status_code == 404
    with tenant_context(alpha.tenant):
        assert ExperimentExposure.objects.count() == 1  # the bad asks logged nothing
        assert (
            Experiment.objects.get().treatment_exposed + Experiment.objects.get().control_exposed
            == 1
        )
    other = client.post(
        beta.url("api/v1/experiments/assign/"), body, content_type="application/json", **agent
    )
    assert other.status_code in (401, 403)  # alpha's key is not beta's agent
    alpha.login(client, "manager")
    assert client.post(url, body, content_type="application/json").status_code == 403


def test_concurrent_uses_are_counted_exactly(world, django_db_blocker, db) -> None:
    tenant = world["beta"].tenant
    threads_n, per_thread = 8, 6
    errors: list[BaseException] = []

    def in_thread(fn, barrier) -> None:
        try:
            with tenant_context(tenant):
                barrier.wait()
                fn()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def run(fn, n=1, args=()) -> None:
        barrier = threading.Barrier(n)
        threads = [threading.Thread(target=in_thread, args=(fn(*a), barrier)) for a in args or [()]]
        [t.start() for t in threads]
        [t.join(60) for t in threads]

    with django_db_blocker.unblock():
        run(lambda: lambda: PlaybookEntry.objects.create(kind="intent", name="race", content="x"))
        try:
            run(
                lambda k: (
                    lambda: [
                        _draft(f"race-{k}-{i}", "race", edited=(k + i) % 3 == 0)
                        for i in range(per_thread)
                    ]
                ),
                threads_n,
                [(k,) for k in range(threads_n)],
            )
            assert not errors
            counts: dict[str, int] = {}
            run(
                lambda: (
                    lambda: counts.update(
                        PlaybookEntry.objects.filter(name="race").values("uses", "approvals").get()
                    )
                )
            )
            edited = sum((k + i) % 3 == 0 for k in range(threads_n) for i in range(per_thread))
            assert counts == {
                "uses": threads_n * per_thread,
                "approvals": threads_n * per_thread - edited,
            }
        finally:
            from feedback.models import DraftFeedback, FeedbackEntry
            from outcomes.models import Conversation

            def cleanup() -> None:
                FeedbackEntry.objects.filter(target_id__startswith="race-").delete()
                DraftFeedback.objects.filter(action_id__startswith="race-").delete()
                PlaybookEntry.objects.filter(name="race").delete()
                Conversation.objects.filter(external_id="conv-exp").delete()

            run(lambda: cleanup)
