from __future__ import annotations

import random
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from coaching import batch
from coaching import selectors as coaching_selectors
from learning.management.base import TenantCommand, post_json
from learning.models import Role, User
from learning.tenancy.models import Tenant


class Command(TenantCommand):
    help = (
        "Demo: an admin approves batch learning's first new-intent proposal, then the "
        "simulated agent asks for each new conversation which version to use "
        "(experiments/assign/) and posts its draft through the API (the new intent's sent "
        "unedited 85 %% of the time, the default's 55 %%) until the experiment decides."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--api-url", required=True)
        parser.add_argument("--key", required=True, help="An agent key of the tenant.")
        parser.add_argument("--approval", type=float, default=0.85)
        parser.add_argument("--control-approval", type=float, default=0.55)
        parser.add_argument("--max-uses", type=int, default=400)
        parser.add_argument("--seed", type=int, default=5)

    def handle_in_tenant(self, tenant: Tenant, **options: Any) -> dict[str, Any]:
        proposal = coaching_selectors.strongest_new_intent_proposal()
        if proposal is None:
            raise CommandError("No new-intent proposal: run run_batch_learning first.")
        admin = User.objects.filter(role=Role.ADMIN).order_by("pk").first()
        proposal = batch.approve(proposal_id=proposal.pk, user=admin, note="demo")
        entry = proposal.entry
        assert entry is not None
        rng = random.Random(options["seed"])
        uses = 0
        api = options["api_url"].rstrip("/")
        while uses < options["max_uses"]:
            uses += 1
            conversation = f"exp-{entry.pk}-conv-{uses}"
            arm = post_json(
                api + "/experiments/assign/",
                {"experiment": entry.name, "conversation_id": conversation},
                options["key"],
            )
            if not arm["running"]:
                break
            treatment = arm["arm"] == "treatment"
            draft = (
                f"Thanks for reaching out about {entry.name.replace('_', ' ')}."
                if treatment
                else "Thanks for your message, happy to help."
            )
            rate = options["approval"] if treatment else options["control_approval"]
            post_json(
                api + "/drafts/",
                {
                    "action_id": f"exp-{entry.name}-{entry.pk}-{uses}",
                    "conversation_id": conversation,
                    "original_draft": draft,
                    "sent_version": draft if rng.random() < rate else draft + " Cheers!",
                    "intent": entry.name if treatment else "",
                    "sent_at": timezone.now().isoformat(),
                },
                options["key"],
            )
        entry = coaching_selectors.playbook_entry(pk=entry.pk)
        return {
            "entry": entry.name,
            "status": entry.status,
            "uses": entry.uses,
            "approvals": entry.approvals,
            "reason": entry.decision_reason,
        }
