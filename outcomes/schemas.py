"""Validation of the agent's outcome bodies, fast enough for 10,000 items per request.

msgspec checks types and constraints in C; the few rules it cannot express (times, sizes)
follow. Every error names its field, as the API's other errors do. The DRF serializer in
api.py describes the same body for the OpenAPI schema (a test keeps the two in step).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from django.utils import timezone

from learning.errors import InvalidInput
from outcomes.ingest import Content, OutcomeInput

IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,199}\Z"
# What a refused id is told (pages link any id, percent-encoded; see docs/deploy.md).
IDENTIFIER_RULE = (
    "Must be 1 to 200 characters: letters A-Z and a-z, digits, and _ . : @ / + - "
    "(starting with a letter or a digit)."
)
ACTION_TYPE = r"^[a-z][a-z0-9_.-]{0,63}\Z"
ACTION_TYPE_PATTERN = ACTION_TYPE.removesuffix("\\Z") + "$"  # the same rule, as ECMA regex
USERNAME = r"^[\w.@+-]{1,150}\Z"
# Times start in the year 2000, as written (so the OpenAPI schema can say it: a pattern).
YEAR_2000_ON_PATTERN = r"^([2-9][0-9]{3})-"
MAX_JSON_OBJECT_BYTES = 16_384
MAX_JSON_DEPTH = 16

Identifier = Annotated[str, msgspec.Meta(pattern=IDENTIFIER, max_length=200)]

CHANNEL = r"^[a-z][a-z0-9_]{0,31}\Z"
MAX_SUBJECT_CHARS = 300
MAX_BODY_CHARS = 20_000
THREAD_ROLES = ("prospect", "rep", "manager")


class ContentBody(msgspec.Struct, forbid_unknown_fields=True):
    """What the agent produced with an action: an email, a chat line, an invite, a note."""

    channel: Annotated[str, msgspec.Meta(pattern=CHANNEL)]
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_BODY_CHARS)]
    subject: Annotated[str, msgspec.Meta(max_length=MAX_SUBJECT_CHARS)] = ""
    to_role: Literal["prospect", "rep", "manager"] = "prospect"


class OutcomeBody(msgspec.Struct):
    action_id: Identifier
    conversation_id: Identifier
    action_type: Annotated[str, msgspec.Meta(pattern=ACTION_TYPE)]
    predicted_confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
    outcome_type: Literal[
        "email_engagement", "deal_progression", "meeting_outcome", "escalation_result"
    ]
    rep: Annotated[str, msgspec.Meta(pattern=USERNAME)] | None = None
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)
    occurred_at: datetime | None = None
    content: ContentBody | None = None


# (DOTALL: an unknown key quoted in the message may hold a line break)
_AT_FIELD = re.compile(r"^(?P<message>.*?)(?: - at `\$\.(?P<field>[a-z_.]+)[^`]*`)?\Z", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[a-z_]+)`")


def _field_error(error: msgspec.ValidationError) -> tuple[str, str]:
    """(field, message) of msgspec's error; nested fields dotted, e.g. content.body."""
    text = str(error)
    match = _AT_FIELD.match(text)
    assert match is not None
    path = match["field"]
    missing = _MISSING.match(match["message"])
    if missing:
        field = f"{path}.{missing['field']}" if path else missing["field"]
        return field, "This field is required."
    message = match["message"]
    if f"matching regex '{IDENTIFIER[:-2]}" in message:  # an id: say what is allowed
        message = IDENTIFIER_RULE
    return path or "non_field_errors", message


def parse_outcome(data: Any, *, now: datetime | None = None) -> OutcomeInput:
    """The validated outcome, or InvalidInput naming the first offending field."""
    if not isinstance(data, dict):
        raise InvalidInput("Send a JSON object.", field="non_field_errors")
    try:
        body = msgspec.convert(data, OutcomeBody)
    except msgspec.ValidationError as exc:
        field, message = _field_error(exc)
        raise InvalidInput(message, field=field) from exc
    now = now or timezone.now()
    occurred_at = body.occurred_at or now
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    if occurred_at > now + timedelta(days=1):
        raise InvalidInput("Must not be more than a day in the future.", field="occurred_at")
    if occurred_at.year < 2000:
        raise InvalidInput("Must be in the year 2000 or later.", field="occurred_at")
    check_json_object(body.attributes, field="attributes")
    content = None
    if body.content is not None:
        for name in ("subject", "body"):
            if "\x00" in getattr(body.content, name):
                raise InvalidInput("Must not contain NUL characters.", field=f"content.{name}")
        content = Content(
            channel=body.content.channel,
            subject=body.content.subject,
            body=body.content.body,
            to_role=body.content.to_role,
        )
    return OutcomeInput(
        action_id=body.action_id,
        conversation_id=body.conversation_id,
        rep=body.rep,
        action_type=body.action_type,
        predicted_confidence=body.predicted_confidence,
        outcome_type=body.outcome_type,
        attributes=body.attributes,
        occurred_at=occurred_at,
        content=content,
    )


def year_2000_on(text: str) -> bool:
    """A time written in the year 2000 or later (ISO 8601 starts with the year)."""
    return re.match(YEAR_2000_ON_PATTERN, text) is not None


def check_json_object(value: dict[str, Any], *, field: str) -> None:
    """A JSON object PostgreSQL can store as jsonb, of bounded size and depth."""
    if not value:
        return
    too_deep = f"Must be nested at most {MAX_JSON_DEPTH} levels deep."
    try:
        encoded = msgspec.json.encode(value)
    except UnicodeEncodeError as exc:  # an unpaired surrogate
        raise InvalidInput("Must be valid Unicode text.", field=field) from exc
    except RecursionError:
        raise InvalidInput(too_deep, field=field) from None
    if len(encoded) > MAX_JSON_OBJECT_BYTES:
        raise InvalidInput(f"Must be at most {MAX_JSON_OBJECT_BYTES} bytes as JSON.", field=field)
    if b"\\u0000" in encoded:
        raise InvalidInput("Must not contain NUL characters.", field=field)
    # Each level opens a bracket: a value with few brackets (most) needs no walk.
    if encoded.count(b"{") + encoded.count(b"[") > MAX_JSON_DEPTH and (
        _depth(value) > MAX_JSON_DEPTH
    ):
        raise InvalidInput(too_deep, field=field)


def _depth(value: Any) -> int:
    """How deeply objects and lists nest in `value` (an object of scalars is 1); without
    recursion, so no input can exhaust the stack."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def parse_outcomes(items: list[Any]) -> tuple[list[OutcomeInput], dict[str, dict[str, list[str]]]]:
    """Every item validated; errors by item index (as a string), empty when all are valid."""
    now = timezone.now()
    parsed: list[OutcomeInput] = []
    errors: dict[str, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        try:
            parsed.append(parse_outcome(item, now=now))
        except InvalidInput as exc:
            errors[str(index)] = {exc.field or "non_field_errors": [exc.message]}
    return parsed, errors
