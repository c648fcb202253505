"""Erasing what people wrote: the one place that removes the words of conversations.

A prospect's name, address and phone number sit in the bodies of messages, in drafts and
sometimes in reviewers' comments. Three things remove them, all through `_erase`:

- `erase_conversation`: one conversation, on request (API, admin action, command);
- `erase_contact`: every conversation whose texts name one e-mail address;
- `expire_content`: the tenant's retention (`ContentSettings.retention_days`), daily.

What goes: the subject and body of messages (the rows stay, marked `erased_at`, so the
thread keeps its shape), labellers' comments, the conversation's flag note, the keys of
signals' data that the rules do not read, and, through the CONTENT_ERASED event, what
other apps hold of it (feedback: draft texts, comments and corrections). What stays:
outcomes, their scores, signals, ratings, rubric scores, calibration and every count, so
erasing changes no figure. An erasure is one transaction; it is recorded in
`ErasureRecord` (who, when, which conversations, how many texts), never with the text or
the contact's address, and an erasure that removes nothing records nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from learning.errors import Forbidden, InvalidInput, NotFound
from learning.models import Role
from outcomes import events
from outcomes.models import (
    ContentSettings,
    Conversation,
    ErasureKind,
    ErasureRecord,
    Message,
    OutcomeRecord,
)

logger = structlog.get_logger(__name__)

# The keys of a signal's data that outcomes.rules reads (stage changes, meeting feedback):
# kept, so a signal still means what it meant; any other key may be free text and goes.
RULE_DATA_KEYS = ("to", "from", "sentiment", "positive_feedback")

RETENTION_BY = "schedule: content retention"

EMAIL_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A run of digits with the usual separators; a phone number when it holds 9 to 15 digits
# (E.164's most), so dates (8 digits), amounts and short codes are left alone.
PHONE_CANDIDATE = re.compile(r"(?<![\w+])\+?\(?\d[\d ()./-]{6,22}\d(?!\w)")


@dataclass(frozen=True)
class Erasure:
    removed: dict[str, int]  # how many texts of each kind were removed
    changed: bool  # False: there was nothing left to remove (a repeated request)
    record_id: int | None  # its audit record, when it changed something
    conversation_ids: list[str]


def settings_row() -> ContentSettings:
    return ContentSettings.objects.filter(pk=1).first() or ContentSettings()


def may_erase(actor: Any) -> bool:
    """The agent (its key) and the tenant's admins may erase; ops commands pass no actor."""
    return actor is None or getattr(actor, "role", None) in ("agent", Role.ADMIN)


def _who(actor: Any, by: str) -> str:
    if actor is None:
        return by
    if not may_erase(actor):
        raise Forbidden("Only an admin or the agent may erase what a conversation said.")
    return str(actor.username)


def erase_conversation(*, external_id: str, actor: Any = None, by: str = "ops") -> Erasure:
    """Remove every text of the conversation the agent calls `external_id`. Idempotent: a
    second request changes nothing, records nothing and says so (`changed` False); content
    that arrived since is removed by it."""
    who = _who(actor, by)
    conversation = Conversation.objects.filter(external_id=external_id).first()
    if conversation is None:
        raise NotFound("No such conversation.", field="conversation_id")
    return _erase(
        kind=ErasureKind.CONVERSATION, by=who, conversations={conversation.pk: external_id}
    )


def erase_contact(*, email: str, actor: Any = None, by: str = "ops") -> Erasure:
    """Erase every conversation in which `email` appears (case-insensitively) in a
    message, a labeller's comment, a flag note, a signal's data, or a text another app
    holds of it (events.CONTACT_ERASING: drafts, comments, corrections). The address
    itself is neither stored nor logged."""
    who = _who(actor, by)
    address = email.strip()
    try:
        validate_email(address)  # as the API's EmailField: one address, any the RFC allows
    except ValidationError:
        raise InvalidInput("Give one e-mail address.", field="email") from None
    named = (
        Q(messages__body__icontains=address)
        | Q(messages__subject__icontains=address)
        | Q(outcomes__label_comment__icontains=address)
        | Q(flag_note__icontains=address)
    )
    conversations = dict(
        Conversation.objects.filter(named).distinct().values_list("pk", "external_id")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, c.external_id FROM outcomes_signal s "
            "JOIN outcomes_conversation c ON c.id = s.conversation_id "
            "WHERE strpos(lower(s.data::text), lower(%s)) > 0",
            [address],
        )
        conversations.update(dict(cursor.fetchall()))
    elsewhere = events.ContactErasure(address=address)
    events.CONTACT_ERASING.emit(elsewhere)
    conversations.update(
        Conversation.objects.filter(
            pk__in=elsewhere.conversation_pks - set(conversations)
        ).values_list("pk", "external_id")
    )
    return _erase(kind=ErasureKind.CONTACT, by=who, conversations=conversations)


