from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learning.tenancy import backup


class Command(BaseCommand):
    help = (
        "Restore a tenant from a backup_tenant file into this database (DATABASE_URL). "
        "Refused, with nothing changed, when its slug or schema exists here, when the "
        "backup's migrations are newer than this code's, or when the file is not a sound "
        "backup; an older backup is migrated after the restore."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A file written by backup_tenant.")
        parser.add_argument("--slug", help="Restore under this slug (default: the backup's).")
        parser.add_argument(
            "--schema",
            help="Restore into this schema (default: the backup's); the schema is renamed.",
        )
        parser.add_argument(
            "--without-domains",
            action="store_true",
            help="Leave the backup's host names out (they route to the original here).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(message: str) -> None:
            print(f"==> [{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr)

        try:
            # Migration chatter goes to stderr so that stdout stays one JSON object.
            with contextlib.redirect_stdout(sys.stderr):
                result = backup.restore_tenant(
                    path=Path(options["file"]),
                    slug=options["slug"],
                    schema=options["schema"],
                    with_domains=not options["without_domains"],
                    progress=progress,
                )
        except backup.BackupRefused as exc:
            raise CommandError(str(exc)) from exc
        summary = {**asdict(result), "seconds": round(result.seconds, 2)}
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            renamed = f", renamed from {result.renamed_from}" if result.renamed_from else ""
            self.stdout.write(
                f"Restored tenant {result.slug} (schema {result.schema}{renamed}): "
                f"{result.tables} tables, {result.rows:,} rows, "
                f"{len(result.migrated)} migrations applied, {result.seconds:.1f} s"
            )
