"""The aggregates other apps build on, as set-based SQL beside the tables it reads:
coaching's segments and their sums over conversations, insights' daily sums, calibration's
samples and maturity frontier. Success is counted by outcomes.rules' one definition, in its
SQL forms below. Other apps read these through outcomes.selectors, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Min, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncDate

from outcomes import rules
from outcomes.models import OutcomeRecord, OutcomeType

# --- success in SQL: outcomes.rules' one definition, for set-based queries ------------------
# Built only from the constants of outcomes.rules (no input reaches them).


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def sql_decided(alias: str = "o") -> str:
    """SQL: the outcome `alias` is decided (positive, negative or expired)."""
    return f"{alias}.status IN ({_quoted(rules.DECIDED)})"


def sql_success(alias: str = "o") -> str:
    """SQL: 1.0 when the outcome `alias` is a success, else 0.0."""
    return f"CASE WHEN {alias}.status = '{rules.POSITIVE}' THEN 1.0 ELSE 0.0 END"


def sql_counted_by_calibration(alias: str = "o") -> str:
    """SQL: calibration learns from the outcome `alias` (rules.calibration_label is not
    None): positive, negative, or expired where silence means failure."""
    expired = f"{alias}.status = '{rules.EXPIRED}'"
    if rules.SILENCE_FAILS:
        expired += f" AND {alias}.outcome_type IN ({_quoted(rules.SILENCE_FAILS)})"
    else:
        expired = "false"
    return f"({alias}.status IN ('{rules.POSITIVE}', '{rules.NEGATIVE}') OR ({expired}))"


# --- aggregates other apps build on (their SQL stays here, with the tables it reads) --------

# The segments coaching compares, as SQL over outcome `o` and its rep `u`; an action's hour
# and weekday are read where its rep works (UTC for actions without a rep).
_LOCAL = "o.occurred_at AT TIME ZONE coalesce(u.time_zone, 'UTC')"
SEGMENTS: dict[str, str] = {
    "action_type": "o.action_type",
    "hour_of_day": f"extract(hour FROM {_LOCAL})::int::text",
    "weekday": f"to_char({_LOCAL}, 'FMDay')",
    "persona": "nullif(o.attributes->>'persona', '')",
    "channel": "nullif(o.attributes->>'channel', '')",
    "deal_stage": "nullif(o.attributes->>'deal_stage', '')",
    "escalation_trigger": "nullif(o.attributes->>'escalation_trigger', '')",
}


@dataclass(frozen=True)
class SegmentCount:
    outcome_type: str
    segment: str  # a key of SEGMENTS
    level: str
    successes: int
    decided: int


def decided_by_segment(*, start: datetime, end: datetime) -> tuple[list[SegmentCount], int]:
    """Decided outcomes of actions in [start, end) and their successes, per outcome type,
    segment and level (levels not recorded are left out); and the decided total. One scan
    with GROUPING SETS."""
    columns = ",\n".join(f"{sql} AS {name}" for name, sql in SEGMENTS.items())
    sets = ", ".join(f"(outcome_type, {name})" for name in SEGMENTS)
    grouping = ", ".join(f"GROUPING({name})" for name in SEGMENTS)
    query = f"""
        WITH decided AS (
            SELECT o.outcome_type, ({sql_success()})::int AS success, {columns}
            FROM outcomes_outcomerecord o
            LEFT JOIN learning_user u ON u.id = o.rep_id
            WHERE o.occurred_at >= %s AND o.occurred_at < %s AND {sql_decided()}
        )
        SELECT outcome_type, {", ".join(SEGMENTS)}, ARRAY[{grouping}], sum(success), count(*)
        FROM decided
        GROUP BY GROUPING SETS ({sets}, ())
    """  # noqa: S608 - only this module's constant expressions are formatted in
    names = list(SEGMENTS)
    counts, total = [], 0
    with connection.cursor() as cursor:
        cursor.execute(query, [start, end])
        for row in cursor.fetchall():
            outcome_type, levels, grouped = row[0], row[1 : 1 + len(names)], row[-3]
            successes, decided = int(row[-2] or 0), int(row[-1])  # no rows: sum is NULL
            if outcome_type is None:
                total = decided
                continue
            level = levels[grouped.index(0)]
            if level is None:
                continue  # not recorded for these outcomes: outside the comparison
            segment = names[grouped.index(0)]
            counts.append(SegmentCount(outcome_type, segment, str(level), successes, decided))
    return counts, total


def escalations_by_stage(*, start: datetime, end: datetime) -> list[tuple[str | None, int, int]]:
    """Per deal stage (from the action's attributes): (stage, actions, escalations) of the
    actions in [start, end)."""
    rows = (
        OutcomeRecord.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(stage=KeyTextTransform("deal_stage", "attributes"))
        .values("stage")
        .annotate(
            actions=Count("id"),
            escalations=Count("id", filter=Q(outcome_type=OutcomeType.ESCALATION_RESULT)),
        )
    )
    return [(r["stage"], r["actions"], r["escalations"]) for r in rows]


@dataclass(frozen=True)
class ConversationSums:
    """One level of one segment within an outcome type: its actions and their successes,
    and how they fall into conversations, as sums over the conversations c of the segment
    (within the outcome type), n and s being c's actions and successes at the level and
    tn and ts its actions and successes at every level of the segment: what a variance
    clustered by conversation needs, without a row per conversation."""

    outcome_type: str
    segment: str
    level: str
    successes: int
    actions: int
    conversations: int  # with an action at the level
    alone: int  # of those, the ones with no action at another level of the segment
    share: float  # sum of n / tn (over the levels: the segment's conversations)
    nn: int
    ss: int
    ns: int
    n_tn: int
    n_ts: int
    s_tn: int
    s_ts: int


def _conversation_sums(source: str, params: list[Any]) -> list[ConversationSums]:
    """ConversationSums per (stratum, segment, level) of `source`, a SELECT of one row per
    action and segment: stratum, segment, level (not NULL), conversation_id, y (0 or 1)."""
    query = f"""
        WITH rows AS ({source}),
        per_conversation AS (
            SELECT stratum, segment, level, conversation_id, count(*) AS n, sum(y) AS s
            FROM rows
            GROUP BY stratum, segment, conversation_id, level  -- the window's order: one sort
        ),
        with_totals AS (
            SELECT stratum, segment, level, n, s,
                   sum(n) OVER conversation AS tn, sum(s) OVER conversation AS ts
            FROM per_conversation
            WINDOW conversation AS (PARTITION BY stratum, segment, conversation_id)
        )
        SELECT stratum, segment, level, sum(s), sum(n), count(*),
               count(*) FILTER (WHERE n = tn), sum(n::float8 / tn),
               sum(n * n), sum(s * s), sum(n * s), sum(n * tn), sum(n * ts), sum(s * tn),
               sum(s * ts)
        FROM with_totals
        GROUP BY stratum, segment, level
    """  # noqa: S608 - only this module's constant expressions are formatted in
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    out = []
    for stratum, segment, level, *numbers in rows:
        s, n, g, alone, share, nn, ss, ns, n_tn, n_ts, s_tn, s_ts = numbers
        out.append(
            ConversationSums(
                str(stratum),
                str(segment),
                str(level),
                successes=int(s),
                actions=int(n),
                conversations=int(g),
                alone=int(alone),
                share=float(share),
                nn=int(nn),
                ss=int(ss),
                ns=int(ns),
                n_tn=int(n_tn),
                n_ts=int(n_ts),
                s_tn=int(s_tn),
                s_ts=int(s_ts),
            )
        )
    return out


def decided_by_segment_and_conversation(
    *, start: datetime, end: datetime
) -> tuple[list[ConversationSums], int]:
    """decided_by_segment with the conversations: decided outcomes of actions in
    [start, end) and their successes per outcome type, segment and level (levels not
    recorded left out), with their sums over conversations; and the decided total."""
    columns = ",\n".join(f"{sql} AS {name}" for name, sql in SEGMENTS.items())
    pairs = ", ".join(f"('{name}', d.{name})" for name in SEGMENTS)
    source = f"""
        SELECT d.outcome_type AS stratum, v.segment, v.level, d.conversation_id, d.y
        FROM (
            SELECT o.outcome_type, o.conversation_id, ({sql_success()})::int AS y, {columns}
            FROM outcomes_outcomerecord o
            LEFT JOIN learning_user u ON u.id = o.rep_id
            WHERE o.occurred_at >= %s AND o.occurred_at < %s AND {sql_decided()}
        ) d
        CROSS JOIN LATERAL (VALUES {pairs}) AS v(segment, level)
        WHERE v.level IS NOT NULL
    """  # noqa: S608 - only this module's constant expressions are formatted in
    sums = _conversation_sums(source, [start, end])
    # Every action has an action type: its levels hold every decided outcome once.
    total = sum(c.actions for c in sums if c.segment == "action_type")
    return sums, total


def escalations_by_stage_and_conversation(
    *, start: datetime, end: datetime
) -> list[ConversationSums]:
    """escalations_by_stage with the conversations: per deal stage (segment "deal_stage",
    outcome type "" for all of them), the actions in [start, end) and their escalations
    (as `successes`), with their sums over conversations. Actions without a stage are
    left out."""
    source = f"""
        SELECT '' AS stratum, 'deal_stage' AS segment, {SEGMENTS["deal_stage"]} AS level,
               o.conversation_id,
               (o.outcome_type = '{rules.ESCALATION_RESULT}')::int AS y
        FROM outcomes_outcomerecord o
        WHERE o.occurred_at >= %s AND o.occurred_at < %s
          AND {SEGMENTS["deal_stage"]} IS NOT NULL
    """  # noqa: S608 - only this module's constant expressions are formatted in
    return _conversation_sums(source, [start, end])


DAILY_SUM_COLUMNS = (
    "day, action_type, outcome_type, rep_id, total, pending, positive, negative, ambiguous, "
    "expired, scored, sum_p, sum_p2, sum_py, sum_y, sum_score"
)


def daily_sums_query(*, days: Sequence[date]) -> tuple[str, dict[str, Any]]:
    """A SELECT of the actions that happened on `days` (UTC), one row per day, action type,
    outcome type and rep, columns DAILY_SUM_COLUMNS: counts by status, and over what
    calibration counts (`scored`) the sums the Brier score needs. Returned as SQL and
    parameters for insights' rollups to INSERT … SELECT in one statement.

    One day (today's live rows) is grouped without its date: the time range alone is that
    day, and the planner then hashes the few groups instead of sorting the day's rows by
    a computed date (56,000 rows at 10,000,000 outcomes: 255 -> 105 ms)."""
    one_day = len(set(days)) == 1
    day = "%(outcome_day)s::date" if one_day else "day"
    keys = (
        "action_type, outcome_type, rep_id" if one_day else "day, action_type, outcome_type, rep_id"
    )
    on_days = (
        "" if one_day else "AND (o.occurred_at AT TIME ZONE 'UTC')::date = ANY(%(outcome_days)s)"
    )
    query = f"""
        SELECT {day}, action_type, outcome_type, rep_id, count(*),
               count(*) FILTER (WHERE status = '{rules.PENDING}'),
               count(*) FILTER (WHERE status = '{rules.POSITIVE}'),
               count(*) FILTER (WHERE status = '{rules.NEGATIVE}'),
               count(*) FILTER (WHERE status = '{rules.AMBIGUOUS}'),
               count(*) FILTER (WHERE status = '{rules.EXPIRED}'),
               count(*) FILTER (WHERE scored),
               coalesce(sum(p) FILTER (WHERE scored), 0),
               coalesce(sum(p * p) FILTER (WHERE scored), 0),
               coalesce(sum(p * y) FILTER (WHERE scored), 0),
               coalesce(sum(y) FILTER (WHERE scored), 0),
               coalesce(sum(score), 0)
          FROM (SELECT (o.occurred_at AT TIME ZONE 'UTC')::date AS day, o.action_type,
                       o.outcome_type, o.rep_id, o.status, o.score,
                       o.predicted_confidence AS p, {sql_success()} AS y,
                       {sql_counted_by_calibration()} AS scored
                  FROM outcomes_outcomerecord o
                 WHERE o.occurred_at >= %(outcome_low)s AND o.occurred_at < %(outcome_high)s
                   {on_days}) s
         GROUP BY {keys}
    """  # noqa: S608 - only this module's constant expressions are formatted in
    low, high = _day_span(days)
    return query, {
        "outcome_days": list(days),
        "outcome_day": min(days),
        "outcome_low": low,
        "outcome_high": high,
    }


def days_with_outcomes(*, changed_since: datetime | None = None) -> list[date]:
    """The UTC days of actions: all of them, or those recorded or resolved since a time."""
    queryset = OutcomeRecord.objects.all()
    if changed_since is not None:
        queryset = queryset.filter(
            Q(created_at__gte=changed_since) | Q(resolved_at__gte=changed_since)
        )
    days = queryset.annotate(day=TruncDate("occurred_at", tzinfo=UTC)).order_by().values_list("day")
    return sorted({day for (day,) in days.distinct()})


def calibration_samples_query(*, action_type: str | None = None) -> tuple[str, dict[str, Any]]:
    """A SELECT of what calibration learns from (rules.calibration_label): columns id,
    action_type, p (the confidence), y (1 success, 0 failure), resolved_at, occurred_at
    (when the action was taken) and window_expires_at (when its result window closes); of
    one action type or all. For calibration to learn and rebuild in one statement."""
    only = "AND o.action_type = %(samples_action_type)s" if action_type else ""
    query = f"""
        SELECT o.id, o.action_type, o.predicted_confidence AS p, {sql_success()} AS y,
               o.resolved_at, o.occurred_at, o.window_expires_at
          FROM outcomes_outcomerecord o
         WHERE {sql_counted_by_calibration()} {only}
    """  # noqa: S608 - only this module's constant expressions are formatted in
    return query, {"samples_action_type": action_type}


def maturity_frontier(*, action_type: str, now: datetime) -> datetime:
    """The time before which every result window of the action type that closed is
    settled: `now`, or the end of the earliest window of an outcome still pending, when
    that is earlier (its expiry sweep has not run yet). An outcome whose window closed
    before it has its final status (or waits for a person's label, as ambiguous)."""
    earliest = (
        OutcomeRecord.objects.filter(status=rules.PENDING, action_type=action_type)
        .order_by("window_expires_at")
        .values_list("window_expires_at", flat=True)
        .first()
    )
    return min(now, earliest) if earliest is not None else now


def sql_maturity_frontier(type_column: str) -> str:
    """SQL: `maturity_frontier` of the action type in `type_column`, at now()."""
    return f"""least(now(), (SELECT min(f.window_expires_at) FROM outcomes_outcomerecord f
                            WHERE f.status = '{rules.PENDING}'
                              AND f.action_type = {type_column}))"""  # noqa: S608


def pending_of(*, action_type: str) -> tuple[int, datetime | None]:
    """How many outcomes of the action type wait for a result, and when the oldest of
    them was taken."""
    found = OutcomeRecord.objects.filter(status=rules.PENDING, action_type=action_type).aggregate(
        n=Count("id"), oldest=Min("occurred_at")
    )
    return int(found["n"]), found["oldest"]


def _day_span(days: Sequence[date]) -> tuple[datetime, datetime]:
    """The time range that holds `days`, so the index on the timestamp narrows the scan
    before the per-day test."""
    low = datetime.combine(min(days), time.min, tzinfo=UTC)
    high = datetime.combine(max(days) + timedelta(days=1), time.min, tzinfo=UTC)
    return low, high


def outcome_ids_query(*, action_type: str) -> tuple[str, dict[str, Any]]:
    """A SELECT of the ids of the outcomes of one action type (for IN (…) elsewhere)."""
    query = "SELECT o.id FROM outcomes_outcomerecord o WHERE o.action_type = %(ids_action_type)s"
    return query, {"ids_action_type": action_type}
