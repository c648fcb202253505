from __future__ import annotations

from typing import Any

from celery import shared_task

from coaching import batch, services


@shared_task(name="coaching.extract_patterns", acks_late=True)
def extract_patterns() -> dict[str, Any]:
    """A new coaching run over this tenant's period (a rerun adds a run; pages show the
    latest)."""
    extracted = services.extract()
    return {"run": extracted.run.pk, "patterns": len(extracted.patterns)}


@shared_task(name="coaching.batch_learning", acks_late=True)
def batch_learning() -> dict[str, Any]:
    """The weekly batch-learning pass of this tenant (a rerun updates the same pending
    proposals)."""
    result = batch.run()
    return {"run": result.run.pk, "proposals": len(result.proposals)}
