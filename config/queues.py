"""Celery queue names, one per workload; no Django import, so `config.run` can use them
to start its worker."""

from __future__ import annotations

import os


def queue_names(prefix: str) -> dict[str, str]:
    return {
        "default": os.environ.get("CELERY_DEFAULT_QUEUE") or f"{prefix}-default",
        "sweeps": f"{prefix}-sweeps",
        "reports": f"{prefix}-reports",
    }
