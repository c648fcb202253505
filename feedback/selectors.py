"""Reading feedback: scoped lists, the summary, fatigue flags (feedback.fatigue) and what to
review."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Avg, Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from feedback import rubrics
from feedback.fatigue import Fatigue
from feedback.fatigue import fatigue as fatigue  # re-exported: the app's reads are here
from feedback.fatigue import fatigue_of as fatigue_of
from feedback.models import DraftFeedback, FeedbackEntry, FeedbackRevision, Source, TargetType
from feedback.periods import SUMMARY_DAYS, period_start
from feedback.services import SCALES, edit_distance, settings_row
from learning.models import Role, User
from learning.plain_words import action_type_words, outcome_type_words
from learning.selectors import sees_whole_tenant, visible_users
from outcomes import rules as outcome_rules
from prompts import selectors as prompt_selectors

if TYPE_CHECKING:
    from outcomes.events import ContentErasure
    from outcomes.models import OutcomeRecord


def visible_feedback(*, principal: Any) -> QuerySet[FeedbackEntry]:
    """A rep sees feedback on their own conversations, a manager on the team's, an
    executive (and the agent) all of it."""
    queryset = FeedbackEntry.objects.select_related("conversation", "reviewer")
    if sees_whole_tenant(principal):
        return queryset
    return queryset.filter(conversation__rep__in=visible_users(user=principal))


@dataclass
class _Tally:
    """A count and a sum of normalised ratings, added up group by group."""

    count: int = 0
    total: float = 0.0

    def add(self, count: int, total: float | None) -> None:
        self.count += count
        self.total += total or 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "average_rating": self.average}

    @property
    def average(self) -> float | None:
        return self.total / self.count if self.count else None


def _listed(tallies: dict[Any, _Tally], keys: list[str]) -> dict[str, Any]:
    """Every one of `keys` (zeros, None), and any other value found after them, so the
    groups always add up to the whole."""
    return {
        k: tallies[k].as_dict() if k in tallies else {"count": 0, "average_rating": None}
        for k in [*keys, *sorted(set(tallies) - set(keys), key=str)]
    }


# Draft-edit scores fall in five bands of 0.2 (the last one holds 1.0).
_EDIT_BANDS = [(low / 10, (low + 2) / 10 if low < 8 else 1.01) for low in range(0, 10, 2)]


def summary(
    *, principal: Any, days: int = SUMMARY_DAYS, now: datetime | None = None
) -> dict[str, Any]:
    """Counts and averages (normalised ratings, [0, 1]) of the feedback given in the last
    `days` days within the principal's scope; every day, source, type and role is listed,
    with zeros where nothing happened.

    One pass over the period's entries, grouped by everything the summary splits by (a
    few thousand groups at most: sources x types x roles x ratings x days), added up here:
    the page reads the period once instead of once per figure."""
    now = now or timezone.now()
    since = period_start(days=days, now=now)
    start_day = timezone.localdate(since)
    entries = visible_feedback(principal=principal).filter(rated_at__gte=since, rated_at__lte=now)
    groups = (
        entries.order_by()
        .annotate(
            day=TruncDate("rated_at"),
            band=Case(
                *(
                    When(source=Source.DRAFT_EDIT, normalized_rating__gte=low, then=Value(i))
                    for i, (low, _) in reversed(list(enumerate(_EDIT_BANDS)))
                ),
                default=Value(None),
                output_field=IntegerField(),
            ),
        )
        .values_list("source", "target_type", "reviewer_role", "rating", "day", "band")
        .annotate(count=Count("id"), total=Sum("normalized_rating"))
    )
    totals, explicit = _Tally(), _Tally()
    by_type: dict[str, _Tally] = {}
    by_source: dict[str, _Tally] = {}
    by_role: dict[str, _Tally] = {}
    daily: dict[date, _Tally] = {}
    people_daily: dict[date, _Tally] = {}
    ratings: dict[str, dict[float, int]] = {source: {} for source in SCALES}
    bands = [0] * len(_EDIT_BANDS)
    for source, target_type, role, rating, day, band, count, total in groups:
        totals.add(count, total)
        by_type.setdefault(target_type, _Tally()).add(count, total)
        by_source.setdefault(source, _Tally()).add(count, total)
        daily.setdefault(day, _Tally()).add(count, total)
        if source in SCALES:  # a person's rating (a draft-edit score is nobody's)
            explicit.add(count, total)
            by_role.setdefault(role, _Tally()).add(count, total)
            people_daily.setdefault(day, _Tally()).add(count, total)
            ratings[source][rating] = ratings[source].get(rating, 0) + count
        if band is not None:
            bands[band] += count
    distribution: dict[str, dict[str, int]] = {
        source: {str(v): ratings[source].get(float(v), 0) for v in scale.values}
        for source, scale in SCALES.items()
    }
    distribution[Source.DRAFT_EDIT] = {
        f"{low:.1f}-{min(high, 1.0):.1f}": bands[i] for i, (low, high) in enumerate(_EDIT_BANDS)
    }
    return {
        "days": days,
        "total_feedback_count": totals.count,
        "average_rating": totals.average,
        "explicit": explicit.as_dict(),
        "rating_distribution": distribution,
        "by_target_type": _listed(by_type, list(TargetType.values)),
        "by_source": _listed(by_source, list(Source.values)),
        # people's ratings only, as "explicit": an automatic draft-edit score is nobody's
        # rating (it is under by_source, "draft_edit")
        "by_reviewer_role": _listed(by_role, [Role.REP, Role.MANAGER, Role.EXECUTIVE, Role.ADMIN]),
        "daily_trend": _daily(daily, start_day, days),
        # people's ratings only: what the page's headline average and its chart show
        "people_trend": _daily(people_daily, start_day, days),
        "drafts": draft_summary(principal=principal, since=since, now=now),
        "rubric": [
            {
                "target_type": row.dimension.target_type,
                "key": row.dimension.key,
                "label": row.dimension.label,
                "kind": row.dimension.kind,
                "count": row.count,
                "average": row.average,
                "in_words": row.on_scale,
            }
            for row in rubrics.summary(entry_ids_sql=entries.values("id").query.sql_with_params())
        ],
    }


def _daily(per_day: dict[date, _Tally], start_day: date, days: int) -> list[dict[str, Any]]:
    """Count and average normalised rating per day, every day listed (zeros, None)."""
    trend = []
    for offset in range(days):
        day: date = start_day + timedelta(days=offset)
        tally = per_day.get(day, _Tally())
        trend.append({"date": day.isoformat(), **tally.as_dict()})
    return trend


def reviewers_against_summary(
    *,
    principal: Any,
    reviewers: QuerySet[User],
    days: int = SUMMARY_DAYS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """How the fatigue table's ratings (those the listed reviewers gave, wherever) add up
    to the summary's "ratings by people" (those given on conversations in the principal's
    scope, by anyone), over the same days: listed - outside_scope + from_others == the
    summary's explicit count."""
    now = now or timezone.now()
    since = period_start(days=days, now=now)
    people = FeedbackEntry.objects.filter(
        source__in=list(SCALES), rated_at__gte=since, rated_at__lte=now
    )
    listed = people.filter(reviewer__in=reviewers)
    in_scope = visible_feedback(principal=principal).filter(
        source__in=list(SCALES), rated_at__gte=since, rated_at__lte=now
    )
    return {
        "since": since,
        "listed": listed.count(),
        "outside_scope": listed.exclude(pk__in=in_scope.values("pk")).count(),
        # (exclude() keeps the ratings of reviewers since removed: a null reviewer)
        "from_others": in_scope.exclude(reviewer__in=reviewers).count(),
    }


