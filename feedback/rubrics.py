"""The tenant's rubric: the dimensions rated beside the overall rating, checked per
dimension when feedback comes in, and each mapped onto [0, 1] for averages.

The default rubric is the overall rating alone (inline -1/0/1, dashboard 1-5 stars, see
services.SCALES); a tenant adds dimensions per target type in the admin
(`RubricDimension`). Scores arrive as `{"tone": 4, "accuracy": "partly", "next_step": true}`:
an unknown or retired key, a value of the wrong kind or out of range, or a missing required
dimension is refused with the field (`scores.tone`), and nothing is stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection

from feedback.models import DimensionKind, RubricDimension
from learning.errors import InvalidInput

MAX_DIMENSIONS = 20


def dimensions(*, target_type: str) -> list[RubricDimension]:
    """The active dimensions of a target type, in the order reviewers see them."""
    return list(RubricDimension.objects.filter(target_type=target_type, active=True))


def define(*, target_type: str, key: str, label: str, kind: str, **details: Any) -> RubricDimension:
    """A dimension of the rubric (`details`: minimum, maximum, options, description,
    required, position...), checked as the admin checks it; an existing key is kept as it
    is, so defining the same rubric twice changes nothing."""
    existing = RubricDimension.objects.filter(target_type=target_type, key=key).first()
    if existing is not None:
        return existing
    dimension = RubricDimension(target_type=target_type, key=key, label=label, kind=kind, **details)
    try:
        dimension.full_clean()
    except ValidationError as error:
        field, problems = next(iter(error.message_dict.items()))
        raise InvalidInput(problems[0], field=field) from error
    dimension.save()
    return dimension


def normalize(dimension: RubricDimension, value: Any) -> float:
    """A valid value of the dimension on [0, 1]."""
    if dimension.kind == DimensionKind.BOOLEAN:
        return 1.0 if value else 0.0
    if dimension.kind == DimensionKind.CATEGORICAL:
        return dimension.options.index(value) / (len(dimension.options) - 1)
    low, high = float(dimension.minimum or 0), float(dimension.maximum or 1)
    return (float(value) - low) / (high - low)


def _checked(dimension: RubricDimension, value: Any) -> Any:
    field = f"scores.{dimension.key}"
    if dimension.kind == DimensionKind.BOOLEAN:
        if not isinstance(value, bool):
            raise InvalidInput(f"{dimension.label} is yes or no: true or false.", field=field)
        return value
    if dimension.kind == DimensionKind.CATEGORICAL:
        if not isinstance(value, str) or value not in dimension.options:
            raise InvalidInput(
                f"{dimension.label} is one of: {', '.join(dimension.options)}.", field=field
            )
        return value
    low, high = dimension.minimum, dimension.maximum
    shown = f"{low:g} to {high:g}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{dimension.label} is a number from {shown}.", field=field)
    if dimension.integers and value != int(value):
        raise InvalidInput(f"{dimension.label} is a whole number from {shown}.", field=field)
    if not (low or 0) <= value <= (high or 0):
        raise InvalidInput(f"{dimension.label} is from {shown}.", field=field)
    return int(value) if dimension.integers else float(value)


def validate(*, target_type: str, scores: Any) -> tuple[dict[str, Any], dict[str, float]]:
    """The scores as stored and on [0, 1]; InvalidInput with the field otherwise."""
    if scores is None:
        scores = {}
    if not isinstance(scores, Mapping):
        raise InvalidInput("Scores are an object: {dimension: value}.", field="scores")
    if len(scores) > MAX_DIMENSIONS:
        raise InvalidInput(f"At most {MAX_DIMENSIONS} scores.", field="scores")
    known = {d.key: d for d in dimensions(target_type=target_type)}
    unknown = sorted(str(k) for k in scores if k not in known)
    if unknown:
        offered = ", ".join(known) or "none"
        raise InvalidInput(
            f"No rubric dimension '{unknown[0][:40]}' for {target_type}s (they are: {offered}).",
            field=f"scores.{unknown[0][:40]}",
        )
    for key, dimension in known.items():
        if dimension.required and key not in scores:
            raise InvalidInput(f"Rate {dimension.label}: it is required.", field=f"scores.{key}")
    stored = {key: _checked(known[key], value) for key, value in scores.items()}
    return stored, {key: normalize(known[key], value) for key, value in stored.items()}


@dataclass(frozen=True)
class FormField:
    """A dimension as the review form shows it: its choices (None: a number box) and the
    reviewer's earlier value, as text."""

    dimension: RubricDimension
    choices: list[tuple[str, str]] | None
    value: str

    @property
    def name(self) -> str:
        return f"score_{self.dimension.key}"


