from __future__ import annotations

from celery import shared_task

from feedback import queues


@shared_task(name="feedback.fill_queues", acks_late=True)
def fill_queues() -> int:
    """Every open review queue of this tenant takes what matched since its last fill
    (spot checks draw each newly decided action once)."""
    return queues.fill_open_queues()
