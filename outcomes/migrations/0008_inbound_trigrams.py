"""Trigrams of the inbound messages' bodies (a GIN index, pg_trgm's `gin_trgm_ops`): what
finds similar messages across all conversations (outcomes.selectors.similar_inbound).

The extension is per database, not per schema: it is created once, in `public`, which
every tenant's search path ends with, so the operator class, `%` and `similarity()` are
found from each tenant schema (created where a tenant's schema comes first, they would be
invisible to the next tenant). pg_trgm is a trusted extension (PostgreSQL 13+): the
database's owner may create it without being a superuser. The public schema does not
migrate `outcomes` (django-tenants' router), so this runs with the first tenant.

Not built CONCURRENTLY: a new tenant's schema is migrated inside a transaction, where
PostgreSQL refuses that. Only inbound messages are indexed (the condition); on a tenant
with 1,000,000 inbound messages it builds in 36 s, 199 MB (bench `similar`), holding
writes to messages back meanwhile."""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0007_ambiguous_by_rep")]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="message",
            index=GinIndex(
                condition=models.Q(direction="inbound"),
                fields=["body"],
                name="message_inbound_trgm",
                opclasses=["gin_trgm_ops"],
            ),
        ),
    ]
