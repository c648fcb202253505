"""Per action type, 10 bins of sufficient statistics, and which outcomes they count."""

from __future__ import annotations

from django.db import models


class CalibrationBin(models.Model):
    """One of the 10 bins of an action type: n, Σy, Σp, Σp², Σp·y of its outcomes.

    Only ever changed by a single SQL statement that adds to the sums (see services), so
    concurrent resolutions never lose an update.
    """

    action_type = models.CharField(max_length=64)
    bin_index = models.PositiveSmallIntegerField()
    n = models.BigIntegerField(default=0)
    sum_y = models.FloatField(default=0)
    sum_p = models.FloatField(default=0)
    sum_p2 = models.FloatField(default=0)
    sum_py = models.FloatField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action_type", "bin_index"]
        constraints = [
            models.UniqueConstraint(
                fields=["action_type", "bin_index"], name="one_bin_per_action_type_and_index"
            ),
            models.CheckConstraint(condition=models.Q(bin_index__lte=9), name="bin_index_0_to_9"),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} bin {self.bin_index} (n={self.n})"


class CountedOutcome(models.Model):
    """An outcome already added to the bins: written in the same transaction as the bin
    update, so a resolution delivered twice is counted once."""

    outcome_id = models.BigIntegerField(primary_key=True)
    counted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"outcome {self.outcome_id}"
