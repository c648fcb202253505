"""Time-window checks: the beat-driven sweeps that resolve what events alone did not.

| window     | cadence      | looks at                                                   |
|------------|--------------|------------------------------------------------------------|
| immediate  | every 15 min | pending outcomes of the last 24 h with a decisive signal   |
| engagement | every 6 h    | pending outcomes 24 h - 7 days old with a decisive signal  |
| deal       | daily        | pending deal-progression outcomes of the last 30 days      |
| expiry     | hourly       | pending outcomes past their window: decided by any decisive|
|            |              | signal, else ambiguous (weak signals only) or expired      |

Signals normally resolve outcomes the moment they arrive; the first three sweeps catch the
signals that arrived before their action was recorded (agents post asynchronously). Every
sweep walks candidates in id order in batches; each batch is one transaction that claims
its rows with `FOR UPDATE SKIP LOCKED`, so two sweeps, or a sweep and a label, never work
on the same outcome at once, and a worker killed mid-sweep leaves whole batches only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from outcomes import rules
from outcomes.models import OutcomeStatus, SignalSource
from outcomes.services import transition_outcomes

WINDOWS = ("immediate", "engagement", "deal", "expiry")


@dataclass(frozen=True)
class SweepResult:
    window: str
    examined: int
    resolved: dict[str, int]
    # Where a bounded sweep stopped with work left (the last id it claimed), else None.
    stopped_after: int | None = None

    @property
    def total_resolved(self) -> int:
        return sum(self.resolved.values())


def _pairs(*, decisive_only: bool) -> list[str]:
    """`outcome_type:kind` for the signal kinds that concern each outcome type."""
    return [
        f"{outcome_type}:{kind}"
        for outcome_type, rule in rules.RULES.items()
        for kind in rule.signals
        if not (decisive_only and rules.is_weak(outcome_type, kind))
    ]


# A signal concerns an outcome when it falls in the outcome's window in the same
# conversation and names the outcome's action, or no action (see services.record_signal).
# Written as two conditions, each served by its own index (signal_action,
# signal_conversation).
_BY_ACTION = """
    s.action_id = o.action_id AND s.action_id <> '' AND s.conversation_id = o.conversation_id
    AND s.occurred_at >= o.occurred_at AND s.occurred_at <= o.window_expires_at
    AND (o.outcome_type || ':' || s.kind) = ANY(%(pairs)s)
"""
_BY_CONVERSATION = """
    s.action_id = '' AND s.conversation_id = o.conversation_id
    AND s.occurred_at >= o.occurred_at AND s.occurred_at <= o.window_expires_at
    AND (o.outcome_type || ':' || s.kind) = ANY(%(pairs)s)
"""


def _candidates_sql(window: str) -> str:
    if window == "expiry":
        where = "o.window_expires_at <= %(now)s"
    else:
        where = f"""o.occurred_at > %(since)s AND o.occurred_at <= %(until)s
            AND (EXISTS (SELECT 1 FROM outcomes_signal s WHERE {_BY_ACTION})
                 OR EXISTS (SELECT 1 FROM outcomes_signal s WHERE {_BY_CONVERSATION}))"""  # noqa: S608
        if window == "deal":
            where += " AND o.outcome_type = 'deal_progression'"
    return f"""
        SELECT o.id FROM outcomes_outcomerecord o
         WHERE o.status = 'pending' AND o.id > %(after)s AND {where}
         ORDER BY o.id LIMIT %(limit)s
           FOR UPDATE OF o SKIP LOCKED
    """  # noqa: S608 - only constant SQL is formatted in


_SIGNALS_OF_BATCH = f"""
    SELECT o.id, o.outcome_type, s.kind, s.data, s.occurred_at, s.id
      FROM outcomes_outcomerecord o JOIN outcomes_signal s ON {_BY_ACTION}
     WHERE o.id = ANY(%(ids)s)
    UNION ALL
    SELECT o.id, o.outcome_type, s.kind, s.data, s.occurred_at, s.id
      FROM outcomes_outcomerecord o JOIN outcomes_signal s ON {_BY_CONVERSATION}
     WHERE o.id = ANY(%(ids)s)
    ORDER BY 1, 5, 6
