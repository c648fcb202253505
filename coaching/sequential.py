"""Randomised experiments of a playbook entry: a two-sample sequential test of its new
version against the previous one, checked after every observation (ArmTest). Pure, no
Django."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

EXPERIMENT_ALPHA = 0.05  # the chance of any decision between two equally good versions
PROMOTE_AFTER = 10  # the seeds' floors, in observations
DEMOTE_AFTER = 20
PAIR_HORIZON = 200  # an observation waits for a partner of the other arm at most this many
PAIR_BETS = (0.05, 0.1, 0.2, 0.4, 0.8)  # the constant bets mixed, for each direction


def _log_mean_exp(terms: Sequence[float]) -> float:
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms) / len(terms))


def pair_log_evidence(treatment_better: int, control_better: int) -> tuple[float, float]:
    """The logs of the evidence that the treatment is better and that it is worse, after
    `treatment_better` discordant pairs won by the treatment and `control_better` by the
    control: each the mean over PAIR_BETS of the wealth (1 + b)^won (1 - b)^lost of
    always betting the fraction b on that side."""
    better = [treatment_better * math.log1p(b) + control_better * math.log1p(-b) for b in PAIR_BETS]
    worse = [treatment_better * math.log1p(-b) + control_better * math.log1p(b) for b in PAIR_BETS]
    return _log_mean_exp(better), _log_mean_exp(worse)


class ArmTest:
    """A two-arm test of "both versions succeed equally often", valid although it is
    checked after every observation, with the common rate unknown and free to drift, at any
    split of the observations between the arms; it decides nothing while an arm is
    unobserved.

    Pairs. Each observation is paired with the newest still-unpaired observation of the
    other arm, in arrival order; an observation that waits more than `horizon` (200)
    observations for a partner is dropped. The pairing looks only at the arms and the
    order, never at the outcomes; its state is the waiting arm and its waiting observations
    (at most horizon + 1). The newest partner rather than the oldest: when one arm is
    observed more, the oldest waiting one is about `horizon` observations old, the newest a
    median 1, and the pairs are as many within 2 %; with a common rate falling from 90 % to 10 %
    at a 20 % share, the oldest partner demoted 15 % of equal versions, the newest 2 %
    (bench/scenarios/experiments/09-equal-collapsing.json).

    The coin. Two paired observations succeed independently with chances p_t (the
    treatment's) and p_c; given that exactly one succeeded (a discordant pair), it is the
    treatment's with probability p_t(1 - p_c) / (p_t(1 - p_c) + p_c(1 - p_t)): exactly 1/2
    when p_t = p_c, whatever the rate and however many observations each arm gets, and
    independently of the earlier pairs (other observations). Concordant pairs (both sent
    unedited or both edited) carry no evidence and are only counted.

    The wealth. For a bet b, (1 + b)^won (1 - b)^lost over the discordant pairs (won: the
    treatment's draft the unedited one) is a non-negative martingale of mean 1 under a fair
    coin. The mean over the bets PAIR_BETS is the evidence that the treatment is better; its
    mirror (1 - b)^won (1 + b)^lost, the evidence that it is worse; their average, the
    test's evidence, is a test martingale, so by Ville's inequality it ever reaches 1/alpha
    (20) with probability at most alpha (5 %), however often it is looked at. At 20 the
    side with more wins decides, promoted or demoted, once there are PROMOTE_AFTER or
    DEMOTE_AFTER observations. In effect each direction has alpha/2 to itself (its own
    evidence at 40 decides alone) plus what the other adds; between versions that differ,
    a decision in the wrong direction also has probability at most alpha (that side's
    evidence is then a supermartingale). The evidence depends only on the counts, not their
    order. At the best bet it grows by about (2q - 1)²/2 per discordant pair, q the
    treatment's chance of winning one: +5 points from 2 % to 7 % gives q = 0.79 but only
    9 % of pairs discordant; from 30 % to 35 %, q = 0.56 and 44 % discordant. Five constant
    bets mixed (rather than one shrunk plug-in bet or a Beta mixture) were the best
    compromise measured: the most power at +5 points without slowing large differences.

    Assumptions, under "equally good": (1) every observation succeeds with the common rate
    of its moment, independently of the others, whichever its arm; (2) which arm the next
    observation comes from does not depend on earlier outcomes (conversations are
    independent; an arm may draft less often, but not in response to results). The test is
    then exact when the common rate is the same at the two moments of each pair: it may
    drift over the experiment, but not appreciably within a pair's span (at most `horizon`
    observations, a median 1). A pair whose rates differ by e in log-odds has a coin within
    e/4 of fair; a rate falling from 30 % to 18 % over 24,000 observations moves e ~ 3e-5
    per observation.
    """

    def __init__(
        self,
        *,
        treatment_better: int = 0,
        control_better: int = 0,
        same: int = 0,
        observations: int = 0,
        waiting: dict[str, Any] | None = None,
        horizon: int = PAIR_HORIZON,
    ) -> None:
        self.treatment_better = treatment_better  # discordant pairs the treatment won
        self.control_better = control_better  # … the control won
        self.same = same  # concordant pairs
        self.observations = observations  # all of them: paired, waiting or dropped
        self.horizon = horizon
        waiting = waiting or {}
        self.waiting_treatment = waiting.get("arm") == "treatment"
        # [arrival number, 1 if it succeeded], oldest first (the arrival: `observations`
        # before it, counting from 0)
        self.waiting: list[list[int]] = [[int(n), int(s)] for n, s in waiting.get("queue", [])]
        self.log_better = self.log_worse = 0.0  # the logs of each direction's evidence
        self.log_wealth = 0.0  # the log of the test's evidence: their average
        self._weigh()

    def observe(self, *, treatment: bool, success: bool) -> int | None:
        """Take one observation: +1 if it completes a pair the treatment won, -1 one the
        control won, 0 a concordant pair, None if it waits for a partner."""
        arrival = self.observations
        self.observations += 1
        stale = 0
        while stale < len(self.waiting) and self.waiting[stale][0] < arrival - self.horizon:
            stale += 1
        del self.waiting[:stale]
        if not self.waiting or self.waiting_treatment == treatment:
            self.waiting_treatment = treatment
            self.waiting.append([arrival, int(success)])
            return None
        partner = bool(self.waiting.pop()[1])
        if success == partner:
            self.same += 1
            return 0
        if success == treatment:  # the treatment's succeeded, the control's failed
            self.treatment_better += 1
        else:
            self.control_better += 1
        self._weigh()
        return 1 if success == treatment else -1

    def _weigh(self) -> None:
        self.log_better, self.log_worse = pair_log_evidence(
            self.treatment_better, self.control_better
        )
        self.log_wealth = _log_mean_exp([self.log_better, self.log_worse])

    def waiting_state(self) -> dict[str, Any]:
        """The waiting observations as JSON: {"arm": …, "queue": [[arrival, 0|1], …]}."""
        if not self.waiting:
            return {}
        arm = "treatment" if self.waiting_treatment else "control"
        return {"arm": arm, "queue": [list(w) for w in self.waiting]}

    @property
    def pairs(self) -> int:
        return self.treatment_better + self.control_better + self.same

    @property
    def discordant(self) -> int:
        return self.treatment_better + self.control_better

    @property
    def evidence(self) -> float:
        return math.exp(min(self.log_wealth, 700.0))

    def decided(self, alpha: float) -> bool:
        return self.log_wealth >= math.log(1 / alpha)

    def decision(self, alpha: float = EXPERIMENT_ALPHA) -> str | None:
        """ "promoted" or "demoted" once the evidence is decisive and the floor for that
        direction is reached; None while undecided (always while an arm is unobserved:
        no pair, evidence 1)."""
        if not self.decided(alpha):
            return None
        better = self.treatment_better > self.control_better  # never equal at 1/alpha > 1
        if self.observations < (PROMOTE_AFTER if better else DEMOTE_AFTER):
            return None
        return "promoted" if better else "demoted"
