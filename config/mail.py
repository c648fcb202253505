"""Mail backends of our own.

`OneLineConsoleBackend`, the development backend: one readable line per message on the
console, the whole message kept as an .eml file under .data/mail/ (open it in any mail
client), readable by its owner only.

`UnconfiguredBackend`, what production gets when EMAIL_BACKEND is unset: it sends
nothing and writes nothing (no file of people's mail left on the server's disk), and says
so: a warning in the log per message, and one from `manage.py check`."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from django.conf import settings
from django.core import checks
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from learning.private_files import write_private

logger = structlog.get_logger(__name__)

UNCONFIGURED = "config.mail.UnconfiguredBackend"


class OneLineConsoleBackend(BaseEmailBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directory = Path(
            getattr(settings, "EMAIL_FILE_PATH", "") or settings.DATA_DIR / "mail"
        )

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            slug = re.sub(r"[^a-z0-9]+", "-", message.subject.lower()).strip("-")[:60]
            path = self.directory / f"{stamp}-{slug or 'message'}.eml"
            write_private(path, message.message().as_bytes())
            to = ", ".join(message.recipients())
            print(f"mail: “{message.subject}” to {to} (saved {path})", file=sys.stdout, flush=True)
            sent += 1
        return sent


class UnconfiguredBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            logger.warning(
                "mail_not_sent",
                reason="EMAIL_BACKEND is not set",
                subject=message.subject,
                recipients=len(message.recipients()),
            )
        return 0


def unconfigured_mail(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    """`manage.py check` (and every command that runs the checks) warns while production
    has no mail backend."""
    if settings.EMAIL_BACKEND != UNCONFIGURED:
        return []
    return [
        checks.Warning(
            "EMAIL_BACKEND is not set: no mail is sent (alerts, reports, summaries).",
            hint="Set EMAIL_BACKEND (e.g. django.core.mail.backends.smtp.EmailBackend) "
            "and EMAIL_HOST.",
            id="learning.W001",
        )
    ]
