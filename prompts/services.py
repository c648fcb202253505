"""Prompts: who is reached on which channel and when, and the record of each.

`queue_prompts` records a person's prompts about one action, one per channel they are
reached on (Slack when the tenant is connected and they have not turned it off; email
when Slack cannot reach them, or also, as they choose), held until their quiet hours end,
and hands them to the Celery tasks after commit. Each (action, person, channel) is
prompted at most once, so a retried task or a replayed action prompts nobody twice.

Any verdict the person then gives on that action, wherever they give it, answers their
prompts about it (`on_feedback_recorded`): the answer rate and time to answer per channel
(`selectors.answer_rates`) measure what prompts achieve. A person's choices are in
`preferences`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from learning import metrics
from prompts import preferences, slack
from prompts.models import Channel, Prompt, Status

logger = structlog.get_logger(__name__)

SENT_OR_WAITING = (Status.QUEUED, Status.HELD, Status.SENDING, Status.SENT)


def prompted_today(user: Any, *, now: datetime | None = None) -> int:
    """How many actions the person was prompted about today (in their time zone)."""
    zone = ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    local = (now or timezone.now()).astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    return (
        Prompt.objects.filter(recipient=user, created_at__gte=midnight, status__in=SENT_OR_WAITING)
        .values("outcome_id")
        .distinct()
        .count()
    )


@dataclass(frozen=True)
class Queued:
    prompts: list[Prompt]
    skipped_reason: str = ""


def queue_prompts(
    *, recipient: Any, outcome_id: int, why: str, allowance: int, slack_connected: bool
) -> Queued:
    """Record and hand over the person's prompts about one action (see the module)."""
    now = timezone.now()
    channels, none_because = preferences.channels_for(recipient, slack_connected=slack_connected)
    reason = ""
    if not channels:
        reason = f"Not sent: {none_because}."
    elif prompted_today(recipient, now=now) >= allowance:
        reason = f"Not sent: today's allowance of {allowance} prompts is reached."
    if reason:
        Prompt.objects.get_or_create(
            outcome_id=outcome_id,
            recipient=recipient,
            channel=channels[0] if channels else Channel.EMAIL,
            defaults={"why": why, "status": Status.SKIPPED, "reason": reason},
        )
        return Queued([], reason)
    held = preferences.quiet_until(recipient, now=now)
    created = []
    for channel in channels:
        prompt, new = Prompt.objects.get_or_create(
            outcome_id=outcome_id,
            recipient=recipient,
            channel=channel,
            defaults={
                "why": why,
                "status": Status.HELD if held else Status.QUEUED,
                "send_after": held,
                "reason": "Quiet hours: sent when they end." if held else "",
            },
        )
        if new:
            created.append(prompt)
    if created:
        transaction.on_commit(lambda: dispatch(created))
    return Queued(created)


def dispatch(prompts: list[Prompt]) -> None:
    """Hand prompts to their Celery tasks (Slack one by one; email gathered per person).
    A prompt held through quiet hours waits for the periodic `tasks.resend_stale` (no
    hours-long countdown: the broker would redeliver it past its visibility timeout); a
    broker that cannot take one leaves it queued, for the same task to find."""
    from prompts import tasks  # (tasks call these services: imported when first needed)

    now = timezone.now()
    mailed: set[int] = set()  # one gathering task per person
    for prompt in prompts:
        if prompt.send_after is not None and prompt.send_after > now:
            continue
        if prompt.channel == Channel.EMAIL and prompt.recipient_id in mailed:
            continue
        try:
            if prompt.channel == Channel.SLACK:
                tasks.deliver_slack.apply_async((prompt.pk,), retry=False)
            else:
                mailed.add(prompt.recipient_id)
                tasks.send_email_prompts.apply_async(
                    (prompt.recipient_id,),
                    countdown=settings.LL_PROMPT_EMAIL_GATHER_SECONDS,
                    retry=False,
                )
        except Exception as exc:  # the broker's errors vary by transport
            logger.warning("prompt_not_handed_over", prompt=prompt.pk, error=str(exc))


def fall_back_to_email(prompt: Prompt, *, because: str) -> Prompt | None:
    """After Slack could not reach the person: an email prompt instead, when they take
    email and have an address."""
    user = prompt.recipient
    if not preferences.preference_of(user).email or not user.email:
        return None
    fallback, new = Prompt.objects.get_or_create(
        outcome_id=prompt.outcome_id,
        recipient=user,
        channel=Channel.EMAIL,
        defaults={"why": prompt.why, "reason": f"Instead of Slack ({because})."},
    )
    if new:
        transaction.on_commit(lambda: dispatch([fallback]))
    return fallback


