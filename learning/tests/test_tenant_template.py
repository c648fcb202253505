"""New tenants are copies of the migrated template schema, identical to migrated ones."""

# ruff: noqa: S608  (the schema names in these queries are the tests' own)

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import tenant_context

from learning import services
from learning.errors import InvalidInput
from learning.models import Role
from learning.tenancy import template
from learning.tenancy.models import Tenant

TEMPLATE = "tenant_template"


def rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def catalog(schema: str) -> dict[str, Any]:
    """Everything a schema defines, with its own name replaced by <schema>; every
    expression is printed with only `public` on the search path, so names are qualified
    the same way in both. Columns are compared by their order among the table's live
    columns: a migrated table keeps the slots of the columns migrations dropped, a copy
    does not."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path = public")

    def normalised(found: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return sorted(
            tuple(v.replace(schema, "<schema>") if isinstance(v, str) else v for v in row)
            for row in found
        )

    ns = [schema]
    snapshot = {
        "relations": rows(
            "SELECT relname, relkind, relpersistence, relhasindex, relchecks FROM pg_class "
            "WHERE relnamespace = %s::regnamespace",
            ns,
        ),
        "columns": rows(
            "SELECT c.relname, rank() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname, "
            "format_type(a.atttypid, a.atttypmod), "
            "a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, "
            "a.attcollation FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE c.relnamespace = %s::regnamespace AND a.attnum > 0 AND NOT a.attisdropped",
            ns,
        ),
        "indexes": rows("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", ns),
        "constraints": rows(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), "
            "condeferrable, condeferred, convalidated FROM pg_constraint "
            "WHERE connamespace = %s::regnamespace",
            ns,
        ),
        "sequences": rows(
            "SELECT sequencename, data_type::text, start_value, min_value, max_value, "
            "increment_by, cycle, cache_size, last_value FROM pg_sequences "
            "WHERE schemaname = %s",
            ns,
        ),
        "sequence owners": rows(
            "SELECT s.relname, t.relname, a.attname, d.deptype FROM pg_depend d "
            "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
            "WHERE s.relnamespace = %s::regnamespace",
            ns,
        ),
        "views": rows("SELECT viewname, definition FROM pg_views WHERE schemaname = %s", ns),
        "functions": rows(
            "SELECT proname, pg_get_functiondef(oid) FROM pg_proc "
            "WHERE pronamespace = %s::regnamespace",
            ns,
        ),
        # The foreign keys' internal triggers are named after oids: compared by what they do.
        "triggers": rows(
            "SELECT c.relname, CASE WHEN t.tgisinternal THEN '' ELSE pg_get_triggerdef(t.oid) "
            "END, t.tgfoid::regproc::text, t.tgtype, t.tgenabled, t.tgdeferrable "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = %s::regnamespace",
            ns,
        ),
        "migrations": rows(f"SELECT id, app, name FROM {schema}.django_migrations", []),
        "content types": rows(f"SELECT id, app_label, model FROM {schema}.django_content_type", []),
        "permissions": rows(
            f"SELECT id, content_type_id, codename, name FROM {schema}.auth_permission", []
        ),
    }
    tables = [name for name, kind, *_ in snapshot["relations"] if kind == "r"]
    counts = Counter()
    for table in tables:
        counts[table] = rows(f"SELECT count(*) FROM {schema}.{table}", [])[0][0]
    snapshot["rows per table"] = sorted(counts.items())
    return {key: normalised(value) for key, value in snapshot.items()}


def test_a_cloned_schema_is_the_migrated_one(db, settings) -> None:
    assert template.is_current(TEMPLATE)  # migrate (the test database's) made it
    cloned, _ = services.create_tenant(slug="cloned")
    settings.TENANT_BASE_SCHEMA = ""
    migrated, _ = services.create_tenant(slug="migrated")
    clone, reference = catalog(cloned.schema_name), catalog(migrated.schema_name)
    assert clone.keys() == reference.keys()
    for part in reference:
        assert clone[part] == reference[part], part
    # what was compared is the real thing, not two empty lists
    kinds = Counter(kind for _, kind, *_ in reference["relations"])
    assert kinds["r"] > 50 and kinds["i"] > 150 and kinds["S"] > 40
    assert len(reference["migrations"]) == len(template.known_migrations())
    assert len(reference["constraints"]) > 200 and reference["content types"]
    assert dict(reference["rows per table"])["learning_user"] == 0
    trigram = [name for name, _ in reference["indexes"] if "trgm" in name]
    has_pg_trgm = rows("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'", [])
    assert len(trigram) == has_pg_trgm[0][0]  # outcomes 0008: only with the extension


def test_the_clone_path_is_taken_and_a_stale_template_is_migrated_on_top(
    db, settings, monkeypatch
) -> None:
    migrate_calls: list[str] = []
    real = call_command

    def spy(name: str, *args: Any, **options: Any) -> Any:
        migrate_calls.append(options.get("schema_name", ""))
        return real(name, *args, **options)

    monkeypatch.setattr("learning.tenancy.models.call_command", spy)
    services.create_tenant(slug="quick")
    assert migrate_calls == []  # copied, not migrated
    # the template misses its last migration: never copied, so migrated as before
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {TEMPLATE}.django_migrations "
            f"WHERE id = (SELECT max(id) FROM {TEMPLATE}.django_migrations)"
        )
    assert not template.is_current(TEMPLATE)
    assert template.clone_template("t_never") is False
    services.create_tenant(slug="slow")
    assert migrate_calls == ["t_slow"]
    assert template.is_current("t_slow")
    # no template at all: migrated
    settings.TENANT_BASE_SCHEMA = "no_such_template"
    services.create_tenant(slug="slower")
    assert migrate_calls == ["t_slow", "t_slower"]


def test_a_cloned_tenant_ingests_with_its_own_ids(db) -> None:
    client = Client()
    for slug in ("first-co", "second-co"):
        tenant, created = services.create_tenant(slug=slug)
        assert created and tenant.ready
        with tenant_context(tenant):
            services.create_user(username=f"{slug}-rep", role=Role.REP)
            _, key = services.create_agent_key(name="agent")
        for n in (1, 2):
            response = client.post(
                f"/t/{slug}/api/v1/outcomes/",
                data=json.dumps(
                    {
                        "action_id": f"act-{n}",
                        "conversation_id": "conv-1",
                        "rep": f"{slug}-rep",
                        "action_type": "send_email",
                        "predicted_confidence": 0.7,
                        "outcome_type": "email_engagement",
                        "occurred_at": "2026-11-20T10:00:00Z",
                    }
                ),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
            )
            assert response.status_code == 201, response.content
            assert response.json()["id"] == n  # each tenant's sequence starts at 1


def test_create_tenant_stays_idempotent_and_refuses_bad_slugs(db) -> None:
    first, created = services.create_tenant(slug="again", name="Again Co")
    second, created_again = services.create_tenant(slug="again", name="Other")
    assert (created, created_again) == (True, False)
    assert second.pk == first.pk and second.name == "Again Co"
    assert Tenant.objects.filter(slug="again").count() == 1
    with pytest.raises(InvalidInput) as refused:
        services.create_tenant(slug="Bad_Slug")
    assert refused.value.field == "slug"
    assert not Tenant.objects.filter(slug="Bad_Slug").exists()


@pytest.mark.parametrize(
    "missing", [False, True], ids=["pg_dump-fails", "no-pg_dump-of-the-version"]
)
def test_a_pg_dump_that_fails_means_migrating(db, monkeypatch, missing) -> None:
    import subprocess

    from learning.tenancy.backup import BackupRefused

    def refuses(schema: str, section: str) -> str:
        if missing:
            raise BackupRefused("No pg_dump of PostgreSQL 15, the server's version, was found.")
        raise subprocess.CalledProcessError(1, "pg_dump", stderr="server version mismatch")

    monkeypatch.setattr(template, "_cached", None)
    monkeypatch.setattr(template, "_pg_dump", refuses)
    assert template.clone_template("t_never") is False
    slug = "no-dump-tool" if missing else "no-dump"
    tenant, created = services.create_tenant(slug=slug)
    assert created and tenant.ready and template.is_current(tenant.schema_name)


def test_the_multiprocessing_executor_closes_the_pool_before_it_forks(monkeypatch) -> None:
    from django.conf import settings as django_settings
    from django.utils.module_loading import import_string
    from django_tenants.migration_executors.multiproc import MultiprocessingExecutor
    from django_tenants.migration_executors.standard import StandardExecutor

    from learning.tenancy.executors import PoolSafeMultiprocessingExecutor

    get_executor = import_string(django_settings.GET_EXECUTOR_FUNCTION)
    assert get_executor("multiprocessing") is PoolSafeMultiprocessingExecutor
    assert get_executor("standard") is StandardExecutor
    events: list[str] = []
    wrapper = type(connections["default"])
    monkeypatch.setattr(wrapper, "pool", property(lambda self: object()), raising=False)
    monkeypatch.setattr(wrapper, "close", lambda self: events.append("connection closed"))
    monkeypatch.setattr(wrapper, "close_pool", lambda self: events.append("pool closed"))
    monkeypatch.setattr(
        MultiprocessingExecutor, "run_migrations", lambda self, tenants: events.append("fork")
    )
    PoolSafeMultiprocessingExecutor((), {}).run_migrations(tenants=["t_x"])
    assert events == ["connection closed", "pool closed", "fork"]
