"""Coaching pattern extraction: what works better or worse, in words reps can act on.

outcomes.selectors.decided_by_segment_and_conversation counts the period's decided
outcomes and their successes (outcomes.rules: success = positive / positive + negative +
expired, as on the dashboards) per level of every dimension in one statement, within
each outcome type (rates of different outcome types are not comparable: a reply is not a
deal won), with the sums over conversations a variance clustered by conversation needs:
a conversation's actions share a prospect and, under multi-touch attribution, an outcome,
so they are not independent trials (`coaching.stats` turns that into a design effect per
test). Each level is tested against the rest of its dimension, each action type against
the improvement bar, all the run's p-values are adjusted together (Benjamini-Hochberg),
and what survives is stored as `CoachingPattern`s of one `CoachingRun`, strongest first,
with top-performing actions and improvement areas beside them. Minimum sizes count
conversations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from coaching import events, stats
from coaching.models import CoachingPattern, CoachingRun, CoachingSettings, PatternKind
from feedback import selectors as feedback_selectors
from outcomes import selectors as outcome_selectors

ESCALATION = "escalation_result"


def settings_row() -> CoachingSettings:
    return CoachingSettings.objects.filter(pk=1).first() or CoachingSettings()


def _cell(stratum: str, sums: outcome_selectors.ConversationSums) -> stats.Cell:
    clusters = stats.Clusters(
        sums.conversations,
        sums.alone,
        sums.share,
        sums.nn,
        sums.ss,
        sums.ns,
        sums.n_tn,
        sums.n_ts,
        sums.s_tn,
        sums.s_ts,
    )
    return stats.Cell(stratum, sums.segment, sums.level, sums.successes, sums.actions, clusters)


def cells(*, start: datetime, end: datetime) -> tuple[list[stats.Cell], int]:
    """Per outcome type, dimension and level: (successes, decided, how they fall into
    conversations); and the decided total."""
    counts, total = outcome_selectors.decided_by_segment_and_conversation(start=start, end=end)
    result = [_cell(c.outcome_type, c) for c in counts]
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
        f"{c.trials} vs {c.rest_trials} decided {THINGS.get(c.stratum, 'outcomes')}, "
        f"in {c.conversations} vs {c.rest_conversations} conversations)."
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
    stage_rows = outcome_selectors.escalations_by_stage_and_conversation(start=start, end=end)
    staged = stage_cells(stage_rows)
    # One family: segments, action types, escalation stages and the improvement bar are
    # tested and corrected together, so every reported pattern has passed the same bar.
    findings = stats.find(
        found,
        staged,
        min_group=config.min_group,
        q=config.false_discovery_rate,
        bar=config.improvement_below,
    )
    with transaction.atomic():
        run = CoachingRun.objects.create(
            started_at=timezone.now(),
            period_start=start,
            period_end=end,
            outcomes=total,
            comparisons=findings.tests,
            false_discovery_rate=config.false_discovery_rate,
            min_group=config.min_group,
        )
        patterns = []
        for comparison, adjusted_p in findings.segments:
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
                            {
                                "level": c.level,
                                "successes": c.successes,
                                "trials": c.trials,
                                "conversations": c.conversations,
                            }
                            for c in found
                            if (c.stratum, c.dimension)
                            == (comparison.stratum, comparison.dimension)
                        ],
                        **_clustering(comparison),
                    },
                )
            )
        patterns += _action_types(run, found, config, findings)
        patterns += _escalation_areas(run, staged, findings.stages)
        patterns += _qualification_stage(run, config)
        for rank, pattern in enumerate(patterns, start=1):
            pattern.rank = rank
        CoachingPattern.objects.bulk_create(patterns)
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at"])
        events.PATTERNS_FOUND.emit(events.PatternsFound(run.pk, len(patterns)))
    return Extracted(run, patterns)


def _clustering(comparison: stats.Comparison | stats.BarTest) -> dict[str, Any]:
    """What the test counted: conversations, and the design effect its counts were
    divided by (1: the conversations' actions behaved as independent ones)."""
    out: dict[str, Any] = {
        "conversations": comparison.conversations,
        "design_effect": round(comparison.design_effect, 3),
    }
    if isinstance(comparison, stats.Comparison):
        out["rest_conversations"] = comparison.rest_conversations
    return out


def _action_types(
    run: CoachingRun,
    found: list[stats.Cell],
    config: CoachingSettings,
    findings: stats.Findings,
) -> list[CoachingPattern]:
    """Top-performing actions and improvement areas (`_top_actions`, `_improvement_areas`),
    each with what people think of the action type."""
    feedback = feedback_selectors.explicit_feedback_by_action_type(
        start=run.period_start, end=run.period_end
    )
    return _top_actions(run, findings, config.improvement_below, feedback) + _improvement_areas(
        run, found, config, findings, feedback
    )


def _top_actions(
    run: CoachingRun, findings: stats.Findings, bar: float, feedback: dict[str, Any]
) -> list[CoachingPattern]:
    """A top action is one whose comparison with the other action types (within an outcome
    type) is a discovery of this run with a positive effect: tested and corrected like
    every segment; the three with the highest lower bound of their rate (Wilson, on the
    effective counts)."""
    better: dict[str, tuple[stats.Comparison, float]] = {}
    for comparison, adjusted in findings.actions:
        if comparison.effect <= 0 or comparison.rate < bar:
            continue
        if comparison.level not in better or adjusted < better[comparison.level][1]:
            better[comparison.level] = (comparison, adjusted)

    def lower_bound(item: tuple[str, tuple[stats.Comparison, float]]) -> float:
        c = item[1][0]
        return stats.interval(c.successes, c.trials, c.design_effect)[0]

    patterns = []
    for name, (comparison, adjusted) in sorted(better.items(), key=lower_bound, reverse=True)[:3]:
        s, n, g = comparison.successes, comparison.trials, comparison.conversations
        low, high = stats.interval(s, n, comparison.design_effect)
        pattern = _summary(
            run,
            PatternKind.TOP_ACTION,
            name,
            s,
            n,
            low,
            high,
            f"{name} succeeds {s / n:.0%} of the time (95 % interval {low:.0%} to "
            f"{high:.0%}, {n} decided outcomes in {g} conversations), "
            f"{comparison.effect * 100:.0f} points above the other actions: one of the "
            "agent's best actions.",
            f"Study the conversations where {name} worked and reuse their approach.",
            feedback.get(name),
            extra=_clustering(comparison),
        )
        _tested(pattern, comparison, adjusted)
        patterns.append(pattern)
    return patterns


def _improvement_areas(
    run: CoachingRun,
    found: list[stats.Cell],
    config: CoachingSettings,
    findings: stats.Findings,
    feedback: dict[str, Any],
) -> list[CoachingPattern]:
    """An action type whose success rate is below the tenant's bar by a one-sided test
    that is a discovery of the run (`stats.below_bar`), or that people rate poorly."""
    bar = config.improvement_below
    below: dict[str, tuple[stats.BarTest, float]] = {}
    for test, adjusted in findings.below_bar:
        if test.level not in below or adjusted < below[test.level][1]:
            below[test.level] = (test, adjusted)
    by_type: dict[str, list[int]] = {}
    for cell in found:
        if cell.dimension == "action_type":
            sn = by_type.setdefault(cell.level, [0, 0, 0])
            sn[0] += cell.successes
            sn[1] += cell.trials
            sn[2] = max(sn[2], cell.conversations)
    patterns = []
    for name, (s, n, conversations) in sorted(by_type.items()):
        rated = feedback.get(name)
        poor_feedback = rated is not None and rated["count"] >= 10 and rated["average"] < 0.5
        if name not in below and not (poor_feedback and conversations >= config.min_group):
            continue
        reasons, extra = [], {}
        tested = below.get(name)
        if tested is not None:
            test = tested[0]
            s, n = test.successes, test.trials
            low, high = test.ci_low, test.ci_high
            reasons.append(
                f"succeeds only {s / n:.0%} of the time (95 % interval {low:.0%} to "
                f"{high:.0%}, {n} decided outcomes in {test.conversations} conversations): "
                f"below the {bar:.0%} bar by more than chance"
            )
            extra = {**_clustering(test), "bar": bar}
        else:
            low, high = stats.interval(s, n)
        if poor_feedback and rated is not None:
            reasons.append(
                f"people rate it {rated['average']:.2f} on a 0-to-1 scale "
                f"({rated['count']} ratings)"
            )
        pattern = _summary(
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
            extra=extra,
        )
        if tested is not None:
            pattern.stratum = tested[0].stratum
            pattern.p_value = tested[0].p_value
            pattern.adjusted_p = tested[1]
            pattern.test = tested[0].test
        patterns.append(pattern)
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
    extra: dict[str, Any] | None = None,
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
        supporting={**({"feedback": feedback} if feedback else {}), **(extra or {})},
    )


