"""Exports: outcomes, feedback, labels and calibration as CSV or JSON Lines, for a data
team's own analysis, streamed in constant memory.

Each table is a fixed list of columns (its header, in order). Rows come from the scoped
querysets of their owning apps (a manager exports their team's), read with a server-side
cursor `CHUNK_ROWS` at a time, encoded and sent in chunks of about `FLUSH_BYTES`; nothing
holds the whole export (learning.streaming sends it). Each row of an action carries
`policy_version`: the version of its action type's behaviour policy in force when the
action was taken (calibration.selectors.version_in_force; 0 is the defaults).

Values: times in ISO 8601 UTC (`2026-12-01T09:30:00Z`); numbers as stored; JSON fields
(attributes, rubric scores) as objects in JSON Lines and as JSON text in CSV; empty for
none. In CSV, a text cell starting with = + - @ or a tab is prefixed with ' so that a
spreadsheet shows it rather than running it as a formula (JSON Lines is left as stored).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from django.db.models import Case, F, FloatField, IntegerField, QuerySet, Value, When
from django.db.models.functions import Cast

from calibration import selectors as calibration_selectors
from feedback import queues as feedback_queues
from outcomes import rules
from outcomes import selectors as outcome_selectors

CHUNK_ROWS = 2000
FLUSH_BYTES = 256 * 1024
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
}


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    description: str


OUTCOMES = Table(
    "outcomes",
    (
        "action_id",
        "conversation_id",
        "rep",
        "action_type",
        "outcome_type",
        "predicted_confidence",
        "status",
        "score",
        "signal_source",
        "resolution_reason",
        "labelled_by",
        "occurred_at",
        "window_expires_at",
        "resolved_at",
        "policy_version",
        "channel",
        "subject",
        "body",
        "attributes",
    ),
    "One row per agent action: its confidence, how it turned out, what it said.",
)
FEEDBACK = Table(
    "feedback",
    (
        "id",
        "target_type",
        "target_id",
        "conversation_id",
        "action_id",
        "action_type",
        "source",
        "rating",
        "normalized_rating",
        "scores",
        "comment",
        "correction",
        "reviewer",
        "reviewer_role",
        "via",
        "revision",
        "rated_at",
        "policy_version",
    ),
    "One row per current verdict (a person's, or a draft edit's automatic score).",
)
LABELS = Table(
    "labels",
    (
        "source",
        "queue_id",
        "queue",
        "action_id",
        "conversation_id",
        "action_type",
        "predicted_confidence",
        "reviewer",
        "label",
        "outcome_status",
        "reason",
        "inclusion_probability",
        "weight",
        "labelled_at",
        "policy_version",
    ),
    "One row per human judgement of whether an action worked: each reviewer's in a "
    "review queue (source queue, with the item's inclusion probability and its inverse, "
    "the weight that reweights spot checks to all decided actions), and each label given "
    "outside a queue (source label).",
)
CALIBRATION = Table(
    "calibration",
    (
        "action_type",
        "bin",
        "lower",
        "upper",
        "count",
        "mean_predicted",
        "actual_rate",
        "ci_low",
        "ci_high",
        "sample_count",
        "brier_score",
        "ece",
        "confidence_scale",
        "escalation_threshold",
        "policy_version",
    ),
    "One row per action type and confidence bin: the calibration curve, with the policy "
    "in force now.",
)
TABLES = {t.name: t for t in (OUTCOMES, FEEDBACK, LABELS, CALIBRATION)}


# --- rows --------------------------------------------------------------------------------


def outcome_rows(outcomes: QuerySet[Any]) -> Iterator[tuple[Any, ...]]:
    """`outcomes` (scoped and filtered by the caller) in time order, as OUTCOMES rows."""
    return _read(
        outcomes.order_by("occurred_at", "id"),
        [
            F("action_id"),
            F("conversation__external_id"),
            F("rep__username"),
            F("action_type"),
            F("outcome_type"),
            F("predicted_confidence"),
            F("status"),
            F("score"),
            F("signal_source"),
            F("resolution_reason"),
            F("resolved_by__username"),
            F("occurred_at"),
            F("window_expires_at"),
            F("resolved_at"),
            calibration_selectors.version_in_force(),
            F("content__channel"),
            F("content__subject"),
            F("content__body"),
            F("attributes"),
        ],
    )


def feedback_rows(entries: QuerySet[Any]) -> Iterator[tuple[Any, ...]]:
    """Feedback entries (scoped and filtered by the caller) in time order."""
    return _read(
        entries.order_by("rated_at", "id"),
        [
            F("id"),
            F("target_type"),
            F("target_id"),
            F("conversation__external_id"),
            F("outcome__action_id"),
            F("outcome__action_type"),
            F("source"),
            F("rating"),
            F("normalized_rating"),
            F("scores"),
            F("comment"),
            F("correction"),
            F("reviewer__username"),
            F("reviewer_role"),
            F("via"),
            F("revision"),
            F("rated_at"),
            Case(
                When(outcome__isnull=True, then=Value(None)),
                default=calibration_selectors.version_in_force(
                    action_type="outcome__action_type", at="outcome__occurred_at"
                ),
            ),
        ],
    )


def label_rows(
    *,
    user: Any,
    queue_id: int | None = None,
    reviewer: str | None = None,
    after: datetime | None = None,
    before: datetime | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Queue judgements (in the queues the person manages), then labels given outside a
    queue (on actions in their scope), each in time order."""
    judgements = feedback_queues.visible_judgements(user=user).exclude(label="")
    direct = (
        outcome_selectors.visible_outcomes(principal=user)
        .filter(signal_source=rules.HUMAN_LABEL)
        .exclude(queue_items__judgements__isnull=False)
    )
    if queue_id is not None:
        judgements = judgements.filter(item__queue_id=queue_id)
        direct = direct.none()
    if reviewer:
        judgements = judgements.filter(reviewer__username=reviewer)
        direct = direct.filter(resolved_by__username=reviewer)
    if after:
        judgements = judgements.filter(judged_at__gte=after)
        direct = direct.filter(resolved_at__gte=after)
    if before:
        judgements = judgements.filter(judged_at__lt=before)
        direct = direct.filter(resolved_at__lt=before)
    nothing = Value(None, output_field=FloatField())
    from_queues = _read(
        judgements.order_by("judged_at", "id"),
        [
            Value("queue"),
            F("item__queue_id"),
            F("item__queue__name"),
            F("item__outcome__action_id"),
            F("item__outcome__conversation__external_id"),
            F("item__outcome__action_type"),
            F("item__outcome__predicted_confidence"),
            F("reviewer__username"),
            F("label"),
            F("item__outcome__status"),
            F("item__reason"),
            F("item__inclusion_probability"),
            Value(1.0) / Cast("item__inclusion_probability", FloatField()),
            F("judged_at"),
            calibration_selectors.version_in_force(
                action_type="item__outcome__action_type", at="item__outcome__occurred_at"
            ),
        ],
    )
    outside = _read(
        direct.order_by("resolved_at", "id"),
        [
            Value("label"),
            Value(None, output_field=IntegerField()),
            Value(""),
            F("action_id"),
            F("conversation__external_id"),
            F("action_type"),
            F("predicted_confidence"),
            F("resolved_by__username"),
            F("status"),
            F("status"),
            Value(""),
            nothing,
            nothing,
            F("resolved_at"),
            calibration_selectors.version_in_force(),
        ],
    )
    yield from from_queues
    yield from outside