def draft_summary(*, principal: Any, since: datetime, now: datetime) -> dict[str, Any]:
    """Draft edits: how many, how many sent unedited (approval), how many edited beyond
    the threshold, and the approval rate per intent."""
    drafts = DraftFeedback.objects.filter(sent_at__gte=since, sent_at__lte=now)
    if not sees_whole_tenant(principal):
        drafts = drafts.filter(conversation__rep__in=visible_users(user=principal))
    totals = drafts.aggregate(
        count=Count("id"),
        approved=Count("id", filter=Q(edit_distance=0)),
        significant=Count("id", filter=Q(significant=True)),
        mean=Avg("edit_distance"),
    )
    by_intent = [
        {
            "intent": row["intent"],
            "count": row["count"],
            "approved": row["unedited"],
            "approval_rate": row["unedited"] / row["count"],
        }
        for row in drafts.exclude(intent="")
        .values("intent")
        .annotate(count=Count("id"), unedited=Count("id", filter=Q(edit_distance=0)))
        .order_by("intent")
    ]
    return {
        "count": totals["count"],
        "approved": totals["approved"],
        "significant_edits": totals["significant"],
        "mean_edit_distance": totals["mean"],
        "by_intent": by_intent,
    }


@dataclass(frozen=True)
class Critical:
    """Which actions are critical (the tenant's feedback settings): those judged by one of
    `outcome_types`, or of one of `action_types`."""

    outcome_types: frozenset[str]
    action_types: frozenset[str]

    def __contains__(self, action: Any) -> bool:
        return action.outcome_type in self.outcome_types or action.action_type in self.action_types

    def why(self, action: Any) -> str:
        """Why it is critical, in words: "An escalation the agent made"."""
        if action.outcome_type == outcome_rules.ESCALATION_RESULT:
            return "An escalation the agent made"
        if action.outcome_type == outcome_rules.DEAL_PROGRESSION:
            return "A deal-stage move the agent made"
        if action.outcome_type in self.outcome_types:
            return f"An action judged by {outcome_type_words(action.outcome_type).lower()}"
        return f"“{action_type_words(action.action_type)}”, an action the agent took"


