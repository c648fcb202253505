"""Counting resolved outcomes into the calibration bins, exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.utils import timezone

from calibration import adjust, events, selectors, stats
from calibration.adjust import AdjustmentSettings, Proposal

# Learning from matured outcomes (the map the agent is told): calibration/maturing.py.
from calibration.maturing import LEARN_LIMIT as LEARN_LIMIT
from calibration.maturing import Learned as Learned
from calibration.maturing import learn as learn
from calibration.models import (
    AdjustmentKind,
    BehaviorPolicy,
    CalibrationAdjustment,
    PolicyVersion,
    VersionCause,
)
from learning.errors import Conflict, NotFound
from learning.tenancy.db import binary_cursor
from outcomes import rules
from outcomes import selectors as outcome_selectors
from outcomes.events import ResolvedOutcome


def success_of(outcome: ResolvedOutcome) -> float | None:
    """What calibration learns from the outcome (outcomes.rules.calibration_label)."""
    return rules.calibration_label(outcome.status, outcome.outcome_type)


# Each statement below claims outcomes in CountedOutcome (INSERT … ON CONFLICT DO NOTHING)
# and adds only those claimed now to their display bins with an upsert (in bin order, one
# lock order for concurrent writers), in one statement: a repeated delivery adds nothing,
# and the bins' row locks are held no longer than the statement when nothing else is in
# the transaction. It returns how many it claimed and the action types whose first bin it
# created. The claim is an ordinary (logged) row committed with the bin update, so no crash
# can count an outcome twice or lose one; what it costs is kept small instead: one round
# trip, a statement prepared once per connection, and for one outcome (a signal resolving
# one action, the common case) bound values instead of arrays.
_BIN_UPSERT = """
    INSERT INTO calibration_calibrationbin AS b
           (action_type, bin_index, n, sum_y, sum_p, sum_p2, sum_py, updated_at)
    {rows}
    ON CONFLICT (action_type, bin_index) DO UPDATE
       SET n = b.n + excluded.n, sum_y = b.sum_y + excluded.sum_y,
           sum_p = b.sum_p + excluded.sum_p, sum_p2 = b.sum_p2 + excluded.sum_p2,
           sum_py = b.sum_py + excluded.sum_py, updated_at = excluded.updated_at
    RETURNING b.action_type, (b.xmax = 0) AS created
"""
_COUNT_MANY_TEMPLATE = """
WITH v AS (
    SELECT * FROM unnest(%b::bigint[], %b::text[], %b::int[], %b::float8[],
                         %b::float8[]) AS v(id, t, k, y, p)
), claimed AS (
    INSERT INTO calibration_countedoutcome (outcome_id, counted_at)
    SELECT id, now() FROM v ON CONFLICT DO NOTHING RETURNING outcome_id
), sums AS (
    SELECT v.t, v.k, count(*) AS n, sum(v.y) AS y, sum(v.p) AS p,
           sum(v.p * v.p) AS p2, sum(v.p * v.y) AS py
      FROM v JOIN claimed c ON c.outcome_id = v.id
     GROUP BY v.t, v.k
), added AS ({upsert})
SELECT (SELECT count(*) FROM claimed),
       (SELECT coalesce(array_agg(DISTINCT action_type), '{{}}') FROM added WHERE created)
"""
_COUNT_MANY = _COUNT_MANY_TEMPLATE.format(
    upsert=_BIN_UPSERT.format(rows="SELECT t, k, n, y, p, p2, py, now() FROM sums ORDER BY t, k")
)
_COUNT_ONE_TEMPLATE = """
WITH claimed AS (
    INSERT INTO calibration_countedoutcome (outcome_id, counted_at)
    VALUES (%b, now()) ON CONFLICT DO NOTHING RETURNING outcome_id
), added AS ({upsert})
SELECT (SELECT count(*) FROM claimed),
       (SELECT coalesce(array_agg(action_type), '{{}}') FROM added WHERE created)
