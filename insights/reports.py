"""The emailed reports: a daily one for each manager (their team, yesterday against the
week before) and a weekly one for each executive (the tenant, last week against the week
before, ROI).

A report is built from the same selectors as the dashboards (`insights.analytics` and
`insights.sums`), with its charts drawn on the server (`insights.charts`) and sent inline as
`cid:` images in a multipart/related HTML email, with a plain-text part. `--dry-run` writes
the same report to an `.eml` file (exactly what would be sent) and an `.html` file with the
images embedded, to open in a browser. Each (kind, user, period) is sent at most once: a
`ReportDelivery` row is claimed in the same transaction as the send. When the tenant has
a Slack reports channel, a short summary of the run's figures is posted there too, once per
period (`insights.slack_posts`).
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.mime.image import MIMEImage
from pathlib import Path
from typing import Any

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string

from coaching import selectors as coaching_selectors
from insights import analytics, charts, slack_posts
from insights.models import Alert, ReportDelivery, ReportKind
from insights.sums import Window, decided, maturity, outcome_rows, rate_in_words, success_rate
from learning.models import Role, User
from learning.selectors import reachable, reps_of
from learning.tenancy.urls import tenant_urls

logger = structlog.get_logger(__name__)

ROLES = {"manager": ReportKind.MANAGER_DAILY, "executive": ReportKind.EXECUTIVE_WEEKLY}
RECIPIENT_ROLE = {
    ReportKind.MANAGER_DAILY: Role.MANAGER,
    ReportKind.EXECUTIVE_WEEKLY: Role.EXECUTIVE,
}


@dataclass
class Report:
    kind: str
    user: User
    period: Window
    subject: str
    template: str  # without extension: .html and .txt
    context: dict[str, Any]
    images: dict[str, bytes] = field(default_factory=dict)

    def render(self, *, inline: bool) -> tuple[str, str]:
        """(text, html). `inline`: images as `cid:` references (email) or as data URIs
        (a file to open in a browser)."""
        sources = {
            name: f"cid:{name}"
            if inline
            else "data:image/png;base64," + base64.b64encode(png).decode()
            for name, png in self.images.items()
        }
        context = {**self.context, "images": sources, "subject": self.subject}
        return (
            render_to_string(f"{self.template}.txt", context),
            render_to_string(f"{self.template}.html", context),
        )

    def message(self) -> EmailMultiAlternatives:
        text, html = self.render(inline=True)
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[self.user.email],
        )
        message.attach_alternative(html, "text/html")
        message.mixed_subtype = "related"
        for name, png in self.images.items():
            image = MIMEImage(png, "png")
            image.add_header("Content-ID", f"<{name}>")
            image.add_header("Content-Disposition", "inline", filename=f"{name}.png")
            message.attach(image)
        return message


def _rate_change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _summed(days: list[dict[str, Any]]) -> dict[str, Any]:
    """The days' figures added up, with their success rate (outcomes.rules' one rule) and
    how settled it is (insights.sums.maturity)."""
    keys = ("actions", "positive", "negative", "expired", "escalations", "pending", "ambiguous")
    total = {key: sum(d[key] for d in days) for key in keys}
    figures = {
        **total,
        "decided": decided(total),
        "success_rate": success_rate(total),
        **maturity({**total, "total": total["actions"]}),
    }
    return {**figures, "rate_words": rate_in_words(figures)}


def _with_words(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their success rate in words, marked "so far" with its range if unsettled."""
    return [{**row, "rate_words": rate_in_words(row)} for row in rows]


def _short(day: date) -> str:
    return day.strftime("%d %b")


def _trend_chart(periods: list[tuple[date, dict[str, Any]]], *, title: str) -> bytes:
    """Actions (bars) and success rate (line) of each period, labelled by its first day."""
    return charts.trend(
        [_short(start) for start, _ in periods],
        [figures["actions"] for _, figures in periods],
        [figures["success_rate"] for _, figures in periods],
        title=title,
    )


def _rates_chart(
    rows: list[dict[str, Any]], name: str, *, title: str, baseline: float | None
) -> bytes:
    """Each row's success rate, named by its `name` field, with how many outcomes it rests
    on, against a dashed baseline."""
    return charts.rates(
        [row[name] for row in rows],
        [row["success_rate"] for row in rows],
        [f"{row['positive']} of {row['decided']}" for row in rows],
        title=title,
        baseline=baseline,
    )


