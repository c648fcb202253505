"""A tenant backed up, restored into a fresh database, and equal there in every figure
(learning.tenancy.backup): each table's rows, the dashboards' API payloads byte for byte,
calibration and the agent's calibrate answer, the agent's key. Refusals change nothing.

The tenant is built through the services and committed (pg_dump reads committed rows
only); the restore and the API calls against each database run in subprocesses with their
own DATABASE_URL, each with its own Redis prefix, so no cached dashboard is shared.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import schema_context, tenant_context

from calibration import services as calibration_services
from feedback.models import FeedbackSettings
from feedback.tests.factories import FeedbackFactory
from insights import rollups
from learning import services as learning_services
from learning.tenancy import backup
from learning.tenancy.models import Domain, Tenant
from outcomes.tests.factories import OutcomeFactory, today_noon
from prompts import services as prompt_services

BASE_DIR = Path(__file__).resolve().parent.parent
SLUG = "keepsake"
OUTCOMES, RESOLVED, FEEDBACK = 60, 45, 20

# (path, role, POST body or None): what each role's dashboards and the agent read.
CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("analytics/rep/?days=30", "rep", None),
    ("analytics/manager/?days=30", "manager", None),
    ("analytics/executive/?days=30", "executive", None),
    ("calibration/", "agent", None),
    ("calibration/send_email/", "agent", None),
    ("policy/", "agent", None),
    ("calibrate/", "agent", {"action_type": "send_email", "confidence": 0.72}),
    ("exports/outcomes.csv", "manager", None),
    ("exports/feedback.csv", "manager", None),
    ("me/", "agent", None),
]

# Run in a subprocess against one database: each call's status and body, as JSON.
FETCH = """
import json, sys
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
slug, tokens, calls = json.loads(sys.stdin.read())
client = Client()
answers = []
for path, role, body in calls:
    headers = {"HTTP_AUTHORIZATION": "Bearer " + tokens[role]}
    url = f"/t/{slug}/api/v1/{path}"
    if body is None:
        response = client.get(url, **headers)
    else:
        response = client.post(url, json.dumps(body), content_type="application/json", **headers)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    answers.append([response.status_code, content.decode()])
