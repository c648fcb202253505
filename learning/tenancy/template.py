"""New tenant schemas cloned from a migrated template schema instead of migrated one by one.

Running every migration in a new schema takes seconds (each migration builds Django's
model state); copying a schema that is already migrated takes a fraction of that. The
template (settings.TENANT_BASE_SCHEMA, django-tenants' setting) is a schema no tenant
uses: `migrate_schemas` creates it and migrates it after the tenants (learning.tenancy's
migrate_schemas command), so it is always at the deployed code's migrations.

A clone is what pg_dump and pg_restore would make of the template under a new name, done
inside one transaction: pg_dump writes the template's definitions once per process (and
again when the template changes); each clone runs them with the template's name replaced,
copies the few rows the migrations seeded (django_migrations, content types, permissions,
data migrations' rows), sets every sequence where the template's is (an unused table's
starts at 1), and builds indexes, constraints and triggers after the rows, as
pg_restore does. django-tenants' own clone (a PL/pgSQL port of pg-clone-schema) does the
same in about 1.6 s a schema here, three times the budget.

A clone is used only when it is safe: the template exists, pg_dump is on the PATH and
can read this server (not older than it), and the template has every migration this
code knows. Otherwise, or if the cloned schema
misses a migration, the schema is migrated as before, so a stale template costs time,
never correctness.
"""

from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import dataclass
from functools import cache

from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import get_tenant_base_schema, schema_exists

from learning.tenancy.backup import BackupRefused, libpq_env, pg_tool

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Template:
    """The template's definitions, ready to replay under another schema name."""

    schema: str
    fingerprint: tuple[int, int]
    before_rows: str  # schema, tables, sequences, functions (pg_dump's pre-data)
    after_rows: str  # indexes, constraints, triggers (post-data)
    seeded: tuple[tuple[str, str], ...]  # (table, its column list) of tables with rows
    sequences: tuple[str, ...]


_cached: Template | None = None


def template_schema() -> str | None:
    """The template's schema name, or None when cloning is switched off."""
    return get_tenant_base_schema() or None


@cache
def known_migrations() -> frozenset[tuple[str, str]]:
    """Every migration of this code: a migrated schema records all of them, including the
    shared apps' (whose operations the router skips in a tenant schema)."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


def applied_migrations(schema: str) -> frozenset[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {_quote(schema)}.django_migrations")  # noqa: S608
        return frozenset((app, name) for app, name in cursor.fetchall())


def is_current(schema: str) -> bool:
    """Whether `schema` has every migration of this code."""
    return schema_exists(schema) and known_migrations() <= applied_migrations(schema)


def clone_template(schema_name: str) -> bool:
    """Create `schema_name` as a copy of the template; False (nothing done) when the
    template is missing or behind this code, or pg_dump is not installed."""
    source = template_schema()
    if source is None or not is_current(source):
        return False
    try:
        template = _template(source)
    except (BackupRefused, OSError, subprocess.CalledProcessError) as exc:
        # no pg_dump of the server's major version (as backups need), or it failed: migrate
        logger.warning(
            "tenant template: pg_dump failed, migrating instead: %s %s",
            exc,
            getattr(exc, "stderr", "") or "",
        )
        return False
    target = '"' + schema_name.replace('"', '""') + '"'
    with transaction.atomic(), connection.cursor() as cursor:
        # Local to the transaction: pg_dump's definitions name every schema themselves,
        # and the connection's own search_path comes back at commit.
        cursor.execute("SELECT set_config('search_path', '', true)")
        cursor.execute(_renamed(template.before_rows, source, target))
        for table, columns in template.seeded:
            cursor.execute(
                f"INSERT INTO {target}.{table} ({columns}) "  # noqa: S608
                f"SELECT {columns} FROM {_quote(source)}.{table}"
            )
        for sequence in template.sequences:
            cursor.execute(
                f"SELECT setval('{target}.{sequence}', last_value, is_called) "  # noqa: S608
                f"FROM {_quote(source)}.{sequence}"
            )
        cursor.execute(_renamed(template.after_rows, source, target))
    return True


def _template(schema: str) -> Template:
    """The template's definitions, dumped again only when its migrations changed."""
    global _cached
    fingerprint = _fingerprint(schema)
    if _cached is None or _cached.schema != schema or _cached.fingerprint != fingerprint:
        _cached = _dump(schema, fingerprint)
    return _cached


def _fingerprint(schema: str) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(max(id), 0) FROM {_quote(schema)}.django_migrations"  # noqa: S608
        )
        count, last = cursor.fetchone()
    return int(count), int(last)


def _dump(schema: str, fingerprint: tuple[int, int]) -> Template:
    logger.info("tenant template: reading %s's definitions with pg_dump", schema)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) "
            "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p') "
            "AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
            "GROUP BY c.relname ORDER BY c.relname",
            [schema],
        )
        tables = cursor.fetchall()
        seeded = []
        for table, columns in tables:
            cursor.execute(f"SELECT EXISTS (SELECT FROM {_quote(schema)}.{_quote(table)})")  # noqa: S608
            if cursor.fetchone()[0]:
                seeded.append((_quote(table), columns))
        cursor.execute(
            "SELECT quote_ident(relname) FROM pg_class "
            "WHERE relnamespace = %s::regnamespace AND relkind = 'S' ORDER BY relname",
            [schema],
        )
        sequences = tuple(name for (name,) in cursor.fetchall())
    return Template(
        schema=schema,
        fingerprint=fingerprint,
        before_rows=_pg_dump(schema, "pre-data"),
        after_rows=_pg_dump(schema, "post-data"),
        seeded=tuple(seeded),
        sequences=sequences,
    )


def _pg_dump(schema: str, section: str) -> str:
    pg_dump, _ = pg_tool("pg_dump")
    command = [
        str(pg_dump),
        f"--section={section}",
        f"--schema={schema}",
        "--no-owner",
        "--no-privileges",
        "--no-comments",
    ]
    dumped = subprocess.run(  # noqa: S603  # pg_dump of our own database, no user input
        command, capture_output=True, text=True, check=True, env=libpq_env()
    ).stdout
    # The header's SETs would change the session (its search_path above all); the
    # clone sets what it needs for its own transaction. Recent pg_dumps wrap the script
    # in psql's \\restrict commands, which are not SQL.
    return "\n".join(
        line
        for line in dumped.splitlines()
        if line.strip()
        and not line.startswith(("--", "\\", "SET ", "SELECT pg_catalog.set_config"))
    )


def _renamed(definitions: str, source: str, target: str) -> str:
    """pg_dump's definitions with the template's schema name replaced by `target`
    (quoted): wherever it qualifies a name (`tmpl.table`, `'tmpl.seq'::regclass`) and in
    CREATE SCHEMA."""
    name = re.escape(_quote(source))
    renamed = re.sub(rf"(?<![\w\"$]){name}(?=\.)", lambda _: target, definitions)
    return re.sub(
        rf"^CREATE SCHEMA {name};", lambda _: f"CREATE SCHEMA {target};", renamed, flags=re.M
    )


def _quote(name: str) -> str:
    """`name` as pg_dump writes it: bare when it is a plain lower-case identifier."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'
