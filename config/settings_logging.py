"""Structured logging (structlog through the standard library's logging): JSON lines in
production, readable lines in development. config.settings reads the environment and
calls these."""

from __future__ import annotations

from typing import Any

import structlog

_shared_processors = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(*, json: bool, level: str | None, request_level: str | None) -> dict[str, Any]:
    """Django's LOGGING: every record through structlog's formatter, at `level`; the request
    log (django-structlog's lines) at `request_level`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer()
                    if json
                    else structlog.dev.ConsoleRenderer(colors=False),
                ],
                "foreign_pre_chain": _shared_processors,
            },
        },
        "filters": {"routine_client_errors": {"()": "config.log_filters.RoutineClientErrors"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # A 403 or 404 is one line (django-structlog's request_finished), no traceback.
            "django.request": {"filters": ["routine_client_errors"]},
            "django.db.backends": {"level": "INFO"},
            "django_structlog": {"level": request_level},
            "uvicorn.access": {"level": "WARNING"},
        },
    }


def configure_structlog() -> None:
    """structlog's own loggers hand their records to the standard library's (LOGGING)."""
    structlog.configure(
        processors=[
            *_shared_processors,  # type: ignore[list-item]  # structlog's processor types
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
