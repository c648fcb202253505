"""Fills the bench tenant for the export benchmark: N outcomes (every fifth with what the
agent said), two policy versions, and an executive's API token. Prints JSON.

Run by bench.export in its own process, with the product's settings.
"""

import json
import os
import random
import sys
from datetime import UTC, datetime

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from bench.fill import copy_outcomes, fill_conversations  # noqa: E402
from learning import services  # noqa: E402
from learning.models import Role, User  # noqa: E402
from learning.tenancy.models import Tenant  # noqa: E402

OUTCOMES = int(sys.argv[1])
TYPES = [
    ("send_email", "email_engagement"),
    ("schedule_meeting", "meeting_outcome"),
    ("advance_stage", "deal_progression"),
]
BODY = (
    "Hi {n}, thanks for the call today. As promised, here is the pricing for {s} seats: "
    "the Growth plan at $38 a seat per month, billed yearly, with onboarding included. "
    "Shall I send the order form, or would a short call with your CFO help first?"
)


def log(message: str) -> None:
    print(f"  export: {message}", file=sys.stderr, flush=True)


def populate(tenant: Tenant) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    with tenant_context(tenant), connection.cursor() as django_cursor:
        reps = [
            services.create_user(username=f"export-rep-{i:02d}", role=Role.REP)[0].pk
            for i in range(10)
        ]
        cur = django_cursor.connection.cursor()
        cur.execute(
            "TRUNCATE outcomes_message, outcomes_signal, feedback_judgement, "
            "feedback_queueitem, feedback_feedbackrevision, feedback_feedbackentry, "
            "feedback_draftfeedback, outcomes_outcomerecord, outcomes_conversation, "
            "calibration_policyversion, calibration_countedoutcome CASCADE"
        )
        conversations = fill_conversations(cur, prefix="exp", reps=reps)
        log(f"copying {OUTCOMES:,} outcomes")
        copy_outcomes(
            cur,
            count=OUTCOMES,
            prefix="exp",
            conversations=conversations,
            types=TYPES,
            rng=rng,
            now=now,
            attributes=lambda rng: json.dumps({"segment": rng.choice(["smb", "mid", "ent"])}),
            reason=lambda status: "replied" if status == "positive" else "",
        )
        log("adding what the agent said to every fifth action")
        cur.execute(
            "INSERT INTO outcomes_message (conversation_id, direction, outcome_id, in_reply_to, "
            "channel, subject, body, to_role, from_role, sent_at, created_at) "
            "SELECT conversation_id, 'agent', id, '', 'email', 'Pricing for your team', "
            "replace(replace(%s, '{n}', 'Dana'), '{s}', (id %% 90 + 10)::text), "
            "'prospect', '', occurred_at, now() "
            "FROM outcomes_outcomerecord WHERE id %% 5 = 0",
            [BODY],
        )
        cur.execute(
            "INSERT INTO calibration_policyversion (action_type, version, confidence_scale, "
            "escalation_threshold, valid_from, cause) VALUES "
            "('send_email', 1, 0.9, 0.7, now() - interval '60 days', 'adjustment'), "
            "('send_email', 2, 0.8, 0.8, now() - interval '20 days', 'adjustment')"
        )
        cur.execute("ANALYZE outcomes_outcomerecord")
        cur.execute("ANALYZE outcomes_message")


tenant = Tenant.objects.get(slug="bench")
populate(tenant)
with tenant_context(tenant):
    services.create_user(username="export-exec", role=Role.EXECUTIVE)
    token = services.issue_user_token(user=User.objects.get(username="export-exec")).raw
print(json.dumps({"token": token, "outcomes": OUTCOMES}))
