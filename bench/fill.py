"""Filling a bench tenant fast: outcomes spread over 90 days, written with COPY."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

STATUSES = ["positive"] * 5 + ["negative"] * 2 + ["expired"] * 2 + ["pending", "ambiguous"]
PROGRESS_EVERY = 500_000
COLUMNS = (
    "action_id, conversation_id, rep_id, action_type, predicted_confidence, "
    "outcome_type, attributes, occurred_at, window_expires_at, status, score, "
    "signal_source, resolution_reason, label_comment, resolved_at, created_at"
)


def fill_conversations(
    cur: Any, *, prefix: str, reps: Sequence[int], count: int = 20_000
) -> list[tuple[int, int]]:
    """`count` conversations `<prefix>-conv-<i>`, round robin over the reps; returns their
    (id, rep id) in id order, for copy_outcomes."""
    cur.execute(
        "INSERT INTO outcomes_conversation (external_id, rep_id, deal_stage, created_at) "
        "SELECT %s || '-conv-' || g, (%s::bigint[])[1 + g %% %s], '', now() "
        "FROM generate_series(0, %s - 1) g",
        [prefix, list(reps), len(reps), count],
    )
    cur.execute("SELECT id, rep_id FROM outcomes_conversation ORDER BY id")
    return list(cur.fetchall())


def copy_outcomes(
    cur: Any,
    *,
    count: int,
    prefix: str,
    conversations: Sequence[tuple[int, int]],
    types: Sequence[tuple[str, str]],
    rng: random.Random,
    now: datetime,
    attributes: Callable[[random.Random], str] = lambda rng: "{}",
    reason: Callable[[str], str] = lambda status: "",
    progress: Callable[[int], None] | None = None,
    in_time_order: bool = False,
    days: int = 90,
) -> None:
    """`count` outcomes `<prefix>-<i>`, round robin over the conversations (id, rep id)
    and the (action type, outcome type) pairs, with random times over the `days` before
    `now`, random confidences and statuses.
    `progress` is called with the rows written so far, every PROGRESS_EVERY rows.
    `in_time_order`: written oldest first, as the agent reports them (the table's pages
    then hold a day's actions together, as in production), else in random order."""
    first: dict[int, datetime] = {}  # each conversation's first action
    with cur.copy(f"COPY outcomes_outcomerecord ({COLUMNS}) FROM STDIN") as copy:
        for i in range(count):
            if progress is not None and i and i % PROGRESS_EVERY == 0:
                progress(i)
            conv, rep = conversations[i % len(conversations)]
            action_type, outcome_type = types[i % len(types)]
            if in_time_order:
                at = now - timedelta(seconds=days * 86400 * (1 - (i + rng.random()) / count))
            else:
                at = now - timedelta(seconds=rng.uniform(0, days * 86400))
            if conv not in first or at < first[conv]:
                first[conv] = at
            status = rng.choice(STATUSES)
            final = status in ("positive", "negative", "expired")
            copy.write_row(
                (
                    f"{prefix}-{i}",
                    conv,
                    rep,
                    action_type,
                    round(rng.random(), 2),
                    outcome_type,
                    attributes(rng),
                    at,
                    at + timedelta(days=7),
                    status,
                    (1.0 if status == "positive" else 0.0) if final else None,
                    "event" if final else "",
                    reason(status),
                    "",
                    at + timedelta(hours=5) if final else None,
                    at,
                )
            )
    # as outcomes.ingest keeps it (the copy bypasses it)
    cur.execute(
        "UPDATE outcomes_conversation c SET first_action_at = LEAST(c.first_action_at, f.at) "
        "FROM unnest(%s::bigint[], %s::timestamptz[]) AS f(id, at) WHERE c.id = f.id",
        [list(first), list(first.values())],
    )
