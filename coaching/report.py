"""The weekly learning report to admins, after each batch-learning run (coaching.batch):
how many improvement proposals wait for review (new this week, and older), the first five
of them, what was approved or rejected in the week, and a link to the proposals on the
learning page. It goes as an email (HTML and text) to each active admin with an address,
and to the tenant's Slack reports channel when it has one.

When a run reports:
- it proposed something that was not pending before it: always;
- otherwise, when proposals wait for review or some were decided in the week, only if no
  report went out for a run in the 6 days before this one (a weekly reminder; a rerun over
  the same week with nothing new sends nothing, the first report still stands);
- nothing waits for review and nothing was decided in the week: nothing is sent.

`BatchRun.notified_at` records that a run's report went out (once per run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from coaching.models import BatchRun, LearningProposal, ProposalStatus
from learning.models import Role
from learning.selectors import reachable
from learning.tenancy.urls import absolute_url
from prompts import services as prompt_services
from prompts.blocks import escape

logger = structlog.get_logger(__name__)

TOP = 5
REMINDER_DAYS = 6


@dataclass
class LearningReport:
    run: BatchRun
    new_this_run: int
    new_this_week: int
    older: int
    top: list[dict[str, Any]]
    approved: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def pending(self) -> int:
        return self.new_this_week + self.older

    @property
    def more(self) -> int:
        """Pending proposals beyond the ones listed."""
        return self.pending - len(self.top)

    @property
    def decided_line(self) -> str:
        """One line of what admins decided in the week."""
        if not self.approved and not self.rejected:
            return "Nothing was approved or rejected this week."
        parts = []
        if self.approved:
            parts.append(f"{len(self.approved)} approved ({', '.join(self.approved[:3])})")
        if self.rejected:
            parts.append(f"{len(self.rejected)} rejected ({', '.join(self.rejected[:3])})")
        return "This week: " + "; ".join(parts) + "."

    @property
    def subject(self) -> str:
        if not self.pending:
            return "[Learning Loop] Weekly learning: nothing waits for review"
        return (
            f"[Learning Loop] Weekly learning: {self.pending} "
            f"improvement{'s' if self.pending != 1 else ''} to review"
        )


def build(run: BatchRun) -> LearningReport:
    pending = list(
        LearningProposal.objects.filter(status=ProposalStatus.PENDING).order_by(
            "-created_at", "-count", "id"
        )
    )
    new = [p for p in pending if p.created_at >= run.period_start]
    top = sorted(pending, key=lambda p: (p.created_at < run.period_start, -p.count, p.pk))[:TOP]
    decided = LearningProposal.objects.filter(decided_at__gte=run.period_start).order_by(
        "decided_at"
    )
    return LearningReport(
        run=run,
        new_this_run=sum(1 for p in pending if p.created_at >= run.started_at),
        new_this_week=len(new),
        older=len(pending) - len(new),
        top=[
            {
                "kind": p.get_kind_display(),
                "title": p.title,
                "count": p.count,
                "new": p.created_at >= run.period_start,
                "url": absolute_url("learning-proposal", p.pk),
            }
            for p in top
        ],
        approved=[p.title for p in decided if p.status == ProposalStatus.APPROVED],
        rejected=[p.title for p in decided if p.status == ProposalStatus.REJECTED],
        url=absolute_url("learning-dashboard") + "#proposals-heading",
    )


def due(report: LearningReport) -> bool:
    """Whether this run's report goes out (the rule in the module's docstring)."""
    if report.new_this_run:
        return True
    if not report.pending and not report.approved and not report.rejected:
        return False
    since = report.run.period_end - timedelta(days=REMINDER_DAYS)
    reported = BatchRun.objects.exclude(pk=report.run.pk).filter(
        notified_at__isnull=False, period_end__gt=since
    )
    return not reported.exists()


def send(run: BatchRun) -> bool:
    """Report `run` to the admins and the reports channel, once, when it is due; whether
    it went out."""
    if BatchRun.objects.filter(pk=run.pk, notified_at__isnull=False).exists():
        return False  # reported already
    report = build(run)
    if not due(report):
        return False
    context = {"report": report, "run": run}
    text = render_to_string("coaching/email/learning_report.txt", context)
    html = render_to_string("coaching/email/learning_report.html", context)
    for email in reachable(Role.ADMIN).values_list("email", flat=True):
        message = EmailMultiAlternatives(
            subject=report.subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[email]
        )
        message.attach_alternative(html, "text/html")
        try:
            message.send()
        except OSError as error:  # SMTP down or refusing: the others still get theirs
            logger.warning("learning_report_not_sent", to=email, error=str(error))
    _post(report)
    BatchRun.objects.filter(pk=run.pk).update(notified_at=timezone.now())
    return True


def slack_message(report: LearningReport) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for the reports channel."""
    if report.pending:
        headline = (
            f"{report.pending} improvement{'s' if report.pending != 1 else ''} suggested by "
            f"batch learning wait for review ({report.new_this_week} new this week, "
            f"{report.older} older)."
        )
    else:
        headline = "No improvement proposal waits for review."
    lines = [
        f"• <{item['url']}|{escape(item['title'])}> ({item['kind']}, seen {item['count']} times)"
        for item in report.top
    ]
    body = "\n".join([escape(headline), *lines])
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Weekly learning report"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "open_proposals",
                    "text": {"type": "plain_text", "text": "Review proposals"},
                    "url": report.url,
                }
            ],
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": escape(report.decided_line)}],
        },
    ]
    return f"Weekly learning report: {headline} {report.decided_line}", blocks


def _post(report: LearningReport) -> None:
    try:
        text, blocks = slack_message(report)
        prompt_services.post_to_reports_channel(
            text=text, blocks=blocks, about=f"learning report {report.run.pk}"
        )
    except Exception as exc:  # Slack is never the report's failure
        logger.warning("learning_report_not_posted", run=report.run.pk, error=str(exc))
