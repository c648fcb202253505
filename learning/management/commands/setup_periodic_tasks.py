from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from learning.scheduling import register_periodic_tasks


class Command(BaseCommand):
    help = "Write the periodic jobs declared in learning/schedules.py to the beat tables."

    def handle(self, *args: Any, **options: Any) -> None:
        result = register_periodic_tasks()
        for name, state in result.items():
            self.stdout.write(f"{state:>9}  {name}")
