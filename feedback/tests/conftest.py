from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from learning import services as learning_services
from outcomes.tests.factories import OutcomeFactory


def act(action_id, conversation, rep, *, outcome_type="email_engagement", action_type="send_email"):
    """An action of an hour ago, as the agent records it."""
    return OutcomeFactory(
        action_id=action_id,
        conversation_id=conversation,
        rep=rep,
        action_type=action_type,
        outcome_type=outcome_type,
        predicted_confidence=0.7,
        occurred_at=timezone.now() - timedelta(hours=1),
    )


@pytest.fixture
def convos(alpha):
    """alpha-rep (maria's team: alpha-manager) owns c-rep; another rep outside the team,
    `outsider`, owns c-out."""
    with tenant_context(alpha.tenant):
        learning_services.create_user(username="outsider", role="rep", password="x" * 12)
        act("m-1", "c-rep", "alpha-rep")
        act("d-1", "c-rep", "alpha-rep", outcome_type="escalation_result", action_type="escalate")
        act("m-out", "c-out", "outsider")
    return alpha


def post_json(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)
