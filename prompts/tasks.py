"""Sending prompts: Celery tasks, retried with Slack's Retry-After, never on ingest's path."""

from __future__ import annotations

from typing import Any

import structlog
from celery import shared_task

from prompts import emails, selectors, services, slack
from prompts.blocks import slack_message

logger = structlog.get_logger(__name__)

MAX_ATTEMPTS = 6


def retry_delay(error: slack.SlackError, retries: int) -> int:
    """Seconds before trying again: what Slack asked for (Retry-After), else 10 s doubling
    up to 10 min."""
    return error.retry_after or min(600, 10 * 2**retries)


@shared_task(name="prompts.deliver_slack", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS)
def deliver_slack(self: Any, prompt_id: int) -> str:
    """Send one Slack prompt (once: a prompt already sent, being sent or answered is not
    sent again)."""
    prompt = services.claim(prompt_id)
    if prompt is None:
        return "not waiting"
    if prompt.answered_at is not None:
        services.mark_skipped(prompt, reason="Answered before it was sent.")
        return "answered"
    try:
        slack_user = slack.slack_user_id(prompt.recipient)
        if not slack_user:
            reason = "Not found in Slack by their email; set their Slack user id in the admin."
            services.mark_failed(prompt, reason=reason)
            services.fall_back_to_email(prompt, because="not found in Slack")
            return "no slack user"
        text, blocks = slack_message(prompt)
        channel, ts = slack.send_direct(slack_user=slack_user, text=text, blocks=blocks)
    except slack.SlackError as exc:
        if exc.retryable and self.request.retries < MAX_ATTEMPTS:
            wait = retry_delay(exc, self.request.retries)
            services.mark_waiting(prompt, reason=f"Slack: {exc.error}; trying again in {wait} s.")
            logger.info("prompt_retry", prompt=prompt_id, error=exc.error, countdown=wait)
            raise self.retry(countdown=wait) from None
        services.mark_failed(prompt, reason=f"Slack: {exc.error}.")
        services.fall_back_to_email(prompt, because=f"Slack: {exc.error}")
        logger.warning("prompt_failed", prompt=prompt_id, error=exc.error)
        return "failed"
    services.mark_sent(prompt, slack_user=slack_user, slack_channel=channel, slack_ts=ts)
    logger.info("prompt_sent", prompt=prompt_id, channel="slack")
    return "sent"


@shared_task(name="prompts.send_email_prompts", acks_late=True)
def send_email_prompts(recipient_id: int) -> int:
    """Every email prompt waiting for the person, in one message; how many it held."""
    return emails.send_gathered(recipient_id=recipient_id)


@shared_task(name="prompts.update_slack_message", bind=True, max_retries=5)
def update_slack_message(self: Any, response_url: str, body: dict[str, Any]) -> str:
    """Replace a clicked message (its `response_url`), e.g. with "Recorded: Good"."""
    try:
        slack.respond(response_url=response_url, body=body)
    except slack.SlackError as exc:
        if exc.retryable and self.request.retries < 5:
            raise self.retry(countdown=exc.retry_after or 5) from None
        logger.warning("slack_update_failed", error=exc.error)
        return "failed"
    return "updated"


@shared_task(name="prompts.resend_stale", acks_late=True)
def resend_stale() -> int:
    """Prompts a lost task left waiting (a broker down at ingest, a worker killed while
    sending) are handed over again."""
    found = selectors.stale()
    services.requeue(found)
    return len(found)


@shared_task(name="prompts.post_to_channel", bind=True, max_retries=MAX_ATTEMPTS)
def post_to_channel(self: Any, text: str, blocks: list[dict[str, Any]], about: str = "") -> str:
    """Post to the tenant's reports channel (see services.post_to_reports_channel), trying
    again after Slack's Retry-After while trying again may help; a post that cannot be made
    is logged as a warning, and nothing else depends on it."""
    try:
        posted = slack.post_to_channel(text=text, blocks=blocks)
    except slack.SlackError as exc:
        if exc.retryable and self.request.retries < MAX_ATTEMPTS:
            wait = exc.retry_after or min(600, 10 * 2**self.request.retries)
            logger.info("channel_post_retry", about=about, error=exc.error, countdown=wait)
            raise self.retry(countdown=wait) from None
        logger.warning("channel_post_failed", about=about, error=exc.error)
        return "failed"
    return "posted" if posted else "no channel"
