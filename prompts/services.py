"""Prompts: who is reached on which channel and when, and the record of each.

`queue_prompts` records a person's prompts about one action, one per channel they are
reached on (Slack when the tenant is connected and they have not turned it off; email
when Slack cannot reach them, or also, as they choose), held until their quiet hours end,
and hands them to the Celery tasks after commit. Each (action, person, channel) is
prompted at most once, so a retried task or a replayed action prompts nobody twice.

Any verdict the person then gives on that action, wherever they give it, answers their
prompts about it (`on_feedback_recorded`): the answer rate and time to answer per channel
(`answer_rates`) measure what prompts achieve."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from learning.errors import InvalidInput
from learning.models import validate_time_zone
from prompts import slack
from prompts.models import Channel, Preference, Prompt, SlackConnection, Status

logger = structlog.get_logger(__name__)

DEFAULT = Preference(slack=True, email=True, email_also=False)
SENT_OR_WAITING = (Status.QUEUED, Status.HELD, Status.SENDING, Status.SENT)


def preference_of(user: Any) -> Preference:
    return Preference.objects.filter(user=user).first() or DEFAULT


def channels_for(user: Any, *, slack_connected: bool) -> tuple[list[str], str]:
    """The channels to reach the person on, and why none when there are none."""
    preference = preference_of(user)
    chosen: list[str] = []
    if slack_connected and preference.slack:
        chosen.append(Channel.SLACK)
    if preference.email and user.email and (not chosen or preference.email_also):
        chosen.append(Channel.EMAIL)
    if chosen:
        return chosen, ""
    if not preference.slack and not preference.email:
        return [], "they turned prompts off"
    return [], "no Slack connected and no email address"


def quiet_until(user: Any, *, now: datetime | None = None) -> datetime | None:
    """When the person's quiet hours end, if they are in them now (in their time zone);
    None otherwise."""
    preference = preference_of(user)
    start, end = preference.quiet_start, preference.quiet_end
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    local = (now or timezone.now()).astimezone(zone)
    here = local.time()
    quiet = (start <= here < end) if start < end else (here >= start or here < end)
    if not quiet:
        return None
    day = local.date() if here < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


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
    channels, none_because = channels_for(recipient, slack_connected=slack_connected)
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
    held = quiet_until(recipient, now=now)
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
    if not preference_of(user).email or not user.email:
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


def mark_waiting(prompt: Prompt, *, reason: str) -> None:
    """Back to the queue: the task tries again later."""
    Prompt.objects.filter(pk=prompt.pk).update(status=Status.QUEUED, reason=reason[:300])


def mark_failed(prompt: Prompt, *, reason: str) -> None:
    Prompt.objects.filter(pk=prompt.pk).update(status=Status.FAILED, reason=reason[:300])


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


# --- a person's own settings page -------------------------------------------------------


def quiet_hours_problem(start: time | None, end: time | None) -> tuple[str, str] | None:
    """What is wrong with these quiet hours, as (field, message); None when they are fine:
    both times or neither, and not the same time."""
    if start is None and end is None:
        return None
    if start is None:
        return "quiet_start", "Give the time quiet hours start too, or clear both."
    if end is None:
        return "quiet_end", "Give the time quiet hours end too, or clear both."
    if start == end:
        return "quiet_end", "Quiet hours must end at another time than they start."
    return None


def save_preference(
    *,
    user: Any,
    slack: bool,
    email: bool,
    email_also: bool,
    quiet_start: time | None,
    quiet_end: time | None,
    time_zone: str,
) -> Preference:
    """Keep how the person wants to be prompted, and their time zone (on their user, where
    coaching reads it too). InvalidInput, and nothing kept, when a value is refused."""
    problem = quiet_hours_problem(quiet_start, quiet_end)
    if problem is not None:
        raise InvalidInput(problem[1], field=problem[0])
    try:
        validate_time_zone(time_zone)
    except ValidationError:
        raise InvalidInput(
            f"{time_zone!r} is not a time zone we know.", field="time_zone"
        ) from None
    with transaction.atomic():
        preference, _ = Preference.objects.update_or_create(
            user=user,
            defaults={
                "slack": slack,
                "email": email,
                "email_also": email_also,
                "quiet_start": quiet_start,
                "quiet_end": quiet_end,
            },
        )
        if user.time_zone != time_zone:
            user.time_zone = time_zone
            user.save(update_fields=["time_zone"])
    logger.info("prompt_preference_saved", user=user.pk)
    return preference


def set_slack_user_id(*, user: Any, slack_user_id: str) -> Preference:
    """Who the person is in Slack, as an admin says (U…); empty: looked up by their email
    address again when the next prompt is sent."""
    preference, _ = Preference.objects.update_or_create(
        user=user,
        defaults={
            "slack_user_id": slack_user_id,
            "slack_user_found_by": "admin" if slack_user_id else "",
        },
    )
    return preference


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


@dataclass(frozen=True)
class SlackReach:
    """Whether Slack can reach the person: the tenant connected, and they are known there."""

    connected: bool
    team_name: str
    found_by: str  # "email", "admin", or "" (not found yet)


def slack_reach(*, user: Any) -> SlackReach:
    """What the person may know of the tenant's Slack and of themselves in it; never a
    token."""
    row = SlackConnection.objects.filter(pk=1).first()
    connected = row is not None and row.connected
    preference = preference_of(user)
    found_by = ""
    if preference.slack_user_id:
        found_by = preference.slack_user_found_by or "admin"
    return SlackReach(
        connected=connected, team_name=row.team_name if row and connected else "", found_by=found_by
    )
