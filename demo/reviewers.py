"""Simulated people giving feedback on the agent's resolved actions, for the demo.

Three reviewers over the history's days: alice rates her own actions inline most days,
maria (the manager) rates her team's on the dashboard's 1 to 5 stars, and bob rates a lot
early on, every time top marks, then nearly stops: the pattern the fatigue check (and its
alert) exists for. Ratings go through `feedback.services.record_feedback`, as the web
and API do; only their time is moved back to when the person would have given them.
Seeded, so a second run rates the same targets the same way and stores nothing new.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from feedback import rubrics
from feedback import selectors as feedback_selectors
from feedback import services as feedback_services
from learning.models import User
from outcomes import rules
from outcomes import selectors as outcome_selectors
from prompts import services as prompt_services

RUBRIC: list[dict[str, Any]] = [
    {
        "key": "tone",
        "label": "Tone",
        "kind": "numeric",
        "minimum": 1,
        "maximum": 5,
        "description": "1 pushy or cold, 5 just right for this prospect.",
    },
    {
        "key": "accuracy",
        "label": "Facts right?",
        "kind": "categorical",
        "options": ["wrong", "partly", "right"],
        "description": "Prices, dates and names as they are in the CRM.",
        "position": 1,
    },
    {
        "key": "next_step",
        "label": "Right next step?",
        "kind": "boolean",
        "description": "Was this the step you would have taken now?",
        "position": 2,
    },
]


def seed_rubric() -> None:
    """The demo tenant's rubric for messages (beside the overall rating)."""
    for dimension in RUBRIC:
        rubrics.define(target_type="message", **dimension)


@dataclass(frozen=True)
class Review:
    reviewer: str
    outcome_id: int
    source: str
    rating: int
    comment: str
    at: datetime
    scores: dict[str, Any] | None = None


CRITICAL = (rules.ESCALATION_RESULT, rules.DEAL_PROGRESSION)


def plan(*, now: datetime, seed: int = 11) -> list[Review]:
    rng = random.Random(seed)
    # alice answers her Slack prompts about critical actions within minutes
    slack_rng = random.Random(seed + 1)
    resolved = outcome_selectors.decided_of_reps(usernames=("alice", "bob"))
    critical = {
        row["id"]
        for row in outcome_selectors.actions_of_reps(usernames=("alice",), outcome_types=CRITICAL)
    }
    reviews: list[Review] = []

    def at(outcome: dict[str, Any]) -> datetime:
        return min(outcome["occurred_at"] + timedelta(hours=rng.uniform(2, 30)), now)

    def answered(outcome: dict[str, Any]) -> datetime:
        minutes = min(slack_rng.lognormvariate(2.5, 0.9), 600)  # median about 12 min
        return min(outcome["occurred_at"] + timedelta(minutes=minutes), now)

    for outcome in resolved:
        age = (now - outcome["occurred_at"]).days
        good = rules.is_success(outcome["status"])
        prompted = outcome["id"] in critical
        if outcome["rep"] == "alice" and rng.random() < (0.7 if prompted else 0.3):
            rating = 1 if good and rng.random() < 0.85 else (-1 if not good else 0)
            when = answered(outcome) if prompted else at(outcome)
            reviews.append(Review("alice", outcome["id"], "inline", rating, "", when))
        if outcome["rep"] == "bob":
            # keen while it was new (2 to 3 weeks ago), then all but gone
            share = 0.6 if 9 <= age <= 20 else (0.03 if age < 8 else 0.0)
            if rng.random() < share:
                reviews.append(Review("bob", outcome["id"], "inline", 1, "", at(outcome)))
        if rng.random() < 0.08:
            stars = rng.choice((4, 5)) if good else rng.choice((1, 2, 3))
            note = "" if stars >= 3 else rng.choice(("wrong timing", "too pushy", "off-topic"))
            scores = {
                "tone": max(1, min(5, stars + rng.choice((-1, 0, 0, 1)))),
                "accuracy": "right" if stars >= 4 else rng.choice(("partly", "wrong")),
                "next_step": stars >= 3,
            }
            reviews.append(
                Review("maria", outcome["id"], "dashboard", stars, note, at(outcome), scores)
            )
    return reviews


def prompt_history(reviews: list[Review]) -> int:
    """The prompts of the history: alice is asked about her critical actions in Slack,
    bob by email (an answered prompt is a review of that action by them); how many are
    new. Gives the feedback page's answer rates something real to show."""
    users = {u.username: u for u in User.objects.filter(username__in=("alice", "bob"))}
    given = {(r.reviewer, r.outcome_id): r for r in reviews}
    created = 0
    for row in outcome_selectors.actions_of_reps(usernames=users, outcome_types=CRITICAL):
        person = row["rep"]
        channel, delay = (
            ("slack", timedelta(seconds=4))
            if person == "alice"
            else (
                "email",
                timedelta(minutes=2),
            )
        )
        review = given.get((person, row["id"]))
        created += prompt_services.record_past_prompt(
            recipient=users[person],
            outcome_id=row["id"],
            channel=channel,
            why="A critical action the agent made",
            sent_at=row["occurred_at"] + delay,
            answered_at=review.at if review else None,
            answer=(review.rating + 1) / 2 if review else None,
            answered_via=("slack" if channel == "slack" else "link") if review else "",
        )
    return created


def apply(reviews: list[Review]) -> int:
    """Record the reviews (the demo rubric defined first); returns how many were new."""
    seed_rubric()
    users = {u.username: u for u in User.objects.filter(username__in={r.reviewer for r in reviews})}
    outcomes = outcome_selectors.outcomes_by_id(ids=[r.outcome_id for r in reviews])
    taken = feedback_selectors.reviewed(outcome_ids=outcomes)  # a rerun adds nothing
    created = 0
    for review in reviews:
        if (review.reviewer, review.outcome_id) in taken:
            continue
        outcome = outcomes[review.outcome_id]
        target_type = feedback_selectors.target_type_of(outcome)
        recorded = feedback_services.record_feedback(
            reviewer=users[review.reviewer],
            target_type=target_type,
            target_id=outcome.action_id,
            conversation_id=outcome.conversation.external_id,
            source=review.source,
            rating=review.rating,
            comment=review.comment,
            scores=review.scores if target_type == "message" else None,
            outcome_id=outcome.pk,
            rated_at=review.at,
        )
        created += recorded.created
    return created
