"""The simulated agent's history is deterministic and its drafts match its actions."""

from __future__ import annotations

from datetime import UTC, datetime

from demo.simulation import history

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def test_history_is_stable_and_drafts_follow_emails_and_chats() -> None:
    steps = list(history(now=NOW, days=30, actions=400))
    assert steps == list(history(now=NOW, days=30, actions=400))
    outcomes = {s.body["action_id"]: s.body for s in steps if s.kind == "outcome"}
    drafts = [s.body for s in steps if s.kind == "draft" and s.body["original_draft"]]
    gaps = [s.body for s in steps if s.kind == "draft" and not s.body["original_draft"]]
    assert len(gaps) == 60 and all(g["sent_version"] and not g["intent"] for g in gaps)
    assert drafts and all(
        outcomes[d["action_id"]]["action_type"] in ("send_email", "send_chat") for d in drafts
    )
    assert len(drafts) == sum(
        o["action_type"] in ("send_email", "send_chat") for o in outcomes.values()
    )
    unedited = sum(d["original_draft"] == d["sent_version"] for d in drafts) / len(drafts)
    assert 0.5 < unedited < 0.7
    assert all(s.at <= NOW for s in steps)
