"""The backup benchmark's product side: fills tenant `backups` of the bench database with
N outcomes (every fifth with what the agent said), then backs it up with backup_tenant and
with plain pg_dump, and restores each into a fresh database (restore_tenant, then plain
pg_restore). Prints JSON.

Run by bench.backup in its own process, with the product's settings.
"""

import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context, tenant_context  # noqa: E402
from psycopg import sql  # noqa: E402

from bench.fill import copy_outcomes, fill_conversations  # noqa: E402
from learning import services  # noqa: E402
from learning.models import Role  # noqa: E402
from learning.tenancy import backup  # noqa: E402
from learning.tenancy.models import Tenant  # noqa: E402

OUTCOMES = int(sys.argv[1])
SLUG, SCHEMA = "backups", "t_backups"
OUT = Path(settings.BASE_DIR) / ".data" / "bench"
TYPES = [("send_email", "email_engagement"), ("advance_stage", "deal_progression")]


def log(message: str) -> None:
    print(f"  backup: {message}", file=sys.stderr, flush=True)


def populate(tenant: Tenant) -> None:
    with tenant_context(tenant), connection.cursor() as django_cursor:
        cur = django_cursor.connection.cursor()
        cur.execute("SELECT count(*) FROM outcomes_outcomerecord")
        if cur.fetchone()[0] == OUTCOMES:
            return
        reps = [
            services.create_user(username=f"backup-rep-{i:02d}", role=Role.REP)[0].pk
            for i in range(10)
        ]
        cur.execute(
            "TRUNCATE outcomes_message, outcomes_outcomerecord, outcomes_conversation CASCADE"
        )
        conversations = fill_conversations(cur, prefix="bk", reps=reps)
        log(f"copying {OUTCOMES:,} outcomes")
        copy_outcomes(
            cur,
            count=OUTCOMES,
            prefix="bk",
            conversations=conversations,
            types=TYPES,
            rng=random.Random(5),
            now=datetime.now(UTC),
        )
        cur.execute(
            "INSERT INTO outcomes_message (conversation_id, direction, outcome_id, in_reply_to, "
            "channel, subject, body, to_role, from_role, sent_at, created_at) "
            "SELECT conversation_id, 'agent', id, '', 'email', 'Pricing for your team', "
            "'Hi Dana, here is the pricing for ' || (id % 90 + 10) || ' seats.', "
            "'prospect', '', occurred_at, now() FROM outcomes_outcomerecord WHERE id % 5 = 0"
        )
        services.create_agent_key(name="backup-bench")


def fresh_database(name: str) -> str:
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"],
        port=params["PORT"] or None,
        user=params["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def manage(database: str, *args: str) -> str:
    params = connection.settings_dict
    url = f"postgresql://{params['USER']}@{params['HOST']}:{params['PORT'] or 5432}/{database}"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def timed(command: list[str], database: str | None = None) -> float:
    env = backup.libpq_env()
    if database:
        env["PGDATABASE"] = database
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        tenant, _ = services.create_tenant(slug=SLUG)
    populate(tenant)
    OUT.mkdir(parents=True, exist_ok=True)
    product_file, plain_file = OUT / "backups.llbackup", OUT / "backups.plain.dump"
    log("backup_tenant")
    out = StringIO()
    call_command("backup_tenant", SLUG, "--out", str(product_file), "--json", stdout=out)
    made = json.loads(out.getvalue())
    pg_dump, _ = backup.pg_tool("pg_dump")
    pg_restore, _ = backup.pg_tool("pg_restore")
    log("plain pg_dump")
    dump_seconds = timed(
        [str(pg_dump), "--format=custom", f"--schema={SCHEMA}", f"--file={plain_file}"]
    )
    target = fresh_database(f"{connection.settings_dict['NAME']}_restore")
    manage(target, "migrate_schemas", "--shared", "-v", "0")
    log("restore_tenant into a fresh database")
    restored = json.loads(manage(target, "restore_tenant", str(product_file), "--json"))
    plain_target = fresh_database(f"{connection.settings_dict['NAME']}_restore_plain")
    log("plain pg_restore into a fresh database")
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"],
        port=params["PORT"] or None,
        user=params["USER"],
        dbname=plain_target,
        autocommit=True,
    ) as plain:
        plain.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    restore_seconds = timed(
        [
            str(pg_restore),
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            f"--dbname={plain_target}",
            str(plain_file),
        ],
        plain_target,
    )
    with psycopg.connect(
        host=params["HOST"],
        port=params["PORT"] or None,
        user=params["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        for name in (target, plain_target):
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    print(
        json.dumps(
            {
                "outcomes": OUTCOMES,
                "rows": made["rows"],
                "backup_seconds": made["seconds"],
                "backup_bytes": made["bytes"],
                "plain_dump_seconds": round(dump_seconds, 2),
                "plain_dump_bytes": plain_file.stat().st_size,
                "restore_seconds": restored["seconds"],
                "plain_restore_seconds": round(restore_seconds, 2),
            }
        )
    )


main()
