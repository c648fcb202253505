"""The map of the product's flow (config/wiring.py) is what runs: each event reaches
exactly its listed subscribers, those marked after-commit once when the change commits
and never when it rolls back, the others inside the change's transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from calibration import events as calibration_events
from calibration import services as calibration_services
from coaching import erasure as coaching_erasure
from coaching import events as coaching_events
from coaching import experiments
from feedback import erasure as feedback_erasure
from feedback import events as feedback_events
from feedback import prompting
from feedback import services as feedback_services
from insights import cache, live, live_feed
from learning.events import Event, Subscription
from outcomes import events as outcome_events
from outcomes import services
from outcomes.tests.factories import OutcomeFactory
from prompts import events as prompt_events
from prompts import services as prompt_services

WIRED = {
    outcome_events.ACTIONS_RECORDED: [Subscription(prompting.on_actions_recorded, True)],
    feedback_events.VERDICT_NEEDED: [Subscription(live_feed.verdict_needed, True)],
    prompt_events.EMAIL_CHOICES: [Subscription(prompting.email_choices, False)],
    outcome_events.RESOLVED: [
        Subscription(calibration_services.count_resolved_outcomes, False),
        Subscription(cache.on_changed, True),
        Subscription(live_feed.outcomes_resolved, True),
    ],
    feedback_events.FEEDBACK_RECORDED: [
        Subscription(prompt_services.on_feedback_recorded, False),
        Subscription(cache.on_changed, True),
        Subscription(live_feed.feedback_recorded, True),
    ],
    feedback_events.DRAFT_RECORDED: [Subscription(experiments.on_draft_recorded, False)],
    coaching_events.PATTERNS_FOUND: [Subscription(cache.on_changed, True)],
    calibration_events.POLICY_CHANGED: [Subscription(cache.on_changed, True)],
    outcome_events.CONTENT_ERASED: [
        Subscription(feedback_erasure.on_content_erased, False),
        Subscription(coaching_erasure.on_content_erased, False),
        Subscription(cache.on_changed, True),
    ],
    outcome_events.CONTACT_ERASING: [Subscription(feedback_erasure.on_contact_erasing, False)],
}


def test_each_event_has_exactly_its_listed_subscribers() -> None:
    for event, subscriptions in WIRED.items():
        assert event._subscriptions == subscriptions, event.name


def test_an_after_commit_subscriber_runs_once_on_commit_and_never_on_rollback(
    db, django_capture_on_commit_callbacks
) -> None:
    event: Event[str] = Event("test.happened")
    inside: list[str] = []
    after: list[str] = []
    event.subscribe(inside.append)
    event.subscribe(after.append, after_commit=True)
    event.subscribe(after.append, after_commit=True)  # listed once
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event.emit("kept")
        assert (inside, after) == (["kept"], [])  # not before the commit
    assert after == ["kept"]
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        event.emit("undone")
        raise RuntimeError
    assert not callbacks and after == ["kept"] and inside == ["kept", "undone"]


@pytest.fixture
def pushed(monkeypatch) -> list[tuple[str, dict]]:
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(live, "_send", lambda messages: sent.extend(messages))
    return sent


def test_a_resolution_and_a_verdict_reach_the_cache_and_the_feed_after_commit(
    alpha, pushed, django_capture_on_commit_callbacks
) -> None:
    with tenant_context(alpha.tenant):
        OutcomeFactory(action_id="w-1", conversation_id="c-w", rep="alpha-rep")
        version = cache._version()
        with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
            services.record_signal(
                conversation_id="c-w",
                action_id="w-1",
                kind="replied",
                occurred_at=timezone.now() + timedelta(seconds=1),
                data={},
            )
            assert cache._version() == version and not pushed  # nothing before the commit
        assert cache._version() == version + 1  # bumped once
        resolved = [m for _, m in pushed if m["event"] == "outcomes.resolved"]
        # the tenant, alpha-rep's own group and their manager's team: one message each
        assert len(resolved) == 3 and {m["payload"]["count"] for m in resolved} == {1}
        # after the commit: the cache, the feed (which queues its push), nothing else
        assert [getattr(c, "func", None) for c in callbacks[:2]] == [
            cache.on_changed,
            live_feed.outcomes_resolved,
        ] and len(callbacks) == 3
        pushed.clear()
        with django_capture_on_commit_callbacks(execute=True):
            feedback_services.record_feedback(
                reviewer=alpha.users["manager"],
                target_type="message",
                target_id="w-1",
                conversation_id="c-w",
                source="dashboard",
                rating=4,
            )
        assert cache._version() == version + 2
        assert {m["event"] for _, m in pushed} == {"feedback.recorded"} and len(pushed) == 3
        pushed.clear()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            feedback_services.record_feedback(  # a retry of the same verdict: no event
                reviewer=alpha.users["manager"],
                target_type="message",
                target_id="w-1",
                conversation_id="c-w",
                source="dashboard",
                rating=4,
            )
        assert not callbacks and not pushed and cache._version() == version + 2
