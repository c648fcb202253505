"""One-click rating links for Slack and Gmail.

A link carries, signed with the project's SECRET_KEY (django.core.signing) and bound to
the tenant's schema, who rates (reviewer id), what (target type, id, conversation,
optional outcome), the rating, who made the link and a random nonce. It expires after the
tenant's `link_max_age_days`. Opening it (GET) only shows a confirmation page, so link
scanners that prefetch URLs record nothing; the POST records the rating once per link (the
nonce is stored), after which the same link lets the reviewer add a comment.

Who may rate as whom. A link lets whoever holds it rate as its reviewer, so:
- a person makes links only for themselves (`POST feedback/links/` with a personal token
  or session; naming anyone else is refused);
- the agent makes links for any active person of the tenant, to be delivered to that
  person's own channel (their Slack DM, their inbox), never to a shared one;
- a link opened in a browser signed in as someone else records nothing (403);
- the entry a link records says so (`via` link or slack) and who made it (`minted_by`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core import signing
from django.urls import reverse

from feedback.services import settings_row
from learning.errors import InvalidInput
from learning.tenancy.context import current_schema_name

SALT = "feedback.one-click-link"


@dataclass(frozen=True)
class LinkClaim:
    schema: str
    reviewer_id: int
    target_type: str
    target_id: str
    conversation_id: str
    rating: int
    nonce: str
    outcome_id: int | None = None
    minted_by: str = ""


def make_token(
    *,
    reviewer_id: int,
    target_type: str,
    target_id: str,
    conversation_id: str,
    rating: int,
    minted_by: str,
    outcome_id: int | None = None,
) -> str:
    payload = {
        "m": minted_by,
        "s": current_schema_name(),
        "r": reviewer_id,
        "t": target_type,
        "i": target_id,
        "c": conversation_id,
        "v": rating,
        "o": outcome_id,
        "n": secrets.token_urlsafe(12),
    }
    return signing.dumps(payload, salt=SALT, compress=True)


def link_path(token: str) -> str:
    return reverse("feedback-link", args=[token])


def max_age() -> timedelta:
    return timedelta(days=settings_row().link_max_age_days)


def read_token(token: str) -> LinkClaim:
    """The link's claim; InvalidInput when it was tampered with, has expired, or belongs
    to another tenant."""
    try:
        data: dict[str, Any] = signing.loads(token, salt=SALT, max_age=max_age())
    except signing.SignatureExpired as exc:
        raise InvalidInput("This link has expired.", code="expired") from exc
    except signing.BadSignature as exc:
        raise InvalidInput("This link is not valid.", code="invalid") from exc
    if data.get("s") != current_schema_name():
        raise InvalidInput("This link is not valid.", code="invalid")
    return LinkClaim(
        schema=data["s"],
        reviewer_id=int(data["r"]),
        target_type=str(data["t"]),
        target_id=str(data["i"]),
        conversation_id=str(data["c"]),
        rating=int(data["v"]),
        nonce=str(data["n"]),
        outcome_id=data.get("o"),
        minted_by=str(data.get("m") or ""),
    )
