"""Weekly batch learning: recurring patterns in what people changed or wrote themselves,
turned into proposals for admins.

Two sources, over the period (7 days by default):
- draft edits beyond the tenant's threshold (`DraftFeedback.significant`) and reviewers'
  corrections of what an action said (read exactly like a heavily edited draft: the
  action's content as the draft, the correction as what was sent), grouped by the
  intent that produced the draft: when reps cut the drafts to well under their length it is
  a style finding ("shorter drafts preferred"), when the versions they send resemble each
  other it is a playbook change (the most typical sent version is proposed as the new text);
- gaps, messages the agent had no draft for (`POST drafts/` with an empty
  `original_draft`): what the reps wrote is grouped by text similarity
  (coaching.similarity), and a recurring group is a proposed new intent.

Each finding is a `LearningProposal` with its evidence (counts, examples, the typical edit,
every message's action id) and the similar messages that came in other conversations,
which make its confidence (coaching.crosscheck); a finding already pending from an earlier
run is updated instead of repeated, and one already decided is not asked again: most of its
messages were in a proposal of its kind an admin approved or rejected, or it is a new
intent by the name of one already approved (`already_decided`). The drafts
are marked analysed, admins get the weekly learning report (coaching.report: by email, and
in the Slack reports channel when there is one), and an optional summariser hook
(`LL_PROPOSAL_SUMMARISER`, a dotted path to `f(kind, title, evidence) -> str`, off by
default) may add a summary in words.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from rapidfuzz import fuzz

from coaching import crosscheck, experiments, report
from coaching.models import (
    BatchRun,
    EntryKind,
    EntryStatus,
    LearningProposal,
    PlaybookEntry,
    ProposalKind,
    ProposalStatus,
)
from coaching.similarity import SIMILAR, clusters, medoid, suggested_name
from feedback import selectors as feedback_selectors
from feedback import services as feedback_services
from learning.errors import Conflict, Forbidden, NotFound
from learning.models import Role

logger = structlog.get_logger(__name__)

MIN_GROUP = 3  # drafts or messages that make a pattern recurring
SHORTER = 0.6  # reps keep less than this share of the draft's length: "shorter preferred"
LONGER = 1.6
EXAMPLES = 5


@dataclass
class Finding:
    kind: str
    key: str
    title: str
    proposed_content: str
    count: int
    evidence: dict[str, Any]
    members: Sequence[Any] = ()  # the texts it was found in
    confidence: str = ""


def _words(text: str) -> int:
    return len(text.split())


def edit_findings(drafts: Sequence[Any]) -> list[Finding]:
    """Style and playbook findings from significant edits, per intent."""
    by_intent: dict[str, list[Any]] = {}
    for draft in drafts:
        by_intent.setdefault(draft.intent or "", []).append(draft)
    findings = []
    for intent, group in sorted(by_intent.items()):
        if not intent or len(group) < MIN_GROUP:
            continue
        style = _length_finding(intent, group)
        if style is not None:
            findings.append(style)
        rewrite = _rewrite_finding(intent, group)
        if rewrite is not None:
            findings.append(rewrite)
    return findings


def _typical_edit(draft: Any) -> dict[str, Any]:
    return {
        "action_id": draft.action_id,
        "original": draft.original_draft,
        "sent": draft.sent_version,
        "words_before": _words(draft.original_draft),
        "words_after": _words(draft.sent_version),
    }


def _length_finding(intent: str, group: Sequence[Any]) -> Finding | None:
    """A style finding when reps cut the intent's drafts to well under their length (or
    lengthen them well over it), by the median ratio of sent to drafted length."""
    ratios = [len(d.sent_version) / max(len(d.original_draft), 1) for d in group]
    ratio = statistics.median(ratios)
    if not (ratio <= SHORTER or ratio >= LONGER):
        return None
    typical = group[min(range(len(group)), key=lambda i: abs(ratios[i] - ratio))]
    examples = [
        {
            "action_id": d.action_id,
            "original": d.original_draft,
            "sent": d.sent_version,
            "edit_distance": round(d.edit_distance, 3),
            **({"corrected_by": d.corrected_by} if d.corrected_by else {}),
        }
        for d in group[:EXAMPLES]
    ]
    shorter = ratio <= SHORTER
    words = round(statistics.median(_words(d.sent_version) for d in group))
    return Finding(
        kind=ProposalKind.STYLE,
        key=intent,
        title=f"{'Shorter' if shorter else 'Longer'} drafts preferred for {intent}",
        proposed_content=(
            f"Keep {intent} drafts to about {words} words: reps cut them to "
            f"{ratio:.0%} of their length."
            if shorter
            else f"Give {intent} drafts more detail (about {words} words): reps "
            f"lengthen them to {ratio:.0%} of their length."
        ),
        count=len(group),
        evidence={
            "action_ids": [d.action_id for d in group],
            "median_length_ratio": round(ratio, 3),
            "median_words_sent": words,
            "typical_edit": _typical_edit(typical),
            "examples": examples,
        },
        members=group,
    )


def _rewrite_finding(intent: str, group: Sequence[Any]) -> Finding | None:
    """A playbook change when the versions sent for the intent resemble each other: the
    most typical of the largest group of alike ones is proposed as the new text."""
    biggest = clusters([d.sent_version for d in group])[0]
    if len(biggest) < MIN_GROUP:
        return None
    members = [group[i] for i in biggest]
    centre = members[medoid([d.sent_version for d in members])]
    return Finding(
        kind=ProposalKind.PLAYBOOK_CHANGE,
        key=intent,
        title=_rewrite_title(intent, members),
        proposed_content=centre.sent_version,
        count=len(members),
        evidence={
            "action_ids": [d.action_id for d in members],
            "typical_edit": _typical_edit(centre),
            "examples": [
                {
                    "action_id": d.action_id,
                    "sent": d.sent_version,
                    **({"corrected_by": d.corrected_by} if d.corrected_by else {}),
                }
                for d in members[:EXAMPLES]
            ],
        },
        members=members,
    )


def _rewrite_title(intent: str, members: Sequence[Any]) -> str:
    corrected = sum(bool(getattr(m, "corrected_by", "")) for m in members)
    who = (
        "Reviewers correct"
        if corrected == len(members)
        else "Reps rewrite"
        if not corrected
        else "Reps and reviewers rewrite"
    )
    what = f"{intent} actions" if corrected == len(members) else f"{intent} drafts"
    return f"{who} {what} the same way ({len(members)} times)"


def gap_findings(gaps: Sequence[Any]) -> list[Finding]:
    """New-intent findings from recurring messages the agent had no draft for."""
    texts = [g.sent_version for g in gaps]
    findings = []
    taken = set(PlaybookEntry.objects.values_list("name", flat=True))
    for group in clusters(texts):
        if len(group) < MIN_GROUP:
            continue
        members = [gaps[i] for i in group]
        name = suggested = suggested_name([m.sent_version for m in members])
        while name in taken:
            name = (
                f"{name}_2" if name[-1] not in "0123456789" else f"{name[:-1]}{int(name[-1]) + 1}"
            )
        taken.add(name)
        centre = members[medoid([m.sent_version for m in members])]
        findings.append(
            Finding(
                kind=ProposalKind.NEW_INTENT,
                key=name,
                title=f"New intent {name}: {len(members)} messages the agent had no draft for",
                proposed_content=(
                    f"Intent {name}. Typical reply people wrote:\n{centre.sent_version}"
                ),
                count=len(members),
                evidence={
                    "action_ids": [m.action_id for m in members],
                    "suggested_name": suggested,
                    "typical_reply": centre.sent_version,
                    "centre": centre.action_id,
                    "examples": [
                        {"action_id": m.action_id, "sent": m.sent_version}
                        for m in members[:EXAMPLES]
                    ],
                    "conversations": len({m.conversation_id for m in members}),
                },
                members=members,
            )
        )
    return findings


def _messages(evidence: dict[str, Any]) -> set[str]:
    """The action ids a proposal's evidence names: all of them, or for a proposal stored
    before they were kept, its examples and centre."""
    if "action_ids" in evidence:
        return set(evidence["action_ids"])
    examples = {e.get("action_id") for e in evidence.get("examples", [])}
    return {i for i in (*examples, evidence.get("centre")) if i}


def _same_intent(finding: Finding, key: str, evidence: dict[str, Any], content: str) -> bool:
    """A new intent found again: by the name its messages suggest (before a "_2" made it
    unique), or a typical reply alike that of the approved one (as batch learning groups
    messages: coaching.similarity)."""
    name = finding.evidence.get("suggested_name")
    if name in (key, evidence.get("suggested_name")):
        return True
    theirs = evidence.get("typical_reply") or content.partition("\n")[2]
    mine = finding.evidence.get("typical_reply", "")
    return bool(mine and theirs) and fuzz.token_set_ratio(mine, theirs) >= SIMILAR


def already_decided(finding: Finding) -> bool:
    """Whether an admin already decided this finding: half or more of its messages were in
    one proposal of its kind (and key, for an intent's edits) they approved or rejected, or
    it is a new intent they approved (_same_intent)."""
    mine = _messages(finding.evidence)
    decided = LearningProposal.objects.filter(kind=finding.kind).exclude(
        status=ProposalStatus.PENDING
    )
    if finding.kind != ProposalKind.NEW_INTENT:
        decided = decided.filter(key=finding.key)
    rows = decided.values_list("status", "key", "evidence", "proposed_content")
    for status, key, evidence, content in rows:
        if mine and len(mine & _messages(evidence)) * 2 >= len(mine):
            return True  # the same messages
        approved_intent = (finding.kind, status) == (ProposalKind.NEW_INTENT, "approved")
        if approved_intent and _same_intent(finding, key, evidence, content):
            return True
    return False


@dataclass
class Batch:
    run: BatchRun
    proposals: list[LearningProposal] = field(default_factory=list)


def run(*, now: datetime | None = None, days: int = 7) -> Batch:
    """One batch-learning pass over the last `days`: proposals stored, drafts marked
    analysed, admins told once it commits (coaching.report, when its rule says so).
    Re-running over the same week updates the same pending proposals rather than adding
    new ones."""
    end = now or timezone.now()
    start = end - timedelta(days=days)
    edits, gaps = feedback_selectors.drafts_for_learning(start=start, end=end)
    findings = [f for f in edit_findings(edits) + gap_findings(gaps) if not already_decided(f)]
    for finding in findings:
        finding.confidence, similar = crosscheck.check(finding.members)
        finding.evidence["similar_messages"] = similar
    summarise = _summariser()
    with transaction.atomic():
        batch = Batch(
            BatchRun.objects.create(
                started_at=timezone.now(),
                period_start=start,
                period_end=end,
                edits=len(edits),
                gaps=len(gaps),
            )
        )
        for finding in findings:
            values = {
                "run": batch.run,
                "title": finding.title,
                "proposed_content": finding.proposed_content,
                "count": finding.count,
                "evidence": finding.evidence,
                "confidence": finding.confidence,
                "summary": _summary(summarise, finding),
            }
            proposal, _ = LearningProposal.objects.update_or_create(
                kind=finding.kind,
                key=finding.key,
                status=ProposalStatus.PENDING,
                defaults=values,
            )
            batch.proposals.append(proposal)
        feedback_services.mark_drafts_analyzed(
            draft_ids=[d.draft_id for d in edits + gaps if d.draft_id is not None]
        )
        batch.run.proposals = len(batch.proposals)
        batch.run.finished_at = timezone.now()
        batch.run.save(update_fields=["proposals", "finished_at"])
        transaction.on_commit(lambda: report.send(batch.run))
    return batch


def _summariser() -> Any:
    path = getattr(settings, "LL_PROPOSAL_SUMMARISER", "")
    return import_string(path) if path else None


def _summary(summarise: Any, finding: Finding) -> str:
    if summarise is None:
        return ""
    try:
        return str(summarise(finding.kind, finding.title, finding.evidence))[:4000]
    except Exception as error:  # a hook never stops the batch
        logger.warning("proposal_summariser_failed", error=str(error))
        return ""


def _require_admin(user: Any) -> None:
    if getattr(user, "role", None) != Role.ADMIN:
        raise Forbidden("Only admins approve or reject learning proposals.")


def approve(*, proposal_id: int, user: Any, note: str = "") -> LearningProposal:
    """Create or update the proposal's entry and start a randomised experiment of its new
    version against the previous one (or the agent's default for a new entry); its
    counts start again. Approving an approved proposal again changes nothing."""
    return _decide(
        proposal_id=proposal_id,
        user=user,
        note=note,
        status=ProposalStatus.APPROVED,
        carry_out=_start_experiment,
    )


def reject(*, proposal_id: int, user: Any, note: str = "") -> LearningProposal:
    return _decide(proposal_id=proposal_id, user=user, note=note, status=ProposalStatus.REJECTED)


def _decide(
    *,
    proposal_id: int,
    user: Any,
    note: str,
    status: str,
    carry_out: Callable[[LearningProposal], None] | None = None,
) -> LearningProposal:
    """An admin's decision on a pending proposal, on its locked row: `carry_out` does what
    the decision means, then the proposal records it. The same decision again changes
    nothing; another one on a decided proposal is a conflict."""
    _require_admin(user)
    with transaction.atomic():
        proposal = LearningProposal.objects.select_for_update().filter(pk=proposal_id).first()
        if proposal is None:
            raise NotFound("No such proposal.")
        if proposal.status == status:
            return proposal
        if proposal.status != ProposalStatus.PENDING:
            raise Conflict(f"This proposal is already {proposal.status}.", field="status")
        if carry_out is not None:
            carry_out(proposal)
        proposal.status = status
        proposal.decided_by = user
        proposal.decided_at = timezone.now()
        proposal.decision_note = note[:500]
        proposal.save()
    return proposal


def _start_experiment(proposal: LearningProposal) -> None:
    """The proposal's entry, created or updated (a style note is added to the text, a
    rewrite replaces it), experimental again and tried against its previous text."""
    kind = EntryKind.INTENT if proposal.kind == ProposalKind.NEW_INTENT else EntryKind.PLAYBOOK
    entry, created = PlaybookEntry.objects.select_for_update().get_or_create(
        name=proposal.key, defaults={"kind": kind, "content": proposal.proposed_content}
    )
    previous = "" if created else entry.content
    if not created:
        entry.content = (
            f"{entry.content}\n\n{proposal.proposed_content}"
            if proposal.kind == ProposalKind.STYLE
            else proposal.proposed_content
        )
    entry.status = EntryStatus.EXPERIMENTAL
    entry.uses = entry.approvals = 0
    entry.experiment_started_at = timezone.now()
    entry.decided_at = None
    entry.decision_reason = ""
    entry.save()
    experiments.start(entry, control_content=previous)
    proposal.entry = entry
