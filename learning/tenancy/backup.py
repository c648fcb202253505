"""One tenant backed up to a single file, restored from it, or moved between databases.

A tenant is its PostgreSQL schema plus its rows in the public schema: the Tenant row and
its Domain rows. Nothing else in public belongs to one tenant: users, tokens, agent keys,
sessions and every product table live in the tenant's schema (TENANT_APPS); the public
copies of auth, sessions and `learning` hold the ops admin's own people; beat's periodic
tasks are global fan-outs over every ready tenant (config/schedules.py).

The file is a tar of three members:
  manifest.json  what it is: format, product version, migration state per app, row counts
                 per table, the extensions the schema needs, the dump's sha256
  public.json    the Tenant and Domain rows (Django's serializer)
  schema.dump    `pg_dump --format=custom --schema=<schema>`: DDL and data

The row counts and the dump read the same snapshot (pg_dump --snapshot), so the manifest
counts exactly what the dump holds, even while the tenant keeps working.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.serializers.base import DeserializationError
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import schema_context, schema_exists
from psycopg import sql

from learning.tenancy.models import Domain, Tenant, slug_validator
from learning.tenancy.selectors import forget_routes

FORMAT = "learning-loop-tenant-backup"
FORMAT_VERSION = 1
MANIFEST, PUBLIC_ROWS, SCHEMA_DUMP = "manifest.json", "public.json", "schema.dump"
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

Progress = Callable[[str], None]


class BackupRefused(Exception):
    """Why a backup or restore cannot go ahead; nothing was changed."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    slug: str
    schema: str
    bytes: int
    seconds: float
    tables: int
    rows: int


@dataclass(frozen=True)
class RestoreResult:
    slug: str
    schema: str
    renamed_from: str | None
    migrated: list[str]
    seconds: float
    tables: int
    rows: int
    domains: list[str]


# --- PostgreSQL's client tools ------------------------------------------------------------


def server_major() -> int:
    connection.ensure_connection()
    return int(connection.pg_version) // 10000  # type: ignore[attr-defined]  # psycopg's


def _tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 - a PostgreSQL client tool, no shell
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def _tool_candidates(name: str, major: int) -> Iterator[Path]:
    if env_dir := os.environ.get("LL_PG_BIN"):
        yield Path(env_dir) / name
    # make run's embedded PostgreSQL (pgserver) bundles its own client tools.
    spec = find_spec("pgserver")
    if spec is not None and spec.origin:
        yield Path(spec.origin).parent / "pginstall" / "bin" / name
    yield Path(f"/usr/lib/postgresql/{major}/bin/{name}")  # Debian and Ubuntu
    yield Path(f"/usr/pgsql-{major}/bin/{name}")  # Red Hat family
    yield Path(f"/opt/homebrew/opt/postgresql@{major}/bin/{name}")
    yield Path(f"/usr/local/opt/postgresql@{major}/bin/{name}")
    if on_path := shutil.which(name):
        yield Path(on_path)


def pg_tool(name: str) -> tuple[Path, int]:
    """`pg_dump` or `pg_restore` of the server's major version, and that version: a newer
    pg_dump writes archives an older pg_restore cannot read, an older one refuses a newer
    server."""
    major = server_major()
    seen: list[str] = []
    for path in _tool_candidates(name, major):
        if not path.is_file():
            continue
        found = _tool_major(path)
        if found == major:
            return path, major
        seen.append(f"{path} ({found or 'unknown version'})")
    raise BackupRefused(
        f"No {name} of PostgreSQL {major}, the server's version, was found"
        + (f" (found {', '.join(seen)})" if seen else "")
        + f". Install PostgreSQL {major}'s client tools, or set LL_PG_BIN to their folder."
    )


def libpq_env() -> dict[str, str]:
    """The database of this process as libpq's variables: no password in argv."""
    params = connection.settings_dict
    env = dict(os.environ)
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        if params.get(key):
            env[var] = str(params[key])
    return env


