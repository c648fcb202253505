"""Domain events: how one app tells the others that something happened, without knowing
who listens.

An app that emits declares its events in its own `events.py`: the event, its payload and
when it is emitted. Subscribers run synchronously, in the emitter's transaction, so what
they write commits or rolls back with the change that caused it. Who listens to what is
wired in one place, `config/wiring.py`. (Live pushes to browsers are another matter:
`learning.live`, after the commit.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

P = TypeVar("P")


class Event(Generic[P]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._subscribers: list[Callable[[P], object]] = []

    def subscribe(self, subscriber: Callable[[P], object]) -> Callable[[P], object]:
        """Call `subscriber(payload)` on every emit (idempotent)."""
        if subscriber not in self._subscribers:
            self._subscribers.append(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Callable[[P], object]) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def emit(self, payload: P) -> None:
        for subscriber in list(self._subscribers):
            subscriber(payload)

    def __repr__(self) -> str:
        return f"<Event {self.name}: {len(self._subscribers)} subscribers>"