"""
_COUNT_ONE = _COUNT_ONE_TEMPLATE.format(
    upsert=_BIN_UPSERT.format(
        rows="SELECT %b::text, %b::int, 1, %b::float8, %b::float8, %b::float8, %b::float8, now()"
        " FROM claimed"
    )
)


def count_resolved_outcomes(resolved: Iterable[ResolvedOutcome]) -> int:
    """Add newly resolved outcomes to their bins, each once however often it is
    delivered; returns how many were counted.

    Runs inside the transaction that resolved them (an outcomes.events subscriber), as one
    SQL statement (_COUNT_ONE, _COUNT_MANY). What people see counts every result at once;
    the map the agent is told waits for the outcome's window to close (`learn`).
    """
    samples = {o.id: (o, y) for o in resolved if (y := success_of(o)) is not None}
    if not samples:
        return 0
    with binary_cursor() as cursor:
        # Prepared once per connection, whatever DB_PREPARE_THRESHOLD says: planning costs
        # more than running it. PostgreSQL plans again when the search_path (tenant) changes.
        if len(samples) == 1:
            ((o, y),) = samples.values()
            p = o.predicted_confidence
            params = [o.id, o.action_type, stats.bin_of(p), y, p, p * p, p * y]
            cursor.execute(_COUNT_ONE, params, prepare=True)
        else:
            ordered = list(samples.values())
            arrays = [
                [o.id for o, _ in ordered],
                [o.action_type for o, _ in ordered],
                [stats.bin_of(o.predicted_confidence) for o, _ in ordered],
                [y for _, y in ordered],
                [o.predicted_confidence for o, _ in ordered],
            ]
            cursor.execute(_COUNT_MANY, arrays, prepare=True)
        row = cursor.fetchone()
    counted, new_types = (int(row[0]), list(row[1])) if row else (0, [])
    if new_types:  # a new action type: its other bins exist too, empty
        _ensure_bins(set(new_types))
    return counted


def _ensure_bins(action_types: set[str]) -> None:
    """The 10 bins of each action type exist (idempotent)."""
    with binary_cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO calibration_calibrationbin
                   (action_type, bin_index, n, sum_y, sum_p, sum_p2, sum_py, updated_at)
            SELECT t, k, 0, 0, 0, 0, 0, now()
              FROM unnest(%b::text[]) AS t CROSS JOIN generate_series(0, 9) AS k
            ON CONFLICT (action_type, bin_index) DO NOTHING
            """,
            [sorted(action_types)],
        )


def recalibrate(
    *,
    action_type: str,
    settings: AdjustmentSettings | None = None,
    dry_run: bool = False,
    run_id: str = "",
) -> Proposal | None:
    """Check the action type's bins and move its policy one damped step if they are
    miscalibrated; writes a CalibrationAdjustment. With dry_run, only says what it would do.
    A `run_id` (the task's id) makes a rerun of the same run a no-op for this type once
    it was adjusted: a redelivered task never takes two steps."""
    settings = settings or selectors.adjustment_settings()
    with transaction.atomic():
        if dry_run:
            policy = selectors.policy_for(action_type=action_type)
            scale, threshold = policy.confidence_scale, policy.escalation_threshold
        else:
            stored, _ = BehaviorPolicy.objects.select_for_update().get_or_create(
                action_type=action_type
            )
            scale, threshold = stored.confidence_scale, stored.escalation_threshold
            # Checked under the policy's lock, so two deliveries cannot both pass.
            if (
                run_id
                and CalibrationAdjustment.objects.filter(
                    run_id=run_id, action_type=action_type
                ).exists()
            ):
                return None
        sums = selectors.window_sums(action_type=action_type, half_life=settings.half_life).coarse()
        flagged = adjust.flagged_bins(sums, settings, scale=scale)
        proposal = adjust.propose(
            scale=scale, threshold=threshold, flagged=flagged, settings=settings, sums=sums
        )
        if proposal is None or dry_run:
            return proposal
        stored.confidence_scale = proposal.scale
        stored.escalation_threshold = proposal.threshold
        adjustment = CalibrationAdjustment.objects.create(
            action_type=action_type,
            before_scale=scale,
            after_scale=proposal.scale,
            before_threshold=threshold,
            after_threshold=proposal.threshold,
            mean_gap=proposal.mean_gap,
            reason=proposal.reason,
            triggered_bins=[asdict(b) for b in flagged],
            run_id=run_id,
        )
        _new_version(stored, cause=VersionCause.ADJUSTMENT, adjustment=adjustment)
    return proposal


def _new_version(
    policy: BehaviorPolicy, *, cause: str, adjustment: CalibrationAdjustment
) -> PolicyVersion:
    """Save the changed policy (locked by the caller) as its next version, in force now."""
    policy.version += 1
    policy.save(update_fields=["confidence_scale", "escalation_threshold", "version", "updated_at"])
    version = PolicyVersion.objects.create(
        action_type=policy.action_type,
        version=policy.version,
        confidence_scale=policy.confidence_scale,
        escalation_threshold=policy.escalation_threshold,
        valid_from=policy.updated_at,
        cause=cause,
        adjustment=adjustment,
    )
    events.POLICY_CHANGED.emit(events.PolicyChanged(policy.action_type, policy.version, cause))
    return version


