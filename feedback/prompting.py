"""Prompts for critical actions: the rep (and, by setting, their manager) asked for a
verdict where they work, seconds after the agent acts.

    the agent records an action     outcomes.events.ACTIONS_RECORDED (after commit)
      -> on_actions_recorded        is it critical? (the tenant's settings, remembered
                                    10 s per process: this runs on ingest's hot path)
      -> tasks.prompt_for_actions   who, on which channels, within today's allowance
                                    (smaller for a tired reviewer) and quiet hours
      -> prompts (Slack DM, email gathered), and VERDICT_NEEDED for the open page

    a click on a Slack button       views.slack_interactivity -> answer_slack_click:
                                    the verdict recorded once, as the person prompted,
                                    and the message replaced by "Recorded: Good"
    an email prompt being written   prompts.events.EMAIL_CHOICES -> email_choices: one-click
                                    links (confirm, then record) for each verdict
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from feedback import events, links, selectors, services
from feedback.models import Source, Via
from learning.errors import DomainError
from learning.tenancy.context import current_schema_name
from learning.tenancy.urls import absolute_url
from outcomes import selectors as outcome_selectors
from outcomes.events import RecordedAction
from prompts import blocks, slack
from prompts import services as prompt_services
from prompts.events import EmailChoices

logger = structlog.get_logger(__name__)
User = get_user_model()

CRITICAL_SECONDS = 10.0
# Only what the agent just did is worth interrupting someone for: an action reported later
# than this after it happened (a backfill, an import, the demo's history) waits in the
# review queues without a prompt.
FRESH = timedelta(hours=6)
_critical: dict[str, tuple[float, selectors.Critical]] = {}


def critical_now() -> selectors.Critical:
    """The tenant's critical types, read at most every 10 s per process."""
    schema = current_schema_name()
    found = _critical.get(schema)
    if found is None or found[0] < time.monotonic():
        found = (time.monotonic() + CRITICAL_SECONDS, selectors.critical())
        _critical[schema] = found
    return found[1]


def forget_critical() -> None:
    """Settings changed in this process: read them again."""
    _critical.clear()


def on_actions_recorded(actions: Sequence[RecordedAction]) -> None:
    """Subscriber of ACTIONS_RECORDED (after commit): hand the critical ones to a task.
    Never fails ingest: a broker that cannot take the task is logged, and nothing waits."""
    rules = critical_now()
    fresh_from = timezone.now() - FRESH
    ids = [
        action.id
        for action in actions
        if action in rules and action.rep_id is not None and action.occurred_at >= fresh_from
    ]
    if not ids:
        return
    from feedback import tasks  # (tasks call this module: imported when first needed)

    try:
        tasks.prompt_for_actions.apply_async((ids,), retry=False)
    except Exception as exc:  # the broker's errors vary by transport
        logger.warning("prompts_not_queued", actions=len(ids), error=str(exc))


def prompt_for_actions(outcome_ids: Sequence[int]) -> int:
    """Record and send the prompts about these critical actions; how many were queued."""
    rules = selectors.critical()
    config = services.settings_row()
    connected = slack.connection() is not None
    allowances: dict[int, int] = {}
    queued = 0
    found = outcome_selectors.outcomes_by_id(ids=outcome_ids)
    for outcome in [found[pk] for pk in sorted(outcome_ids) if pk in found]:  # oldest first
        if outcome not in rules or outcome.rep is None:
            continue
        people = [outcome.rep]
        if config.prompt_managers and outcome.rep.manager is not None:
            people.append(outcome.rep.manager)
        for person in people:
            if not person.is_active:
                continue
            with transaction.atomic():
                result = prompt_services.queue_prompts(
                    recipient=person,
                    outcome_id=outcome.pk,
                    why=f"{rules.why(outcome)}: critical",
                    allowance=allowances.setdefault(person.pk, _allowance(person, config)),
                    slack_connected=connected,
                )
                if result.prompts:
                    queued += len(result.prompts)
                    events.VERDICT_NEEDED.emit(
                        events.VerdictNeeded(
                            recipient_id=person.pk,
                            action_id=outcome.action_id,
                            title=blocks.words(outcome.action_type),
                            why=f"{rules.why(outcome)}: critical",
                        )
                    )
    return queued


