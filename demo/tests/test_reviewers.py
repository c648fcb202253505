"""The demo's reviewers: stored through the feedback service, idempotent, and bob ends up
flagged by the fatigue check (what the demo's fatigue alert shows)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from demo import reviewers as simulation
from feedback.models import FeedbackEntry
from feedback.selectors import fatigue
from learning import services as learning_services
from learning.models import User
from outcomes.tests.factories import OutcomeFactory


def test_reviewers_rate_resolved_actions_and_bob_tires(alpha) -> None:
    with tenant_context(alpha.tenant):
        learning_services.create_user(username="maria", role="manager", password="x" * 12)
        for rep in ("alice", "bob"):
            learning_services.create_user(
                username=rep, role="rep", password="x" * 12, manager_username="maria"
            )
        for i in range(150):
            rep = "bob" if i % 3 else "alice"
            status = "positive" if i % 4 else "negative"
            OutcomeFactory(action_id=f"sim-{i}", rep=rep, days_ago=1 + i % 25, status=status)
        OutcomeFactory(
            action_id="sim-pending", rep="bob", days_ago=10
        )  # unresolved: nobody rates it
        reviews = simulation.plan(now=timezone.now())
        assert {r.reviewer for r in reviews} == {"alice", "bob", "maria"}
        assert "sim-pending" not in {e.target_id for e in FeedbackEntry.objects.all()}
        created = simulation.apply(reviews)
        assert created == len(reviews) == FeedbackEntry.objects.count()
        assert simulation.apply(simulation.plan(now=timezone.now())) == 0  # a second run
        assert FeedbackEntry.objects.count() == created
        marias = FeedbackEntry.objects.filter(reviewer__username="maria")
        assert marias.exists() and all(
            set(e.scores) == {"tone", "accuracy", "next_step"} for e in marias
        )  # the demo rubric, rated on every email she reviews
        late = FeedbackEntry.objects.filter(rated_at__gt=timezone.now() + timedelta(seconds=1))
        assert not late.exists()
        flagged = {
            f.username: f.flagged
            for f in fatigue(users=User.objects.filter(username__in=("alice", "bob")))
        }
        assert flagged == {"alice": False, "bob": True}