print(json.dumps(answers))
"""


@dataclass
class Source:
    tenant: Tenant
    tokens: dict[str, str] = field(default_factory=dict)


def _env(database: str) -> dict[str, str]:
    params = connection.settings_dict
    url = f"postgresql://{params['USER']}@{params['HOST']}:{params['PORT'] or 5432}/{database}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "true",
        "LL_TESTING": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def _manage(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this project's manage.py
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=_env(database),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _fetch(database: str, slug: str, tokens: dict[str, str]) -> list[list[Any]]:
    done = subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", FETCH],
        cwd=BASE_DIR,
        env=_env(database),
        input=json.dumps([slug, tokens, CALLS]),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _admin_connection() -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=connection.settings_dict["HOST"], user="postgres", dbname="postgres", autocommit=True
    )


def _counts(database: str, schema: str) -> dict[str, int]:
    with psycopg.connect(
        host=connection.settings_dict["HOST"], user="postgres", dbname=database
    ) as other:
        tables = [
            row[0]
            for row in other.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace "
                "AND relkind = 'r' ORDER BY 1",
                [schema],
            )
        ]
        return {
            table: other.execute(
                psycopg.sql.SQL("SELECT count(*) FROM {}").format(
                    psycopg.sql.Identifier(schema, table)
                )
            ).fetchone()[0]  # type: ignore[index]
            for table in tables
        }


def _state(database: str) -> tuple[list[Any], list[str]]:
    """The tenants and the tenant schemas of `database`."""
    with psycopg.connect(
        host=connection.settings_dict["HOST"], user="postgres", dbname=database
    ) as other:
        tenants = other.execute(
            "SELECT slug, schema_name, ready FROM tenancy_tenant ORDER BY slug"
        ).fetchall()
        schemas = other.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%' ORDER BY 1"
        ).fetchall()
    return tenants, [row[0] for row in schemas]


def _build(tenant: Tenant) -> dict[str, str]:
    """Users of each role, their tokens and an agent key; outcomes over 20 days, 45 of 60
    resolved; 20 verdicts; calibration learnt; rollups refreshed; a prompt."""
    tokens: dict[str, str] = {}
    with tenant_context(tenant):
        people = {}
        for role, manager in (("manager", None), ("rep", "k-manager"), ("executive", None)):
            user, _ = learning_services.create_user(
                username=f"k-{role}", role=role, manager_username=manager
            )
            people[role] = user
            tokens[role] = learning_services.issue_user_token(user=user).raw
        learning_services.create_user(username="k-admin", role="admin")
        _, tokens["agent"] = learning_services.create_agent_key(name="keepsake-agent")
        # No prompts from the escalations recorded below: a worker of another test still
        # consuming the queue would add some, and the one prompt is recorded by hand.
        FeedbackSettings.objects.update_or_create(
            pk=1, defaults={"critical_outcome_types": [], "critical_action_types": []}
        )
        outcomes = []
        for i in range(OUTCOMES):
            kind = i % 3
            outcomes.append(
                OutcomeFactory(
                    action_id=f"k-{i}",
                    rep="k-rep",
                    conversation_id=f"kc-{i % 12}",
                    action_type=("send_email", "escalate", "advance_stage")[kind],
                    outcome_type=("email_engagement", "escalation_result", "deal_progression")[
                        kind
                    ],
                    predicted_confidence=round(0.3 + (i * 37 % 60) / 100, 2),
                    days_ago=i % 20,
                    status=None
                    if i >= RESOLVED
                    else ("positive" if i * 7 % 10 < 6 else "negative"),
                )
            )
        for i in range(FEEDBACK):
            FeedbackFactory(
                reviewer=people["manager"],
                target_id=f"k-{i}",
                conversation_id=f"kc-{i % 12}",
                rating=1 + i % 5,
                outcome_id=outcomes[i].id,
            )
        for action_type in ("send_email", "escalate", "advance_stage"):
            calibration_services.learn(action_type=action_type)
            calibration_services.recalibrate(action_type=action_type)
        rollups.refresh(full=True)
        prompt_services.record_past_prompt(
            recipient=people["manager"],
            outcome_id=outcomes[RESOLVED].id,
            channel="email",
            why="its outcome is ambiguous",
            sent_at=today_noon() - timedelta(days=1),
        )
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        Domain.objects.create(domain="keepsake.example.com", tenant=tenant, is_primary=True)
    return tokens


@pytest.fixture(scope="module")
def source(django_db_setup: None, django_db_blocker: Any) -> Iterator[Source]:
    """The tenant `keepsake`, committed, dropped at the end."""
    with django_db_blocker.unblock():
        tenant, _ = learning_services.create_tenant(slug=SLUG, name="Keepsake Ltd")
        try:
            yield Source(tenant=tenant, tokens=_build(tenant))
        finally:
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                tenant.delete(force_drop=True)


@pytest.fixture(scope="module")
def backup_file(source: Source, tmp_path_factory: pytest.TempPathFactory, django_db_blocker: Any):
    path = tmp_path_factory.mktemp("backup") / "keepsake.llbackup"
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command("backup_tenant", SLUG, "--out", str(path), "--json", stdout=out)
    return path, json.loads(out.getvalue())


@pytest.fixture(scope="module")
def fresh(backup_file: Any) -> Iterator[str]:
    """A new database with the public schema migrated, the backup restored into it."""
    name = f"{connection.settings_dict['NAME']}_restored"
    with _admin_connection() as admin:
        admin.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psycopg.sql.Identifier(name)
            )
        )
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    try:
        migrated = _manage(name, "migrate_schemas", "--shared", "-v", "0")
        assert migrated.returncode == 0, migrated.stderr
        restored = _manage(name, "restore_tenant", str(backup_file[0]), "--json")
        assert restored.returncode == 0, restored.stderr
        yield name
    finally:
        with _admin_connection() as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


def test_the_backup_file_says_what_it_holds(source: Source, backup_file: Any) -> None:
    path, summary = backup_file
    assert summary["slug"] == SLUG and summary["schema"] == "t_keepsake"
    assert summary["bytes"] == path.stat().st_size
    with tarfile.open(path) as tar:
        assert tar.getnames() == ["manifest.json", "public.json", "schema.dump"]
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        public = json.loads(tar.extractfile("public.json").read())  # type: ignore[union-attr]
    tables = manifest["tables"]
    assert tables["outcomes_outcomerecord"] == OUTCOMES
    assert tables["feedback_feedbackentry"] == FEEDBACK
    assert tables["learning_user"] == 4 and tables["learning_agentkey"] == 1
    assert tables["prompts_prompt"] == 1
    assert tables["learning_dailyoutcomerollup"] > 0 and tables["calibration_calibrationbin"] > 0
    assert summary["rows"] == sum(tables.values()) and summary["tables"] == len(tables)
    assert "0001_initial" in manifest["migrations"]["outcomes"]
    assert [row["model"] for row in public] == ["tenancy.tenant", "tenancy.domain"]
    assert public[1]["fields"]["domain"] == "keepsake.example.com"


def test_restored_into_a_fresh_database_every_figure_is_equal(
    source: Source, backup_file: Any, fresh: str
) -> None:
    original_counts = _counts(connection.settings_dict["NAME"], "t_keepsake")
    restored_counts = _counts(fresh, "t_keepsake")
    assert restored_counts == original_counts
    assert restored_counts == _manifest(backup_file[0])["tables"]
    assert restored_counts["outcomes_outcomerecord"] == OUTCOMES

    original = _fetch(connection.settings_dict["NAME"], SLUG, source.tokens)
    restored = _fetch(fresh, SLUG, source.tokens)
    assert [status for status, _ in original] == [200] * len(CALLS), original
    for (path, _, _), before, after in zip(CALLS, original, restored, strict=True):
        assert after == before, path
    executive = json.loads(original[2][1])
    assert executive["totals"]["actions"] == OUTCOMES
    assert executive["totals"]["pending"] == OUTCOMES - RESOLVED
    assert json.loads(original[9][1])["agent_key"] == "keepsake-agent"
    tenants, _ = _state(fresh)
    assert tenants == [(SLUG, "t_keepsake", True)]


def test_an_unknown_key_is_refused_by_the_restored_tenant(source: Source, fresh: str) -> None:
    wrong = {**source.tokens, "agent": "llk_" + "x" * 43}
    answers = _fetch(fresh, SLUG, wrong)
    assert answers[3][0] == 401


def test_restoring_twice_is_refused_and_changes_nothing(backup_file: Any, fresh: str) -> None:
    before = (_state(fresh), _counts(fresh, "t_keepsake"))
    again = _manage(fresh, "restore_tenant", str(backup_file[0]))
    assert again.returncode == 1
    assert "A tenant 'keepsake' exists here already: nothing changed." in again.stderr
    other_slug = _manage(fresh, "restore_tenant", str(backup_file[0]), "--slug", "keepsake-b")
    assert "Schema t_keepsake exists here already" in other_slug.stderr
    assert (_state(fresh), _counts(fresh, "t_keepsake")) == before


def test_a_copy_beside_the_original_under_a_new_schema_works(
    source: Source, backup_file: Any, fresh: str
) -> None:
    done = _manage(
        fresh,
        "restore_tenant",
        str(backup_file[0]),
        "--slug",
        "keepsake-b",
        "--schema",
        "t_keepsake_b",
        "--without-domains",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["renamed_from"] == "t_keepsake"
    assert _counts(fresh, "t_keepsake_b") == _counts(fresh, "t_keepsake")
    copy = _fetch(fresh, "keepsake-b", source.tokens)
    original = _fetch(fresh, SLUG, source.tokens)
    # The agent's key works on the copy, and the copy answers as the original.
    assert copy[6] == original[6] and copy[6][0] == 200
    assert copy[2] == original[2]
    # Its identity sequences were renamed with it: a new user gets the next id.
    added = _manage(fresh, "create_user", "keepsake-b", "k-new", "--role", "rep", "--json")
    assert added.returncode == 0, added.stderr
    with psycopg.connect(
        host=connection.settings_dict["HOST"], user="postgres", dbname=fresh
    ) as db:
        assert db.execute("SELECT max(id) FROM t_keepsake_b.learning_user").fetchone() == (5,)
        assert db.execute(
            "SELECT pg_get_serial_sequence('t_keepsake_b.learning_user', 'id')"
        ).fetchone() == ("t_keepsake_b.learning_user_id_seq",)
        assert db.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'll_restore_%'"
        ).fetchone() == (0,)
    tenants, schemas = _state(fresh)
    assert tenants == [(SLUG, "t_keepsake", True), ("keepsake-b", "t_keepsake_b", True)]
    assert schemas == ["t_keepsake", "t_keepsake_b"]


def _repacked(path: Path, out: Path, *, manifest: Any = None, dump: bytes | None = None) -> Path:
    with tarfile.open(path) as tar:
        members = {name: tar.extractfile(name).read() for name in tar.getnames()}  # type: ignore[union-attr]
    if manifest is not None:
        members["manifest.json"] = json.dumps(
            manifest(json.loads(members["manifest.json"]))
        ).encode()
    if dump is not None:
        members["schema.dump"] = dump
    with tarfile.open(out, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def _manifest(path: Path) -> dict[str, Any]:
    with tarfile.open(path) as tar:
        return json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]


def _text_file(path: Path) -> Path:
    path.write_text("not a backup\n")
    return path


def _one_byte_flipped(path: Path) -> bytes:
    with tarfile.open(path) as tar:
        dump = bytearray(tar.extractfile("schema.dump").read())  # type: ignore[union-attr]
    dump[len(dump) // 2] ^= 0xFF
    return bytes(dump)


def _newer(manifest: dict[str, Any]) -> dict[str, Any]:
    manifest["migrations"]["outcomes"].append("9999_from_the_future")
    manifest["slug"] = "keepsake-future"
    return manifest


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, d: _text_file(d / "notes.txt"), "is not a Learning Loop tenant backup"),
        (
            lambda p, d: _repacked(p, d / "x.tar", manifest=lambda m: {"format": "other"}),
            "is not a Learning Loop tenant backup (its manifest names no such format)",
        ),
        (
            lambda p, d: _repacked(p, d / "x.tar", dump=_one_byte_flipped(p)),
            "is damaged: its schema dump does not match the checksum",
        ),
        (
            lambda p, d: _repacked(p, d / "x.tar", manifest=_newer),
            "The backup was made by newer code: it has migrations this code lacks "
            "(outcomes.9999_from_the_future)",
        ),
        (lambda p, d: d / "missing.llbackup", "No file"),
        (
            lambda p, d: _repacked(p, d / "x.tar", manifest=lambda m: {**m, "postgresql": 99}),
            "The backup was dumped from PostgreSQL 99; this server is",
        ),
        (
            lambda p, d: _repacked(
                p, d / "x.tar", manifest=lambda m: {k: v for k, v in m.items() if k != "tables"}
            ),
            "is damaged: its manifest lacks tables.",
        ),
    ],
    ids=[
        "text",
        "foreign-manifest",
        "damaged-dump",
        "newer-code",
        "missing",
        "newer-postgres",
        "manifest-without-tables",
    ],
)
def test_a_file_that_is_not_a_sound_backup_is_refused(
    backup_file: Any, tmp_path: Path, db: None, make: Any, message: str
) -> None:
    path = make(backup_file[0], tmp_path)
    before = list(Tenant.objects.values_list("slug", flat=True)), _schemas()
    with pytest.raises(CommandError) as refused:
        call_command(
            "restore_tenant",
            str(path),
            "--slug",
            "keepsake-z",
            "--schema",
            "t_z",
            "--without-domains",
        )
    assert message in str(refused.value)
    assert (list(Tenant.objects.values_list("slug", flat=True)), _schemas()) == before


def test_host_names_of_another_tenant_are_refused(backup_file: Any, db: None) -> None:
    before = list(Tenant.objects.values_list("slug", flat=True)), _schemas()
    with pytest.raises(CommandError) as refused:
        call_command("restore_tenant", str(backup_file[0]), "--slug", "kd", "--schema", "t_kd")
    assert str(refused.value) == (
        "Host names of the backup belong to other tenants here: keepsake.example.com "
        "(keepsake). Restore with --without-domains, then add host names in the ops admin."
    )
    assert (list(Tenant.objects.values_list("slug", flat=True)), _schemas()) == before


def _schemas() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


def test_no_pg_dump_of_the_servers_version_is_refused_plainly(
    monkeypatch, tmp_path: Path, db: None
) -> None:
    older = tmp_path / "pg_dump"
    older.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    older.chmod(0o755)
    monkeypatch.setattr(backup, "_tool_candidates", lambda name, major: iter([older]))
    with pytest.raises(backup.BackupRefused) as refused:
        backup.pg_tool("pg_dump")
    major = connection.pg_version // 10000
    assert str(refused.value) == (
        f"No pg_dump of PostgreSQL {major}, the server's version, was found (found {older} "
        f"(9)). Install PostgreSQL {major}'s client tools, or set LL_PG_BIN to their folder."
    )
    monkeypatch.setattr(backup, "_tool_candidates", lambda name, major: iter([tmp_path / "no"]))
    with pytest.raises(
        backup.BackupRefused,
        match=r"^No pg_dump of PostgreSQL \d+, the server's version, was found\. ",
    ):
        backup.pg_tool("pg_dump")


def test_an_older_backup_is_migrated_and_a_failed_restore_leaves_nothing(
    django_db_blocker: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup of a schema one migration behind: restored, then migrated. A restore that
    fails part-way (here its migration) drops the schema and the rows it wrote."""
    path, said = tmp_path / "old.llbackup", []
    # the backup is one outcomes migration behind this code's latest
    *_, behind, latest = sorted(
        name for app, name in MigrationLoader(None).disk_migrations if app == "outcomes"
    )
    with django_db_blocker.unblock():
        tenant, _ = learning_services.create_tenant(slug="oldie")
        try:
            call_command(
                "migrate_schemas",
                "outcomes",
                behind,
                schema_name="t_oldie",
                interactive=False,
                verbosity=0,
            )
            backup.backup_tenant(slug="oldie", out=path, progress=said.append)
        finally:
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                tenant.delete(force_drop=True)
        assert "outcomes" in _manifest(path)["migrations"]
        assert latest not in _manifest(path)["migrations"]["outcomes"]

        def fails(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("the migration broke")

        monkeypatch.setattr(backup, "call_command", fails)
        with pytest.raises(RuntimeError, match="the migration broke"):
            backup.restore_tenant(path=path, progress=said.append)
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            assert not Tenant.objects.filter(slug="oldie").exists()
        assert "t_oldie" not in _schemas()
        monkeypatch.undo()

        result = backup.restore_tenant(path=path, progress=said.append)
        try:
            assert result.migrated == [f"outcomes.{latest}"]
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                assert Tenant.objects.get(slug="oldie").ready is True
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT name FROM t_oldie.django_migrations WHERE app = 'outcomes' "
                    "ORDER BY id DESC LIMIT 1"
                )
                assert cursor.fetchone() == (latest,)
        finally:
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                Tenant.objects.get(slug="oldie").delete(force_drop=True)
    assert "migrating schema t_oldie: 1 migrations the backup predates" in said
    assert "failed: dropping schema t_oldie and its public rows" in said
