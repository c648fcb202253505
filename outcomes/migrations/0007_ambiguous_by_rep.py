"""An index of the ambiguous outcomes by rep: the To label count of a team
(feedback.review.to_label) reads it alone. Built concurrently: writes go on meanwhile."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("outcomes", "0006_tiny_confidences")]

    operations = [
        AddIndexConcurrently(
            model_name="outcomerecord",
            index=models.Index(
                condition=models.Q(status="ambiguous"),
                fields=["rep", "id"],
                name="outcome_ambiguous_rep",
            ),
        )
    ]
