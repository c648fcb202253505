from __future__ import annotations

from typing import Any

from django.db import models


class HistoryBuild(models.Model):
    """The demo's simulated 30 days, built once behind the running product (`make run`
    serves the pages first, then fills them in): where that build stands, for the banner
    the pages show and for the next start to finish an interrupted build."""

    steps_done: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(
        default=0
    )
    steps_total: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(
        default=0
    )
    # In plain words: "people rating what the agent did".
    current: models.CharField[str, str] = models.CharField(max_length=200, blank=True)
    started_at: models.DateTimeField[Any, Any] = models.DateTimeField(null=True, blank=True)
    finished_at: models.DateTimeField[Any, Any] = models.DateTimeField(null=True, blank=True)
    failed: models.TextField[str, str] = models.TextField(blank=True)

    class Meta:
        verbose_name = "demo history build"

    def __str__(self) -> str:
        return "finished" if self.finished_at else f"{self.steps_done} of {self.steps_total}"

    @property
    def percent(self) -> int:
        return round(100 * self.steps_done / self.steps_total) if self.steps_total else 0
