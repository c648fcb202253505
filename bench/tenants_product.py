"""The product's side of the `tenants` bench, run by bench.tenants in its own processes with
the product's settings: `create N`, `migrate`, `hour`, `web`, `drop`. Each prints one JSON
object on stdout and its progress on stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from bench.tenants import RAN  # noqa: E402
from learning import services  # noqa: E402
from learning.tenancy.models import Tenant  # noqa: E402

PREFIX = "tn-"


def log(message: str) -> None:
    print(f"  tenants: {message}", file=sys.stderr, flush=True)


def slugs(count: int) -> list[str]:
    return [f"{PREFIX}{i:04d}" for i in range(count)]


def bench_tenants() -> list[Tenant]:
    return list(Tenant.objects.filter(slug__startswith=PREFIX).order_by("slug"))


def create(count: int, migrated_sample: int) -> dict[str, Any]:
    """N tenants cloned from the template, then a few migrated (the template turned off),
    each with an agent key (the web part's credential)."""
    from bench.environment import cpu_seconds

    cloned: list[float] = []
    cpu: list[float] = []
    keys: dict[str, str] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), pg_database_size(current_database())")
        backend, database_before = cursor.fetchone()
    for n, slug in enumerate(slugs(count), 1):
        start, own, server = time.perf_counter(), time.process_time(), cpu_seconds([backend])
        tenant, created = services.create_tenant(slug=slug)
        cloned.append(time.perf_counter() - start)
        cpu.append(time.process_time() - own + cpu_seconds([backend]) - server)
        assert created, f"{slug} existed: drop the bench tenants first"
        with tenant_context(tenant):
            keys[slug] = services.create_agent_key(name="bench")[1]
        if n % max(count // 10, 1) == 0:
            log(f"{n}/{count} created, median {statistics.median(cloned):.3f} s")
    template = settings.TENANT_BASE_SCHEMA
    settings.TENANT_BASE_SCHEMA = ""
    migrated: list[float] = []
    for i in range(migrated_sample):
        start = time.perf_counter()
        tenant, _ = services.create_tenant(slug=f"{PREFIX}migrated-{i}")
        migrated.append(time.perf_counter() - start)
        log(f"migrated sample {i + 1}/{migrated_sample}: {migrated[-1]:.2f} s")
    settings.TENANT_BASE_SCHEMA = template
    (Path(tempfile.gettempdir()) / "ll-bench-tenant-keys.json").write_text(json.dumps(keys))
    return {
        "cloned": cloned,
        "cpu": cpu,
        "migrated": migrated,
        "database_bytes_before": database_before,
        **catalog_size(),
    }


def catalog_size() -> dict[str, Any]:
    """One tenant schema's share of the catalog and of the disk, empty."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(pg_total_relation_size(c.oid)) "
            "FILTER (WHERE c.relkind = 'r'), 0) FROM pg_class c "
            "WHERE c.relnamespace = 't_tn_0000'::regnamespace"
        )
        relations, disk = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relnamespace = 't_tn_0000'::regnamespace"
        )
        (attributes,) = cursor.fetchone()
        cursor.execute("SELECT pg_database_size(current_database())")
        (database,) = cursor.fetchone()
    return {
        "relations": relations,
        "attributes": attributes,
        "disk_bytes": int(disk),
        "database_bytes": int(database),
    }


BENCH_MIGRATION = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("prompts", "{last}")]
    operations = [
        migrations.AddField("preference", "bench_note", models.TextField(null=True)),
        migrations.AddIndex(
            "preference",
            models.Index(fields=["bench_note"], name="prompts_bench_note_idx"),
        ),
    ]
"""


def migrate() -> dict[str, Any]:
    """One new migration (a column and an index on a small table of `prompts`, from a
    migration module that exists only here) run over the bench tenants by django-tenants'
    multiprocessing executor, as `migrate_schemas --executor=multiprocessing` runs it."""
    from django.db.migrations.loader import MigrationLoader
    from django.utils.module_loading import import_string

    import prompts

    source = Path(prompts.__file__).parent / "migrations"
    folder = Path(tempfile.mkdtemp(prefix="ll-bench-migrations-"))
    package = folder / "bench_prompts_migrations"
    shutil.copytree(source, package, ignore=shutil.ignore_patterns("__pycache__"))
    last = max(name for app, name in MigrationLoader(None).disk_migrations if app == "prompts")
    (package / "9999_bench_note.py").write_text(BENCH_MIGRATION.format(last=last))
    sys.path.insert(0, str(folder))
    settings.MIGRATION_MODULES = {"prompts": "bench_prompts_migrations"}
    schemas = [tenant.schema_name for tenant in bench_tenants()]
    processes = getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", 2)
    # migrate_schemas' own options, as its command line gives them
    command = import_string("learning.tenancy.management.commands.migrate_schemas.Command")()
    parser = command.create_parser("manage.py", "migrate_schemas")
    options = vars(parser.parse_args(["--noinput", "-v", "0", "--executor=multiprocessing"]))
    options["skip_checks"] = True
    log(f"one new migration over {len(schemas)} schemas, {processes} processes")
    start = time.perf_counter()
    executor = import_string(settings.GET_EXECUTOR_FUNCTION)("multiprocessing")
    executor((), options).run_migrations(tenants=list(schemas))
    seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE column_name = 'bench_note' AND table_schema = ANY(%s)",
            [schemas],
        )
        (done,) = cursor.fetchone()
    shutil.rmtree(folder)
    return {
        "seconds": seconds,
        "schemas": len(schemas),
        "migrated": done,
        "processes": processes,
    }


