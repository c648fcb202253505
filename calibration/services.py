"""Counting resolved outcomes into the calibration bins, exactly once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.utils import timezone

from calibration import adjust, selectors, stats
from calibration.adjust import AdjustmentSettings, Proposal
from calibration.models import BehaviorPolicy, CalibrationAdjustment
from learning.errors import Conflict, NotFound
from learning.tenancy.db import binary_cursor
from outcomes import rules
from outcomes.events import ResolvedOutcome


def success_of(outcome: ResolvedOutcome) -> float | None:
    """1 for positive, 0 for negative; expired is 0 where silence means failure for its
    outcome type (email engagement) and not counted elsewhere."""
    if outcome.status == "positive":
        return 1.0
    if outcome.status == "negative":
        return 0.0
    if outcome.status == "expired":
        rule = rules.RULES.get(outcome.outcome_type)
        return 0.0 if rule is not None and rule.silence_is_failure else None
    return None


def count_resolved_outcomes(resolved: Iterable[ResolvedOutcome]) -> int:
    """Add newly resolved outcomes to their bins; returns how many were counted.

    Runs inside the transaction that resolved them (an outcomes.events subscriber). The
    outcomes are first claimed in CountedOutcome with INSERT … ON CONFLICT DO NOTHING:
    only those claimed now are added, so a repeated delivery adds nothing.
    """
    samples = {o.id: (o, y) for o in resolved if (y := success_of(o)) is not None}
    if not samples:
        return 0
    with transaction.atomic(), binary_cursor() as cursor:
        cursor.execute(
            "INSERT INTO calibration_countedoutcome (outcome_id, counted_at) "
            "SELECT unnest(%b::bigint[]), now() ON CONFLICT DO NOTHING RETURNING outcome_id",
            [list(samples)],
        )
        fresh = [samples[row[0]] for row in cursor.fetchall()]
        if not fresh:
            return 0
        sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0] * 5)
        for outcome, y in fresh:
            p = outcome.predicted_confidence
            row = sums[(outcome.action_type, int(stats.bin_index(p)))]
            row[0] += 1
            row[1] += y
            row[2] += p
            row[3] += p * p
            row[4] += p * y
        keys = sorted(sums)  # one lock order for concurrent writers
        _ensure_bins({action_type for action_type, _ in keys})
        cursor.execute(
            """
            UPDATE calibration_calibrationbin b
               SET n = b.n + v.n, sum_y = b.sum_y + v.y, sum_p = b.sum_p + v.p,
                   sum_p2 = b.sum_p2 + v.p2, sum_py = b.sum_py + v.py, updated_at = now()
              FROM unnest(%b::text[], %b::int[], %b::bigint[], %b::float8[], %b::float8[],
                          %b::float8[], %b::float8[]) AS v(t, k, n, y, p, p2, py)
             WHERE b.action_type = v.t AND b.bin_index = v.k
            """,
            [
                [t for t, _ in keys],
                [k for _, k in keys],
                [int(sums[key][0]) for key in keys],
                *([sums[key][i] for key in keys] for i in range(1, 5)),
            ],
        )
    return len(fresh)


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
    *, action_type: str, settings: AdjustmentSettings | None = None, dry_run: bool = False
) -> Proposal | None:
    """Check the action type's bins and move its policy one damped step if they are
    miscalibrated; writes a CalibrationAdjustment. With dry_run, only says what it would do."""
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
        sums = selectors.bin_sums(action_type=action_type)
        flagged = adjust.flagged_bins(sums, settings, scale=scale)
        proposal = adjust.propose(
            scale=scale, threshold=threshold, flagged=flagged, settings=settings, sums=sums
        )
        if proposal is None or dry_run:
            return proposal
        stored.confidence_scale = proposal.scale
        stored.escalation_threshold = proposal.threshold
        stored.save(update_fields=["confidence_scale", "escalation_threshold", "updated_at"])
        CalibrationAdjustment.objects.create(
            action_type=action_type,
            before_scale=scale,
            after_scale=proposal.scale,
            before_threshold=threshold,
            after_threshold=proposal.threshold,
            mean_gap=proposal.mean_gap,
            reason=proposal.reason,
            triggered_bins=[asdict(b) for b in flagged],
        )
    return proposal


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
        policy = BehaviorPolicy.objects.select_for_update().get(action_type=adjustment.action_type)
        if (policy.confidence_scale, policy.escalation_threshold) != (
            adjustment.after_scale,
            adjustment.after_threshold,
        ):
            raise Conflict("The policy changed since; revert the later adjustment first.")
        policy.confidence_scale = adjustment.before_scale
        policy.escalation_threshold = adjustment.before_threshold
        policy.save(update_fields=["confidence_scale", "escalation_threshold", "updated_at"])
        adjustment.reverted_at = timezone.now()
        adjustment.reverted_by = user
        adjustment.save(update_fields=["reverted_at", "reverted_by"])
    return adjustment


def rebuild_bins(*, action_type: str | None = None) -> int:
    """Recompute the bins (of one action type, or all) from the outcome history in
    set-based SQL; returns how many outcomes they now count. Bin assignment uses the same
    edges as stats.bin_index (an outcome is in the bin of the inner edges below it)."""
    silence_types = [t for t, rule in rules.RULES.items() if rule.silence_is_failure]
    inner_edges = [float(e) for e in stats.EDGES[1:-1]]
    only = "AND o.action_type = %(action_type)s" if action_type else ""
    type_filter = " WHERE action_type = %(action_type)s" if action_type else ""
    with transaction.atomic(), binary_cursor() as cursor:
        params = {"action_type": action_type}
        cursor.execute(
            "DELETE FROM calibration_countedoutcome c USING outcomes_outcomerecord o "  # noqa: S608
            f"WHERE c.outcome_id = o.id {only}",
            params,
        )
        cursor.execute(
            "DELETE FROM calibration_calibrationbin" + type_filter,  # noqa: S608
            params,
        )
        cursor.execute(
            f"""
            WITH samples AS (
                SELECT o.id, o.action_type, o.predicted_confidence AS p,
                       CASE WHEN o.status = 'positive' THEN 1.0 ELSE 0.0 END AS y,
                       (SELECT count(*) FROM unnest(%(edges)s::float8[]) e
                         WHERE e < o.predicted_confidence)::int AS k
                  FROM outcomes_outcomerecord o
                 WHERE (o.status IN ('positive', 'negative')
                        OR (o.status = 'expired' AND o.outcome_type = ANY(%(silence)s)))
                   {only}
            ), counted AS (
                INSERT INTO calibration_countedoutcome (outcome_id, counted_at)
                SELECT id, now() FROM samples ON CONFLICT DO NOTHING RETURNING outcome_id
            )
            INSERT INTO calibration_calibrationbin
                   (action_type, bin_index, n, sum_y, sum_p, sum_p2, sum_py, updated_at)
            SELECT action_type, k, count(*), sum(y), sum(p), sum(p * p), sum(p * y), now()
              FROM samples GROUP BY action_type, k
            """,  # noqa: S608 - only constant SQL is formatted in
            {**params, "edges": inner_edges, "silence": silence_types},
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
