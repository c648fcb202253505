"""Logging filters: a person reads the console, so routine client errors take one line."""

from __future__ import annotations

import logging


class RoutineClientErrors(logging.Filter):
    """On `django.request`: drop the records of 4xx answers (a 403 for a role, a 404 for a
    wrong link). django-structlog's `request_finished` already logs each request once with
    its code; Django's own line repeated it, and for a refused page with the whole
    traceback and its locals. 5xx records pass, traceback and all."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        return not (isinstance(status, int) and 400 <= status < 500)
