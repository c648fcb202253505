"""Experimental intents and playbook entries: randomised, and decided by a test that stays
valid although it is checked after every use.

When an admin approves a proposal, the entry's new version starts an `Experiment` against
what the agent would use otherwise (the previous text, or its default for a new intent).
The agent asks which version to use for a conversation (`POST experiments/assign/`): a
hash of the experiment's salt and the conversation id puts half the conversations in each
arm, the same arm every time, and the first ask is logged as the conversation's exposure.
The first draft of an exposed conversation (`POST drafts/`, sent unedited or not) is its
one observation, whichever arm it was in. How many observations each arm yields is not
controlled (an arm may draft less often, or never), so `coaching.sequential.ArmTest` does not
assume half: it pairs each observation with the newest waiting one of the other arm (in
arrival order, waiting at most 200 observations), and among the pairs that differ (one
draft sent unedited, the other edited) the winner is a fair coin when the versions are
equally good, whatever the rate, the split and a slow drift of the rate. Its evidence (a
bettor's wealth against that fair coin, betting on both sides) decides at 1/alpha (20):
promoted if the new version won more of those pairs, demoted if fewer, with at least 10
and 20 observations (the seeds' floors); never while one arm has no observation. Under
"equally good" the chance of any decision, checked after every use for ever, is at most
alpha = 5 %. The test's state (the pairs' counts and the waiting observations) is kept on
the experiment's row and moved once per observation under its lock. Simulated in
`bench/experiments.py` (scenario files in bench/scenarios/experiments/, `make bench`) and
`coaching/tests/test_experiments.py`.

Uses of an entry outside an experiment (a draft naming it, never assigned) are still
counted on the entry, but they decide nothing: who got which version would not be chance.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from coaching.models import (
    Arm,
    EntryStatus,
    Experiment,
    ExperimentExposure,
    ExperimentStatus,
    PlaybookEntry,
)
from coaching.sequential import EXPERIMENT_ALPHA, ArmTest
from feedback.events import DraftRecorded
from learning.errors import NotFound

ALPHA = EXPERIMENT_ALPHA


def arm_of(salt: str, conversation_id: str) -> str:
    """The conversation's arm: one bit of a SHA-256 of the salt and its id."""
    digest = hashlib.sha256(f"{salt}\x00{conversation_id}".encode()).digest()
    return Arm.TREATMENT if digest[0] & 1 else Arm.CONTROL


def start(entry: PlaybookEntry, *, control_content: str) -> Experiment:
    """A new experiment of the entry's current content against `control_content`; a
    running one of the same entry stops (its observations were of another version)."""
    Experiment.objects.filter(entry=entry, status=ExperimentStatus.RUNNING).update(
        status=ExperimentStatus.STOPPED, decided_at=timezone.now()
    )
    return Experiment.objects.create(
        entry=entry,
        treatment_content=entry.content,
        control_content=control_content,
        salt=secrets.token_hex(8),
    )


@dataclass(frozen=True)
class Assignment:
    experiment: str
    running: bool
    arm: str | None  # None when no experiment runs: use `content`
    content: str  # the text to use ("" for the agent's default)
    first_exposure: bool


def assign(*, name: str, conversation_id: str) -> Assignment:
    """Which version of the entry `name` to use in this conversation; logs the exposure
    once (a retried or repeated ask gets the same arm and logs nothing)."""
    entry = PlaybookEntry.objects.filter(name=name).first()
    if entry is None:
        raise NotFound("No intent or playbook entry of that name.", field="experiment")
    experiment = entry.experiments.filter(status=ExperimentStatus.RUNNING).first()
    if experiment is None:
        content = entry.content if entry.status != EntryStatus.DEMOTED else ""
        return Assignment(entry.name, False, None, content, False)
    arm = arm_of(experiment.salt, conversation_id)
    created = False
    try:
        with transaction.atomic():
            _, created = ExperimentExposure.objects.get_or_create(
                experiment=experiment, conversation_id=conversation_id, defaults={"arm": arm}
            )
            if created:
                counter = "treatment_exposed" if arm == Arm.TREATMENT else "control_exposed"
                Experiment.objects.filter(pk=experiment.pk).update(**{counter: F(counter) + 1})
    except IntegrityError:  # a concurrent ask logged it first
        created = False
    content = experiment.treatment_content if arm == Arm.TREATMENT else experiment.control_content
    return Assignment(entry.name, True, arm, content, created)


def on_draft_recorded(draft: DraftRecorded) -> None:
    """feedback.events.DRAFT_RECORDED: a draft made from an intent is a use of it, and the
    first draft of a conversation exposed to an experiment is its observation."""
    if draft.intent and draft.drafted:
        record_use(name=draft.intent, approved=draft.approved)
    if draft.drafted and draft.conversation_id:
        observe(conversation_id=draft.conversation_id, approved=draft.approved)


