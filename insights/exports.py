"""Exports: outcomes, feedback, labels and calibration as CSV or JSON Lines, for a data
team's own analysis, streamed in constant memory.

Each table is a fixed list of columns (its header, in order), its rows the scoped
querysets of their owning apps (a manager exports their team's): insights.export_tables,
re-exported here. PostgreSQL formats them
(`COPY (the queryset's SQL) TO STDOUT`: CSV as such, JSON Lines as one json_build_object
per row), so an export runs at about the speed of exporting by hand with psql; the copy
is read as it arrives and sent in chunks of about `FLUSH_BYTES`, and nothing holds the
whole export (insights.streaming sends it; a client that goes away cancels the COPY).
The calibration curves, computed in Python, are formatted here the same way.

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
from datetime import UTC, datetime
from typing import Any

import msgspec
from django.core.exceptions import EmptyResultSet
from django.db.models import Func, JSONField, QuerySet, TextField, Value
from django.db.models.functions import Cast

# The tables and their rows, re-exported: insights.api, the admin and the tests take an
# export's table, its rows and its encoding from this one module.
from insights.export_tables import CALIBRATION as CALIBRATION
from insights.export_tables import FEEDBACK as FEEDBACK
from insights.export_tables import JSON, TEXT, TIME, Selection, Table
from insights.export_tables import LABELS as LABELS
from insights.export_tables import OUTCOMES as OUTCOMES
from insights.export_tables import calibration_rows as calibration_rows
from insights.export_tables import feedback_rows as feedback_rows
from insights.export_tables import label_rows as label_rows
from insights.export_tables import outcome_rows as outcome_rows
from learning.tenancy.db import binary_cursor

FLUSH_BYTES = 256 * 1024
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
}


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
    return [rows]  # type: ignore[list-item]  # an iterable of rows: one part


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