def critical() -> Critical:
    config = settings_row()
    return Critical(
        frozenset(config.critical_outcome_types), frozenset(config.critical_action_types)
    )


def target_type_of(outcome: OutcomeRecord) -> str:
    """An email is a message; every other action (a meeting booked, an escalation, a
    stage move) is a decision."""
    if outcome.outcome_type == outcome_rules.EMAIL_ENGAGEMENT:
        return TargetType.MESSAGE
    return TargetType.DECISION


def verdicts_of(*, reviewer: User, action_ids: Iterable[str]) -> dict[str, FeedbackEntry]:
    """The person's own verdicts on these actions (never a draft edit's automatic score)."""
    return {
        e.target_id: e
        for e in FeedbackEntry.objects.filter(reviewer=reviewer, target_id__in=list(action_ids))
        .exclude(source=Source.DRAFT_EDIT)
        .order_by("rated_at")
    }


def prompts_per_day(*, tired: Fatigue) -> int:
    """How many critical actions to put before the person a day: the tenant's allowance,
    smaller for a fatigued reviewer. The review flow offers that many new ones each day
    (feedback.review), whatever else the person rates."""
    config = settings_row()
    return int(config.fatigued_prompts_per_day if tired.flagged else config.prompts_per_day)


def automatic_score(*, action_id: str) -> FeedbackEntry | None:
    """The draft edit's automatic score of the action, if its draft was rewritten."""
    return FeedbackEntry.objects.filter(target_id=action_id, source=Source.DRAFT_EDIT).first()


def draft_of(*, action_id: str) -> DraftFeedback | None:
    return DraftFeedback.objects.filter(action_id=action_id).first()


# --- what other apps build on -----------------------------------------------------------


def explicit_feedback_by_action_type(
    *, start: datetime, end: datetime
) -> dict[str, dict[str, Any]]:
    """People's ratings (not draft edits) of the actions of [start, end), per action
    type: count and average normalised rating."""
    rows = (
        FeedbackEntry.objects.filter(
            source__in=list(SCALES), outcome__occurred_at__gte=start, outcome__occurred_at__lt=end
        )
        .values("outcome__action_type")
        .annotate(count=Count("id"), average=Avg("normalized_rating"))
    )
    return {r["outcome__action_type"]: {"count": r["count"], "average": r["average"]} for r in rows}


@dataclass(frozen=True)
class LearningText:
    """One text batch learning reads: a draft and what was sent instead, or an action's
    content and a reviewer's correction of it. `draft_id` is the DraftFeedback row, if any."""

    action_id: str
    conversation_id: int
    intent: str
    original_draft: str
    sent_version: str
    edit_distance: float
    draft_id: int | None = None
    corrected_by: str = ""
    at: datetime | None = None  # when it was sent (a draft) or the action taken (a correction)


def _from_draft(draft: DraftFeedback) -> LearningText:
    return LearningText(
        action_id=draft.action_id,
        conversation_id=draft.conversation_id,
        intent=draft.intent,
        original_draft=draft.original_draft,
        sent_version=draft.sent_version,
        edit_distance=draft.edit_distance,
        draft_id=draft.pk,
        at=draft.sent_at,
    )


