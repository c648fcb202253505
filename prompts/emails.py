"""Email prompts, gathered: every prompt waiting for one person goes in one message, with
one-click reply links (the app whose question it is adds them: events.EMAIL_CHOICES)."""

from __future__ import annotations

import structlog
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from learning import metrics
from learning.tenancy.urls import absolute_url
from prompts import events
from prompts.blocks import about
from prompts.models import Channel, Prompt, Status

logger = structlog.get_logger(__name__)


def send_gathered(*, recipient_id: int) -> int:
    """Send the person's waiting email prompts as one message; how many it held (0 when
    another task sent them already)."""
    now = timezone.now()
    with transaction.atomic():
        waiting = list(
            Prompt.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(recipient_id=recipient_id, channel=Channel.EMAIL)
            .filter(Q(status=Status.QUEUED) | Q(status=Status.HELD, send_after__lte=now))
            .select_related("recipient", "outcome", "outcome__conversation")
            .order_by("created_at", "id")
        )
        answered = [p.pk for p in waiting if p.answered_at is not None]
        Prompt.objects.filter(pk__in=answered).update(
            status=Status.SKIPPED, reason="Answered before it was sent."
        )
        waiting = [p for p in waiting if p.answered_at is None]
        if not waiting:
            return 0
        person = waiting[0].recipient
        choices = events.EmailChoices(
            prompts=[events.PromptRef(p.pk, p.recipient_id, p.outcome_id) for p in waiting]
        )
        events.EMAIL_CHOICES.emit(choices)
        abouts = [about(p) for p in waiting]
        items = [
            {"about": what, "choices": choices.choices.get(p.pk, [])}
            for p, what in zip(waiting, abouts, strict=True)
        ]
        count = len(items)
        subject = (
            abouts[0].title if count == 1 else f"{count} actions of the agent wait for your verdict"
        )
        context = {
            "person": person,
            "items": items,
            "count": count,
            "review_url": absolute_url("feedback-review"),
            "settings_url": absolute_url("prompt-settings"),
        }
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("prompts/email_prompts.txt", context),
            to=[person.email],
        )
        message.attach_alternative(
            render_to_string("prompts/email_prompts.html", context), "text/html"
        )
        try:
            message.send()
        except OSError as exc:  # SMTP refused or unreachable: recorded, not retried blindly
            Prompt.objects.filter(pk__in=[p.pk for p in waiting]).update(
                status=Status.FAILED, reason=f"Mail: {type(exc).__name__}: {exc}"[:300]
            )
            logger.warning("prompt_mail_failed", recipient=recipient_id, error=str(exc))
            metrics.count_prompts_failed(channel=Channel.EMAIL, count=count)
            return 0
        Prompt.objects.filter(pk__in=[p.pk for p in waiting]).update(
            status=Status.SENT, sent_at=timezone.now(), reason="", attempts=1
        )
    metrics.count_prompts_sent(channel=Channel.EMAIL, count=count)
    logger.info("prompt_sent", channel="email", recipient=recipient_id, prompts=count)
    return count