def _run(
    command: list[str],
    *,
    what: str,
    progress: Progress | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """Run a client tool; with `progress`, its --verbose lines about tables are passed on
    (a big tenant takes minutes), and its last lines make the error of a failure."""
    process = subprocess.Popen(  # noqa: S603 - PostgreSQL's own tools, no shell
        command,
        env=env or libpq_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    tail: list[str] = []
    tables, shown = 0, time.monotonic()
    assert process.stderr is not None  # piped above
    for line in process.stderr:
        line = line.rstrip()
        tail = [*tail[-19:], line]
        if re.search(r"(dumping contents of|processing data for) table", line):
            tables += 1
            # At most a line a second: a big table shows, small ones pass quietly.
            if progress and time.monotonic() - shown >= 1:
                progress(f"  {tables} tables so far, at {line.split(' table ', 1)[-1]}")
                shown = time.monotonic()
    if process.wait() != 0:
        errors = [line for line in tail if "error" in line.lower()] or tail
        raise BackupRefused(f"{what} failed: " + " / ".join(errors)[-2000:])


# --- What a schema holds -------------------------------------------------------------------


def _tables(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace "
            "AND relkind IN ('r', 'p') ORDER BY relname",
            [schema],
        )
        return [row[0] for row in cursor.fetchall()]


def row_counts(schema: str) -> dict[str, int]:
    """Exact rows per table of `schema` (count(*), not the planner's estimate)."""
    tables = _tables(schema)
    if not tables:
        return {}
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, count(*) FROM {}").format(
            sql.Literal(table), sql.Identifier(schema, table)
        )
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(query.as_string())
        return {name: int(count) for name, count in cursor.fetchall()}


def _applied_migrations(schema: str) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT app, name FROM {} ORDER BY app, id")
            .format(sql.Identifier(schema, "django_migrations"))
            .as_string()
        )
        for app, name in cursor.fetchall():
            applied.setdefault(app, []).append(name)
    return applied


def _extension_needs(schema: str) -> dict[str, dict[str, Any]]:
    """Extensions whose objects the schema's tables and indexes use (pg_trgm's operator
    class, for one): pg_dump --schema leaves extensions out, so a restore creates them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.extname, e.extnamespace::regnamespace::text, c.relname, c.relkind
            FROM pg_class c
            JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
            JOIN pg_depend x ON x.classid = d.refclassid AND x.objid = d.refobjid
                AND x.deptype = 'e'
            JOIN pg_extension e ON e.oid = x.refobjid
            WHERE c.relnamespace = %s::regnamespace
            ORDER BY 1, 3
            """,
            [schema],
        )
        needs: dict[str, dict[str, Any]] = {}
        for name, in_schema, relation, kind in cursor.fetchall():
            need = needs.setdefault(name, {"schema": in_schema, "indexes": [], "tables": []})
            need["indexes" if kind == "i" else "tables"].append(relation)
    return needs


def _rename_hazards(schema: str) -> list[str]:
    """Objects whose text may name the schema (function bodies, triggers' functions): an
    ALTER SCHEMA … RENAME would leave them pointing at the old name. Tables, indexes,
    identity sequences, defaults and constraints refer to each other by oid and follow."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = %s::regnamespace
            UNION ALL
            SELECT 'trigger ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = %s::regnamespace AND NOT t.tgisinternal
            UNION ALL
            SELECT 'rule ' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
            WHERE c.relnamespace = %s::regnamespace AND c.relkind NOT IN ('v', 'm')
            """,
            [schema, schema, schema],
        )
        return [row[0] for row in cursor.fetchall()]


