"""Learning from matured outcomes: the map the agent is told (calibration.services.learn).

The display bins count every result at once (services.count_resolved_outcomes); the map
served by `calibrate/` and `policy/`, the policy step and the drift test learn from an
outcome only once its result window has closed and every earlier window of its action
type is settled, in the order its action was taken (see `learn`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from calibration import drift, selectors, stats
from calibration.adjust import AdjustmentSettings
from calibration.models import AdjustmentKind, CalibrationAdjustment, CalibrationWindow
from learning.tenancy.db import binary_cursor
from outcomes import selectors as outcome_selectors

# The most matured outcomes one learning run reads per action type (the rest wait for the
# next run, 15 minutes later).
LEARN_LIMIT = 200_000


@dataclass(frozen=True)
class Learned:
    """What one learning run did for an action type."""

    learned: int  # matured outcomes added to the window
    tested: int  # of them, tested by the drift test
    alarms: int  # restarts of the window
    matured_until: datetime


def learn(
    *,
    action_type: str,
    settings: AdjustmentSettings | None = None,
    now: datetime | None = None,
    limit: int = LEARN_LIMIT,
) -> Learned:
    """Learn from the outcomes of the action type that have matured: their result window
    closed before the maturity frontier (outcomes.selectors.maturity_frontier: now, or the
    end of the earliest window still pending), so every result of those actions is in, the
    silent failures as much as the quick replies. They are read in the order their actions
    were taken, `drift_check_every` at a time; each batch, in its own transaction on the
    locked window row, is marked learned (exactly once) and added to the window's buckets
    of the day its actions were taken, and fed to the drift test (calibration.drift)
    against the reference map; on an alarm the window restarts from where the evidence
    began (a new epoch holding the matured outcomes since then, and an entry in the
    adjustment log); then the reference becomes the map of the window less its newest
    outcomes and those of the current run of evidence (drift.reference_cutoff).

    So what the agent is told never depends on the order results arrive in: a stationary
    agent whose failures are known only when their window ends looks stationary. The
    price: an outcome waits for its window (7 days for email engagement, 30 for deal
    progression) before it counts. The display bins count every result at once."""
    settings = settings or selectors.adjustment_settings()
    now = now or timezone.now()
    frontier = outcome_selectors.maturity_frontier(action_type=action_type, now=now)
    learned = tested = alarms = 0
    while learned < limit:
        with transaction.atomic():
            window, _ = CalibrationWindow.objects.select_for_update().get_or_create(
                action_type=action_type
            )
            rows = _matured(action_type, frontier, min(settings.drift_check_every, limit - learned))
            if not rows:
                break
            _add_to_window(window, rows)
            state = drift.DriftState.from_json(window.drift_state)
            verdict = drift.check(
                state,
                [p for _, _, p, _ in rows],
                [y for _, _, _, y in rows],
                keys=[[at.isoformat(), outcome_id] for at, outcome_id, _, _ in rows],
                days=selectors.window_days(action_type=action_type),
                day_of=_day_of,
                reference=lambda day: selectors.window_sums(
                    action_type=action_type, half_life=settings.half_life, before_day=day
                ),
                scale=selectors.policy_for(action_type=action_type).confidence_scale,
                prior_weight=settings.prior_weight,
                min_samples=settings.min_samples,
                alpha=1.0 / settings.drift_alarm_every,
                floor=settings.drift_tolerance,
            )
            if verdict.alarm:
                _restart(window, verdict)
                alarms += 1
            window.drift_state = state.to_json()
            window.save()
            learned += len(rows)
            tested += verdict.tested
    _note_waiting(action_type, now=now, frontier=frontier)
    return Learned(learned, tested, alarms, frontier)


def _day_of(key: Any) -> date | None:
    """The UTC day of an outcome key ([occurred_at ISO, id]); None for no key."""
    if not key:
        return None
    return datetime.fromisoformat(key[0]).astimezone(UTC).date()


def _matured(
    action_type: str, frontier: datetime, size: int
) -> list[tuple[Any, int, float, float]]:
    """(occurred_at, outcome id, p, y) of the next counted, not yet learned outcomes of
    the action type whose window closed before the frontier, in the order their actions
    were taken."""
    samples, params = outcome_selectors.calibration_samples_query(action_type=action_type)
    with binary_cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.occurred_at, s.id, s.p, s.y
              FROM calibration_countedoutcome c JOIN ({samples}) s ON s.id = c.outcome_id
             WHERE c.learned_at IS NULL AND s.window_expires_at < %(frontier)s
             ORDER BY s.occurred_at, s.id
             LIMIT %(size)s
            """,  # noqa: S608 - only outcomes' constant SQL is formatted in
            {**params, "frontier": frontier, "size": size},
        )
        return [(at, int(i), float(p), float(y)) for at, i, p, y in cursor.fetchall()]


