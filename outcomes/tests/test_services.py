"""Resolution semantics: windows, expiry, attribution, exactly-once under concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from learning.errors import InvalidInput
from outcomes import events, services, sweeps
from outcomes.models import Conversation, OutcomeRecord, Signal
from outcomes.tests.factories import OutcomeFactory

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def record(
    action_id,
    *,
    outcome_type="email_engagement",
    conversation="c1",
    at=T0,
    confidence=0.6,
    rep="alpha-rep",
):
    return OutcomeFactory(
        action_id=action_id,
        conversation_id=conversation,
        predicted_confidence=confidence,
        outcome_type=outcome_type,
        occurred_at=at,
        rep=rep,
    )


def signal(kind, *, conversation="c1", at=T0 + timedelta(hours=1), action_id="", **data):
    return services.record_signal(
        conversation_id=conversation, kind=kind, occurred_at=at, data=data, action_id=action_id
    )


def status_of(action_id):
    return OutcomeRecord.objects.get(action_id=action_id).status


@pytest.fixture
def in_alpha(alpha):
    with tenant_context(alpha.tenant):
        yield alpha


@pytest.fixture
def resolved_events():
    seen: list = []
    events.RESOLVED.subscribe(seen.extend)
    yield seen
    events.RESOLVED.unsubscribe(seen.extend)


def test_signal_naming_an_action_resolves_only_that_action(in_alpha) -> None:
    record("a1"), record("a2")
    result = signal("bounced", action_id="a2")
    assert [o.id for o in result.resolved] == [OutcomeRecord.objects.get(action_id="a2").pk]
    assert (status_of("a1"), status_of("a2")) == ("pending", "negative")


def test_deal_progress_credits_every_pending_action_in_the_window(in_alpha) -> None:
    for i, days in enumerate([-40, -20, -5, 0]):
        record(f"d{i}", outcome_type="deal_progression", at=T0 + timedelta(days=days))
    record("email", outcome_type="email_engagement", at=T0)
    record("other-conv", outcome_type="deal_progression", conversation="c2", at=T0)
    result = signal(
        "stage_changed", at=T0 + timedelta(days=1), **{"from": "discovery", "to": "proposal"}
    )
    credited = sorted(
        OutcomeRecord.objects.filter(pk__in=[o.id for o in result.resolved]).values_list(
            "action_id", flat=True
        )
    )
    assert credited == ["d1", "d2", "d3"]  # d0's 30-day window ended before the signal
    assert {o.score for o in result.resolved} == {0.75}
    assert status_of("d0") == status_of("email") == status_of("other-conv") == "pending"


def test_signal_before_the_action_does_not_count(in_alpha) -> None:
    record("late", at=T0 + timedelta(hours=2))
    assert signal("replied", at=T0 + timedelta(hours=1)).resolved == []
    assert status_of("late") == "pending"


def test_a_signal_naming_an_action_must_name_its_conversation(in_alpha) -> None:
    record("a1", conversation="c1")
    with pytest.raises(InvalidInput) as error:
        signal("bounced", conversation="c-elsewhere", action_id="a1")
    assert error.value.field == "conversation_id"
    assert status_of("a1") == "pending"
    assert not Conversation.objects.filter(external_id="c-elsewhere").exists()
    assert not Signal.objects.exists()


@pytest.mark.parametrize(
    "at",
    [T0 - timedelta(days=365), T0 - timedelta(seconds=1), T0 + timedelta(days=7, seconds=1)],
)
def test_a_signal_naming_an_action_outside_its_window_does_not_resolve_it(in_alpha, at) -> None:
    record("a1", at=T0)  # email engagement: 7 days
    result = signal("replied", action_id="a1", at=at)
    assert result.created and result.resolved == []
    assert status_of("a1") == "pending"
    for window in ("immediate", "engagement", "expiry"):
        sweeps.run_sweep(window=window, now=T0 + timedelta(hours=2))
    assert status_of("a1") == "pending"


def test_sweeps_match_a_named_action_only_in_its_conversation_and_window(in_alpha) -> None:
    """The signals came before their actions (the agent posts asynchronously)."""
    signal("replied", conversation="c-wrong", action_id="early-1", at=T0 + timedelta(hours=1))
    signal("replied", conversation="c1", action_id="early-2", at=T0 - timedelta(hours=1))
    signal("replied", conversation="c1", action_id="early-3", at=T0 + timedelta(hours=1))
    for action_id in ("early-1", "early-2", "early-3"):
        record(action_id, conversation="c1", at=T0)
    sweeps.run_sweep(window="immediate", now=T0 + timedelta(hours=2))
    assert [status_of(a) for a in ("early-1", "early-2", "early-3")] == [
        "pending",
        "pending",
        "positive",
    ]


def test_stage_is_tracked_on_the_conversation(in_alpha) -> None:
    record("d", outcome_type="deal_progression")
    signal("stage_changed", to="discovery", at=T0 + timedelta(hours=1))
    stored = Signal.objects.get()
    assert stored.conversation.deal_stage == "discovery"
    record("d2", outcome_type="deal_progression", at=T0 + timedelta(hours=2))
    result = signal("stage_changed", to="demo", at=T0 + timedelta(hours=3))
    assert [o.score for o in result.resolved] == [0.5]  # discovery -> demo, one stage
    assert Signal.objects.latest("id").data == {"from": "discovery", "to": "demo"}


@pytest.mark.parametrize(
    "age,expected", [(timedelta(hours=23, minutes=59), 1), (timedelta(hours=24, minutes=1), 0)]
)
def test_immediate_window_boundary(in_alpha, age, expected) -> None:
    now = T0 + timedelta(days=3)
    record("x", at=now - age)
    # The reply arrived before the action was recorded: only a sweep can match it.
    Signal.objects.create(
        conversation=OutcomeRecord.objects.get().conversation,
        kind="replied",
        occurred_at=now - age + timedelta(minutes=1),
    )
    result = sweeps.run_sweep(window="immediate", now=now)
    assert result.resolved.get("positive", 0) == expected
    engagement = sweeps.run_sweep(window="engagement", now=now)
    assert engagement.resolved.get("positive", 0) == 1 - expected


@pytest.mark.parametrize(
    "signals,expected",
    [([], "expired"), (["opened"], "ambiguous"), (["opened", "clicked"], "positive")],
)
def test_expiry(in_alpha, signals, expected, resolved_events) -> None:
    outcome = record("e")
    for kind in signals:
        Signal.objects.create(
            conversation=outcome.conversation, kind=kind, occurred_at=T0 + timedelta(days=2)
        )
    before = sweeps.run_sweep(window="expiry", now=T0 + timedelta(days=7) - timedelta(seconds=1))
    assert before.examined == 0
    sweeps.run_sweep(window="expiry", now=T0 + timedelta(days=7))
    assert status_of("e") == expected
    # "Outcome resolved" fires for final statuses only: ambiguous waits for a human.
    assert [e.status for e in resolved_events] == ([] if expected == "ambiguous" else [expected])


def test_label_resolves_ambiguous_once(in_alpha, resolved_events) -> None:
    outcome = record("amb")
    Signal.objects.create(
        conversation=outcome.conversation, kind="opened", occurred_at=T0 + timedelta(hours=3)
    )
    sweeps.run_sweep(window="expiry", now=T0 + timedelta(days=8))
    manager = in_alpha.users["manager"]
    labelled = services.label_outcome(
        outcome_id=outcome.pk,
        status="positive",
        user=manager,
        comment="they booked a call by phone",
    )
    assert (labelled.status, labelled.signal_source, labelled.resolved_by) == (
        "positive",
        "human_label",
        manager,
    )
    assert labelled.label_comment == "they booked a call by phone"
    assert [(e.id, e.status) for e in resolved_events] == [(outcome.pk, "positive")]


def test_sweeps_run_twice_change_nothing_the_second_time(in_alpha, resolved_events) -> None:
    for i in range(30):
        record(f"s{i}", conversation=f"c{i}")
    now = T0 + timedelta(days=8)
    first = sweeps.run_sweep(window="expiry", now=now, batch_size=7)
    second = sweeps.run_sweep(window="expiry", now=now, batch_size=7)
    assert (first.resolved, second.resolved) == ({"expired": 30}, {})
    assert len(resolved_events) == 30


def _in_thread(schema_tenant, fn, results, barrier):
    try:
        with tenant_context(schema_tenant):
            barrier.wait()
            results.append(fn())
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=False)
def test_concurrent_replays_store_one_record(world, django_db_blocker) -> None:
    """Eight threads post the same action at once on their own connections: one insert."""
    tenant = world["beta"].tenant
    action = f"race-{threading.get_ident()}"
    item = services.OutcomeInput(
        action_id=action,
        conversation_id="race",
        action_type="send_email",
        predicted_confidence=0.5,
        outcome_type="email_engagement",
        occurred_at=T0,
        rep="beta-rep",
    )
    results: list = []
    barrier = threading.Barrier(8)
    with django_db_blocker.unblock():
        threads = [
            threading.Thread(
                target=_in_thread,
                args=(tenant, lambda: services.record_outcome(item=item), results, barrier),
            )
            for _ in range(8)
        ]
        [t.start() for t in threads]
        [t.join(30) for t in threads]
        try:
            assert len(results) == 8
            assert sum(r.created for r in results) == 1
            assert len({r.id for r in results}) == 1
            with tenant_context(tenant):
                assert OutcomeRecord.objects.filter(action_id=action).count() == 1
        finally:
            with tenant_context(tenant):
                _commit(lambda: OutcomeRecord.objects.filter(action_id=action).delete())
                _commit(lambda: Conversation.objects.filter(external_id="race").delete())


def test_two_concurrent_sweeps_resolve_each_outcome_once(world, django_db_blocker, db) -> None:
    """Two expiry sweeps on two connections over the same 500 committed outcomes."""
    tenant = world["beta"].tenant
    seen: list = []
    lock = threading.Lock()

    def collect(resolved):
        with lock:
            seen.extend(o.id for o in resolved)

    events.RESOLVED.subscribe(collect)
    with django_db_blocker.unblock():
        with tenant_context(tenant):
            items = [
                services.OutcomeInput(
                    action_id=f"sweep-race-{i}",
                    conversation_id=f"sweep-race-{i % 20}",
                    action_type="sweep_race",
                    predicted_confidence=0.5,
                    outcome_type="email_engagement",
                    occurred_at=T0,
                )
                for i in range(500)
            ]
            _commit(lambda: services.record_outcomes(items=items))
        results: list = []
        barrier = threading.Barrier(2)
        now = T0 + timedelta(days=10)
        threads = [
            threading.Thread(
                target=_in_thread,
                args=(
                    tenant,
                    lambda: sweeps.run_sweep(window="expiry", now=now, batch_size=25),
                    results,
                    barrier,
                ),
            )
            for _ in range(2)
        ]
        try:
            [t.start() for t in threads]
            [t.join(60) for t in threads]
            assert sum(r.total_resolved for r in results) == 500
            assert len(seen) == 500 and len(set(seen)) == 500
            with tenant_context(tenant):
                assert (
                    OutcomeRecord.objects.filter(
                        action_id__startswith="sweep-race-", status="expired"
                    ).count()
                    == 500
                )
        finally:
            events.RESOLVED.unsubscribe(collect)
            with tenant_context(tenant):
                _commit(
                    lambda: OutcomeRecord.objects.filter(
                        action_id__startswith="sweep-race-"
                    ).delete()
                )
                _commit(
                    lambda: Conversation.objects.filter(
                        external_id__startswith="sweep-race-"
                    ).delete()
                )
                # The expiries were counted into calibration's bins: leave none behind.
                from calibration.models import CalibrationBin, CountedOutcome

                _commit(lambda: CalibrationBin.objects.filter(action_type="sweep_race").delete())
                _commit(lambda: CountedOutcome.objects.filter(outcome_id__in=seen).delete())


def _commit(fn):
    """Run `fn` on a fresh connection outside the test's transaction, and commit."""
    results: list = []
    barrier = threading.Barrier(1)
    thread = threading.Thread(target=_in_thread, args=(connection.tenant, fn, results, barrier))
    thread.start()
    thread.join(60)
    return results[0] if results else None