def record_use(*, name: str, approved: bool) -> PlaybookEntry | None:
    """Count one use of the entry named `name` (if there is one): exact under concurrent
    drafts, the counters move in one UPDATE. A use decides nothing by itself."""
    updated = PlaybookEntry.objects.filter(name=name).update(
        uses=F("uses") + 1, approvals=F("approvals") + int(approved)
    )
    return PlaybookEntry.objects.filter(name=name).first() if updated else None


def observe(*, conversation_id: str, approved: bool) -> list[Experiment]:
    """The conversation's first draft since its exposure, in every running experiment it
    is exposed to: counted in its arm and fed to the test, on the experiment's locked row
    (observations of one experiment are taken one at a time, in one order)."""
    decided = []
    with transaction.atomic():
        exposures = list(
            ExperimentExposure.objects.select_for_update()
            .filter(
                conversation_id=conversation_id,
                observed_at__isnull=True,
                experiment__status=ExperimentStatus.RUNNING,
            )
            .order_by("experiment_id")
        )
        for exposure in exposures:
            experiment = Experiment.objects.select_for_update().get(pk=exposure.experiment_id)
            if experiment.status != ExperimentStatus.RUNNING:
                continue
            exposure.approved, exposure.observed_at = approved, timezone.now()
            exposure.save(update_fields=["approved", "observed_at"])
            treatment = exposure.arm == Arm.TREATMENT
            test = ArmTest(
                treatment_better=experiment.pairs_treatment_better,
                control_better=experiment.pairs_control_better,
                same=experiment.pairs_same,
                observations=experiment.observations,
                waiting=experiment.waiting,
            )
            test.observe(treatment=treatment, success=approved)
            if treatment:
                experiment.treatment_uses += 1
                experiment.treatment_approvals += int(approved)
            else:
                experiment.control_uses += 1
                experiment.control_approvals += int(approved)
            experiment.pairs_treatment_better = test.treatment_better
            experiment.pairs_control_better = test.control_better
            experiment.pairs_same = test.same
            experiment.waiting = test.waiting_state()
            experiment.log_wealth = test.log_wealth
            decided_now = _decide(experiment, test)
            if decided_now:
                decided.append(experiment)
            experiment.save(update_fields=_TEST_FIELDS + (_DECISION_FIELDS if decided_now else []))
    return decided


_TEST_FIELDS = [
    "treatment_uses",
    "treatment_approvals",
    "control_uses",
    "control_approvals",
    "pairs_treatment_better",
    "pairs_control_better",
    "pairs_same",
    "waiting",
    "log_wealth",
]
_DECISION_FIELDS = ["status", "decided_at", "decision_reason"]


def evidence_summary(experiment: Experiment, test: ArmTest) -> str:
    """The evidence in words: the pairs that differed first (what the test weighs), then
    each arm's rate and the evidence."""
    better = test.treatment_better >= test.control_better
    won = test.treatment_better if better else test.control_better
    t_rate, c_rate = experiment.rate(Arm.TREATMENT), experiment.rate(Arm.CONTROL)
    return (
        f"in {won} of {test.discordant} pairs that differed, the "
        f"{'new' if better else 'previous'} version's draft was sent unedited "
        f"({test.pairs:,} pairs of drafts close in time); new version "
        f"{experiment.treatment_approvals} of {experiment.treatment_uses} sent unedited "
        f"({(t_rate or 0):.0%}), previous {experiment.control_approvals} of "
        f"{experiment.control_uses} ({(c_rate or 0):.0%}); evidence {test.evidence:,.0f} to 1 "
        f"(decides at {1 / ALPHA:.0f})"
    )


def _decide(experiment: Experiment, test: ArmTest) -> bool:
    """Promote or demote on decisive evidence (after the floors); True when decided."""
    outcome = test.decision(ALPHA)
    if outcome is None:
        return False
    better = outcome == "promoted"
    entry = PlaybookEntry.objects.select_for_update().get(pk=experiment.entry_id)
    now = timezone.now()
    reason = evidence_summary(experiment, test)
    if better:
        experiment.status = ExperimentStatus.PROMOTED
        entry.content, entry.status = experiment.treatment_content, EntryStatus.ACTIVE
        entry.decision_reason = f"promoted: {reason}"[:300]
    else:
        experiment.status = ExperimentStatus.DEMOTED
        if experiment.control_content:  # the previous text stays in use
            entry.content, entry.status = experiment.control_content, EntryStatus.ACTIVE
            entry.decision_reason = f"change demoted, previous text kept: {reason}"[:300]
        else:
            entry.status = EntryStatus.DEMOTED
            entry.decision_reason = f"demoted: {reason}"[:300]
    experiment.decided_at = entry.decided_at = now
    experiment.decision_reason = reason[:400]
    entry.save(update_fields=["content", "status", "decided_at", "decision_reason"])
    return True
