"""Confidences below one in a billion become 0 (outcomes.rules.stored_confidence): stored
as sent, 2.2e-308 made PostgreSQL refuse the sums of squares over it ("value out of range:
underflow"), failing the label, the sweep batch and the day's rollup that met it."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0005_content_erasure")]

    operations = [
        migrations.RunSQL(
            "UPDATE outcomes_outcomerecord SET predicted_confidence = 0 "
            "WHERE predicted_confidence > 0 AND predicted_confidence < 1e-9",
            migrations.RunSQL.noop,
        )
    ]