def test_weak_signals_do_not_make_open_windows_candidates(in_alpha) -> None:
    now = T0 + timedelta(hours=5)
    outcome = record("weak")
    Signal.objects.create(
        conversation=outcome.conversation, kind="opened", occurred_at=T0 + timedelta(hours=1)
    )
    assert sweeps.run_sweep(window="immediate", now=now).examined == 0
    assert status_of("weak") == "pending"


def test_a_conversation_keeps_when_its_first_action_happened(alpha) -> None:
    """Qualification finds a period's new conversations by it: set by the first action,
    moved back by an earlier one reported late, never forward; a message alone sets none."""
    noon = datetime(2026, 3, 2, 12, tzinfo=UTC)

    def act(action_id: str, at: datetime) -> datetime | None:
        services.record_outcomes(
            items=[
                services.OutcomeInput(
                    action_id=action_id,
                    conversation_id="c-first",
                    action_type="send_email",
                    predicted_confidence=0.5,
                    outcome_type="email_engagement",
                    occurred_at=at,
                )
            ]
        )
        return Conversation.objects.get(external_id="c-first").first_action_at

    with tenant_context(alpha.tenant):
        services.record_message(
            message_id="m-1", conversation_id="c-first", channel="email", body="Hi", sent_at=noon
        )
        assert Conversation.objects.get(external_id="c-first").first_action_at is None
        assert act("f-1", noon) == noon
        assert act("f-2", noon - timedelta(hours=3)) == noon - timedelta(hours=3)
        assert act("f-3", noon + timedelta(days=1)) == noon - timedelta(hours=3)
