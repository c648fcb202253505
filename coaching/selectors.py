from __future__ import annotations

from typing import Any

from coaching.models import CoachingPattern, CoachingRun


def latest_run() -> CoachingRun | None:
    return CoachingRun.objects.filter(finished_at__isnull=False).first()


def patterns(*, run: CoachingRun | None = None, kind: str | None = None) -> list[CoachingPattern]:
    """The patterns of `run` (the latest finished one by default), in rank order."""
    run = run or latest_run()
    if run is None:
        return []
    queryset = run.patterns.all()
    if kind:
        queryset = queryset.filter(kind=kind)
    return list(queryset.order_by("rank"))


def as_dict(pattern: CoachingPattern) -> dict[str, Any]:
    return {
        "rank": pattern.rank,
        "kind": pattern.kind,
        "stratum": pattern.stratum,
        "dimension": pattern.dimension,
        "level": pattern.level,
        "description": pattern.description,
        "recommendation": pattern.recommendation,
        "successes": pattern.successes,
        "trials": pattern.trials,
        "rate": pattern.rate,
        "rest_successes": pattern.rest_successes,
        "rest_trials": pattern.rest_trials,
        "rest_rate": pattern.rest_rate,
        "effect": pattern.effect,
        "ci_low": pattern.ci_low,
        "ci_high": pattern.ci_high,
        "p_value": pattern.p_value,
        "adjusted_p": pattern.adjusted_p,
        "test": pattern.test,
        "supporting": pattern.supporting,
    }


def run_as_dict(run: CoachingRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.pk,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "period_start": run.period_start.isoformat(),
        "period_end": run.period_end.isoformat(),
        "outcomes": run.outcomes,
        "comparisons": run.comparisons,
        "false_discovery_rate": run.false_discovery_rate,
        "min_group": run.min_group,
    }


def _x(value: float) -> float:
    """An effect in [-0.5, 0.5] as a position on a 0-100 axis (clipped)."""
    return round(min(max(50 + value * 100, 0.0), 100.0), 1)


def for_page() -> dict[str, Any]:
    """The latest run for the manager page: segments with forest-plot positions, and the
    action-type summaries."""
    run = latest_run()
    found = patterns(run=run)
    segments = []
    for p in found:
        if p.effect is None or p.ci_low is None or p.ci_high is None:
            continue
        p.x_low, p.x_high, p.x_effect = _x(p.ci_low), _x(p.ci_high), _x(p.effect)  # type: ignore[attr-defined]
        p.effect_points = f"{p.effect * 100:+.0f}"  # type: ignore[attr-defined]
        p.low_points = f"{p.ci_low * 100:+.0f}"  # type: ignore[attr-defined]
        p.high_points = f"{p.ci_high * 100:+.0f}"  # type: ignore[attr-defined]
        segments.append(p)
    return {
        "coaching_run": run,
        "coaching_segments": segments,
        "coaching_actions": [p for p in found if p.effect is None],
    }
