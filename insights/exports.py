"""Exports: outcomes, feedback, labels and calibration as CSV or JSON Lines, for a data
team's own analysis, streamed in constant memory.

Each table is a fixed list of columns (its header, in order). Rows come from the scoped
querysets of their owning apps (a manager exports their team's). PostgreSQL formats them
(`COPY (the queryset's SQL) TO STDOUT`: CSV as such, JSON Lines as one json_build_object
per row), so an export runs at about the speed of exporting by hand with psql; the copy
is read as it arrives and sent in chunks of about `FLUSH_BYTES`, and nothing holds the
whole export (insights.streaming sends it; a client that goes away cancels the COPY).
The calibration curves, computed in Python, are formatted here the same way. Each row of
an action carries `policy_version`: the version of its action type's behaviour policy in
force when the action was taken (calibration.selectors.version_in_force; 0 is the
defaults).

Values: times in ISO 8601 UTC with microseconds (`2026-12-01T09:30:00.000000Z`); numbers
as PostgreSQL writes them (shortest exact form: 1, 0.25); JSON fields (attributes, rubric
scores) as objects in JSON Lines and as JSON text in CSV; empty (CSV) or null (JSON) for
none. In CSV, a text cell starting with = + - @ a tab or a carriage return (or their
full-width forms, also after leading spaces or invisible characters) gets a ' in front, so
that a spreadsheet shows it rather than running it as a formula; JSON Lines holds text as
stored.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from django.core.exceptions import EmptyResultSet
from django.db.models import (
    Case,
    F,
    FloatField,
    Func,
    IntegerField,
    JSONField,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast

from calibration import selectors as calibration_selectors
from feedback import queues as feedback_queues
from learning.tenancy.db import binary_cursor
from outcomes import rules
from outcomes import selectors as outcome_selectors

FLUSH_BYTES = 256 * 1024
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
}


TEXT, NUMBER, TIME, JSON = "text", "number", "time", "json"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    description: str
    times: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    objects: frozenset[str] = frozenset()

    def kind(self, column: str) -> str:
        if column in self.times:
            return TIME
        if column in self.numbers:
            return NUMBER
        return JSON if column in self.objects else TEXT


@dataclass(frozen=True)
class Selection:
    """Rows the database reads: a queryset and one expression per column of the table."""

    queryset: QuerySet[Any]
    expressions: list[Any]


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
    times=frozenset({"occurred_at", "window_expires_at", "resolved_at"}),
    numbers=frozenset({"predicted_confidence", "score", "policy_version"}),
    objects=frozenset({"attributes"}),
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
    times=frozenset({"rated_at"}),
    numbers=frozenset({"id", "rating", "normalized_rating", "revision", "policy_version"}),
    objects=frozenset({"scores"}),
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
    times=frozenset({"labelled_at"}),
    numbers=frozenset(
        {"queue_id", "predicted_confidence", "inclusion_probability", "weight", "policy_version"}
    ),
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
    "in force now.",  # computed in Python: _cell formats each value by its type
)


# --- rows --------------------------------------------------------------------------------


def outcome_rows(outcomes: QuerySet[Any]) -> list[Selection]:
    """`outcomes` (scoped and filtered by the caller) in time order, as OUTCOMES rows."""
    return _select(
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


def feedback_rows(entries: QuerySet[Any]) -> list[Selection]:
    """Feedback entries (scoped and filtered by the caller) in time order."""
    return _select(
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
) -> list[Selection]:
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
    from_queues = Selection(
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
    outside = Selection(
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
    return [from_queues] if queue_id is not None else [from_queues, outside]


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


def _select(queryset: QuerySet[Any], expressions: list[Any]) -> list[Selection]:
    return [Selection(queryset, expressions)]


# --- encoding ----------------------------------------------------------------------------

Rows = Sequence[Selection] | Iterable[tuple[Any, ...]]


def encode(table: Table, rows: Rows, fmt: str) -> Iterator[bytes]:
    """The rows as CSV (with a header) or JSON Lines, in chunks of about FLUSH_BYTES.
    Rows the database reads (selections) are formatted there for CSV (PostgreSQL's COPY,
    as fast as exporting by hand) and read through a server-side cursor for JSON Lines;
    rows computed in Python (the calibration curves) are formatted here."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    if fmt == "csv":
        yield (",".join(table.columns) + "\n").encode()
    chunks = _csv_chunks if fmt == "csv" else _jsonl_chunks
    for part in _parts(rows):
        yield from _buffered(chunks(table, part))