def product_version() -> str:
    try:
        with (settings.BASE_DIR / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


# --- Backup ---------------------------------------------------------------------------------


def backup_tenant(*, slug: str, out: Path, progress: Progress) -> BackupResult:
    """Write tenant `slug` to `out` (replaced only once the whole file is written)."""
    started = time.monotonic()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            raise BackupRefused(f"No tenant {slug!r}.")
        if not schema_exists(tenant.schema_name):
            raise BackupRefused(f"Tenant {slug!r} has no schema {tenant.schema_name!r}.")
        pg_dump, major = pg_tool("pg_dump")
        schema = tenant.schema_name
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as scratch:
            dump = Path(scratch) / SCHEMA_DUMP
            # One snapshot for the counts, the public rows and pg_dump: they agree exactly.
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    cursor.execute("SELECT pg_export_snapshot()")
                    snapshot = cursor.fetchone()[0]  # type: ignore[index]  # one row
                progress(f"counting rows in schema {schema}")
                counts = row_counts(schema)
                public_rows = serializers.serialize(
                    "json", [tenant, *Domain.objects.filter(tenant=tenant).order_by("pk")]
                )
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created_at": datetime.now(UTC).isoformat(),
                    "product_version": product_version(),
                    "slug": tenant.slug,
                    "schema": schema,
                    "postgresql": major,
                    "migrations": _applied_migrations(schema),
                    "public_migrations": {
                        "tenancy": _applied_migrations(settings.PUBLIC_SCHEMA_NAME).get(
                            "tenancy", []
                        )
                    },
                    "extensions": _extension_needs(schema),
                    "rename_hazards": _rename_hazards(schema),
                    "tables": counts,
                }
                progress(
                    f"dumping schema {schema}: {len(counts)} tables, "
                    f"{sum(counts.values()):,} rows ({pg_dump})"
                )
                _run(
                    [
                        str(pg_dump),
                        "--verbose",
                        "--format=custom",
                        f"--schema={schema}",
                        f"--snapshot={snapshot}",
                        f"--file={dump}",
                    ],
                    what="pg_dump",
                    progress=progress,
                )
            manifest["schema_dump"] = {"bytes": dump.stat().st_size, "sha256": _sha256(dump)}
            progress(f"writing {out} (dump {dump.stat().st_size:,} bytes)")
            partial = Path(scratch) / "backup.tar"
            with tarfile.open(partial, "w") as tar:
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
                _add_bytes(tar, PUBLIC_ROWS, public_rows.encode())
                tar.add(dump, arcname=SCHEMA_DUMP, filter=_private)
            partial.chmod(0o600)  # a tenant's whole data: its owner's only
            partial.replace(out)
    return BackupResult(
        path=out,
        slug=tenant.slug,
        schema=schema,
        bytes=out.stat().st_size,
        seconds=time.monotonic() - started,
        tables=len(counts),
        rows=sum(counts.values()),
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


# --- Restore --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Backup:
    manifest: dict[str, Any]
    public_rows: str
    dump: Path


def _open_backup(path: Path, scratch: Path) -> _Backup:
    """The backup's parts, checked: a file that is not one, or is damaged, is refused."""
    not_one = f"{path} is not a Learning Loop tenant backup"
    try:
        with tarfile.open(path, "r:") as tar:
            names = set(tar.getnames())
            if not {MANIFEST, PUBLIC_ROWS, SCHEMA_DUMP} <= names:
                raise BackupRefused(f"{not_one} (it lacks {MANIFEST}, {PUBLIC_ROWS} or a dump).")
            manifest = json.loads(_read_member(tar, MANIFEST))
            public_rows = _read_member(tar, PUBLIC_ROWS).decode()
            tar.extract(SCHEMA_DUMP, scratch, filter="data")
    except FileNotFoundError as exc:
        raise BackupRefused(f"No file {path}.") from exc
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise BackupRefused(f"{not_one} or it is damaged ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupRefused(f"{not_one} (its manifest names no such format).")
    missing = {"slug", "schema", "created_at", "migrations", "tables", "schema_dump"} - set(
        manifest
    )
    if missing or not isinstance(manifest["tables"], dict):
        raise BackupRefused(f"{path} is damaged: its manifest lacks {', '.join(sorted(missing))}.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupRefused(
            f"{path} is a backup of format version {manifest.get('format_version')}; this "
            f"code reads version {FORMAT_VERSION}."
        )
    dump = scratch / SCHEMA_DUMP
    expected = manifest.get("schema_dump", {})
    if dump.stat().st_size != expected.get("bytes") or _sha256(dump) != expected.get("sha256"):
        raise BackupRefused(
            f"{path} is damaged: its schema dump does not match the checksum its manifest "
            "recorded. Nothing was restored."
        )
    return _Backup(manifest=manifest, public_rows=public_rows, dump=dump)


def _read_member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        raise BackupRefused(f"{name} in the backup is not a file.")
    return member.read()


def _migration_gap(applied: dict[str, list[str]], apps: set[str]) -> tuple[list[str], list[str]]:
    """(migrations the backup has that this code lacks, this code's that the backup
    lacks), over `apps`."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    theirs = {(app, name) for app, names in applied.items() for name in names if app in apps}
    newer = sorted(f"{app}.{name}" for app, name in theirs - known)
    older = sorted(f"{app}.{name}" for app, name in known - theirs if app in apps)
    return newer, older


def _tenant_apps() -> set[str]:
    """Labels of the apps migrated in a tenant's schema (TENANT_APPS names modules or
    AppConfig classes)."""
    from django.apps import apps

    return {
        config.label
        for config in apps.get_app_configs()
        if config.name in settings.TENANT_APPS
        or f"{type(config).__module__}.{type(config).__name__}" in settings.TENANT_APPS
    }


def restore_tenant(
    *,
    path: Path,
    slug: str | None = None,
    schema: str | None = None,
    with_domains: bool = True,
    progress: Progress,
) -> RestoreResult:
    """Restore the backup at `path` into this database as tenant `slug` (the backup's by
    default) in schema `schema` (the backup's by default). Refused, changing nothing, when
    the slug, schema or a domain is taken, the backup's migrations are newer than this
    code's, or the file is not a sound backup. A failure part-way drops what it made."""
    started = time.monotonic()
    with (
        schema_context(settings.PUBLIC_SCHEMA_NAME),
        tempfile.TemporaryDirectory(prefix="ll-restore-") as scratch,
    ):
        backup = _open_backup(path, Path(scratch))
        manifest = backup.manifest
        source_schema = str(manifest["schema"])
        slug = slug or str(manifest["slug"])
        target = schema or source_schema
        progress(f"checking {path}: tenant {manifest['slug']} of {manifest['created_at']}")
        _check_target(slug=slug, schema=target, schema_given=schema is not None)
        try:
            rows = list(serializers.deserialize("json", backup.public_rows))
        except DeserializationError as exc:
            raise BackupRefused(f"{path} is damaged: its tenant rows do not read ({exc}).") from exc
        domains = [row.object for row in rows if isinstance(row.object, Domain)]
        tenant_rows = [row.object for row in rows if isinstance(row.object, Tenant)]
        if len(tenant_rows) != 1:
            raise BackupRefused(f"{path} holds {len(tenant_rows)} tenant rows, not one.")
        taken = list(
            Domain.objects.filter(domain__in=[d.domain for d in domains]).values_list(
                "domain", "tenant__slug"
            )
        )
        if taken and with_domains:
            raise BackupRefused(
                "Host names of the backup belong to other tenants here: "
                + ", ".join(f"{domain} ({owner})" for domain, owner in taken)
                + ". Restore with --without-domains, then add host names in the ops admin."
            )
        newer, older = _migration_gap(manifest.get("migrations", {}), _tenant_apps())
        public_newer, _ = _migration_gap(manifest.get("public_migrations", {}), {"tenancy"})
        if newer or public_newer:
            raise BackupRefused(
                "The backup was made by newer code: it has migrations this code lacks ("
                + ", ".join([*newer, *public_newer][:8])
                + "). Restore it with the code it came from, or a later one."
            )
        if target != source_schema and manifest.get("rename_hazards"):
            raise BackupRefused(
                f"Renaming schema {source_schema} to {target} is unsafe: "
                + ", ".join(manifest["rename_hazards"])
                + " may name the schema in its text. Restore it under its own schema name."
            )
        pg_restore, major = pg_tool("pg_restore")
        if int(manifest.get("postgresql", 0)) > major:
            raise BackupRefused(
                f"The backup was dumped from PostgreSQL {manifest['postgresql']}; this server "
                f"is {major}, whose pg_restore cannot read it."
            )
        skip_indexes = _prepare_extensions(manifest.get("extensions", {}), progress)

        # The backup's own schema name in use here (a copy beside the original): restore
        # and rename it in a scratch database, then restore that.
        in_scratch = schema_exists(source_schema)
        dump = (
            _renamed_in_scratch_database(backup, target, skip_indexes, progress)
            if in_scratch
            else backup.dump
        )
        restored_as = target if in_scratch else source_schema
        progress(
            f"restoring schema {restored_as}: {len(manifest['tables'])} tables, "
            f"{sum(manifest['tables'].values()):,} rows ({pg_restore})"
        )
        # One transaction: a failure here leaves nothing behind.
        _pg_restore(pg_restore, dump, Path(scratch), skip_indexes, restored_as, progress)
        try:
            if restored_as != target:
                progress(f"renaming schema {restored_as} to {target}")
                _rename_schema(connection, restored_as, target)
            counts = row_counts(target)
            if counts != manifest["tables"]:
                differ = [
                    f"{table} {counts.get(table)} != {rows}"
                    for table, rows in manifest["tables"].items()
                    if counts.get(table) != rows
                ]
                raise BackupRefused(
                    "The restored schema's row counts differ from the manifest's: "
                    + ", ".join(differ)[:500]
                )
            tenant = _insert_public_rows(
                tenant_rows[0], domains if with_domains else [], slug=slug, schema=target
            )
            if older:
                progress(f"migrating schema {target}: {len(older)} migrations the backup predates")
                call_command("migrate_schemas", schema_name=target, interactive=False, verbosity=0)
            Tenant.objects.filter(pk=tenant.pk).update(ready=True)
        except BaseException:
            progress(f"failed: dropping schema {target} and its public rows")
            _undo(slug=slug, schemas=[restored_as, target])
            raise
        forget_routes()  # this process routes to it at once (others within their TTL)
        return RestoreResult(
            slug=slug,
            schema=target,
            renamed_from=source_schema if target != source_schema else None,
            migrated=older,
            seconds=time.monotonic() - started,
            tables=len(counts),
            rows=sum(counts.values()),
            domains=[d.domain for d in domains] if with_domains else [],
        )


def _check_target(*, slug: str, schema: str, schema_given: bool) -> None:
    try:
        slug_validator(slug)
    except ValidationError as exc:
        raise BackupRefused(
            f"Slug {slug!r}: use 1-40 lowercase letters, digits or hyphens."
        ) from exc
    if Tenant.objects.filter(slug=slug).exists():
        raise BackupRefused(
            f"A tenant {slug!r} exists here already: nothing changed. Restore under another "
            "slug with --slug NEW, or delete that tenant first."
        )
    if not SCHEMA_NAME.match(schema) or schema == "public" or schema.startswith("pg_"):
        raise BackupRefused(f"{schema!r} is not a schema name a tenant may have.")
    if schema_exists(schema) or Tenant.objects.filter(schema_name=schema).exists():
        hint = "" if schema_given else " Give another with --schema NEW (it is renamed)."
        raise BackupRefused(f"Schema {schema} exists here already: nothing changed.{hint}")


def _available_extensions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_available_extensions")
        return {row[0] for row in cursor.fetchall()}


def _prepare_extensions(needs: dict[str, dict[str, Any]], progress: Progress) -> list[str]:
    """Create the extensions the schema uses; returns the indexes to leave out because
    this PostgreSQL lacks their extension (as the migrations do: make run's embedded
    PostgreSQL has no pg_trgm). A table needing a missing extension is refused."""
    available = _available_extensions()
    skip: list[str] = []
    for name, need in needs.items():
        if name in available:
            with connection.cursor() as cursor:
                cursor.execute(
                    sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA {}")
                    .format(sql.Identifier(name), sql.Identifier(need["schema"]))
                    .as_string()
                )
        elif need["tables"]:
            raise BackupRefused(
                f"Tables {', '.join(need['tables'])} need PostgreSQL extension {name}, "
                "which this server lacks."
            )
        else:
            progress(f"this PostgreSQL lacks {name}: leaving out {', '.join(need['indexes'])}")
            skip.extend(need["indexes"])
    return skip


def _pg_restore(
    pg_restore: Path,
    dump: Path,
    scratch: Path,
    skip_indexes: list[str],
    schema: str,
    progress: Progress | None,
    database: str | None = None,
) -> None:
    """pg_restore in one transaction (a failure leaves nothing behind), without the
    indexes `skip_indexes` (their extension is missing here)."""
    command = [
        str(pg_restore),
        "--verbose",
        "--single-transaction",
        "--no-owner",
        "--no-privileges",
        f"--dbname={database or connection.settings_dict['NAME']}",
    ]
    if skip_indexes:
        listing = subprocess.run(  # noqa: S603 - pg_restore, no shell
            [str(pg_restore), "--list", str(dump)], capture_output=True, text=True, check=True
        ).stdout
        left_out = {f" INDEX {schema} {name} " for name in skip_indexes}
        kept = [line for line in listing.splitlines() if not any(s in line for s in left_out)]
        use_list = scratch / f"{dump.stem}.list"
        use_list.write_text("\n".join(kept) + "\n")
        command.append(f"--use-list={use_list}")
    _run([*command, str(dump)], what="pg_restore", progress=progress)


def _rename_schema(target_connection: Any, old: str, new: str) -> None:
    with target_connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}")
            .format(sql.Identifier(old), sql.Identifier(new))
            .as_string()
        )