SLOT_SECONDS = 300  # the shortest period in config.schedules


def hour() -> dict[str, Any]:
    """One hour of beat's schedule over every ready tenant, compressed into twelve
    5-minute slots run back to back: in each slot every job due in it is sent through
    learning.fan_out (the 5-minute one in every slot, the 15-minute ones in every third,
    the hourly ones and once each the 6-hourly, daily and weekly ones in the first: the
    busiest hour of a week), without jitter, to the real worker that bench.tenants
    started; the next slot starts when the worker has run this one's tasks. A slot that
    takes longer than its 5 minutes would leave tasks to expire (fan_out sends each with
    its period as expiry): that is what "undone" catches. Returns what was expected and
    each slot's seconds; the worker records what ran."""
    import redis

    from config.schedules import SCHEDULES
    from learning.tasks import fan_out

    tenants = [t.schema_name for t in Tenant.objects.filter(ready=True)]
    expected: list[list[Any]] = []
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    ran = redis.Redis.from_url(settings.REDIS_URL)
    slots: list[float] = []
    for slot in range(3600 // SLOT_SECONDS):
        start = time.monotonic()
        due = [
            schedule
            for schedule in SCHEDULES
            if (slot * SLOT_SECONDS) % schedule.period_seconds == 0
            if schedule.period_seconds <= 3600 or slot == 0
        ]
        for schedule in due:
            # a new period for every send (the claims are per period)
            for key in client.scan_iter(match=f"*fanout:{schedule.task}:*"):
                client.delete(key)
            sent = fan_out(
                schedule.task,
                kwargs=schedule.kwargs,
                period_seconds=schedule.period_seconds,
                jitter_seconds=0,
            )
            assert sent == len(tenants), (schedule.name, sent, len(tenants))
            expected += [[schedule.task, schedule.kwargs, schema] for schema in tenants]
        seen, last_change = 0, time.monotonic()
        while seen < len(expected) and time.monotonic() - last_change < 120:
            time.sleep(0.5)
            now = ran.llen(RAN)
            if now != seen:
                seen, last_change = now, time.monotonic()
        slots.append(time.monotonic() - start)
        log(
            f"slot {slot + 1}/12: {len(due)} jobs x {len(tenants)} tenants, "
            f"{seen:,}/{len(expected):,} run, {slots[-1]:.0f} s (of {SLOT_SECONDS})"
        )
    return {"expected": expected, "tenants": len(tenants), "slot_seconds": slots}


def web() -> dict[str, Any]:
    """The real WSGI application in this process (django.test.Client goes through its
    handler and middleware): each bench tenant's /api/v1/me/ twice, its agent key as the
    credential; resident memory before and after."""
    import psutil
    from django.test import Client

    keys = json.loads((Path(tempfile.gettempdir()) / "ll-bench-tenant-keys.json").read_text())
    process = psutil.Process()
    client = Client(HTTP_HOST="127.0.0.1")
    client.get("/healthz")
    # warm the process on one tenant, so the first-request times are a new tenant's cost
    warm = next(iter(keys))
    for _ in range(3):
        client.get(f"/t/{warm}/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {keys[warm]}")
    before = process.memory_info().rss
    first: list[float] = []
    second: list[float] = []
    statuses: set[int] = set()
    for n, (slug, key) in enumerate(list(keys.items())[1:], 1):
        for timings in (first, second):
            start = time.perf_counter()
            response = client.get(f"/t/{slug}/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {key}")
            timings.append(time.perf_counter() - start)
            statuses.add(response.status_code)
        if n % max(len(keys) // 10, 1) == 0:
            log(f"served {n}/{len(keys) - 1} tenants, rss {process.memory_info().rss >> 20} MiB")
    after = process.memory_info().rss
    return {
        "tenants": len(first),
        "rss_before": before,
        "rss_after": after,
        "first_p50": statistics.median(first),
        "second_p50": statistics.median(second),
        "statuses": sorted(statuses),
    }


def drop() -> dict[str, Any]:
    tenants = bench_tenants()
    for n, tenant in enumerate(tenants, 1):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')
        Tenant.objects.filter(pk=tenant.pk).delete()
        if n % max(len(tenants) // 10, 1) == 0:
            log(f"dropped {n}/{len(tenants)}")
    return {"dropped": len(tenants)}


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "create":
        result = create(int(sys.argv[2]), int(sys.argv[3]))
    elif command == "migrate":
        result = migrate()
    elif command == "hour":
        result = hour()
    elif command == "web":
        result = web()
    else:
        result = drop()
    print(json.dumps(result))