def _allowance(person: Any, config: Any) -> int:
    tired = selectors.fatigue_of(user=person)
    return int(config.fatigued_prompts_per_day if tired.flagged else config.prompts_per_day)


def email_choices(choices: EmailChoices) -> None:
    """Subscriber of prompts.events.EMAIL_CHOICES: each verdict as a one-click link made
    for the person prompted (it opens a confirmation; confirming records it once)."""
    found = outcome_selectors.outcomes_by_id(ids=[p.outcome_id for p in choices.prompts])
    for prompt in choices.prompts:
        outcome = found.get(prompt.outcome_id)
        if outcome is None:
            continue
        choices.choices[prompt.id] = [
            (
                label,
                absolute_url(
                    "feedback-link",
                    links.make_token(
                        reviewer_id=prompt.recipient_id,
                        target_type=selectors.target_type_of(outcome),
                        target_id=outcome.action_id,
                        conversation_id=outcome.conversation.external_id,
                        rating=rating,
                        minted_by="email prompt",
                        outcome_id=outcome.pk,
                    ),
                ),
            )
            for label, rating, _ in blocks.CHOICES
        ]


# --- a click on a Slack prompt's button ---------------------------------------------------------


@dataclass(frozen=True)
class ClickAnswer:
    text: str  # said to the clicking person only (ephemeral)
    recorded: bool = False


def answer_slack_click(payload: dict[str, Any]) -> ClickAnswer:
    """Record the verdict a prompt's button carries, once, in the name of the person the
    prompt was for (who must be the one clicking), and replace the message with what was
    recorded. A replay, a second click or a click on another button changes nothing."""
    action = payload["actions"][0]
    kind, prompt_id, rating_text = str(action["value"]).split(":")
    if kind != "prompt":
        raise ValueError("not a prompt's button")
    rating = int(rating_text)
    if rating not in blocks.LABELS:
        raise ValueError("not a verdict")
    clicking = str((payload.get("user") or {}).get("id") or "")
    with transaction.atomic():
        prompt = prompt_services.lock_slack_prompt(int(prompt_id))
        if prompt is None:
            return ClickAnswer("This prompt is no longer here.")
        person = prompt.recipient
        if not clicking or clicking != prompt.slack_user:
            logger.warning("slack_click_by_someone_else", prompt=prompt.pk)
            return ClickAnswer(f"This prompt is for {person.get_full_name() or person.username}.")
        if prompt.answered_at is not None:
            label = blocks.LABELS.get(round(2 * (prompt.answer or 0) - 1), "given")
            return ClickAnswer(f"Already recorded: {label}. Nothing changed.")
        outcome = prompt.outcome
        try:
            services.record_feedback(
                reviewer=person,
                target_type=selectors.target_type_of(outcome),
                target_id=outcome.action_id,
                conversation_id=outcome.conversation.external_id,
                source=Source.INLINE,
                rating=rating,
                outcome_id=outcome.pk,
                via=Via.SLACK,
                minted_by="slack prompt",
            )
        except DomainError as exc:
            return ClickAnswer(exc.message)
        response_url = str(payload.get("response_url") or "")
        if response_url:
            body = blocks.slack_answered(
                prompt, rating=rating, by=person.get_full_name() or person.username
            )
            transaction.on_commit(lambda: _update_message(response_url, body))
    return ClickAnswer(f"Recorded: {blocks.LABELS[rating]}.", recorded=True)


def _update_message(response_url: str, body: dict[str, Any]) -> None:
    from prompts import tasks

    try:
        tasks.update_slack_message.apply_async((response_url, body), retry=False)
    except Exception as exc:  # the broker's errors vary by transport
        logger.warning("slack_update_not_queued", error=str(exc))
