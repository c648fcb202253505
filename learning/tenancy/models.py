from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.validators import RegexValidator
from django.db import connection, models
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import quote_schema_name, schema_exists

from learning.models import validate_time_zone

SLUG_PATTERN = r"^[a-z][a-z0-9-]{0,39}$"
slug_validator = RegexValidator(
    SLUG_PATTERN,
    "Use 1-40 lowercase letters, digits or hyphens, starting with a letter.",
)


class Tenant(TenantMixin):
    """A customer. Its data lives in its own PostgreSQL schema, `schema_name`."""

    # (Annotated: django-tenants ships no types, so its base class hides the fields'.)
    slug: models.CharField[str, str] = models.CharField(
        max_length=40, unique=True, validators=[slug_validator]
    )
    name: models.CharField[str, str] = models.CharField(max_length=200)
    # False until the schema is created and migrated: sweeps and routing skip such tenants,
    # so beat never works against a schema that is still migrating.
    ready: models.BooleanField[bool, bool] = models.BooleanField(default=False)
    created_at: models.DateTimeField[Any, Any] = models.DateTimeField(auto_now_add=True)
    time_zone: models.CharField[str, str] = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="The workspace's time zone (IANA, e.g. Europe/Paris): a new person starts "
        "in it, and pages show times in it to whoever is not signed in.",
    )

    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def create_schema(
        self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
    ) -> bool:
        """Create the tenant's schema: a copy of the migrated template where there is one
        (learning.tenancy.template), else migrated from scratch. django-tenants' own clone
        takes 1.6 s and then fakes every migration, even ones the template lacks; a copy
        that misses any is migrated for real here."""
        from learning.tenancy import template

        if check_if_exists and schema_exists(self.schema_name):
            return False
        if sync_schema:
            cloned = template.clone_template(self.schema_name)
            if not cloned:
                with connection.cursor() as cursor:
                    cursor.execute(f"CREATE SCHEMA {quote_schema_name(self.schema_name)}")
            if not (cloned and template.is_current(self.schema_name)):
                call_command(
                    "migrate_schemas",
                    tenant=True,
                    schema_name=self.schema_name,
                    interactive=False,
                    verbosity=verbosity,
                )
        connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants'
        return True


class Domain(DomainMixin):
    """A host name that reaches a tenant without the /t/<slug>/ prefix (production use)."""
