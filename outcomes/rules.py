"""How signals decide outcomes: one table, per outcome type. Pure data, no Django.

Every outcome type has a window (how long after the action a signal still counts), a scale
(2 levels = binary, 3 or 5 levels; scores are normalised to [0, 1] as (level - 1) /
(levels - 1)) and a verdict per signal kind:

- decisive verdicts (positive / negative, with a level) resolve the outcome at once;
- weak signals (`opened`, `meeting_scheduled`) resolve nothing by themselves: an outcome
  that reaches the end of its window with only weak signals becomes **ambiguous** and
  goes to the labelling queue; with no signal at all it becomes **expired**.

What counts as success is defined once, at the end of this module: an outcome is
**decided** when positive, negative or expired, and a **success** when positive (success
rates are successes / decided, on every dashboard and in coaching). Calibration counts an
expired outcome as a failure only where silence means failure (`silence_is_failure`, email
engagement) and leaves it out elsewhere. The SQL forms of the same rules are in
`outcomes.aggregates`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

# Outcome statuses (outcomes.models.OutcomeStatus gives them their labels) and the verdict
# of a weak signal.
PENDING = "pending"
POSITIVE = "positive"
NEGATIVE = "negative"
AMBIGUOUS = "ambiguous"
EXPIRED = "expired"
WEAK = "weak"
# What resolved an outcome (outcomes.models.SignalSource gives them their labels): the
# window check (a sweep), a signal received, or a person's label.
AUTOMATIC = "automatic"
EVENT = "event"
HUMAN_LABEL = "human_label"

# Outcome types (outcomes.models.OutcomeType gives them their labels).
EMAIL_ENGAGEMENT = "email_engagement"
DEAL_PROGRESSION = "deal_progression"
MEETING_OUTCOME = "meeting_outcome"
ESCALATION_RESULT = "escalation_result"

# Deal stages in order. Won and lost are terminal and handled by their own verdicts.
DEFAULT_STAGES: tuple[str, ...] = (
    "prospecting",
    "qualification",
    "discovery",
    "demo",
    "proposal",
    "negotiation",
)
WON_STAGES = frozenset({"closed_won", "won"})
LOST_STAGES = frozenset({"closed_lost", "lost"})
# The signal that moves a conversation's deal stage (data.to, and data.from if known).
STAGE_CHANGED = "stage_changed"
# Qualification is *completed* when a conversation reaches a stage after "qualification"
# (discovery on, or won), by a stage_changed signal or deal_won, or an action the agent
# records at such a stage (attributes.deal_stage); it *stopped* when the deal
# was lost first (a stage_changed to a lost stage, or deal_lost). A conversation neither,
# QUALIFICATION_DAYS after the agent's first action on it, did not complete it (as a deal
# move that hears nothing in its 30-day window expires); before that it is still open.
QUALIFICATION = "qualification"
PAST_QUALIFICATION: frozenset[str] = (
    frozenset(DEFAULT_STAGES[DEFAULT_STAGES.index(QUALIFICATION) + 1 :]) | WON_STAGES
)
QUALIFICATION_DAYS = 30


class SignalDataError(ValueError):
    """The signal's data cannot be judged; `field` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Verdict:
    status: str  # POSITIVE, NEGATIVE or WEAK
    level: int | None = None
    reason: str = ""


Judge = Callable[[Mapping[str, Any], str], Verdict | None]


def fixed(status: str, level: int | None = None) -> Judge:
    def judge(data: Mapping[str, Any], current_stage: str) -> Verdict:
        return Verdict(status, level)

    return judge


def judge_stage_change(data: Mapping[str, Any], current_stage: str) -> Verdict | None:
    """5 levels: 5 won, 4 advanced two or more stages, 3 advanced one stage,
    2 moved backwards, 1 lost. No movement is no verdict."""
    to = data.get("to")
    if not isinstance(to, str) or not to:
        raise SignalDataError("data.to", "stage_changed needs data.to, the new stage.")
    origin = data.get("from", current_stage)
    if to in WON_STAGES:
        return Verdict(POSITIVE, 5, f"stage {origin or '?'} -> {to}")
    if to in LOST_STAGES:
        return Verdict(NEGATIVE, 1, f"stage {origin or '?'} -> {to}")
    stages = list(DEFAULT_STAGES)
    if to not in stages:
        raise SignalDataError("data.to", f"Unknown stage {to!r}; known: {', '.join(stages)}.")
    if not origin:
        # First stage we hear of: the deal is alive and moving.
        return Verdict(POSITIVE, 3, f"stage -> {to}")
    if not isinstance(origin, str) or origin not in stages:
        raise SignalDataError("data.from", f"Unknown stage {origin!r}; known: {', '.join(stages)}.")
    distance = stages.index(to) - stages.index(origin)
    reason = f"stage {origin} -> {to}"
    if distance >= 2:
        return Verdict(POSITIVE, 4, reason)
    if distance == 1:
        return Verdict(POSITIVE, 3, reason)
    if distance < 0:
        return Verdict(NEGATIVE, 2, reason)
    return None