def claim(prompt_id: int) -> Prompt | None:
    """Take a waiting prompt for sending (one sender at a time); None when it is sent,
    being sent or done."""
    now = timezone.now()
    taken = Prompt.objects.filter(
        Q(status=Status.QUEUED) | Q(status=Status.HELD, send_after__lte=now), pk=prompt_id
    ).update(status=Status.SENDING, attempts=F("attempts") + 1)
    if not taken:
        return None
    return Prompt.objects.select_related("recipient", "outcome").get(pk=prompt_id)


def mark_sent(
    prompt: Prompt, *, slack_user: str = "", slack_channel: str = "", slack_ts: str = ""
) -> None:
    Prompt.objects.filter(pk=prompt.pk).update(
        status=Status.SENT,
        sent_at=timezone.now(),
        slack_user=slack_user,
        slack_channel=slack_channel,
        slack_ts=slack_ts,
        reason="",
    )
    metrics.count_prompts_sent(channel=prompt.channel)


def mark_waiting(prompt: Prompt, *, reason: str) -> None:
    """Back to the queue: the task tries again later."""
    Prompt.objects.filter(pk=prompt.pk).update(status=Status.QUEUED, reason=reason[:300])


def mark_failed(prompt: Prompt, *, reason: str) -> None:
    Prompt.objects.filter(pk=prompt.pk).update(status=Status.FAILED, reason=reason[:300])
    metrics.count_prompts_failed(channel=prompt.channel)


def mark_skipped(prompt: Prompt, *, reason: str) -> None:
    Prompt.objects.filter(pk=prompt.pk).update(status=Status.SKIPPED, reason=reason[:300])


def lock_slack_prompt(prompt_id: int) -> Prompt | None:
    """A sent Slack prompt, locked until the transaction ends (one click at a time)."""
    return (
        Prompt.objects.select_for_update(of=("self",))
        .select_related("recipient", "outcome", "outcome__conversation")
        .filter(pk=prompt_id, channel=Channel.SLACK, status=Status.SENT)
        .first()
    )


def answer(*, reviewer_id: int | None, outcome_id: int | None, rating: float, via: str) -> int:
    """A verdict by the person on the action answers their open prompts about it (the
    first verdict only: changing it later is not answering again). How many it answered."""
    if reviewer_id is None or outcome_id is None:
        return 0
    return Prompt.objects.filter(
        recipient_id=reviewer_id, outcome_id=outcome_id, answered_at__isnull=True
    ).update(answered_at=timezone.now(), answered_via=via, answer=rating)


def on_feedback_recorded(recorded: Any) -> None:
    """Subscriber of feedback.events.FEEDBACK_RECORDED (config/wiring.py)."""
    if recorded.via == "draft":
        return
    answer(
        reviewer_id=recorded.reviewer_id,
        outcome_id=recorded.outcome_id,
        rating=recorded.normalized_rating,
        via=recorded.via,
    )


def requeue(prompts: list[Prompt]) -> None:
    """Hand prompts over again (`tasks.resend_stale`)."""
    stuck = [p.pk for p in prompts if p.status == Status.SENDING]
    Prompt.objects.filter(pk__in=stuck, status=Status.SENDING).update(status=Status.QUEUED)
    dispatch(prompts)


def record_past_prompt(
    *,
    recipient: Any,
    outcome_id: int,
    channel: str,
    why: str,
    sent_at: datetime,
    answered_at: datetime | None = None,
    answer: float | None = None,
    answered_via: str = "",
) -> bool:
    """A prompt sent before (imports, the demo's history), stored as it went; False when
    it is stored already."""
    prompt, created = Prompt.objects.get_or_create(
        outcome_id=outcome_id,
        recipient=recipient,
        channel=channel,
        defaults={
            "why": why,
            "status": Status.SENT,
            "sent_at": sent_at,
            "attempts": 1,
            "answered_at": answered_at,
            "answer": answer,
            "answered_via": answered_via,
        },
    )
    if created:  # auto_now_add stamped it now
        Prompt.objects.filter(pk=prompt.pk).update(created_at=sent_at)
    return created


def reports_channel() -> str:
    """The tenant's reports channel (C…) when it is connected to Slack and has one, else ""."""
    row = slack.connection()
    return row.reports_channel if row is not None else ""


def post_to_reports_channel(*, text: str, blocks: list[dict[str, Any]], about: str) -> bool:
    """Queue a post to the tenant's reports channel (an alert, a report's summary: what to
    say is decided above prompts); the task retries after Slack's Retry-After. False, and
    nothing queued, when the tenant has no reports channel; a broker that cannot take the
    task is logged, never raised: Slack is never on the path of what asked for the post."""
    if not reports_channel():
        return False
    from prompts import tasks  # (tasks call these services: imported when first needed)

    try:
        tasks.post_to_channel.apply_async((text, blocks, about), retry=False)
    except Exception as exc:  # the broker's errors vary by transport
        logger.warning("channel_post_not_queued", about=about, error=str(exc))
        return False
    return True
