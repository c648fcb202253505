from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.utils import timezone

from coaching import experiments
from coaching.models import (
    Arm,
    CoachingPattern,
    CoachingRun,
    Experiment,
    ExperimentStatus,
    LearningProposal,
    PatternKind,
    PlaybookEntry,
    ProposalKind,
    ProposalStatus,
)
from feedback import selectors as feedback_selectors


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


STABILITY_RUNS = 7  # the runs a pattern's stability is judged over (a week of daily runs)


def stability(
    found: list[CoachingPattern], *, run: CoachingRun | None, last: int = STABILITY_RUNS
) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    """For each pattern of `run`: in how many of the last `last` finished runs up to it
    the same finding (kind, stratum, dimension, level) was reported, and how many runs
    that is. One query. A pattern found once in seven daily runs may be a fluke of the
    day's data; one found in all seven is stable."""
    if run is None or not found:
        return {}
    runs = list(
        CoachingRun.objects.filter(finished_at__isnull=False, started_at__lte=run.started_at)
        .order_by("-started_at", "-id")
        .values_list("pk", flat=True)[:last]
    )
    seen: dict[tuple[str, str, str, str], int] = {}
    for key in (
        CoachingPattern.objects.filter(run_id__in=runs)
        .values_list("kind", "stratum", "dimension", "level", "run_id")
        .distinct()
    ):
        seen[key[:4]] = seen.get(key[:4], 0) + 1
    return {_key(p): (seen.get(_key(p), 1), len(runs)) for p in found}


def _key(pattern: CoachingPattern) -> tuple[str, str, str, str]:
    return (pattern.kind, pattern.stratum, pattern.dimension, pattern.level)


def with_stability(found: list[CoachingPattern], *, run: CoachingRun | None) -> None:
    """Set `found_in` and `of_runs` on each pattern (for pages and the API)."""
    counts = stability(found, run=run)
    for p in found:
        p.found_in, p.of_runs = counts.get(_key(p), (1, 1))


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
        "stability": {
            "found_in": getattr(pattern, "found_in", None),
            "of_runs": getattr(pattern, "of_runs", None),
        },
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


SEGMENT_KINDS = (PatternKind.SEGMENT, PatternKind.ESCALATION)


def for_page() -> dict[str, Any]:
    """The latest run for the manager page: segments with forest-plot positions, and the
    action-type summaries."""
    run = latest_run()
    found = patterns(run=run)
    with_stability(found, run=run)
    segments = []
    for p in found:
        if p.kind not in SEGMENT_KINDS or p.effect is None:
            continue
        if p.ci_low is None or p.ci_high is None:
            continue
        p.x_low, p.x_high, p.x_effect = _x(p.ci_low), _x(p.ci_high), _x(p.effect)
        p.effect_points = f"{p.effect * 100:+.0f}"
        p.low_points = f"{p.ci_low * 100:+.0f}"
        p.high_points = f"{p.ci_high * 100:+.0f}"
        segments.append(p)
    return {
        "coaching_run": run,
        "coaching_segments": segments,
        "coaching_actions": [p for p in found if p.kind not in SEGMENT_KINDS],
    }


def learning_metrics(*, weeks: int = 8, now: datetime | None = None) -> dict[str, Any]:
    """Seed 004's learning dashboard: per week, intent coverage (messages answered from a
    known intent), draft accuracy (drafts sent unedited) and learning velocity (proposals
    approved); the experiments and the pending proposals."""
    end = now or timezone.now()
    first = (end - timedelta(weeks=weeks - 1)).date()
    first -= timedelta(days=first.weekday())  # a Monday
    start = datetime.combine(first, time.min, tzinfo=UTC)
    rows = feedback_selectors.weekly_drafts(start=start, end=end)
    applied = {
        r["week"].date(): r["n"]
        for r in LearningProposal.objects.filter(
            status=ProposalStatus.APPROVED, decided_at__gte=start
        )
        .annotate(week=TruncWeek("decided_at", tzinfo=UTC))
        .values("week")
        .annotate(n=Count("id"))
    }
    trend = []
    for i in range(weeks):
        monday = first + timedelta(weeks=i)
        row = rows.get(monday, {"messages": 0, "drafted": 0, "covered": 0, "unedited": 0})
        trend.append(
            {
                "week": monday.isoformat(),
                "messages": row["messages"],
                "intent_coverage": row["covered"] / row["messages"] if row["messages"] else None,
                "draft_accuracy": row["unedited"] / row["drafted"] if row["drafted"] else None,
                "proposals_applied": applied.get(monday, 0),
            }
        )
    entries = list(PlaybookEntry.objects.all())
    latest: dict[int, Experiment] = {}
    for experiment in Experiment.objects.order_by("entry_id", "-started_at", "-id"):
        latest.setdefault(experiment.entry_id, experiment)
    return {
        "trend": trend,
        "experiments": [
            {
                "name": e.name,
                "kind": e.kind,
                "status": e.status,
                "uses": e.uses,
                "approvals": e.approvals,
                "approval_rate": e.approval_rate,
                "experiment": _experiment_dict(latest.get(e.pk)),
                "decision_reason": e.decision_reason,
            }
            for e in entries
        ],
        "pending": list(
            LearningProposal.objects.filter(status=ProposalStatus.PENDING).order_by("-count", "id")
        ),
    }


def _experiment_dict(experiment: Experiment | None) -> dict[str, Any] | None:
    """The latest experiment of an entry, as the learning page shows it."""
    if experiment is None:
        return None
    return {
        "status": experiment.status,
        "status_display": experiment.get_status_display(),
        "running": experiment.status == ExperimentStatus.RUNNING,
        "exposed": experiment.treatment_exposed + experiment.control_exposed,
        "treatment_uses": experiment.treatment_uses,
        "treatment_rate": experiment.rate(Arm.TREATMENT),
        "control_uses": experiment.control_uses,
        "control_rate": experiment.rate(Arm.CONTROL),
        "new_entry": not experiment.control_content,
        "evidence": experiment.evidence,
        "decides_at": 1 / experiments.ALPHA,
        "started_at": experiment.started_at,
        "decided_at": experiment.decided_at,
    }


def strongest_new_intent_proposal() -> LearningProposal | None:
    """The not-rejected new-intent proposal with the most evidence (the demo approves it)."""
    return (
        LearningProposal.objects.filter(kind=ProposalKind.NEW_INTENT)
        .exclude(status=ProposalStatus.REJECTED)
        .order_by("-count", "id")
        .first()
    )


def playbook_entry(*, pk: int) -> PlaybookEntry:
    return PlaybookEntry.objects.get(pk=pk)


def proposal(*, pk: int) -> LearningProposal | None:
    """One proposal with what its page shows (its run, who decided, its entry)."""
    return (
        LearningProposal.objects.select_related("run", "decided_by", "entry").filter(pk=pk).first()
    )
