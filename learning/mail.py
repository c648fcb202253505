"""The development mail backend: one readable line per message on the console, the whole
message kept as an .eml file under .data/mail/ (open it in any mail client)."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class OneLineConsoleBackend(BaseEmailBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directory = Path(
            getattr(settings, "EMAIL_FILE_PATH", "") or settings.DATA_DIR / "mail"
        )

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            slug = re.sub(r"[^a-z0-9]+", "-", message.subject.lower()).strip("-")[:60]
            path = self.directory / f"{stamp}-{slug or 'message'}.eml"
            path.write_bytes(message.message().as_bytes())
            to = ", ".join(message.recipients())
            print(f"mail: “{message.subject}” to {to} (saved {path})", file=sys.stdout, flush=True)
            sent += 1
        return sent
