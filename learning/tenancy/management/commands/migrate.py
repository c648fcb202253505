"""`migrate` is migrate_schemas here too (as in django-tenants), with the template's."""

from learning.tenancy.management.commands.migrate_schemas import Command

__all__ = ["Command"]
