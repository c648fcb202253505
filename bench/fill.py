"""Filling a bench tenant fast: outcomes spread over 90 days, written with COPY."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

STATUSES = ["positive"] * 5 + ["negative"] * 2 + ["expired"] * 2 + ["pending", "ambiguous"]
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
) -> None:
    """`count` outcomes `<prefix>-<i>`, round robin over the conversations (id, rep id)
    and the (action type, outcome type) pairs, with random times, confidences and statuses."""
    with cur.copy(f"COPY outcomes_outcomerecord ({COLUMNS}) FROM STDIN") as copy:
        for i in range(count):
            conv, rep = conversations[i % len(conversations)]
            action_type, outcome_type = types[i % len(types)]
            at = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
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