def revert_adjustment(*, adjustment_id: int, user: Any) -> CalibrationAdjustment:
    """Put the policy back as it was before this adjustment; only the latest adjustment of
    an action type can be reverted, and only once."""
    with transaction.atomic():
        adjustment = (
            CalibrationAdjustment.objects.select_for_update().filter(pk=adjustment_id).first()
        )
        if adjustment is None:
            raise NotFound("No such adjustment.")
        if adjustment.reverted_at is not None:
            raise Conflict("This adjustment was already reverted.")
        if adjustment.kind == AdjustmentKind.RESTART:
            raise Conflict("A restart of learning after a change is not a policy step.")
        policy = BehaviorPolicy.objects.select_for_update().get(action_type=adjustment.action_type)
        if (policy.confidence_scale, policy.escalation_threshold) != (
            adjustment.after_scale,
            adjustment.after_threshold,
        ):
            raise Conflict("The policy changed since; revert the later adjustment first.")
        policy.confidence_scale = adjustment.before_scale
        policy.escalation_threshold = adjustment.before_threshold
        _new_version(policy, cause=VersionCause.REVERT, adjustment=adjustment)
        adjustment.reverted_at = timezone.now()
        adjustment.reverted_by = user
        adjustment.save(update_fields=["reverted_at", "reverted_by"])
    return adjustment


def rebuild_bins(*, action_type: str | None = None) -> int:
    """Recompute the bins (of one action type, or all) from the outcome history in
    set-based SQL; returns how many outcomes they now count. The samples are outcomes' own
    query of what calibration learns from; bin assignment uses the same edges as
    stats.bin_index (an outcome is in the bin of the inner edges below it)."""
    samples, params = outcome_selectors.calibration_samples_query(action_type=action_type)
    frontier = outcome_selectors.sql_maturity_frontier("t.action_type")
    params = {
        **params,
        "action_type": action_type,
        "edges": list(stats.INNER_EDGES),
        "fine_edges": list(stats.FINE_INNER_EDGES),
    }
    type_filter = " WHERE action_type = %(action_type)s" if action_type else ""
    with transaction.atomic(), binary_cursor() as cursor:
        if action_type:
            ids, id_params = outcome_selectors.outcome_ids_query(action_type=action_type)
            cursor.execute(
                f"DELETE FROM calibration_countedoutcome WHERE outcome_id IN ({ids})",  # noqa: S608
                id_params,
            )
        else:
            cursor.execute("DELETE FROM calibration_countedoutcome")
        for table in ("calibration_calibrationbin", "calibration_calibrationbucket"):
            cursor.execute(f"DELETE FROM {table}" + type_filter, params)  # noqa: S608
        # Learned (in the buckets): the outcomes whose window closed before their type's
        # maturity frontier (outcomes.selectors.maturity_frontier, per type in SQL), on the
        # day their action was taken: in the window's epoch when taken since it started,
        # else in the epoch before (history). The rest wait for the next learning run.
        cursor.execute(
            f"""
            WITH samples AS (
                SELECT s.id, s.action_type, s.p, s.y, s.occurred_at, s.window_expires_at,
                       (SELECT count(*) FROM unnest(%(edges)s::float8[]) e
                         WHERE e < s.p)::int AS k,
                       (SELECT count(*) FROM unnest(%(fine_edges)s::float8[]) e
                         WHERE e < s.p)::int AS f
                  FROM ({samples}) s
            ), frontier AS (
                SELECT t.action_type, {frontier} AS at
                  FROM (SELECT DISTINCT action_type FROM samples) t
            ), matured AS (
                SELECT s.* FROM samples s JOIN frontier fr USING (action_type)
                 WHERE s.window_expires_at < fr.at
            ), counted AS (
                INSERT INTO calibration_countedoutcome (outcome_id, counted_at, learned_at)
                SELECT s.id, now(), CASE WHEN m.id IS NULL THEN NULL ELSE now() END
                  FROM samples s LEFT JOIN matured m USING (id)
                ON CONFLICT DO NOTHING RETURNING outcome_id
            ), bucketed AS (
                INSERT INTO calibration_calibrationbucket
                       (action_type, epoch, day, fine_index, n, sum_y, sum_p, sum_p2, sum_py)
                SELECT s.action_type,
                       CASE WHEN w.started_at IS NULL OR s.occurred_at >= w.started_at
                            THEN coalesce(w.epoch, 0) ELSE greatest(w.epoch - 1, 0) END,
                       (s.occurred_at AT TIME ZONE 'UTC')::date, s.f,
                       count(*), sum(s.y), sum(s.p), sum(s.p * s.p), sum(s.p * s.y)
                  FROM matured s
                  LEFT JOIN calibration_calibrationwindow w ON w.action_type = s.action_type
                 GROUP BY 1, 2, 3, 4
                RETURNING 1
            )
            INSERT INTO calibration_calibrationbin
                   (action_type, bin_index, n, sum_y, sum_p, sum_p2, sum_py, updated_at)
            SELECT action_type, k, count(*), sum(y), sum(p), sum(p * p), sum(p * y), now()
              FROM samples GROUP BY action_type, k
            """,  # noqa: S608 - only constant SQL is formatted in
            params,
        )
        cursor.execute(
            "SELECT coalesce(sum(n), 0) FROM calibration_calibrationbin" + type_filter,  # noqa: S608
            params,
        )
        row = cursor.fetchone()
        counted = int(row[0]) if row else 0
        types = [action_type] if action_type else selectors.action_types()
        if types:
            _ensure_bins(set(types))
    return counted
