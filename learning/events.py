"""Domain events: how one app tells the others that something happened, without knowing
who listens.

An app that emits declares its events in its own `events.py`: the event, its payload and
when it is emitted. Who listens to what is wired in one place, `config/wiring.py`, read
top to bottom as the map of the product's flow. A subscriber runs either

- in the emitter's transaction (the default), so what it writes commits or rolls back
  with the change that caused it (calibration counting a resolution, an erasure's parts);
- or `after_commit`, once, when the emitter's transaction commits, and never if it rolls
  back (dashboards' cache, pushes to browsers, prompts): what it does cannot be undone,
  so it must not happen for a change that did not.

(Pushing to browsers is `insights.live`; its publishers are after-commit subscribers.)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Generic, NamedTuple, TypeVar

from django.db import transaction

P = TypeVar("P")


class Subscription(NamedTuple, Generic[P]):
    subscriber: Callable[[P], object]
    after_commit: bool


class Event(Generic[P]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._subscriptions: list[Subscription[P]] = []

    def subscribe(
        self, subscriber: Callable[[P], object], *, after_commit: bool = False
    ) -> Callable[[P], object]:
        """Call `subscriber(payload)` on every emit, in the transaction or after its
        commit (idempotent: a subscriber is listed once)."""
        if subscriber not in self.subscribers:
            self._subscriptions.append(Subscription(subscriber, after_commit))
        return subscriber

    def unsubscribe(self, subscriber: Callable[[P], object]) -> None:
        self._subscriptions = [s for s in self._subscriptions if s.subscriber != subscriber]

    @property
    def subscribers(self) -> list[Callable[[P], object]]:
        return [s.subscriber for s in self._subscriptions]

    def emit(self, payload: P) -> None:
        for subscriber, after_commit in list(self._subscriptions):
            if after_commit:
                transaction.on_commit(partial(subscriber, payload))
            else:
                subscriber(payload)

    def __repr__(self) -> str:
        return f"<Event {self.name}: {len(self._subscriptions)} subscribers>"
