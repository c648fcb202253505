from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learning.tenancy import backup


class Command(BaseCommand):
    help = (
        "Back up one tenant to a single file: its schema (pg_dump), its public rows (the "
        "tenant and its host names) and a manifest (migrations, row counts). Restore it "
        "with restore_tenant, here or into another database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The tenant's slug.")
        parser.add_argument(
            "--out", help="The file to write (default: <slug>-<UTC time>.llbackup here)."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = Path(options["out"] or f"{slug}-{stamp}.llbackup").resolve()
        started = time.monotonic()

        def progress(message: str) -> None:
            print(f"==> [{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr)

        try:
            result = backup.backup_tenant(slug=slug, out=out, progress=progress)
        except backup.BackupRefused as exc:
            raise CommandError(str(exc)) from exc
        summary = {**asdict(result), "path": str(result.path), "seconds": round(result.seconds, 2)}
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"Backed up tenant {result.slug} (schema {result.schema}) to {result.path}: "
                f"{result.bytes:,} bytes, {result.tables} tables, {result.rows:,} rows, "
                f"{result.seconds:.1f} s"
            )