"""  # noqa: S608 - only constant SQL is formatted in


def _window_bounds(window: str, now: datetime) -> tuple[datetime, datetime]:
    if window == "immediate":
        return now - timedelta(hours=24), now
    if window == "engagement":
        return now - timedelta(days=7), now - timedelta(hours=24)
    return now - timedelta(days=30), now


def run_sweep(
    *,
    window: str,
    now: datetime | None = None,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    after: int = 0,
    max_batches: int | None = None,
) -> SweepResult:
    """Check the window's candidates in id order from `after`, one transaction per batch.
    With `max_batches`, stop after that many and say where (`stopped_after`), so that a
    caller can continue later: one run has a bounded duration."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}")
    now = now or timezone.now()
    since, until = _window_bounds(window, now)
    # Before a window closes only decisive signals can settle an outcome; at expiry weak
    # ones matter too (they make it ambiguous rather than expired).
    pairs = _pairs(decisive_only=window != "expiry")
    params: dict[str, Any] = {
        "now": now,
        "since": since,
        "until": until,
        "pairs": pairs,
        "limit": batch_size,
    }
    sql = _candidates_sql(window)
    examined, resolved, batches = 0, Counter[str](), 0
    while True:
        if max_batches is not None and batches >= max_batches:
            return SweepResult(window, examined, dict(resolved), stopped_after=after)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, {**params, "after": after})
                ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                break
            resolved.update(_settle(ids, window_closed=window == "expiry", now=now))
        examined += len(ids)
        after = ids[-1]
        batches += 1
        if progress:
            progress(len(ids))
        if len(ids) < batch_size:  # the last batch (rows locked elsewhere are theirs)
            break
    return SweepResult(window=window, examined=examined, resolved=dict(resolved))


def _settle(ids: list[int], *, window_closed: bool, now: datetime) -> Counter[str]:
    """Decide the locked outcomes `ids` from their signals; one UPDATE per verdict."""
    with connection.cursor() as cursor:
        cursor.execute(_SIGNALS_OF_BATCH, {"ids": ids, "pairs": _pairs(decisive_only=False)})
        rows = cursor.fetchall()
    signals: dict[int, list[tuple[str, str, Any]]] = defaultdict(list)
    for outcome_id, outcome_type, kind, data, _, _ in rows:
        signals[outcome_id].append((outcome_type, kind, data))

    groups: dict[tuple[str, float | None, str, str], list[int]] = defaultdict(list)
    for outcome_id in ids:
        found = signals.get(outcome_id)
        if found is None and window_closed:
            groups[_EXPIRED].append(outcome_id)  # the common case, decided without rules
            continue
        verdict = _verdict(found or [], window_closed=window_closed)
        if verdict is not None:
            groups[verdict].append(outcome_id)
    counts: Counter[str] = Counter()
    for (status, score, source, reason), group in groups.items():
        moved = transition_outcomes(
            ids=group, status=status, score=score, source=source, reason=reason, now=now
        )
        counts[status] += len(moved)
    return counts


_EXPIRED = (OutcomeStatus.EXPIRED, None, SignalSource.AUTOMATIC, "window closed without a signal")


def _verdict(
    signals: list[tuple[str, str, Any]], *, window_closed: bool
) -> tuple[str, float | None, str, str] | None:
    """The earliest decisive signal decides (as it would have on arrival). With the window
    closed and no decisive signal: ambiguous if weak signals came, else expired."""
    weak = False
    for outcome_type, kind, data in signals:
        rule = rules.RULES[outcome_type]
        try:
            verdict = rule.judge(kind, data if isinstance(data, dict) else {}, "")
        except rules.SignalDataError:
            continue
        if verdict is None:
            continue
        if verdict.status == rules.WEAK:
            weak = True
            continue
        reason = f"signal {kind}" + (f": {verdict.reason}" if verdict.reason else "")
        return verdict.status, rule.score(verdict.level or 1), SignalSource.AUTOMATIC, reason
    if not window_closed:
        return None
    if weak:
        return (
            OutcomeStatus.AMBIGUOUS,
            None,
            SignalSource.AUTOMATIC,
            "window closed, weak signals only",
        )
    return _EXPIRED