def judge_meeting_attended(data: Mapping[str, Any], current_stage: str) -> Verdict:
    """3 levels: 3 attended with positive feedback, 2 attended, 1 no-show."""
    if data.get("sentiment") == "positive" or data.get("positive_feedback") is True:
        return Verdict(POSITIVE, 3, "attended, positive feedback")
    return Verdict(POSITIVE, 2, "attended")


@dataclass(frozen=True)
class OutcomeRule:
    outcome_type: str
    window: timedelta
    levels: int
    silence_is_failure: bool
    signals: Mapping[str, Judge] = field(default_factory=dict)

    def score(self, level: int) -> float:
        return (level - 1) / (self.levels - 1)

    def judge(self, kind: str, data: Mapping[str, Any], current_stage: str = "") -> Verdict | None:
        judge = self.signals.get(kind)
        return judge(data, current_stage) if judge else None


RULES: dict[str, OutcomeRule] = {
    rule.outcome_type: rule
    for rule in (
        OutcomeRule(
            outcome_type=EMAIL_ENGAGEMENT,
            window=timedelta(days=7),
            levels=2,
            silence_is_failure=True,
            signals={
                "replied": fixed(POSITIVE, 2),
                "clicked": fixed(POSITIVE, 2),
                "bounced": fixed(NEGATIVE, 1),
                "unsubscribed": fixed(NEGATIVE, 1),
                "spam_reported": fixed(NEGATIVE, 1),
                "opened": fixed(WEAK),
            },
        ),
        OutcomeRule(
            outcome_type=DEAL_PROGRESSION,
            window=timedelta(days=30),
            levels=5,
            silence_is_failure=False,
            signals={
                STAGE_CHANGED: judge_stage_change,
                "opportunity_created": fixed(POSITIVE, 3),
                "deal_won": fixed(POSITIVE, 5),
                "deal_lost": fixed(NEGATIVE, 1),
            },
        ),
        OutcomeRule(
            outcome_type=MEETING_OUTCOME,
            window=timedelta(days=14),
            levels=3,
            silence_is_failure=False,
            signals={
                "meeting_attended": judge_meeting_attended,
                "meeting_no_show": fixed(NEGATIVE, 1),
                "meeting_cancelled": fixed(NEGATIVE, 1),
                "meeting_scheduled": fixed(WEAK),
            },
        ),
        OutcomeRule(
            outcome_type=ESCALATION_RESULT,
            window=timedelta(days=7),
            levels=2,
            silence_is_failure=False,
            signals={
                "escalation_resolved": fixed(POSITIVE, 2),
                "escalation_unneeded": fixed(NEGATIVE, 1),
                "escalation_acknowledged": fixed(WEAK),
            },
        ),
    )
}

SIGNAL_KINDS: frozenset[str] = frozenset(kind for rule in RULES.values() for kind in rule.signals)

# Kinds that only describe the conversation (no outcome judged by them, but they are valid).
INFORMATIONAL_KINDS = frozenset({"meeting_rescheduled"})
KNOWN_KINDS = SIGNAL_KINDS | INFORMATIONAL_KINDS


def is_weak(outcome_type: str, kind: str) -> bool:
    """Kinds that can never decide an outcome of this type by themselves."""
    try:
        verdict = RULES[outcome_type].judge(kind, {}, "")
    except SignalDataError:
        return False
    return verdict is not None and verdict.status == WEAK


def outcome_types_for(kind: str) -> list[str]:
    return [name for name, rule in RULES.items() if kind in rule.signals]


# --- what counts as success: the one definition ---------------------------------------------

DECIDED = (POSITIVE, NEGATIVE, EXPIRED)  # final: what success rates divide by
SILENCE_FAILS = tuple(sorted(t for t, rule in RULES.items() if rule.silence_is_failure))


def is_decided(status: str) -> bool:
    return status in DECIDED


def is_success(status: str) -> bool:
    return status == POSITIVE


def calibration_label(status: str, outcome_type: str) -> float | None:
    """What calibration learns from an outcome: 1 positive, 0 negative, 0 expired where
    silence means failure for its outcome type; None (not counted) otherwise."""
    if status == POSITIVE:
        return 1.0
    if status == NEGATIVE or (status == EXPIRED and outcome_type in SILENCE_FAILS):
        return 0.0
    return None


# A confidence below one in a billion is stored as 0: PostgreSQL refuses to square 1e-308
# ("value out of range: underflow"), so such a value would fail every sum of squares that
# the calibration bins, the daily rollups and the Brier score take over it.
SMALLEST_CONFIDENCE = 1e-9


def stored_confidence(confidence: float) -> float:
    """The agent's confidence as stored and learnt from."""
    return 0.0 if confidence < SMALLEST_CONFIDENCE else confidence
