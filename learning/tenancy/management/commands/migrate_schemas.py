"""django-tenants' migrate_schemas, which also keeps the tenant template migrated.

After the public schema and every tenant, the template schema new tenants are copied
from (settings.TENANT_BASE_SCHEMA, learning.tenancy.template) is created if missing and
migrated like a tenant, so that after each deploy's migrations new tenants are copies of
the deployed code's schema. Not for one schema (`--schema`), as create_tenant runs it.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors.base import run_migrations
from django_tenants.utils import quote_schema_name, schema_exists

from learning.tenancy import template


class Command(MigrateSchemasCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        source = template.template_schema()
        if source is None or not self.sync_tenant or options.get("schema_name"):
            return
        if not schema_exists(source):
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {quote_schema_name(source)}")
        run_migrations(self.args, self.options, "template", source)
