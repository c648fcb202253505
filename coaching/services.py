"""Coaching pattern extraction: what works better or worse, in words reps can act on.

outcomes.selectors.decided_by_segment counts the period's decided outcomes and their
successes (outcomes.rules: success = positive / positive + negative + expired, as on the
dashboards) per level of every dimension in one scan, within each outcome type (rates
of different outcome types are not comparable: a reply is not a deal won). Each level is
tested against the rest of its dimension (`coaching.stats`), all the run's p-values are
adjusted together (Benjamini-Hochberg), and what survives is stored as `CoachingPattern`s
of one `CoachingRun`, strongest first, with top-performing actions and improvement areas
beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from coaching import stats
from coaching.models import CoachingPattern, CoachingRun, CoachingSettings, PatternKind
from feedback import selectors as feedback_selectors
from learning import analytics_cache
from outcomes import selectors as outcome_selectors

ESCALATION = "escalation_result"


def settings_row() -> CoachingSettings:
    return CoachingSettings.objects.filter(pk=1).first() or CoachingSettings()


def cells(*, start: datetime, end: datetime) -> tuple[list[stats.Cell], int]:
    """Per outcome type, dimension and level: (successes, decided); and the decided total."""
    counts, total = outcome_selectors.decided_by_segment(start=start, end=end)
    result = [
        stats.Cell(c.outcome_type, c.segment, c.level, c.successes, c.decided) for c in counts
    ]
    result.sort(key=lambda c: (c.stratum, c.dimension, c.level))
    return result, total


# Plain words per dimension: what the level is, and what to do about a good or bad one.
NOUNS = {
    "action_type": "{level}",
    "hour_of_day": "actions at {level}:00 (rep's local time)",
    "weekday": "actions on {level}s",
    "persona": "actions with {level} contacts",
    "channel": "actions over {level}",
    "deal_stage": "actions in the {level} stage",
    "escalation_trigger": "escalations for {level}",
}
OUTCOMES = {
    "email_engagement": "get a reply or click",
    "deal_progression": "move the deal forward",
    "meeting_outcome": "lead to a good meeting",
    "escalation_result": "end well after the hand-off",
}
THINGS = {
    "email_engagement": "messages",
    "deal_progression": "deal moves",
    "meeting_outcome": "meetings",
    "escalation_result": "escalations",
}
ADVICE = {
    (
        "action_type",
        True,
    ): "Prefer {level} when it fits: it works more often than the alternatives.",
    ("action_type", False): "Use {level} sparingly, or review how it is done: it works less often.",
    ("hour_of_day", True): "Schedule sends around {level}:00 local time.",
    ("hour_of_day", False): "Avoid sending around {level}:00 local time; move it earlier or later.",
    ("weekday", True): "Plan outreach for {level}s.",
    ("weekday", False): "Move {level} outreach to another day.",
    ("persona", True): "Lean in with {level} contacts: this approach lands with them.",
    ("persona", False): "Adapt the message for {level} contacts (their priorities differ).",
    ("channel", True): "Favour {level} for this kind of action.",
    ("channel", False): "Try another channel than {level} for this kind of action.",
    ("deal_stage", True): "This works in {level}: keep doing it there.",
    ("deal_stage", False): "In {level}, this needs another approach: review a few lost ones.",
    ("escalation_trigger", True): "Escalate {level} early: people resolve these well.",
    ("escalation_trigger", False): "Handle {level} before escalating: these hand-offs rarely help.",
}


def describe(c: stats.Comparison) -> tuple[str, str]:
    subject = NOUNS[c.dimension].format(level=c.level)
    outcome = OUTCOMES.get(c.stratum, "succeed")
    better = c.effect >= 0
    description = (
        f"{subject[0].upper()}{subject[1:]} {outcome} {c.rate:.0%} of the time, against "
        f"{c.rest_rate:.0%} for the rest ({'+' if better else '-'}{abs(c.effect) * 100:.0f} "
        f"points, 95 % interval {c.ci_low * 100:+.0f} to {c.ci_high * 100:+.0f}; "
        f"{c.trials} vs {c.rest_trials} decided {THINGS.get(c.stratum, 'outcomes')})."
    )
    return description, ADVICE[(c.dimension, better)].format(level=c.level)


@dataclass
class Extracted:
    run: CoachingRun
    patterns: list[CoachingPattern]


def extract(*, now: datetime | None = None, days: int | None = None) -> Extracted:
    """Run the extraction over the last `days` (the tenant's period by default) and store
    it as a new run."""
    config = settings_row()
    end = now or timezone.now()
    start = end - timedelta(days=days or config.period_days)
    found, total = cells(start=start, end=end)
    stage_rows = outcome_selectors.escalations_by_stage(start=start, end=end)
    staged = stage_cells(stage_rows)
    # One family: segments, action types and escalation stages are tested and corrected
    # together, so every reported pattern has passed the same bar.
    comparisons = stats.compare(found + staged, min_group=config.min_group)
    everything = stats.discoveries(comparisons, q=config.false_discovery_rate)
    significant = [(c, q) for c, q in everything if c.stratum != STAGES]
    # A stage or action type tested against a single other one has that one's side too.
    stage_found = stats.with_mirrors([(c, q) for c, q in everything if c.stratum == STAGES], staged)
    action_found = stats.with_mirrors(
        [(c, q) for c, q in significant if c.dimension == "action_type"], found
    )
    with transaction.atomic():
        run = CoachingRun.objects.create(
            started_at=timezone.now(),
            period_start=start,
            period_end=end,
            outcomes=total,
            comparisons=len(comparisons),
            false_discovery_rate=config.false_discovery_rate,
            min_group=config.min_group,
        )
        patterns = []
        for comparison, adjusted_p in significant:
            description, advice = describe(comparison)
            patterns.append(
                CoachingPattern(
                    run=run,
                    kind=PatternKind.ESCALATION
                    if comparison.stratum == ESCALATION
                    else PatternKind.SEGMENT,
                    stratum=comparison.stratum,
                    dimension=comparison.dimension,
                    level=comparison.level,
                    description=description,
                    recommendation=advice,
                    successes=comparison.successes,
                    trials=comparison.trials,
                    rest_successes=comparison.rest_successes,
                    rest_trials=comparison.rest_trials,
                    effect=comparison.effect,
                    ci_low=comparison.ci_low,
                    ci_high=comparison.ci_high,
                    p_value=comparison.p_value,
                    adjusted_p=adjusted_p,
                    test=comparison.test,
                    supporting={
                        "levels": [
                            {"level": c.level, "successes": c.successes, "trials": c.trials}
                            for c in found
                            if (c.stratum, c.dimension)
                            == (comparison.stratum, comparison.dimension)
                        ]
                    },
                )
            )
        patterns += _action_types(run, found, config, action_found)
        patterns += _escalation_areas(run, stage_rows, stage_found)
        for rank, pattern in enumerate(patterns, start=1):
            pattern.rank = rank
        CoachingPattern.objects.bulk_create(patterns)
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at"])
        transaction.on_commit(analytics_cache.invalidate)  # the manager view shows them
    return Extracted(run, patterns)


def _action_types(
    run: CoachingRun,
    found: list[stats.Cell],
    config: CoachingSettings,
    significant: list[tuple[stats.Comparison, float]],
) -> list[CoachingPattern]:
    """Top-performing actions and improvement areas (success below the tenant's bar, or
    poor feedback). A top action is one whose comparison with the other action types
    (within an outcome type) is a discovery of this run with a positive effect: tested
    and corrected like every segment. The three with the highest Wilson lower bound."""
    by_type: dict[str, list[int]] = {}
    for cell in found:
        if cell.dimension == "action_type":
            s, n = by_type.setdefault(cell.level, [0, 0])
            by_type[cell.level] = [s + cell.successes, n + cell.trials]
    enough = {name: sn for name, sn in by_type.items() if sn[1] >= config.min_group}
    better: dict[str, tuple[stats.Comparison, float]] = {}
    for comparison, adjusted in significant:
        positive = comparison.dimension == "action_type" and comparison.effect > 0
        if positive and (comparison.level not in better or adjusted < better[comparison.level][1]):
            better[comparison.level] = (comparison, adjusted)
    ranked = sorted(
        (item for item in enough.items() if item[0] in better),
        key=lambda item: -stats.wilson(*item[1])[0],
    )
    feedback = feedback_selectors.explicit_feedback_by_action_type(
        start=run.period_start, end=run.period_end
    )
    patterns = []
    for name, (s, n) in ranked[:3]:
        low, high = stats.wilson(s, n)
        if s / n < config.improvement_below:
            continue
        comparison, adjusted = better[name]
        pattern = _summary(
            run,
            PatternKind.TOP_ACTION,
            name,
            s,
            n,
            low,
            high,
            f"{name} succeeds {s / n:.0%} of the time (95 % interval {low:.0%} to "
            f"{high:.0%}, {n} decided outcomes), {comparison.effect * 100:.0f} points "
            f"above the other actions: one of the agent's best actions.",
            f"Study the conversations where {name} worked and reuse their approach.",
            feedback.get(name),
        )
        _tested(pattern, comparison, adjusted)
        patterns.append(pattern)
    for name, (s, n) in sorted(enough.items()):
        low, high = stats.wilson(s, n)
        rated = feedback.get(name)
        poor_feedback = rated is not None and rated["count"] >= 10 and rated["average"] < 0.5
        if s / n >= config.improvement_below and not poor_feedback:
            continue
        reasons = []
        if s / n < config.improvement_below:
            reasons.append(
                f"succeeds only {s / n:.0%} of the time (95 % interval {low:.0%} to "
                f"{high:.0%}, {n} decided outcomes)"
            )
        if poor_feedback and rated is not None:
            reasons.append(
                f"people rate it {rated['average']:.2f} on a 0-to-1 scale "
                f"({rated['count']} ratings)"
            )
        patterns.append(
            _summary(
                run,
                PatternKind.IMPROVEMENT,
                name,
                s,
                n,
                low,
                high,
                f"{name} " + " and ".join(reasons) + ".",
                f"Review recent {name} actions with the team; check when the agent should "
                "hand these to a person instead.",
                rated,
            )
        )
    return patterns


def _summary(
    run: CoachingRun,
    kind: str,
    name: str,
    s: int,
    n: int,
    low: float,
    high: float,
    description: str,
    advice: str,
    feedback: dict[str, Any] | None,
    *,
    dimension: str = "action_type",
) -> CoachingPattern:
    return CoachingPattern(
        run=run,
        kind=kind,
        dimension=dimension,
        level=name,
        description=description,
        recommendation=advice,
        successes=s,
        trials=n,
        ci_low=low,
        ci_high=high,
        supporting={"feedback": feedback} if feedback else {},
    )


STAGES = "escalation_by_stage"  # the stratum of the stage comparisons


def stage_cells(rows: list[tuple[Any, int, int]]) -> list[stats.Cell]:
    """Deal stages as cells of one dimension: escalations ("successes") of actions."""
    return [
        stats.Cell(STAGES, "deal_stage", str(stage), escalations, actions)
        for stage, actions, escalations in rows
        if stage
    ]


def flagged_stages(
    stage_found: list[tuple[stats.Comparison, float]], overall: float
) -> list[tuple[stats.Comparison, float]]:
    """The stage discoveries worth a coach's time: escalating more than the other stages
    (tested, corrected with the run), and at least 20 % and twice the tenant's share."""
    return [
        (c, q) for c, q in stage_found if (c.effect or 0) > 0 and c.rate >= max(0.2, 2 * overall)
    ]


def _escalation_areas(
    run: CoachingRun,
    rows: list[tuple[Any, int, int]],
    stage_found: list[tuple[stats.Comparison, float]],
) -> list[CoachingPattern]:
    """Deal stages where the agent hands over unusually often (`flagged_stages`)."""
    total = sum(actions for _, actions, _ in rows)
    overall = sum(escalations for _, _, escalations in rows) / total if total else 0.0
    patterns = []
    for comparison, adjusted in sorted(
        flagged_stages(stage_found, overall), key=lambda f: f[0].level
    ):
        stage, e, n = comparison.level, comparison.successes, comparison.trials
        low, high = stats.wilson(e, n)
        pattern = _summary(
            run,
            PatternKind.IMPROVEMENT,
            stage,
            e,
            n,
            low,
            high,
            f"In the {stage} stage the agent escalates {e / n:.0%} of its actions "
            f"({e} of {n}; {overall:.0%} across all stages).",
            f"Coach the {stage} stage: which questions make the agent hand over, "
            "and could reps prepare answers for them?",
            None,
            dimension="deal_stage",
        )
        _tested(pattern, comparison, adjusted)
        patterns.append(pattern)
    return patterns


def _tested(pattern: CoachingPattern, comparison: stats.Comparison, adjusted: float) -> None:
    """The test behind a summary pattern, as the segment patterns carry it."""
    pattern.stratum = comparison.stratum
    pattern.rest_successes = comparison.rest_successes
    pattern.rest_trials = comparison.rest_trials
    pattern.effect = comparison.effect
    pattern.p_value = comparison.p_value
    pattern.adjusted_p = adjusted
    pattern.test = comparison.test
