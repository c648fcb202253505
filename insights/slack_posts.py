"""What insights posts to the tenant's Slack reports channel (`SlackConnection.
reports_channel`): each newly opened alert, and a short summary of the daily manager and
weekly executive reports.

The messages are composed here (Block Kit, with absolute links into the product) and
delivered by prompts (a Celery task that tries again after Slack's Retry-After): Slack being
slow, rate-limiting or down never fails an alert's evaluation or a report's sending, it is
logged. Nothing is queued when the tenant has no reports channel.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import structlog
from django.core.cache import cache

from feedback import review as feedback_review
from insights import analytics
from insights.models import Alert, ReportKind
from insights.sums import ESCALATION, Window, maturity, outcome_rows, success_rate, sum_rows
from learning.tenancy.cache import tenant_key
from learning.tenancy.urls import absolute_url
from prompts import services as prompt_services
from prompts.blocks import escape

logger = structlog.get_logger(__name__)

# How long a report's post is remembered (the executive report is weekly): a rerun of the
# job within it posts nothing again.
CLAIM_SECONDS = 8 * 24 * 3600

MEANING = (
    "_Worked_: positive among the outcomes decided so far (a reply, a meeting, a resolved "
    "escalation…); a rate is _settled_ once at most 5 % of its actions still wait for a "
    "signal. _To label_: outcomes waiting for a person's verdict."
)


def _button(text: str, url: str, action_id: str) -> dict[str, Any]:
    # A link button: Slack opens the URL (and its click reaches the interactivity endpoint
    # without a value, which answers 200 and does nothing).
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "url": url,
    }


def _post(text: str, blocks: list[dict[str, Any]], *, about: str) -> bool:
    """Queue the post; never raises (Slack is not on the path of what asked for it)."""
    try:
        return prompt_services.post_to_reports_channel(text=text, blocks=blocks, about=about)
    except Exception as exc:  # a database or cache hiccup reading the channel: log, go on
        logger.warning("channel_post_not_queued", about=about, error=str(exc))
        return False


# --- alerts ------------------------------------------------------------------------------


def alert_message(
    alert: Alert, *, link: tuple[str, str] | None, alerts_url: str
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks): the rule's name, the message, a button to the page that
    shows it (or to the alerts page) and when it opened."""
    title = alert.get_rule_display() + (f": {alert.subject}" if alert.subject else "")
    open_url = link[0] if link else alerts_url
    context = (
        f"Opened {alert.opened_at:%Y-%m-%d %H:%M} UTC · "
        f"<{alerts_url}|Acknowledge or snooze it on the alerts page> · it closes by itself "
        "when the condition no longer holds."
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"🔔 {title}"[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(alert.message)[:3000]}},
        {
            "type": "actions",
            "block_id": f"alert:{alert.pk}",
            "elements": [_button("Open in Learning Loop", open_url, "open_alert")],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]
    return f"Alert: {title}. {alert.message}"[:3000], blocks


def post_alert(alert: Alert, *, link: tuple[str, str] | None, alerts_url: str) -> bool:
    """Post a newly opened alert to the reports channel (called once per episode, by
    alerts.notify); False when nothing was queued."""
    try:
        text, blocks = alert_message(alert, link=link, alerts_url=alerts_url)
    except Exception as exc:  # composing never fails the notification
        logger.warning("alert_post_not_composed", alert=alert.pk, error=str(exc))
        return False
    return _post(text, blocks, about=f"alert {alert.pk}")


# --- reports -----------------------------------------------------------------------------


def _percent(rate: float | None) -> str:
    return f"{rate:.0%}".replace("%", " %") if rate is not None else "n/a"


def _worked(s: dict[str, float]) -> str:
    """ "64 % worked (settled)", or so far with the range it can still end in."""
    rate = success_rate(s)
    if rate is None:
        return "none decided yet"
    m = maturity(s)
    if m["settled"]:
        return f"{_percent(rate)} worked (settled)"
    return (
        f"{_percent(rate)} worked so far (not settled: {_percent(m['rate_low'])} to "
        f"{_percent(m['rate_high'])} once all are in)"
    )


def daily_summary(*, today: date) -> tuple[str, list[dict[str, Any]]]:
    """The tenant's yesterday, in one line, and a link to the team dashboard."""
    yesterday = today - timedelta(days=1)
    rows = outcome_rows(Window(yesterday, yesterday))
    s = sum_rows(rows)
    escalations = int(sum(r["total"] for r in rows if r["outcome_type"] == ESCALATION))
    to_label = feedback_review.to_label_count_everyone()  # as the alert counts them
    line = (
        f"Yesterday ({yesterday:%a %-d %b}): {int(s['total']):,} agent actions, {_worked(s)}, "
        f"{escalations} escalation{'s' if escalations != 1 else ''}; {to_label:,} to label "
        "across the company."
    )
    return _report_blocks(
        title="Daily report",
        line=line,
        url=absolute_url("manager-home", query="days=7"),
        button="Open the team dashboard",
    )


def weekly_summary(*, today: date) -> tuple[str, list[dict[str, Any]]]:
    """The tenant's last 7 days (to yesterday): actions, success against the human
    baseline, net savings and hours saved, and a link to the executive dashboard."""
    week = Window.last(7, today=today - timedelta(days=1))
    view = analytics.executive_view(window=week)
    s = sum_rows(outcome_rows(week))
    roi = view["roi"]
    ratio = f" (ROI {roi['roi']:.1f}x)" if roi["roi"] is not None else ""
    line = (
        f"Last week ({week.start:%-d %b} to {week.end:%-d %b}): "
        f"{int(s['total']):,} agent actions, {_worked(s)} against a human baseline of "
        f"{_percent(view['agent_vs_human']['human_success_rate'])}; net savings "
        f"{roi['currency']} {roi['net_savings']:,.2f}{ratio}, {roi['hours_saved']:,.0f} hours "
        f"of people's work saved by the {roi['worked']:,} actions that worked."
    )
    return _report_blocks(
        title="Weekly executive report",
        line=line,
        url=absolute_url("executive-home"),
        button="Open the executive dashboard",
    )


def _report_blocks(
    *, title: str, line: str, url: str, button: str
) -> tuple[str, list[dict[str, Any]]]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(line)}},
        {"type": "actions", "elements": [_button(button, url, "open_dashboard")]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": MEANING}]},
    ]
    return f"{title}: {line}", blocks


SUMMARIES = {ReportKind.MANAGER_DAILY: daily_summary, ReportKind.EXECUTIVE_WEEKLY: weekly_summary}


def post_report(*, kind: str, today: date, period_end: date) -> bool:
    """Post `kind`'s summary to the reports channel once per period (a rerun of the job
    posts nothing again); False when nothing was queued."""
    try:
        if not prompt_services.reports_channel():
            return False
        text, blocks = SUMMARIES[ReportKind(kind)](today=today)
        if not cache.add(tenant_key("slackpost", kind, period_end), 1, timeout=CLAIM_SECONDS):
            return False
    except Exception as exc:  # composing never fails the report's sending
        logger.warning("report_post_not_composed", kind=kind, error=str(exc))
        return False
    return _post(text, blocks, about=f"{kind} {period_end}")
