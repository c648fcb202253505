from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from rich.progress import Progress

from demo.simulation import history
from learning.management.base import console_for, post_json


class Command(BaseCommand):
    help = (
        "Play a simulated sales agent against a tenant's public API: a history of "
        "actions and signals, posted as the real agent would (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--api-url", required=True, help="The tenant's API root (…/api/v1/).")
        parser.add_argument("--key", required=True, help="An agent key of that tenant.")
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--actions", type=int, default=1500)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        api = options["api_url"].rstrip("/") + "/"
        steps = list(
            history(
                now=timezone.now(),
                days=options["days"],
                actions=options["actions"],
                seed=options["seed"],
            )
        )
        outcomes = [s.body for s in steps if s.kind == "outcome"]
        signals = [s.body for s in steps if s.kind == "signal"]
        drafts = [s.body for s in steps if s.kind == "draft"]
        messages = [s.body for s in steps if s.kind == "message"]
        console = console_for(self)
        with Progress(console=console) as progress:
            bar = progress.add_task("actions", total=len(outcomes))
            for start in range(0, len(outcomes), 1000):
                chunk = outcomes[start : start + 1000]
                post_json(api + "outcomes/bulk/", chunk, options["key"])
                progress.advance(bar, len(chunk))
            bar = progress.add_task("messages", total=len(messages))
            for body in messages:
                post_json(api + "messages/", body, options["key"])
                progress.advance(bar)
            bar = progress.add_task("signals", total=len(signals))
            for body in signals:
                post_json(api + "signals/", body, options["key"])
                progress.advance(bar)
            bar = progress.add_task("drafts", total=len(drafts))
            for body in drafts:
                post_json(api + "drafts/", body, options["key"])
                progress.advance(bar)
        console.print(
            f"Posted {len(outcomes)} actions, {len(messages)} replies, {len(signals)} signals "
            f"and {len(drafts)} drafts to {api}"
        )