def _renamed_in_scratch_database(
    backup: _Backup, target: str, skip_indexes: list[str], progress: Progress
) -> Path:
    """The backup's schema renamed to `target` and dumped again, through a scratch database
    (created and dropped here) where the backup's own schema name is free."""
    pg_restore, _ = pg_tool("pg_restore")
    pg_dump, _ = pg_tool("pg_dump")
    source = str(backup.manifest["schema"])
    scratch_db = f"ll_restore_{os.getpid()}_{int(time.time())}"
    progress(f"schema {source} is in use here: renaming it to {target} in database {scratch_db}")
    _execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch_db)))
    renamed = backup.dump.with_name("renamed.dump")
    try:
        with _connect(scratch_db) as scratch_connection:
            for name, need in backup.manifest.get("extensions", {}).items():
                if not set(need["indexes"]) <= set(skip_indexes) or need["tables"]:
                    scratch_connection.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA {}").format(
                            sql.Identifier(name), sql.Identifier(need["schema"])
                        )
                    )
            _pg_restore(
                pg_restore, backup.dump, backup.dump.parent, skip_indexes, source, None, scratch_db
            )
            _rename_schema(scratch_connection, source, target)
        _run(
            [str(pg_dump), "--format=custom", f"--schema={target}", f"--file={renamed}"],
            what="pg_dump of the renamed schema",
            env={**libpq_env(), "PGDATABASE": scratch_db},
        )
    finally:
        _execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch_db))
        )
    return renamed


