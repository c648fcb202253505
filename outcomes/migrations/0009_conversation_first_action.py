"""When the agent's first action in each conversation happened, indexed: qualification
(insights.qualification) finds a period's new conversations through it, instead of
probing the actions of every conversation (148 ms at 1,000,000 outcomes and 20,000
conversations, growing with every conversation ever had).

Filled from the stored actions (one pass over them, grouped by conversation); from then on
outcomes.ingest keeps it as it records actions."""

from django.db import migrations, models

BACKFILL = """
UPDATE outcomes_conversation c
   SET first_action_at = first.at
  FROM (SELECT conversation_id, min(occurred_at) AS at
          FROM outcomes_outcomerecord GROUP BY conversation_id) first
 WHERE first.conversation_id = c.id
"""


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0008_inbound_trigrams")]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="first_action_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["first_action_at"], name="conversation_first_action"),
        ),
    ]
