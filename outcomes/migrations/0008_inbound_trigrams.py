"""Trigrams of the inbound messages' bodies (a GIN index, pg_trgm's `gin_trgm_ops`): what
finds similar messages across all conversations (outcomes.selectors.similar_inbound).

The extension is per database, not per schema: it is created once, in `public`, which
every tenant's search path ends with, so the operator class, `%` and `similarity()` are
found from each tenant schema (created where a tenant's schema comes first, they would be
invisible to the next tenant). pg_trgm is a trusted extension (PostgreSQL 13+): the
database's owner may create it without being a superuser. The public schema does not
migrate `outcomes` (django-tenants' router), so this runs with the first tenant.

Only where PostgreSQL has pg_trgm: the contrib package ships it with every distribution's
server, but the embedded PostgreSQL of `make run` (pgserver) has no contrib extensions.
There the index is left out (the migration state still lists it) and the features that
need it say so instead (outcomes.selectors.trigrams_available).

Not built CONCURRENTLY: a new tenant's schema is migrated inside a transaction, where
PostgreSQL refuses that. Only inbound messages are indexed (the condition); on a tenant
with 1,000,000 inbound messages it builds in 36 s, 199 MB (bench `similar`), holding
writes to messages back meanwhile."""

from typing import Any

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models

INDEX = GinIndex(
    condition=models.Q(direction="inbound"),
    fields=["body"],
    name="message_inbound_trgm",
    opclasses=["gin_trgm_ops"],
)


def _available(schema_editor: Any) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        return cursor.fetchone() is not None


def create(apps: Any, schema_editor: Any) -> None:
    if not _available(schema_editor):
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    schema_editor.add_index(apps.get_model("outcomes", "Message"), INDEX)


def drop(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX.name}")


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0007_ambiguous_by_rep")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="message", index=INDEX)],
            database_operations=[migrations.RunPython(create, drop)],
        ),
    ]