def calibration_rows(*, action_types: Iterable[str] | None = None) -> Iterator[tuple[Any, ...]]:
    """The calibration curves (small: ten rows per action type), with the policy now."""
    wanted = None if action_types is None else set(action_types)
    for curve in calibration_selectors.curves():
        if wanted is not None and curve["action_type"] not in wanted:
            continue
        policy = curve["policy"]
        for index, b in enumerate(curve["bins"]):
            yield (
                curve["action_type"],
                index,
                b["lower"],
                b["upper"],
                b["count"],
                b["mean_predicted"],
                b["actual_rate"],
                b["ci_low"],
                b["ci_high"],
                curve["sample_count"],
                curve["brier_score"],
                curve["ece"],
                policy["confidence_scale"],
                policy["escalation_threshold"],
                policy["version"],
            )


def _read(queryset: QuerySet[Any], columns: list[Any]) -> Iterator[tuple[Any, ...]]:
    """The columns of each row, read through a server-side cursor."""
    return queryset.values_list(*columns).iterator(chunk_size=CHUNK_ROWS)


# --- encoding ----------------------------------------------------------------------------


def encode(table: Table, rows: Iterable[tuple[Any, ...]], fmt: str) -> Iterator[bytes]:
    """The rows as CSV (with a header) or JSON Lines, in chunks of about FLUSH_BYTES."""
    if fmt == "csv":
        return _csv(table, rows)
    if fmt == "jsonl":
        return _jsonl(table, rows)
    raise ValueError(fmt)


def _csv(table: Table, rows: Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        if buffer.tell() >= FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, float):
        return repr(value)
    return value


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _jsonl(table: Table, rows: Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    encoder = msgspec.json.Encoder(enc_hook=_unknown)
    names = table.columns
    buffer = bytearray()
    for row in rows:
        encoder.encode_into(dict(zip(names, row, strict=True)), buffer, -1)
        buffer.extend(b"\n")
        if len(buffer) >= FLUSH_BYTES:
            yield bytes(buffer)
            buffer.clear()
    yield bytes(buffer)


def _unknown(value: Any) -> Any:
    raise TypeError(f"cannot export {type(value).__name__}")


def filename(table: Table, *, tenant_slug: str, fmt: str, now: datetime) -> str:
    return f"{table.name}-{tenant_slug}-{now:%Y%m%d-%H%M}.{fmt}"
