"""Experiments: the Bayes factor, its error rate under continuous checking, the time it
takes to promote a better entry, and exact counts under concurrent drafts."""

from __future__ import annotations

import math
import random
import statistics
import threading

import pytest
from django.db import connections
from django_tenants.utils import tenant_context
from scipy import integrate
from scipy.stats import beta as beta_dist

from coaching import experiments
from coaching.models import PlaybookEntry
from feedback import services as feedback_services


@pytest.mark.parametrize(("s", "f", "p0"), [(8, 2, 0.5), (3, 9, 0.6), (40, 10, 0.7), (0, 0, 0.4)])
def test_bayes_factor_is_the_mixture_likelihood_ratio(s, f, p0) -> None:
    a, b = 2 * p0, 2 * (1 - p0)
    mixture, _ = integrate.quad(lambda t: t**s * (1 - t) ** f * beta_dist.pdf(t, a, b), 0, 1)
    expected = mixture / (p0**s * (1 - p0) ** f)
    assert math.exp(experiments.log_bayes_factor(s, f, p0)) == pytest.approx(expected, rel=1e-6)


def _uses_until_decided(
    rng: random.Random, rate: float, baseline: float, limit: int
) -> tuple[str, int]:
    approvals = 0
    for uses in range(1, limit + 1):
        approvals += rng.random() < rate
        verdict = experiments.judge(uses, approvals, baseline)
        if verdict.status != "experimental":
            return verdict.status, uses
    return "experimental", limit


def test_an_entry_as_good_as_the_baseline_is_rarely_promoted_and_a_better_one_soon() -> None:
    rng = random.Random(2026)
    runs = 400
    null = [_uses_until_decided(rng, 0.5, 0.5, 300) for _ in range(runs)]
    promoted = sum(status == "active" for status, _ in null) / runs
    better = [_uses_until_decided(rng, 0.8, 0.5, 300) for _ in range(200)]
    median = statistics.median(uses for _, uses in better)
    worse = [_uses_until_decided(rng, 0.2, 0.5, 300) for _ in range(200)]
    print(
        f"baseline-equal promoted in {promoted:.1%} of {runs} runs over 300 uses; "
        f"0.8 promoted after a median of {median} uses; 0.2 demoted after "
        f"{statistics.median(u for _, u in worse)}"
    )
    assert promoted < 0.05
    assert all(status == "active" for status, _ in better) and median <= 40
    assert all(status == "demoted" for status, _ in worse)
    assert min(u for _, u in better) >= experiments.PROMOTE_AFTER
    assert min(u for _, u in worse) >= experiments.DEMOTE_AFTER


def _draft(action_id: str, intent: str, *, edited: bool) -> None:
    text = "Hi Dana, Tuesday 2pm for a 20-min demo?"
    feedback_services.record_draft(
        action_id=action_id,
        conversation_id="conv-exp",
        original_draft=text,
        sent_version=text + " Thanks a lot for your patience with us!" if edited else text,
        intent=intent,
    )


def test_drafts_promote_an_experimental_intent_once(alpha) -> None:
    with tenant_context(alpha.tenant):
        for i in range(20):  # the baseline: half of the other drafts go out unedited
            _draft(f"base-{i}", "book_demo", edited=i % 2 == 0)
        entry = PlaybookEntry.objects.create(kind="intent", name="referral", content="x")
        assert experiments.baseline_rate("intent") == 0.5
        for i in range(40):
            _draft(f"ref-{i}", "referral", edited=False)
        _draft("ref-0", "referral", edited=True)  # a replay: counted once, unchanged
        entry.refresh_from_db()
    assert entry.status == "active" and entry.uses == 40 and entry.approvals == 40
    expected = next(n for n in range(1, 41) if experiments.judge(n, n, 0.5).status == "active")
    assert entry.decision_reason.startswith(f"promoted: {expected} of {expected} sent unedited")


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