def expire_content(*, now: datetime | None = None) -> Erasure | None:
    """Remove the texts written more than the tenant's `retention_days` ago (None when it
    keeps them forever). Safe to run twice: the second run finds nothing to remove."""
    days = settings_row().retention_days
    if not days:
        return None
    older_than = (now or timezone.now()) - timedelta(days=days)
    return _erase(kind=ErasureKind.RETENTION, by=RETENTION_BY, older_than=older_than)


def _erase(
    *,
    kind: str,
    by: str,
    conversations: dict[int, str] | None = None,
    older_than: datetime | None = None,
) -> Erasure:
    """Blank the texts of `conversations` ({pk: external id}), or those written before
    `older_than`, in one transaction with the subscribers' and the audit record."""
    now = timezone.now()
    pks = sorted(conversations) if conversations is not None else None

    def scope(conversation: str, written: str) -> Q:
        if pks is not None:
            return Q(**{f"{conversation}__in": pks})
        return Q(**{f"{written}__lt": older_than})

    with transaction.atomic():
        removed = {
            "messages": Message.objects.filter(scope("conversation", "sent_at"))
            .filter(erased_at__isnull=True)
            .update(subject="", body="", erased_at=now),
            "label_comments": OutcomeRecord.objects.filter(scope("conversation", "resolved_at"))
            .exclude(label_comment="")
            .update(label_comment=""),
            "flag_notes": Conversation.objects.filter(scope("pk", "flagged_at"))
            .exclude(flag_note="")
            .update(flag_note=""),
            "signal_data": _strip_signal_data(pks=pks, older_than=older_than),
        }
        erasure = events.ContentErasure(
            at=now, conversation_pks=pks, older_than=older_than, removed=removed
        )
        events.CONTENT_ERASED.emit(erasure)
        marked = 0
        if pks is not None:
            marked = Conversation.objects.filter(pk__in=pks, content_erased_at__isnull=True).update(
                content_erased_at=now
            )
        changed = bool(marked or any(erasure.removed.values()))
        ids = [conversations[pk] for pk in pks] if conversations is not None and pks else []
        record = None
        if changed:
            record = ErasureRecord.objects.create(
                kind=kind,
                by=by[:200],
                conversation_ids=ids,
                removed=dict(erasure.removed),
                older_than=older_than,
            )
    # Counts and ids only: never a text, never the contact's address.
    logger.info(
        "content_erased",
        kind=str(kind),
        by=by,
        conversations=len(ids) if pks is not None else None,
        removed=erasure.removed,
        changed=changed,
        record=record.pk if record else None,
    )
    return Erasure(
        removed=dict(erasure.removed),
        changed=changed,
        record_id=record.pk if record else None,
        conversation_ids=ids,
    )


def _strip_signal_data(*, pks: list[int] | None, older_than: datetime | None) -> int:
    """Keep only the keys the rules read in the data of the signals in scope; returns how
    many signals lost something."""
    where = "conversation_id = ANY(%s)" if pks is not None else "occurred_at < %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE outcomes_signal
               SET data = COALESCE(
                     (SELECT jsonb_object_agg(key, value) FROM jsonb_each(data)
                       WHERE key = ANY(%s)),
                     '{{}}'::jsonb)
             WHERE {where}
               AND jsonb_typeof(data) = 'object'
               AND EXISTS (SELECT 1 FROM jsonb_object_keys(data) AS k WHERE k <> ALL(%s))
            """,  # noqa: S608 - `where` is one of two constants
            [list(RULE_DATA_KEYS), pks if pks is not None else older_than, list(RULE_DATA_KEYS)],
        )
        return int(cursor.rowcount)


# --- masking at ingest ----------------------------------------------------------------------


def _phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[phone]" if 9 <= digits <= 15 else match.group(0)


def masked(text: str) -> str:
    """`text` with e-mail addresses replaced by [email] and phone numbers by [phone]."""
    if not text:
        return text
    return PHONE_CANDIDATE.sub(_phone, EMAIL_ADDRESS.sub("[email]", text))


def masking_on() -> bool:
    """The tenant masks contact details in what arrives (`ContentSettings`)."""
    return settings_row().mask_contact_details