def manager_report(*, user: User, today: date) -> Report:
    """`user`'s team yesterday, against the 7 days before; per rep over the last 7 days."""
    yesterday = today - timedelta(days=1)
    week = Window.last(7, today=yesterday)
    fortnight = Window.last(14, today=yesterday)
    ids = list(reps_of(user=user).values_list("pk", flat=True))
    trend = analytics.daily_trend(outcome_rows(fortnight, rep_ids=ids), fortnight)
    day = _summed(trend[-1:])
    before = _summed(trend[-8:-1])
    view = analytics.manager_view(user=user, window=week)
    per_rep = sorted(view["per_rep"], key=lambda r: (r["success_rate"] is None, r["rep"]))
    images = {
        "trend": _trend_chart(
            [(date.fromisoformat(d["date"]), d) for d in trend],
            title="Team actions per day and success rate, last 14 days",
        ),
    }
    if per_rep:
        images["reps"] = _rates_chart(
            per_rep,
            "rep",
            title="Success rate per rep, last 7 days (dashed: team)",
            baseline=view["totals"]["success_rate"],
        )
    return Report(
        kind=ReportKind.MANAGER_DAILY,
        user=user,
        period=Window(yesterday, yesterday),
        subject=f"[Learning Loop] Your team on {yesterday:%a %d %b %Y}",
        template="insights/email/manager_report",
        context={
            "user": user,
            "day": yesterday,
            "yesterday": day,
            "before": before,
            # compared only once both are settled: an unsettled day's rate runs high
            "change": _rate_change(day["settled_rate"], before["settled_rate"]),
            "week": view,
            "per_rep": _with_words(per_rep),
            "opportunities": _with_words(view["coaching_opportunities"]),
            "alerts": list(Alert.objects.filter(closed_at__isnull=True)[:10]),
            "patterns": [p for p in coaching_selectors.patterns() if p.effect is not None][:3],
            "url": _tenant_url("manager/"),
        },
        images=images,
    )


def executive_report(*, user: User, today: date) -> Report:
    """The tenant's last full week (Monday to Sunday when sent on a Monday) against the
    week before, ROI, and eight weeks of trend."""
    yesterday = today - timedelta(days=1)
    week = Window.last(7, today=yesterday)
    previous = Window.last(7, today=yesterday - timedelta(days=7))
    eight_weeks = Window.last(56, today=yesterday)
    view = analytics.executive_view(window=week)
    prior = analytics.executive_view(window=previous)
    weekly: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in analytics.daily_trend(outcome_rows(eight_weeks), eight_weeks):
        weekly[(yesterday - date.fromisoformat(entry["date"])).days // 7].append(entry)
    weeks = [
        (eight_weeks.start + timedelta(days=7 * (7 - i)), _summed(weekly[i]))
        for i in range(7, -1, -1)
    ]
    by_type = [t for t in view["by_action_type"] if t["decided"]]
    images = {
        "trend": _trend_chart(weeks, title="Agent actions per week and success rate, last 8 weeks"),
    }
    if by_type:
        images["types"] = _rates_chart(
            by_type,
            "action_type",
            title="Success rate per action type, last week (dashed: human baseline)",
            baseline=view["agent_vs_human"]["human_success_rate"],
        )
    return Report(
        kind=ReportKind.EXECUTIVE_WEEKLY,
        user=user,
        period=week,
        subject=f"[Learning Loop] Week of {week.start:%d %b} to {week.end:%d %b %Y}",
        template="insights/email/executive_report",
        context={
            "user": user,
            "week": week,
            "view": view,
            "prior": prior["totals"],
            "rate_words": rate_in_words(view["totals"]),
            # compared only once both are settled: an unsettled week's rate runs high
            "change": _rate_change(view["totals"]["settled_rate"], prior["totals"]["settled_rate"]),
            "url": _tenant_url("executive/"),
        },
        images=images,
    )


BUILDERS = {ReportKind.MANAGER_DAILY: manager_report, ReportKind.EXECUTIVE_WEEKLY: executive_report}


def _tenant_url(path: str) -> str:
    tenant = getattr(connection, "tenant", None)
    return str(tenant_urls(tenant)["web_url"]) + path if tenant is not None else ""


def recipients(kind: str) -> Iterator[User]:
    return reachable(RECIPIENT_ROLE[ReportKind(kind)]).iterator()


@dataclass
class Sent:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already sent for this period
    failed: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    posted: bool = False  # its summary queued for the tenant's Slack reports channel


def send(*, kind: str, today: date | None = None, dry_run_dir: Path | None = None) -> Sent:
    """Build and send `kind` to every recipient of this tenant; with `dry_run_dir`, write
    the reports there instead and record nothing."""
    today = today or Window.last(1).end
    result = Sent()
    for user in recipients(kind):
        report = BUILDERS[ReportKind(kind)](user=user, today=today)
        if dry_run_dir is not None:
            result.written += write(report, dry_run_dir)
            continue
        try:
            with transaction.atomic():
                ReportDelivery.objects.create(
                    kind=kind,
                    user=user,
                    period_start=report.period.start,
                    period_end=report.period.end,
                )
                report.message().send()
        except IntegrityError:
            result.skipped.append(user.username)
            continue
        except OSError as error:  # SMTP down or refusing: nothing recorded, next run retries
            logger.warning("report_not_sent", kind=kind, user=user.username, error=str(error))
            result.failed.append(user.username)
            continue
        result.sent.append(user.username)
    if dry_run_dir is None:  # and a summary to the reports channel, once per period
        result.posted = slack_posts.post_report(
            kind=kind, today=today, period_end=today - timedelta(days=1)
        )
    return result


def write(report: Report, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    tenant = getattr(connection, "tenant", None)
    slug = getattr(tenant, "slug", "tenant")
    stem = f"{slug}-{report.kind}-{report.period.end}-{report.user.username}"
    eml = directory / f"{stem}.eml"
    eml.write_bytes(report.message().message().as_bytes())
    html = directory / f"{stem}.html"
    html.write_text(report.render(inline=False)[1], encoding="utf-8")
    return [eml, html]
