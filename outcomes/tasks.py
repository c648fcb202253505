from __future__ import annotations

from typing import Any

import structlog
from celery import shared_task

from outcomes import erasure as erasure_service
from outcomes import sweeps

logger = structlog.get_logger(__name__)

MAX_BATCHES = 20  # per run: a sweep over a large backlog goes on in a fresh task


@shared_task(name="outcomes.sweep", acks_late=True, bind=True)
def sweep(
    self: Any, window: str, batch_size: int = 5000, after: int = 0, max_batches: int = MAX_BATCHES
) -> dict[str, Any]:
    """One time-window check in the current tenant (queued per tenant by fan_out). It
    handles at most `max_batches` batches, then queues its own continuation from where
    it stopped (in the same tenant, on the same queue), so no run holds a worker for long
    (Saleor's self-re-queuing batch tasks). Safe to run twice or concurrently: each
    outcome is claimed and resolved once."""
    result = sweeps.run_sweep(
        window=window,
        batch_size=max(1, min(batch_size, 50_000)),
        after=after,
        max_batches=max(1, max_batches),
    )
    if result.stopped_after is not None:
        queue = (self.request.delivery_info or {}).get("routing_key")
        sweep.apply_async(
            kwargs={
                "window": window,
                "batch_size": batch_size,
                "after": result.stopped_after,
                "max_batches": max_batches,
            },
            **({"queue": queue} if queue else {}),
        )
    logger.info(
        "outcomes.sweep",
        window=window,
        examined=result.examined,
        resolved=result.resolved,
        continued_after=result.stopped_after,
    )
    return {
        "window": window,
        "examined": result.examined,
        "resolved": result.resolved,
        "continued_after": result.stopped_after,
    }


@shared_task(name="outcomes.expire_content", acks_late=True)
def expire_content() -> dict[str, Any]:
    """The tenant's retention, in the current tenant (queued per tenant by fan_out): the
    texts older than its `retention_days` are removed. A second run removes nothing."""
    erasure = erasure_service.expire_content()
    if erasure is None:
        return {"retention": "forever", "removed": {}}
    return {"removed": erasure.removed, "record": erasure.record_id}