STAGES = "escalation_by_stage"  # the stratum of the stage comparisons


def stage_cells(rows: list[outcome_selectors.ConversationSums]) -> list[stats.Cell]:
    """Deal stages as cells of one dimension: escalations ("successes") of actions."""
    return [_cell(STAGES, row) for row in rows if row.level]


def _escalation_areas(
    run: CoachingRun,
    staged: list[stats.Cell],
    stage_found: list[tuple[stats.Comparison, float]],
) -> list[CoachingPattern]:
    """Deal stages where the agent hands over unusually often (`stats.flagged_stages`)."""
    total = sum(c.trials for c in staged)
    overall = sum(c.successes for c in staged) / total if total else 0.0
    patterns = []
    for comparison, adjusted in sorted(
        stats.flagged_stages(stage_found, overall), key=lambda f: f[0].level
    ):
        stage, e, n = comparison.level, comparison.successes, comparison.trials
        g = comparison.conversations
        low, high = stats.interval(e, n, comparison.design_effect)
        pattern = _summary(
            run,
            PatternKind.IMPROVEMENT,
            stage,
            e,
            n,
            low,
            high,
            f"In the {stage} stage the agent escalates {e / n:.0%} of its actions "
            f"({e} of {n}, in {g} conversation{'s' if g != 1 else ''}; {overall:.0%} across "
            "all stages).",
            f"Coach the {stage} stage: which questions make the agent hand over, "
            "and could reps prepare answers for them?",
            None,
            dimension="deal_stage",
            extra=_clustering(comparison),
        )
        _tested(pattern, comparison, adjusted)
        patterns.append(pattern)
    return patterns


