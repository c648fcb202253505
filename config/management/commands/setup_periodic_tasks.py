from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from config.scheduling import register_periodic_tasks


class Command(BaseCommand):
    help = (
        "Write the periodic jobs declared in config/schedules.py to the beat tables "
        "(prints the jobs it changed; -v 2 prints every job)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = register_periodic_tasks()
        for name, state in result.items():
            if state != "unchanged" or options["verbosity"] > 1:
                self.stdout.write(f"{state:>9}  {name}")
        unchanged = sum(state == "unchanged" for state in result.values())
        if unchanged and options["verbosity"] > 0:
            self.stdout.write(f"{unchanged} of {len(result)} periodic jobs already up to date")
