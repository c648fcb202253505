from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from demo import reviewers as simulation
from learning.management.base import TenantCommand
from learning.tenancy.models import Tenant


class Command(TenantCommand):
    help = (
        "Demo: people rate the agent's resolved actions over the simulated weeks (alice "
        "inline, maria on the dashboard with the demo rubric (tone, facts, next step), bob "
        "keen and then fatigued). Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--seed", type=int, default=11)

    def handle_in_tenant(self, tenant: Tenant, **options: Any) -> dict[str, Any]:
        reviews = simulation.plan(now=timezone.now(), seed=options["seed"])
        created = simulation.apply(reviews)
        prompts = simulation.prompt_history(reviews)
        by_reviewer: dict[str, int] = {}
        for review in reviews:
            by_reviewer[review.reviewer] = by_reviewer.get(review.reviewer, 0) + 1
        return {
            "reviews": len(reviews),
            "new": created,
            "by_reviewer": by_reviewer,
            "new_prompts": prompts,
        }
