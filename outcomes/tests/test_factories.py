"""The factories make what the API makes: through the services, in the current tenant."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from calibration import selectors as calibration_selectors
from feedback.tests.factories import DraftFactory, FeedbackFactory
from learning.tests.factories import UserFactory
from outcomes.tests.factories import OutcomeFactory, SignalFactory


def test_factories_go_through_the_services(alpha) -> None:
    with tenant_context(alpha.tenant):
        manager = UserFactory(username="f-manager", role="manager")
        rep = UserFactory(username="f-rep", manager="f-manager")
        assert (rep.manager, manager.is_staff) == (manager, True)
        pending = OutcomeFactory(action_id="f-1", rep="f-rep", days_ago=1)
        assert pending.conversation.external_id == "conv-f-rep" and pending.status == "pending"
        SignalFactory(conversation_id="conv-f-rep", kind="replied")
        pending.refresh_from_db()
        assert pending.status == "positive"  # resolved, and counted by calibration:
        assert calibration_selectors.curve("send_email")["sample_count"] == 1
        entry = FeedbackFactory(reviewer=manager, target_id="f-1", conversation_id="conv-f-rep")
        assert (entry.outcome, entry.reviewer_role) == (pending, "manager")
        draft = DraftFactory(action_id="f-1", conversation_id="conv-f-rep")
        assert draft.approved and draft.outcome == pending
