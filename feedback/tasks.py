from __future__ import annotations

from celery import shared_task

from feedback import prompting, queues


@shared_task(name="feedback.fill_queues", acks_late=True)
def fill_queues() -> int:
    """Every open review queue of this tenant takes what matched since its last fill
    (spot checks draw each newly decided action once)."""
    return queues.fill_open_queues()


@shared_task(name="feedback.prompt_for_actions", acks_late=True)
def prompt_for_actions(outcome_ids: list[int]) -> int:
    """Prompt the people concerned by these critical actions (feedback.prompting)."""
    return prompting.prompt_for_actions(outcome_ids)
