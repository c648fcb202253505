"""A person's choices about being prompted: their channels, quiet hours (in their time
zone) and who they are in Slack; what the settings page and the senders read of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from learning.errors import InvalidInput
from learning.models import validate_time_zone
from prompts import slack
from prompts.models import Channel, Preference

logger = structlog.get_logger(__name__)

DEFAULT = Preference(slack=True, email=True, email_also=False)


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
class SlackReach:
    """Whether Slack can reach the person: the tenant connected, and they are known there."""

    connected: bool
    team_name: str
    found_by: str  # "email", "admin", or "" (not found yet)


def slack_reach(*, user: Any) -> SlackReach:
    """What the person may know of the tenant's Slack and of themselves in it; never a
    token."""
    row = slack.connection()
    preference = preference_of(user)
    found_by = ""
    if preference.slack_user_id:
        found_by = preference.slack_user_found_by or "admin"
    return SlackReach(
        connected=row is not None, team_name=row.team_name if row else "", found_by=found_by
    )