def form_fields(*, target_type: str, earlier: Mapping[str, Any] | None) -> list[FormField]:
    fields = []
    for d in dimensions(target_type=target_type):
        choices: list[tuple[str, str]] | None
        if d.kind == DimensionKind.BOOLEAN:
            choices = [("yes", "Yes"), ("no", "No")]
        elif d.kind == DimensionKind.CATEGORICAL:
            choices = [(o, o) for o in d.options]
        elif d.integers and (d.maximum or 0) - (d.minimum or 0) <= 10:
            choices = [
                (str(v), str(v)) for v in range(int(d.minimum or 0), int(d.maximum or 0) + 1)
            ]
        else:
            choices = None
        value = (earlier or {}).get(d.key)
        fields.append(FormField(d, choices, _as_text(value)))
    return fields


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)


def from_form(*, target_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The scores a review form posted (`score_<key>` fields), typed as the API takes them,
    for validate() to check; empty fields are left out."""
    scores: dict[str, Any] = {}
    for d in dimensions(target_type=target_type):
        raw = str(data.get(f"score_{d.key}", "")).strip()
        if not raw:
            continue
        if d.kind == DimensionKind.BOOLEAN:
            scores[d.key] = {"yes": True, "no": False}.get(raw, raw)
        elif d.kind == DimensionKind.NUMERIC:
            try:
                number = float(raw)
            except ValueError:
                scores[d.key] = raw
            else:
                scores[d.key] = int(number) if number.is_integer() else number
        else:
            scores[d.key] = raw
    return scores


@dataclass(frozen=True)
class DimensionSummary:
    dimension: RubricDimension
    count: int
    average: float | None  # on [0, 1]

    @property
    def on_scale(self) -> str:
        """The average in the dimension's own terms."""
        if self.average is None:
            return "no scores yet"
        d = self.dimension
        if d.kind == DimensionKind.BOOLEAN:
            return f"{self.average:.0%} yes"
        if d.kind == DimensionKind.NUMERIC:
            low, high = float(d.minimum or 0), float(d.maximum or 1)
            return f"{low + self.average * (high - low):.1f} of {high:g}"
        nearest = round(self.average * (len(d.options) - 1))
        return f"about “{d.options[nearest]}”"


def summary(*, entry_ids_sql: tuple[str, Any]) -> list[DimensionSummary]:
    """Per dimension (active or not, with scores), how many scores and their average on
    [0, 1], over the feedback entries the SQL (`SELECT id ...`, params) selects."""
    sql, params = entry_ids_sql
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT e.target_type, s.key, count(*), avg(s.value::float)
              FROM feedback_feedbackentry e, jsonb_each_text(e.normalized_scores) s
             WHERE e.id IN ({sql})
             GROUP BY 1, 2
            """,  # noqa: S608 - the inner query is Django's, compiled with its parameters
            params,
        )
        rows = {(t, k): (n, avg) for t, k, n, avg in cursor.fetchall()}
    return [
        DimensionSummary(d, *rows.get((d.target_type, d.key), (0, None)))
        for d in RubricDimension.objects.all()
        if d.active or (d.target_type, d.key) in rows
    ]
