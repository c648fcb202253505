"""Reading the record of prompts: the answer rate per channel, a person's last prompts,
and those waiting to be handed over (again)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from prompts.models import Channel, Prompt, Status


@dataclass(frozen=True)
class AnswerRate:
    channel: str
    label: str
    sent: int
    answered: int
    failed: int
    not_sent: int
    median_minutes: float | None
    top_reason: str = ""  # the most frequent reason among those failed or not sent

    @property
    def rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None


def answer_rates(*, recipients: Any, since: datetime) -> list[AnswerRate]:
    """Per channel, of the prompts to these people since `since`: how many were sent,
    answered (a verdict given after the prompt was sent), failed, or not sent; and the
    median time from sending to answer, and why those not sent were not, most often."""
    rows = list(
        Prompt.objects.filter(recipient__in=recipients, created_at__gte=since).values_list(
            "channel", "status", "sent_at", "answered_at", "reason"
        )
    )
    result = []
    for channel, label in Channel.choices:
        mine = [row for row in rows if row[0] == channel]
        sent = [(status, at) for _, status, at, _, _ in mine if at is not None]
        waits = [
            (answered - at).total_seconds() / 60
            for _, _, at, answered, _ in mine
            if at is not None and answered is not None and answered >= at
        ]
        reasons = Counter(
            reason
            for _, status, _, _, reason in mine
            if status in (Status.FAILED, Status.SKIPPED) and reason
        )
        result.append(
            AnswerRate(
                channel=channel,
                label=label,
                sent=len(sent),
                answered=len(waits),
                failed=sum(row[1] == Status.FAILED for row in mine),
                not_sent=sum(row[1] == Status.SKIPPED for row in mine),
                median_minutes=round(statistics.median(waits), 1) if waits else None,
                top_reason=reasons.most_common(1)[0][0] if reasons else "",
            )
        )
    return result


@dataclass(frozen=True)
class PromptLine:
    """One prompt as its recipient reads it on their settings page."""

    created_at: datetime
    action: str
    conversation: str
    channel: str
    status: str
    reason: str
    sent_at: datetime | None
    answered_at: datetime | None
    answered_via: str
    minutes_to_answer: float | None


ANSWERED_VIA = {
    "slack": "with the Slack button",
    "link": "with the email's link",
    "review_page": "on the review page",
    "api": "through the API",
}


def recent_prompts(*, user: Any, limit: int = 10) -> list[PromptLine]:
    """The person's last `limit` prompts, newest first: what was sent to them, or not."""
    prompts = Prompt.objects.filter(recipient=user).select_related("outcome__conversation")[:limit]
    lines = []
    for prompt in prompts:
        waited = None
        if prompt.sent_at and prompt.answered_at and prompt.answered_at >= prompt.sent_at:
            waited = round((prompt.answered_at - prompt.sent_at).total_seconds() / 60, 1)
        lines.append(
            PromptLine(
                created_at=prompt.created_at,
                action=prompt.outcome.action_type.replace("_", " ").capitalize(),
                conversation=prompt.outcome.conversation.external_id,
                channel=prompt.get_channel_display(),
                status=prompt.get_status_display(),
                reason=prompt.reason,
                sent_at=prompt.sent_at,
                answered_at=prompt.answered_at,
                answered_via=ANSWERED_VIA.get(prompt.answered_via, prompt.answered_via),
                minutes_to_answer=waited,
            )
        )
    return lines


def stale(*, older_than: timedelta = timedelta(minutes=10)) -> list[Prompt]:
    """Prompts to hand over (again): held through quiet hours that are now over, and
    those a lost task left queued or sending for longer than `older_than`."""
    now = timezone.now()
    cutoff = now - older_than
    # (a send that takes over an hour died: its worker was killed mid-call)
    return list(
        Prompt.objects.filter(
            Q(status=Status.HELD, send_after__lte=now)
            | Q(status=Status.QUEUED, created_at__lt=cutoff)
            | Q(status=Status.SENDING, created_at__lt=now - timedelta(hours=1))
        ).select_related("recipient")[:500]
    )