def _add_to_window(window: CalibrationWindow, rows: list[tuple[Any, int, float, float]]) -> None:
    """Mark the outcomes learned and add those marked now to the buckets of the window's
    epoch, on the day (UTC) their actions were taken: one statement, exactly once."""
    with binary_cursor() as cursor:
        cursor.execute(
            """
            WITH v AS (
                SELECT * FROM unnest(%(ids)s::bigint[], %(days)s::date[], %(f)s::int[],
                                     %(y)s::float8[], %(p)s::float8[]) AS v(id, day, f, y, p)
            ), marked AS (
                UPDATE calibration_countedoutcome c SET learned_at = now()
                  FROM v WHERE c.outcome_id = v.id AND c.learned_at IS NULL
                RETURNING c.outcome_id
            )
            INSERT INTO calibration_calibrationbucket AS b
                   (action_type, epoch, day, fine_index, n, sum_y, sum_p, sum_p2, sum_py)
            SELECT %(t)s, %(epoch)s, v.day, v.f, count(*), sum(v.y), sum(v.p),
                   sum(v.p * v.p), sum(v.p * v.y)
              FROM v JOIN marked m ON m.outcome_id = v.id
             GROUP BY v.day, v.f ORDER BY v.day, v.f
            ON CONFLICT (action_type, epoch, day, fine_index) DO UPDATE
               SET n = b.n + excluded.n, sum_y = b.sum_y + excluded.sum_y,
                   sum_p = b.sum_p + excluded.sum_p, sum_p2 = b.sum_p2 + excluded.sum_p2,
                   sum_py = b.sum_py + excluded.sum_py
            """,
            {
                "ids": [i for _, i, _, _ in rows],
                "days": [at.astimezone(UTC).date() for at, _, _, _ in rows],
                "f": [stats.fine_of(p) for _, _, p, _ in rows],
                "y": [y for _, _, _, y in rows],
                "p": [p for _, _, p, _ in rows],
                "t": window.action_type,
                "epoch": window.epoch,
            },
        )


def _note_waiting(action_type: str, *, now: datetime, frontier: datetime) -> None:
    """Keep on the window what this run saw still waiting: results in but window open,
    and no result yet (for the reliability card and `calibrate/`, without a count there)."""
    samples, params = outcome_selectors.calibration_samples_query(action_type=action_type)
    with binary_cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*), min(s.occurred_at)
              FROM calibration_countedoutcome c JOIN ({samples}) s ON s.id = c.outcome_id
             WHERE c.learned_at IS NULL
            """,  # noqa: S608 - only outcomes' constant SQL is formatted in
            params,
        )
        row = cursor.fetchone()
    waiting, waiting_oldest = (int(row[0]), row[1]) if row else (0, None)
    pending, pending_oldest = outcome_selectors.pending_of(action_type=action_type)
    oldest = min((t for t in (waiting_oldest, pending_oldest) if t is not None), default=None)
    CalibrationWindow.objects.filter(action_type=action_type).update(
        learned_at=now,
        matured_until=frontier,
        waiting=waiting,
        pending=pending,
        waiting_since=oldest,
    )


def _restart(window: CalibrationWindow, verdict: drift.Verdict) -> None:
    """A new epoch for the window, holding the learned outcomes whose actions were taken
    since the evidence of the change began (the verdict's key), and an entry in the
    adjustment log."""
    since_at, since_id = verdict.since
    window.epoch += 1
    window.started_at = datetime.fromisoformat(since_at)
    samples, params = outcome_selectors.calibration_samples_query(action_type=window.action_type)
    with binary_cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO calibration_calibrationbucket
                   (action_type, epoch, day, fine_index, n, sum_y, sum_p, sum_p2, sum_py)
            SELECT %(t)s, %(epoch)s, (s.occurred_at AT TIME ZONE 'UTC')::date,
                   (SELECT count(*) FROM unnest(%(fine_edges)s::float8[]) e
                     WHERE e < s.p)::int,
                   count(*), sum(s.y), sum(s.p), sum(s.p * s.p), sum(s.p * s.y)
              FROM calibration_countedoutcome c JOIN ({samples}) s ON s.id = c.outcome_id
             WHERE c.learned_at IS NOT NULL
               AND (s.occurred_at, s.id) >= (%(since)s::timestamptz, %(since_id)s)
             GROUP BY 3, 4
            ON CONFLICT (action_type, epoch, day, fine_index) DO NOTHING
            RETURNING n
            """,  # noqa: S608 - only outcomes' constant SQL is formatted in
            {
                **params,
                "t": window.action_type,
                "epoch": window.epoch,
                "fine_edges": list(stats.FINE_INNER_EDGES),
                "since": since_at,
                "since_id": since_id,
            },
        )
        kept = sum(int(n) for (n,) in cursor.fetchall())
    policy = selectors.policy_for(action_type=window.action_type)
    evidence = drift.evidence(verdict.log_wealth)
    CalibrationAdjustment.objects.create(
        action_type=window.action_type,
        kind=AdjustmentKind.RESTART,
        before_scale=policy.confidence_scale,
        after_scale=policy.confidence_scale,
        before_threshold=policy.escalation_threshold,
        after_threshold=policy.escalation_threshold,
        mean_gap=0.0,
        reason=(
            f"Calibration changed: the actions taken since {since_at[:16].replace('T', ' ')} "
            f"UTC no longer match the calibrated confidence (evidence {evidence:,.0f} to 1). "
            f"Learning restarts from the {kept:,} of their outcomes known so far."
        ),
    )
