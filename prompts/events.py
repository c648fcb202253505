"""What `prompts` asks of other apps.

EMAIL_CHOICES, payload `EmailChoices`: an email prompt is being written; the app whose
question it is adds the reply choices (label, one-click URL) for each of its prompts
(feedback mints its one-click verdict links). Emitted by `emails.send_gathered`, in the
transaction that sends them. Subscribers: config/wiring.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from learning.events import Event


class PromptRef(NamedTuple):
    id: int
    recipient_id: int
    outcome_id: int


@dataclass
class EmailChoices:
    prompts: list[PromptRef]
    # prompt id -> [(label, absolute URL)]
    choices: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


EMAIL_CHOICES: Event[EmailChoices] = Event("prompts.email_choices")