def drafts_for_learning(
    *, start: datetime, end: datetime
) -> tuple[list[LearningText], list[LearningText]]:
    """What batch learning reads of [start, end), in time order: drafts edited beyond the
    threshold and reviewers' corrections (each exactly like a heavily edited draft), and
    messages sent with no draft at all."""
    sent = DraftFeedback.objects.filter(sent_at__gte=start, sent_at__lt=end).order_by(
        "sent_at", "id"
    )
    edits = [_from_draft(d) for d in sent.filter(significant=True).exclude(original_draft="")]
    gaps = [_from_draft(d) for d in sent.filter(drafted=False).exclude(sent_version="")]
    return edits + corrections(start=start, end=end), gaps


def corrections(*, start: datetime, end: datetime) -> list[LearningText]:
    """People's corrections given in [start, end) of what an action said. The original is
    the action's content (or its draft, when it came from one); the intent is its draft's,
    else the action's `intent` attribute, else its action type, so that corrections of the
    same kind of action are read together."""
    entries = list(
        FeedbackEntry.objects.filter(rated_at__gte=start, rated_at__lt=end, outcome__isnull=False)
        .exclude(correction="")
        .exclude(source=Source.DRAFT_EDIT)
        .select_related("outcome", "outcome__content", "reviewer")
        .order_by("rated_at", "id")
    )
    drafts = {
        d.action_id: d
        for d in DraftFeedback.objects.filter(
            action_id__in=[e.outcome.action_id for e in entries if e.outcome]
        ).exclude(original_draft="")
    }
    texts = []
    for entry in entries:
        outcome = entry.outcome
        assert outcome is not None
        draft = drafts.get(outcome.action_id)
        content = getattr(outcome, "content", None)
        original = draft.original_draft if draft else content.body if content else ""
        intent = (
            (draft.intent if draft else "")
            or str((outcome.attributes or {}).get("intent") or "")
            or outcome.action_type
        )
        texts.append(
            LearningText(
                action_id=outcome.action_id,
                conversation_id=entry.conversation_id,
                intent=intent[:100],
                original_draft=original,
                sent_version=entry.correction,
                edit_distance=edit_distance(original, entry.correction),
                corrected_by=entry.reviewer.username if entry.reviewer else "",
                at=outcome.occurred_at,
            )
        )
    return texts


def approval(*, since: datetime, excluding_intents: Iterable[str] = ()) -> tuple[int, int]:
    """Drafts sent since `since` (with a draft; none of `excluding_intents`): how many, and
    how many sent unedited."""
    counts = (
        DraftFeedback.objects.filter(sent_at__gte=since, drafted=True)
        .exclude(intent__in=list(excluding_intents))
        .aggregate(total=Count("id"), unedited=Count("id", filter=Q(edit_distance=0)))
    )
    return counts["total"], counts["unedited"]


def weekly_drafts(*, start: datetime, end: datetime) -> dict[date, dict[str, int]]:
    """Per week (its Monday) of [start, end]: messages sent, drafted by the agent, drafted
    from a known intent, and sent unedited."""
    drafted = Q(drafted=True)  # not the text: an erased draft still counts
    rows = (
        DraftFeedback.objects.filter(sent_at__gte=start, sent_at__lte=end)
        .annotate(week=TruncWeek("sent_at", tzinfo=UTC))
        .values("week")
        .annotate(
            messages=Count("id"),
            with_draft=Count("id", filter=drafted),  # not `drafted`: the field's name
            covered=Count("id", filter=drafted & ~Q(intent__in=["", "unknown"])),
            unedited=Count("id", filter=drafted & Q(edit_distance=0)),
        )
    )
    return {
        r["week"].date(): {
            "messages": r["messages"],
            "drafted": r["with_draft"],
            "covered": r["covered"],
            "unedited": r["unedited"],
        }
        for r in rows
    }


DAILY_SUM_COLUMNS = "day, rep_id, source, reviewer_role, count, sum_rating"


def daily_sums_query(*, days: Sequence[date]) -> tuple[str, dict[str, Any]]:
    """A SELECT of the feedback given on `days` (UTC), one row per day, rep of the
    conversation, source and reviewer role, columns DAILY_SUM_COLUMNS. Returned as SQL and
    parameters for insights' rollups to INSERT … SELECT in one statement."""
    low = datetime.combine(min(days), time.min, tzinfo=UTC)
    high = datetime.combine(max(days) + timedelta(days=1), time.min, tzinfo=UTC)
    query = """
        SELECT (f.rated_at AT TIME ZONE 'UTC')::date, c.rep_id, f.source, f.reviewer_role,
               count(*), sum(f.normalized_rating)
          FROM feedback_feedbackentry f JOIN outcomes_conversation c ON c.id = f.conversation_id
         WHERE f.rated_at >= %(feedback_low)s AND f.rated_at < %(feedback_high)s
           AND (f.rated_at AT TIME ZONE 'UTC')::date = ANY(%(feedback_days)s)
         GROUP BY 1, 2, 3, 4
    """
    return query, {"feedback_days": list(days), "feedback_low": low, "feedback_high": high}


