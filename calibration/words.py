"""Calibration said in words, for people who will not read a reliability diagram: what the
agent's confidence is worth (`in_words`) and what its map learns from (`learning_in_words`).
Pure, no Django."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from calibration import stats

# Under this many outcomes a bin, or a whole action type, is too thin to put in words.
WORDS_MIN_OUTCOMES = 10
# How far apart (points) the agent's average confidence and its success rate may be and
# still be "about right".
WORDS_TOLERANCE = 0.05


def in_words(bins: list[stats.CurveBin]) -> str:
    """The calibration of one action type in a sentence a salesperson reads: what the
    agent's confidence in its busiest confident bin is worth, and whether it over- or
    undersells itself overall."""
    filled = [b for b in bins if b.count and b.mean_predicted is not None]
    total = sum(b.count for b in filled)
    if total < WORDS_MIN_OUTCOMES:
        return "Too few outcomes yet to say what the agent's confidence is worth."
    said = sum(b.count * (b.mean_predicted or 0) for b in filled) / total
    got = sum(b.count * (b.actual_rate or 0) for b in filled) / total
    confident = [b for b in filled if (b.mean_predicted or 0) >= 0.5 and b.count >= 5]
    busiest = max(confident or filled, key=lambda b: b.count)
    example = (
        f"When the agent says it is {busiest.mean_predicted:.0%} sure, it works out "
        f"{busiest.actual_rate:.0%} of the time ({busiest.count} outcomes)."
    )
    if abs(said - got) <= WORDS_TOLERANCE:
        verdict = f"Overall its confidence is about right: it says {said:.0%}, gets {got:.0%}."
    elif said > got:
        verdict = (
            f"Overall it oversells itself: it says {said:.0%} on average and gets {got:.0%}, "
            "so trust it less than it claims."
        )
    else:
        verdict = (
            f"Overall it undersells itself: it says {said:.0%} on average and gets {got:.0%}, "
            "so it can be trusted more than it claims."
        )
    return f"{example} {verdict}"


def _when(at: datetime) -> str:
    return f"{at:%-d %b %H:%M} UTC"


def learning_in_words(found: dict[str, Any]) -> str:
    """The map's data in plain words: how many outcomes with a final result it learns
    from, and how many newer actions wait for their result window to close (since when)."""
    since = found.get("window_started_at")
    if found["outcomes"]:
        said = (
            f"The agent is told a confidence learnt from {found['outcomes']:,} outcomes whose "
            "result is final"
            + (f" (since {_when(since)}, when its calibration changed)." if since else ".")
        )
    else:
        said = (
            "No action has a final result yet (a result is final when its window closes: 7 "
            "days for an email, 30 for a deal), so the agent is told its own confidence, "
            "scaled by its policy."
        )
    if found["waiting"]:
        waiting = found["waiting"]
        said += (
            f" {waiting:,} newer action{'s' if waiting != 1 else ''} (taken since "
            f"{_when(found['waiting_since'])}) {'are' if waiting != 1 else 'is'} still "
            "inside the result window and will count once it closes, so early replies "
            "cannot make the agent look better than it is."
        )
    return said
