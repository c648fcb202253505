"""Experimental intents and playbook entries: counted on every use, promoted or demoted by
a rule that stays valid although it is checked after every use.

The rule is a Bayes factor of "the entry's approval rate is θ, θ ~ Beta(k·p₀, k·(1-p₀))"
against "it is the baseline's rate p₀": BF = B(a + s, b + f) / B(a, b) / (p₀^s (1-p₀)^f)
after s approvals and f edits. Under the baseline hypothesis BF is a nonnegative
martingale with mean 1, so by Ville's inequality the chance it ever reaches 1/alpha is at
most alpha, however often it is looked at. An entry is promoted when BF ≥ 1/alpha with its
rate above p₀ and at least 10 uses, demoted when BF ≥ 1/alpha with its rate below p₀ and
at least 20 uses (the seeds' floors). The baseline p₀ is the approval rate of the active
entries of the same kind, or of every draft of the last 30 days while those have fewer
than 30 uses.

Simulated (`coaching/tests/test_experiments.py`, p₀ = 0.5, k = 2, alpha = 0.05): an entry
as good as the baseline is promoted in 2.8 % of 400 runs over 300 uses (1.5 % of 2,000);
one at 0.8 is promoted after a median of 19 uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from scipy.special import betaln

from coaching.models import EntryStatus, PlaybookEntry
from feedback import selectors as feedback_selectors
from feedback.events import DraftRecorded

ALPHA = 0.05
PRIOR_STRENGTH = 2.0  # κ: the prior's weight in pseudo-uses, centred on the baseline
PROMOTE_AFTER = 10
DEMOTE_AFTER = 20
MIN_BASELINE_USES = 30


def log_bayes_factor(
    approvals: int, edits: int, baseline: float, *, strength: float = PRIOR_STRENGTH
) -> float:
    p0 = min(max(baseline, 1e-6), 1 - 1e-6)
    a, b = strength * p0, strength * (1 - p0)
    return float(
        betaln(a + approvals, b + edits)
        - betaln(a, b)
        - approvals * math.log(p0)
        - edits * math.log(1 - p0)
    )


@dataclass(frozen=True)
class Verdict:
    status: str  # the status to move to (unchanged when no decision)
    bayes_factor: float
    baseline: float
    reason: str = ""


def judge(uses: int, approvals: int, baseline: float, *, alpha: float = ALPHA) -> Verdict:
    """Promote, demote or keep an experimental entry with these counts."""
    bf = math.exp(min(log_bayes_factor(approvals, uses - approvals, baseline), 700.0))
    rate = approvals / uses if uses else 0.0
    decisive = bf >= 1 / alpha
    if decisive and rate > baseline and uses >= PROMOTE_AFTER:
        return Verdict(
            EntryStatus.ACTIVE,
            bf,
            baseline,
            f"promoted: {approvals} of {uses} sent unedited ({rate:.0%}) against a baseline of "
            f"{baseline:.0%}; Bayes factor {bf:.0f} ≥ {1 / alpha:.0f}",
        )
    if decisive and rate < baseline and uses >= DEMOTE_AFTER:
        return Verdict(
            EntryStatus.DEMOTED,
            bf,
            baseline,
            f"demoted: {approvals} of {uses} sent unedited ({rate:.0%}) against a baseline of "
            f"{baseline:.0%}; Bayes factor {bf:.0f} ≥ {1 / alpha:.0f}",
        )
    return Verdict(EntryStatus.EXPERIMENTAL, bf, baseline)


def baseline_rate(kind: str) -> float:
    """Approval of the active entries of `kind`; or of every draft of the last 30 days
    while those have too few uses; 0.5 with no data at all."""
    active = PlaybookEntry.objects.filter(kind=kind, status=EntryStatus.ACTIVE).aggregate(
        uses=Sum("uses"), approvals=Sum("approvals")
    )
    if (active["uses"] or 0) >= MIN_BASELINE_USES:
        return active["approvals"] / active["uses"]
    experimental = PlaybookEntry.objects.filter(status=EntryStatus.EXPERIMENTAL)
    total, unedited = feedback_selectors.approval(
        since=timezone.now() - timedelta(days=30),
        # an experiment is not its own baseline
        excluding_intents=experimental.values_list("name", flat=True),
    )
    if not total:
        return 0.5
    return unedited / total


def on_draft_recorded(draft: DraftRecorded) -> None:
    """feedback.events.DRAFT_RECORDED: a draft made from an intent is a use of it."""
    if draft.intent and draft.drafted:
        record_use(name=draft.intent, approved=draft.approved)


def record_use(*, name: str, approved: bool) -> PlaybookEntry | None:
    """Count one use of the entry named `name` (if there is one) and, while it is
    experimental, judge it. Exact under concurrent drafts: the counters move in one
    UPDATE, and the decision is taken on the row locked with them."""
    with transaction.atomic():
        updated = PlaybookEntry.objects.filter(name=name).update(
            uses=F("uses") + 1, approvals=F("approvals") + int(approved)
        )
        if not updated:
            return None
        entry = PlaybookEntry.objects.select_for_update().get(name=name)
        if entry.status != EntryStatus.EXPERIMENTAL:
            return entry
        verdict = judge(entry.uses, entry.approvals, baseline_rate(entry.kind))
        if verdict.status != EntryStatus.EXPERIMENTAL:
            entry.status = verdict.status
            entry.decided_at = timezone.now()
            entry.decision_reason = verdict.reason[:300]
            entry.save(update_fields=["status", "decided_at", "decision_reason"])
        return entry
