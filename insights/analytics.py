"""The numbers behind each role's dashboard, from the daily rollups plus today's live rows
(insights.sums: a window's rows, their sums, and the success rate by outcomes.rules' one
definition). The *response rate* is the success rate of email engagement. Feedback
averages are of the normalised rating, [0, 1].
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import Q

from calibration import selectors as calibration_selectors
from coaching import selectors as coaching_selectors
from feedback import review as feedback_review
from insights import cache as analytics_cache
from insights import qualification
from insights.models import AnalyticsSettings
from insights.sums import (
    ESCALATION,
    Window,
    brier,
    decided,
    feedback_rows,
    maturity,
    outcome_rows,
    success_rate,
    sum_rows,
)
from insights.sums import SETTLED_WAITING_SHARE as SETTLED_WAITING_SHARE  # re-exported
from insights.sums import SUMS as SUMS  # re-exported
from learning.models import User
from learning.plain_words import action_type_words
from learning.selectors import reps_of, visible_users


def _figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    s = sum_rows(rows)
    return {
        "actions": int(s["total"]),
        "decided": int(decided(s)),
        "positive": int(s["positive"]),
        "negative": int(s["negative"]),
        "expired": int(s["expired"]),
        "ambiguous": int(s["ambiguous"]),
        "pending": int(s["pending"]),
        "success_rate": success_rate(s),
        "brier_score": brier(s),
        **maturity(s),
    }


def _by(rows: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return groups


def daily_trend(rows: list[dict[str, Any]], window: Window) -> list[dict[str, Any]]:
    by_day = _by(rows, "day")
    trend = []
    for day in window.days():
        day_rows = by_day.get(day, [])
        escalations = [r for r in day_rows if r["outcome_type"] == ESCALATION]
        trend.append(
            {
                "date": day.isoformat(),
                **_figures(day_rows),
                "escalations": int(sum_rows(escalations)["total"]),
            }
        )
    return trend


def _feedback(rows: list[dict[str, Any]]) -> dict[str, Any]:
    explicit = [r for r in rows if r["source"] != "draft_edit"]
    count = sum(r["count"] for r in explicit)
    total = sum(r["sum_rating"] for r in explicit)
    by_source: dict[str, dict[str, Any]] = {}
    for source, group in _by(rows, "source").items():
        n = sum(r["count"] for r in group)
        by_source[source] = {"count": n, "average_rating": sum(r["sum_rating"] for r in group) / n}
    return {
        "count": count,
        "average_rating": total / count if count else None,
        "by_source": by_source,
    }


def _escalations(rows: list[dict[str, Any]]) -> dict[str, Any]:
    escalated = [r for r in rows if r["outcome_type"] == ESCALATION]
    figures = _figures(escalated)
    actions = sum_rows(rows)["total"]
    return {
        "count": figures["actions"],
        "rate": figures["actions"] / actions if actions else None,
        "resolved_well": figures["positive"],
        "needless": figures["negative"],
    }


def _deals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    deals = [r for r in rows if r["outcome_type"] == "deal_progression"]
    s = sum_rows(deals)
    with_score = s["positive"] + s["negative"]  # expired deal moves have no score
    return {
        "actions": int(s["total"]),
        "advanced": int(s["positive"]),
        "lost_or_back": int(s["negative"]),
        "mean_score": s["sum_score"] / with_score if with_score else None,
    }


def _by_action_type(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"action_type": name, **_figures(group)}
        for name, group in sorted(_by(rows, "action_type").items())
    ]


def rep_view(*, rep: User, window: Window, action_type: str | None = None) -> dict[str, Any]:
    rows = outcome_rows(window, rep_ids=[rep.pk], action_type=action_type)
    email = sum_rows(r for r in rows if r["outcome_type"] == "email_engagement")
    return {
        "rep": rep.username,
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "totals": _figures(rows),
        "response_rate": success_rate(email),
        # whether it is settled, and where it will end if not (as every rate)
        "response": {"success_rate": success_rate(email), **maturity(email)},
        "escalations": _escalations(rows),
        "deal_impact": _deals(rows),
        "feedback": _feedback(feedback_rows(window, rep_ids=[rep.pk])),
        # of conversations, whatever the action type (insights.qualification)
        "qualification": qualification.completion(window, rep_ids=[rep.pk]),
        "by_action_type": _by_action_type(rows),
        "trend": daily_trend(rows, window),
    }


def manager_view(*, user: User, window: Window, action_type: str | None = None) -> dict[str, Any]:
    team = list(reps_of(user=user))
    ids = [u.pk for u in team]
    rows = outcome_rows(window, rep_ids=ids, action_type=action_type)
    feedback = feedback_rows(window, rep_ids=ids)
    by_rep = _by(rows, "rep_id")
    feedback_by_rep = _by(feedback, "rep_id")
    per_rep = [
        {
            "rep": member.username,
            **_figures(by_rep.get(member.pk, [])),
            "escalation_rate": _escalations(by_rep.get(member.pk, []))["rate"],
            "feedback": _feedback(feedback_by_rep.get(member.pk, [])),
        }
        for member in team
    ]
    opportunities = [
        {
            "rep": member.username,
            "action_type": entry["action_type"],
            "success_rate": entry["success_rate"],
            "decided": entry["decided"],
            # whether the rate is settled, and where it will end if not (insights.sums)
            "settled": entry["settled"],
            "waiting": entry["waiting"],
            "rate_low": entry["rate_low"],
            "rate_high": entry["rate_high"],
            "why": "success below 40 % with at least 20 decided outcomes",
        }
        for member in team
        for entry in _by_action_type(by_rep.get(member.pk, []))
        if entry["decided"] >= 20 and (entry["success_rate"] or 0) < 0.4
    ]
    health = [
        {
            "action_type": curve["action_type"],
            "sample_count": curve["sample_count"],
            "brier_score": curve["brier_score"],
            "ece": curve["ece"],
            "policy": curve["policy"],
        }
        for curve in calibration_selectors.curves()
    ]
    team_qualification, rep_qualification = qualification.completion_by_rep(window, rep_ids=ids)
    to_label, more_to_label = feedback_review.to_label_count(user=user)
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "team": [m.username for m in team],
        # of conversations, whatever the action type (insights.qualification)
        "qualification": {
            **team_qualification,
            "per_rep": [{"rep": m.username, **rep_qualification[m.pk]} for m in team],
        },
        "totals": _figures(rows),
        "trend": daily_trend(rows, window),
        "per_rep": per_rep,
        "coaching_opportunities": opportunities,
        "calibration_health": health,
        # the manager's To label queue now, as its tab counts it (labels count at once):
        # up to feedback.review.COUNTED, and whether more wait
        "review_queue": to_label,
        "review_queue_more": more_to_label,
        "feedback": _feedback(feedback),
        "coaching_patterns": [coaching_selectors.as_dict(p) for p in coaching_selectors.patterns()],
    }


def analytics_settings() -> AnalyticsSettings:
    return AnalyticsSettings.objects.filter(pk=1).first() or AnalyticsSettings()


def roi(totals: dict[str, Any], config: AnalyticsSettings) -> dict[str, Any]:
    """What the period's agent actions cost against the work people would have done for
    the ones that worked: every action costs, only a success saves work (a failed or
    expired action saved nobody anything, and one still waiting for its outcome is not
    counted until it turns out to have worked)."""
    actions, worked = totals["actions"], totals["positive"]
    agent_cost = float(config.agent_cost_per_interaction) * actions
    hours_saved = worked * config.human_minutes_per_interaction / 60
    human_cost = hours_saved * float(config.human_hourly_cost)
    return {
        "interactions": actions,
        "worked": worked,
        "not_worked": totals["negative"] + totals["expired"],
        "still_waiting": totals["pending"] + totals["ambiguous"],
        "agent_cost": round(agent_cost, 2),
        "hours_saved": round(hours_saved, 2),
        "human_cost_of_same_work": round(human_cost, 2),
        "net_savings": round(human_cost - agent_cost, 2),
        "roi": round((human_cost - agent_cost) / agent_cost, 3) if agent_cost else None,
    }


def executive_view(*, window: Window, action_type: str | None = None) -> dict[str, Any]:
    rows = outcome_rows(window, action_type=action_type)
    config = analytics_settings()
    totals = _figures(rows)
    length = (window.end - window.start).days + 1
    before = Window(window.start - timedelta(days=length), window.start - timedelta(days=1))
    previous = _figures(outcome_rows(before, action_type=action_type))
    weeks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["outcome_type"] == "email_engagement":
            monday = row["day"] - timedelta(days=row["day"].weekday())
            weeks[monday.isoformat()].append(row)
    engagement = []
    for week, group in sorted(weeks.items()):
        summed = sum_rows(group)
        settled = maturity(summed)
        engagement.append(
            {
                "week": week,
                "response_rate": settled["settled_rate"],  # drawn only once settled
                "response_rate_so_far": success_rate(summed),
                "emails": int(summed["total"]),
                "waiting_share": settled["waiting_share"],
                "settled": settled["settled"],
            }
        )
    by_type = _by_action_type(rows)
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "totals": totals,
        "roi": {
            **roi(totals, config),
            "currency": config.currency,
            "cost_per_interaction": float(config.agent_cost_per_interaction),
            # what the figures assume (the tenant's analytics settings)
            "minutes_per_interaction": config.human_minutes_per_interaction,
            "hourly_cost": float(config.human_hourly_cost),
            # the same figures over the period just before, as long
            "previous": {
                "window": {"start": before.start.isoformat(), "end": before.end.isoformat()},
                **roi(previous, config),
            },
        },
        "agent_vs_human": {
            "agent_success_rate": totals["success_rate"],
            "human_success_rate": config.human_success_rate,
            "lift": (
                totals["success_rate"] - config.human_success_rate
                if totals["success_rate"] is not None
                else None
            ),
        },
        "engagement_trend": engagement,
        # of conversations, whatever the action type (insights.qualification)
        "qualification": qualification.completion(window),
        "by_action_type": by_type,
        "insights": _insights(by_type, totals, config),
        "trend": daily_trend(rows, window),
    }


def _so_far(figures: dict[str, Any]) -> str:
    """What follows a success rate that is not settled (as the tables mark it): "so far"
    and the range it will end in; nothing once settled."""
    if figures["settled"] or figures["rate_low"] is None:
        return ""
    low, high = figures["rate_low"], figures["rate_high"]
    return f" so far; not settled: it will end between {low:.0%} and {high:.0%}"


def _insights(
    by_type: list[dict[str, Any]], totals: dict[str, Any], config: AnalyticsSettings
) -> list[str]:
    """A few plain sentences for people who will not read the tables."""
    notes = []
    ranked = [t for t in by_type if t["decided"] >= 20 and t["success_rate"] is not None]
    if ranked:
        best = max(ranked, key=lambda t: t["success_rate"])
        worst = min(ranked, key=lambda t: t["success_rate"])
        notes.append(
            f"{action_type_words(best['action_type'])} works best "
            f"({best['success_rate']:.0%} of {best['decided']} decided{_so_far(best)}); "
            f"{action_type_words(worst['action_type'])} works least "
            f"({worst['success_rate']:.0%}{_so_far(worst)})."
        )
    if totals["success_rate"] is not None:
        lift = totals["success_rate"] - config.human_success_rate
        sentence = (
            f"The agent succeeds {'more' if lift >= 0 else 'less'} often than the human "
            f"baseline: {totals['success_rate']:.0%} vs {config.human_success_rate:.0%}"
        )
        if not totals["settled"] and totals["rate_low"] is not None:
            low, high = totals["rate_low"], totals["rate_high"]
            sentence += (
                f", but {totals['waiting_share']:.0%} of the period's actions still wait for "
                f"an outcome, so it will end between {low:.0%} and {high:.0%}"
            )
            if low < config.human_success_rate < high:
                sentence += ": too early to say which is better"
        notes.append(sentence + ".")
    off = [t for t in ranked if t["brier_score"] is not None and t["brier_score"] > 0.25]
    for entry in off:
        notes.append(
            f"{action_type_words(entry['action_type'])}: the agent's confidence is worse than a "
            "coin flip "
            f"(Brier {entry['brier_score']:.2f}); its policy is being adjusted."
        )
    return notes


def visible_rep(*, viewer: User, username: str | None) -> User | None:
    """The rep whose view `viewer` asks for: themselves, or (manager and up) one in scope."""
    if not username or username == viewer.username:
        return viewer
    return visible_users(user=viewer).filter(Q(username=username)).first()


def cached_rep_view(*, rep: User, window: Window, action_type: str | None = None) -> dict[str, Any]:
    return analytics_cache.cached(
        "rep",
        {"rep": rep.pk, "window": window, "type": action_type},
        lambda: rep_view(rep=rep, window=window, action_type=action_type),
    )


def cached_manager_view(
    *, user: User, window: Window, action_type: str | None = None
) -> dict[str, Any]:
    return analytics_cache.cached(
        "manager",
        {"user": user.pk, "window": window, "type": action_type},
        lambda: manager_view(user=user, window=window, action_type=action_type),
    )


def cached_executive_view(*, window: Window, action_type: str | None = None) -> dict[str, Any]:
    return analytics_cache.cached(
        "executive",
        {"window": window, "type": action_type},
        lambda: executive_view(window=window, action_type=action_type),
    )