def _execute(statement: sql.Composable) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string())


@contextmanager
def _connect(database: str) -> Iterator[Any]:
    """An autocommit connection to another database of the same server."""
    import psycopg

    params = connection.settings_dict
    with psycopg.connect(
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        dbname=database,
        autocommit=True,
    ) as other:
        yield other


def _insert_public_rows(source: Tenant, domains: list[Domain], *, slug: str, schema: str) -> Tenant:
    """The Tenant row (not ready until its schema is migrated) and its domains, with this
    database's ids; the schema exists already, so saving the Tenant creates none."""
    created_at = source.created_at
    with transaction.atomic():
        tenant = source
        tenant.pk = None
        tenant._state.adding = True
        tenant.slug = slug
        tenant.schema_name = schema
        tenant.ready = False
        tenant.auto_create_schema = False
        tenant.save()
        Tenant.objects.filter(pk=tenant.pk).update(created_at=created_at)  # not auto_now's
        for domain in domains:
            domain.pk = None
            domain._state.adding = True
            domain.tenant = tenant
            domain.save()
    return tenant


def _undo(*, slug: str, schemas: list[str]) -> None:
    """Drop what a failed restore made (it checked they did not exist before): its
    schema and its public rows."""
    with transaction.atomic():
        Domain.objects.filter(tenant__slug=slug).delete()
        Tenant.objects.filter(slug=slug).delete()
        for schema in dict.fromkeys(schemas):
            _execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
