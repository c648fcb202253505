"""Experiments: the two-arm test's error rates under checking after every use, its time
to a decision, the assignment, the API, a whole experiment through drafts, and exact
counts under concurrent drafts."""

from __future__ import annotations

import random
import statistics
import threading

import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from coaching import experiments
from coaching.models import Experiment, ExperimentExposure, PlaybookEntry
from coaching.stats import DEMOTE_AFTER, PROMOTE_AFTER, ArmTest
from feedback import services as feedback_services


def run_experiment(
    rng: random.Random, control: float, treatment: float, limit: int = 1_000
) -> tuple[str, int]:
    """Conversations assigned by a fair coin, one observation each, checked after every
    one with the product's floors: ("promoted" | "demoted" | "running", observations)."""
    test = ArmTest()
    for n in range(1, limit + 1):
        arm = rng.random() < 0.5
        test.observe(treatment=arm, success=rng.random() < (treatment if arm else control))
        decision = test.decision(experiments.ALPHA)
        if decision is not None:
            return decision, n
    return "running", limit


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_equal_versions_are_rarely_promoted_or_demoted(rate) -> None:
    """Both arms at the same rate, checked after every observation up to 1,000: any
    decision is an error, and errors stay under alpha = 5 % whatever the common rate."""
    rng = random.Random(int(rate * 100))
    runs = [run_experiment(rng, rate, rate) for _ in range(400)]
    wrong = sum(status != "running" for status, _ in runs) / len(runs)
    assert wrong < experiments.ALPHA


def test_a_better_version_wins_and_a_worse_one_loses() -> None:
    rng = random.Random(7)
    better = [run_experiment(rng, 0.5, 0.7) for _ in range(100)]
    worse = [run_experiment(rng, 0.5, 0.3) for _ in range(100)]
    assert sum(s == "promoted" for s, _ in better) >= 95
    assert sum(s == "demoted" for s, _ in worse) >= 95
    assert statistics.median(n for _, n in better) < 300
    assert min(n for s, n in better if s == "promoted") >= PROMOTE_AFTER
    assert min(n for s, n in worse if s == "demoted") >= DEMOTE_AFTER


def test_the_wealth_is_the_product_of_its_bets() -> None:
    """By hand: each factor is 1 + bet * sign, the bet the shrunk mean of earlier signs."""
    test = ArmTest()
    signs = [(True, True), (True, True), (False, True), (True, False), (False, False)]
    expected, total, seen = 0.0, 0, 0
    import math

    for treatment, success in signs:
        sign = (1 if treatment else -1) * (1 if success else -1)
        bet = max(-0.5, min(0.5, total / (seen + 4)))
        expected += math.log1p(bet * sign)
        test.observe(treatment=treatment, success=success)
        total, seen = total + sign, seen + 1
    assert test.log_wealth == pytest.approx(expected, abs=1e-12)
    assert (test.observations, test.sign_sum) == (5, total)


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
        assert entry.content == "new" and entry.decision_reason.startswith("promoted: new version")
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
