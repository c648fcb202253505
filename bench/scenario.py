"""Traffic as a scenario file describes it: when actions are taken, in which conversations,
with which confidence, how likely each is to work (the truth, changing or not), and when
its result arrives. Pure numpy; the efficacy bench feeds it to the learning loop.

A scenario is a JSON object (README, "Simulating your own traffic"; shipped ones in
bench/scenarios/efficacy/):

    {"name": "late failures", "description": "one sentence",
     "days": 60,
     "actions_per_day": 200,                       # or "actions_per_weekday": [7 numbers,
                                                   #   Monday first], e.g. 0 at weekends
     "conversations": {"actions": [1, 6], "shared_outcome": 0.3},
     "confidence": {"uniform": [0.02, 1.0]},       # or {"beta": [a, b]} or
                                                   #   {"points": [...], "weights": [...]}
     "truth": [{"from_day": 0, "knots": [[0, 0], [1, 0.6]]},
               {"from_day": 40, "to_day": 60, "knots": [[0, 0.3], [1, 1.0]]}],
     "resolution": {"window_days": 7, "success_mean_hours": 6,
                    "failure": "window_end", "early_failures": 0.1,
                    "failure_mean_hours": 12}}

- Actions of a day are spread evenly over its 24 hours (at random); the first day is a
  Monday. Confidences are rounded to 2 decimals, as agents send them.
- Conversations: consecutive actions form conversations of a uniform number of actions in
  the given range; in a `shared_outcome` share of them one draw decides every action's
  result (they work or fail together: a prospect who answers or does not), so outcomes are
  correlated without changing P(y | p).
- Truth: P(y = 1 | p) is piecewise-linear through the knots of the regime in force at the
  action's time. A regime with `to_day` is a gradual change: from the previous regime's
  knots at `from_day` to its own at `to_day`, linearly in time.
- Resolution: a success arrives after an exponential delay (mean `success_mean_hours`,
  within the window); a failure at the window's end, when the hourly expiry sweep finds
  it ("window_end"), except an `early_failures` share (bounces) after an exponential delay
  of mean `failure_mean_hours`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HOUR = 1 / 24
SCENARIOS = Path(__file__).parent / "scenarios"


@dataclass(frozen=True)
class Regime:
    from_day: float
    knots: np.ndarray  # (k, 2): confidence, success probability
    to_day: float | None = None  # a gradual change ends here

    def at(self, p: np.ndarray) -> np.ndarray:
        return np.interp(p, self.knots[:, 0], self.knots[:, 1])


@dataclass(frozen=True)
class Traffic:
    """One seed's actions, in the order they were taken."""

    t: np.ndarray  # action time, in days from the start
    p: np.ndarray  # raw confidence
    y: np.ndarray  # 1 success, 0 failure
    truth: np.ndarray  # P(y = 1 | p) at the action's time
    conversation: np.ndarray
    window_end: np.ndarray  # when the result window closes (days)
    resolved: np.ndarray  # when the result is known (days)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    days: int
    per_weekday: tuple[int, ...]
    conversation_sizes: tuple[int, int]
    shared_outcome: float
    confidence: dict[str, Any]
    regimes: tuple[Regime, ...]
    window_days: float
    success_mean_hours: float
    early_failures: float
    failure_mean_hours: float
    raw: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        return cls.from_dict(json.loads(Path(path).read_text()))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        per_weekday = weekday_volumes(data)
        conversations = data.get("conversations") or {}
        low, high = conversations.get("actions", [1, 1])
        resolution = data.get("resolution") or {}
        failure = resolution.get("failure", "window_end")
        if failure != "window_end":
            raise ValueError('resolution.failure: only "window_end" (use early_failures)')
        regimes = tuple(
            Regime(
                float(r.get("from_day", 0)),
                np.asarray(r["knots"], dtype=float),
                float(r["to_day"]) if "to_day" in r else None,
            )
            for r in data["truth"]
        )
        if not regimes or regimes[0].from_day != 0 or regimes[0].to_day is not None:
            raise ValueError("truth: the first regime starts at day 0 and is not gradual")
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            days=int(data["days"]),
            per_weekday=per_weekday,
            conversation_sizes=(int(low), int(high)),
            shared_outcome=float(conversations.get("shared_outcome", 0.0)),
            confidence=data.get("confidence") or {"uniform": [0.02, 1.0]},
            regimes=regimes,
            window_days=float(resolution.get("window_days", 7)),
            success_mean_hours=float(resolution.get("success_mean_hours", 6)),
            early_failures=float(resolution.get("early_failures", 0.0)),
            failure_mean_hours=float(resolution.get("failure_mean_hours", 12)),
            raw=data,
        )

    # The truth -----------------------------------------------------------------------
    def truth(self, p: np.ndarray, t: float | np.ndarray) -> np.ndarray:
        """P(y = 1 | p) at time(s) t."""
        p = np.asarray(p, dtype=float)
        t_arr = np.broadcast_to(np.asarray(t, dtype=float), p.shape)
        out = self.regimes[0].at(p)
        for previous, regime in zip(self.regimes, self.regimes[1:], strict=False):
            new = regime.at(p)
            if regime.to_day is None:
                out = np.where(t_arr >= regime.from_day, new, out)
            else:
                old = previous.at(p)
                span = max(regime.to_day - regime.from_day, 1e-9)
                share = np.clip((t_arr - regime.from_day) / span, 0.0, 1.0)
                moving = old + share * (new - old)
                out = np.where(t_arr >= regime.from_day, moving, out)
        return np.clip(out, 0.0, 1.0)

    def changes(self) -> list[tuple[float, float]]:
        """(began, settled) days of each change of the truth."""
        return [
            (r.from_day, r.to_day if r.to_day is not None else r.from_day) for r in self.regimes[1:]
        ]

    def regime_of(self, t: np.ndarray) -> np.ndarray:
        """The index of the regime in force (during a gradual change: -1)."""
        t = np.asarray(t, dtype=float)
        out = np.zeros(t.shape, dtype=int)
        for i, regime in enumerate(self.regimes[1:], start=1):
            settled = regime.to_day if regime.to_day is not None else regime.from_day
            out = np.where(t >= regime.from_day, -1, out)
            out = np.where(t >= settled, i, out)
        return out

    # Traffic -------------------------------------------------------------------------
    def draw_confidence(self, rng: np.random.Generator, n: int) -> np.ndarray:
        spec = self.confidence
        if "uniform" in spec:
            low, high = spec["uniform"]
            values = rng.uniform(low, high, n)
        elif "beta" in spec:
            a, b = spec["beta"]
            values = rng.beta(a, b, n)
        elif "points" in spec:
            points = np.asarray(spec["points"], dtype=float)
            weights = np.asarray(spec.get("weights") or [1.0] * len(points), dtype=float)
            values = rng.choice(points, size=n, p=weights / weights.sum())
        else:
            raise ValueError("confidence: uniform, beta or points")
        return np.clip(np.round(values, 2), 0.0, 1.0)

    def actions_on(self, day: int) -> int:
        return self.per_weekday[day % 7]

    @property
    def total(self) -> int:
        return sum(self.actions_on(d) for d in range(self.days))

    def traffic(self, rng: np.random.Generator) -> Traffic:
        counts = np.array([self.actions_on(d) for d in range(self.days)])
        t = np.concatenate(
            [d + np.sort(rng.uniform(0, 1, c)) for d, c in enumerate(counts) if c] or [np.zeros(0)]
        )
        n = len(t)
        p = self.draw_confidence(rng, n)
        truth = self.truth(p, t)
        low, high = self.conversation_sizes
        sizes = rng.integers(low, high + 1, n)  # more than enough
        conversation = np.repeat(np.arange(n), sizes)[:n]
        draws = rng.uniform(0, 1, n)
        shared = rng.uniform(0, 1, n) < self.shared_outcome  # per conversation id
        common = rng.uniform(0, 1, n)
        u = np.where(shared[conversation], common[conversation], draws)
        y = (u < truth).astype(float)
        window_end = t + self.window_days
        success_delay = np.minimum(
            rng.exponential(self.success_mean_hours * HOUR, n), self.window_days - HOUR
        )
        early = rng.uniform(0, 1, n) < self.early_failures
        failure_delay = np.minimum(
            rng.exponential(self.failure_mean_hours * HOUR, n), self.window_days - HOUR
        )
        # Silence is found by the hourly expiry sweep, on the hour after the window ends.
        silence = np.ceil(window_end * 24 + 1e-9) / 24
        resolved = np.where(y == 1, t + success_delay, np.where(early, t + failure_delay, silence))
        return Traffic(t, p, y, truth, conversation, window_end, resolved)


def weekday_volumes(data: dict[str, Any], default: int = 200) -> tuple[int, ...]:
    """Actions on each weekday, Monday first: `actions_per_weekday` (7 numbers) or
    `actions_per_day` every day."""
    if "actions_per_weekday" in data:
        per_weekday = tuple(int(v) for v in data["actions_per_weekday"])
        if len(per_weekday) != 7:
            raise ValueError("actions_per_weekday needs 7 numbers, Monday first")
        return per_weekday
    return (int(data.get("actions_per_day", default)),) * 7


def shipped(kind: str) -> list[Path]:
    return sorted((SCENARIOS / kind).glob("*.json"))