def days_with_feedback(*, changed_since: datetime | None = None) -> list[date]:
    """The UTC days of feedback: all of them, or those given or revised since a time (a
    re-rating moves an entry away from the day of its earlier verdict, too)."""
    entries = FeedbackEntry.objects.all()
    if changed_since is None:
        days = entries.annotate(day=TruncDate("rated_at", tzinfo=UTC)).order_by().values_list("day")
        return sorted({day for (day,) in days.distinct()})
    changed = entries.filter(updated_at__gte=changed_since)
    current = changed.annotate(day=TruncDate("rated_at", tzinfo=UTC)).values_list("day")
    earlier = (
        FeedbackRevision.objects.filter(entry__in=changed)
        .annotate(day=TruncDate("rated_at", tzinfo=UTC))
        .values_list("day")
    )
    return sorted({day for (day,) in current.union(earlier)})


def reviewed(*, outcome_ids: Iterable[int]) -> set[tuple[str, int]]:
    """(reviewer's username, outcome id) of people's verdicts on these outcomes (a draft
    edit's automatic score is no one's)."""
    return set(
        FeedbackEntry.objects.filter(outcome_id__in=list(outcome_ids))
        .exclude(source=Source.DRAFT_EDIT)
        .values_list("reviewer__username", "outcome_id")
    )


def conversation_feedback(*, conversation_pk: int) -> list[FeedbackEntry]:
    """Every verdict on the conversation and its actions (people's and automatic ones)."""
    return list(
        FeedbackEntry.objects.filter(conversation_id=conversation_pk)
        .select_related("reviewer")
        .order_by("rated_at", "id")
    )


def conversation_drafts(*, conversation_pk: int) -> list[DraftFeedback]:
    return list(
        DraftFeedback.objects.filter(conversation_id=conversation_pk).order_by("sent_at", "id")
    )


def actions_erased_by(erasure: ContentErasure, action_ids: Iterable[str]) -> set[str]:
    """Of `action_ids`, those whose drafts or correctors' texts `erasure` removes (their
    conversation is erased, or, for the retention, the draft was sent or the correction
    given before its cutoff): what other apps quoted of them must go too."""
    ids = set(action_ids)
    if not ids:
        return set()
    if erasure.conversation_pks is not None:
        drafts = Q(conversation__in=erasure.conversation_pks)
        entries = Q(conversation__in=erasure.conversation_pks)
    else:
        drafts = Q(sent_at__lt=erasure.older_than)
        entries = Q(rated_at__lt=erasure.older_than)
    return set(
        DraftFeedback.objects.filter(drafts, action_id__in=ids).values_list("action_id", flat=True)
    ) | set(
        FeedbackEntry.objects.filter(entries, outcome__action_id__in=ids).values_list(
            "outcome__action_id", flat=True
        )
    )


def minutes_in_words(minutes: float | None) -> str:
    """A wait as people say it: "under a minute", "14 min", "2.5 h", "3 days"."""
    if minutes is None:
        return ""
    if minutes < 1:
        return "under a minute"
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h".replace(".0 h", " h")
    return f"{minutes / 1440:.1f} days".replace(".0 days", " days")


def prompt_answers(
    *, principal: Any, days: int = 30, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per channel (Slack, email), the prompts to the people in the principal's scope over
    the last `days` days: how many were sent and answered (a verdict given after the prompt
    was sent), the answer rate (answered / sent, 0-1; None when none was sent), the median
    minutes from sending to answer, how many failed or were not sent, and why most often."""
    since = period_start(days=days, now=now or timezone.now())
    rates = prompt_selectors.answer_rates(recipients=visible_users(user=principal), since=since)
    return [
        {
            "channel": rate.channel,
            "label": rate.label,
            "sent": rate.sent,
            "answered": rate.answered,
            "answer_rate": rate.rate,
            "median_minutes_to_answer": rate.median_minutes,
            "median_in_words": minutes_in_words(rate.median_minutes),
            "failed": rate.failed,
            "not_sent": rate.not_sent,
            "top_reason": rate.top_reason,
        }
        for rate in rates
    ]