def _parts(rows: Rows) -> list[Selection | Iterable[tuple[Any, ...]]]:
    if isinstance(rows, Sequence) and rows and all(isinstance(r, Selection) for r in rows):
        return list(rows)
    return [rows]  # type: ignore[list-item]


def _buffered(pieces: Iterable[bytes]) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        if len(buffer) >= FLUSH_BYTES:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def _csv_chunks(table: Table, part: Selection | Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    if not isinstance(part, Selection):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in part:
            writer.writerow([_cell(value) for value in row])
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
        return
    columns = [
        _csv_column(expression, table.kind(name))
        for name, expression in zip(table.columns, part.expressions, strict=True)
    ]
    yield from _copy(part.queryset.values_list(*columns), "FORMAT csv")


def _copy(rows: QuerySet[Any], options: str) -> Iterator[bytes]:
    """What PostgreSQL's COPY of the queryset's SQL writes, as it arrives."""
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (e.g. `pk__in=[]`)
        return
    with (
        binary_cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT ({options})", params) as copy,
    ):
        for data in copy:
            yield bytes(data)


def _csv_column(expression: Any, kind: str) -> Any:
    """The column as CSV shows it, formatted by PostgreSQL: times in ISO 8601 UTC, objects
    as JSON text, and text guarded against spreadsheet formulas (module docstring)."""
    if kind == TIME:
        return Func(expression, template=CSV_TIME, output_field=TextField())
    if kind == JSON:
        return Cast(expression, TextField())
    if kind == TEXT:
        return Func(expression, template=CSV_TEXT, output_field=TextField())
    return expression


CSV_TIME = """to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
# A leading = + - @ tab or carriage return, or a full-width = + - @ (U+FF1D, U+FF0B,
# U+FF0D, U+FF20), even after spaces or invisible characters (which a spreadsheet may
# skip: no-break and ideographic spaces, zero-width characters, direction marks, a
# byte-order mark), gets a ' before it. One pattern, read alike by PostgreSQL (an
# advanced regex in SQL) and Python's re (_cell).
FORMULA_START = (
    r"[ \t\n\v\f\r\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]*"
    r"[-=+@\t\r\uff0b\uff0d\uff1d\uff20]"
)
CSV_TEXT = rf"""regexp_replace(%(expressions)s::text, '^({FORMULA_START})', '''\1')"""


def _jsonl_chunks(table: Table, part: Selection | Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    if not isinstance(part, Selection):
        encoder = msgspec.json.Encoder(enc_hook=_unknown)
        for row in part:
            yield encoder.encode(dict(zip(table.columns, row, strict=True))) + b"\n"
        return
    # PostgreSQL writes each row as a JSON object with the table's keys in order
    # (json_build_object; jsonb would sort them). CSV with a quote and a delimiter JSON
    # text never holds raw (control characters are escaped in JSON) copies each object out
    # verbatim, one per line.
    pairs: list[Any] = []
    for name, expression in zip(table.columns, part.expressions, strict=True):
        if table.kind(name) == TIME:
            expression = Func(expression, template=CSV_TIME, output_field=TextField())
        pairs += [Value(name), expression]
    line = Cast(Func(*pairs, function="json_build_object", output_field=JSONField()), TextField())
    yield from _copy(
        part.queryset.values_list(line), "FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'"
    )


def _cell(value: Any) -> Any:
    """A value computed in Python, as the database's CSV would show it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if re.match(FORMULA_START, value) else value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _unknown(value: Any) -> Any:
    raise TypeError(f"cannot export {type(value).__name__}")


def filename(table: Table, *, tenant_slug: str, fmt: str, now: datetime) -> str:
    return f"{table.name}-{tenant_slug}-{now:%Y%m%d-%H%M}.{fmt}"