def _qualification_stage(run: CoachingRun, config: CoachingSettings) -> list[CoachingPattern]:
    """The deal stage where most qualification signals are gathered: of the run's
    conversations that went on to pass qualification (outcomes.rules.PAST_QUALIFICATION;
    their first action in the period), the actions that worked (a reply, a meeting, a
    stage move) before they passed it, by the deal stage the agent acted in; the stage
    with the most. Needs at least `min_group` such conversations. Its interval counts
    each conversation's signals as one piece of evidence (a design effect of the mean
    signals per conversation: a prospect's replies are not independent)."""
    rows = outcome_selectors.qualification_of_conversations(
        start=run.period_start, end=run.period_end
    )
    until = {
        r.conversation_id: r.completed_at
        for r in rows
        if r.completed_at is not None and (r.stopped_at is None or r.completed_at <= r.stopped_at)
    }
    found = outcome_selectors.successes_by_stage(until=until)
    conversations = {pk for pk, _ in found}
    if len(conversations) < config.min_group:
        return []
    signals: dict[str, int] = {}
    reached: dict[str, set[int]] = {}
    for pk, stage in found:
        signals[stage] = signals.get(stage, 0) + 1
        reached.setdefault(stage, set()).add(pk)
    stage, most = max(sorted(signals.items()), key=lambda item: item[1])
    total, g = len(found), len(conversations)
    design_effect = total / g
    low, high = stats.interval(most, total, design_effect)
    others = ", ".join(f"{s}: {n}" for s, n in sorted(signals.items()) if s != stage)
    return [
        _summary(
            run,
            PatternKind.QUALIFICATION,
            stage,
            most,
            total,
            low,
            high,
            f"Most qualification signals are gathered in the {stage} stage: {most} of the "
            f"{total} actions that worked ({most / total:.0%}, 95 % interval {low:.0%} to "
            f"{high:.0%}) before {g} conversations passed qualification were taken there"
            + (f" ({others})." if others else "."),
            f"Coach the {stage} stage: what the agent does there is what qualifies a lead; "
            "make sure reps follow it up.",
            None,
            dimension="deal_stage",
            extra={
                "stages": [
                    {"stage": s, "signals": n, "conversations": len(reached[s])}
                    for s, n in sorted(signals.items())
                ],
                "conversations": g,
                "design_effect": round(design_effect, 3),
            },
        )
    ]


def _tested(pattern: CoachingPattern, comparison: stats.Comparison, adjusted: float) -> None:
    """The test behind a summary pattern, as the segment patterns carry it."""
    pattern.stratum = comparison.stratum
    pattern.rest_successes = comparison.rest_successes
    pattern.rest_trials = comparison.rest_trials
    pattern.effect = comparison.effect
    pattern.p_value = comparison.p_value
    pattern.adjusted_p = adjusted
    pattern.test = comparison.test
