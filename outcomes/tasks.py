from __future__ import annotations

from typing import Any

import structlog

from config.celery import app
from outcomes import sweeps

logger = structlog.get_logger(__name__)


@app.task(name="outcomes.sweep", acks_late=True)
def sweep(window: str, batch_size: int = 5000) -> dict[str, Any]:
    """One time-window check in the current tenant (queued per tenant by fan_out).
    Safe to run twice or concurrently: each outcome is claimed and resolved once."""
    result = sweeps.run_sweep(window=window, batch_size=max(1, min(batch_size, 50_000)))
    logger.info("outcomes.sweep", window=window, examined=result.examined, resolved=result.resolved)
    return {"window": window, "examined": result.examined, "resolved": result.resolved}
