"""factory_boy factories of outcomes and signals, made through the services as the API
makes them (the conversation mirror, the window, and on resolution the "outcome resolved"
event, so calibration counts them too), inside the current tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import factory
from django.utils import timezone

from outcomes import services
from outcomes.models import OutcomeRecord, Signal


def today_noon() -> datetime:
    """Noon UTC today (a minute ago before noon): days back from it stay on their date."""
    now = datetime.now(UTC)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if now >= noon else now - timedelta(minutes=1)


class OutcomeFactory(factory.Factory):
    """An agent action `days_ago` days before today_noon() (in the rep's conversation,
    unless given one); `status` (with an optional `score`) resolves it as a signal would."""

    class Meta:
        model = OutcomeRecord

    class Params:
        days_ago = 0

    action_id = factory.Sequence(lambda n: f"action-{n}")
    rep: str | None = None
    conversation_id = factory.LazyAttribute(lambda o: f"conv-{o.rep or 'nobody'}")
    action_type = "send_email"
    predicted_confidence = 0.8
    outcome_type = "email_engagement"
    occurred_at = factory.LazyAttribute(lambda o: today_noon() - timedelta(days=o.days_ago))
    attributes = factory.Dict({})

    @classmethod
    def _create(
        cls, model_class: Any, *, status: str | None = None, score: float | None = None, **kw: Any
    ) -> OutcomeRecord:
        recorded = services.record_outcome(item=services.OutcomeInput(**kw))
        if status:
            services.transition_outcomes(
                ids=[recorded.id],
                status=status,
                score=score if score is not None else (1.0 if status == "positive" else 0.0),
                source="event",
                reason="test",
                from_statuses=("pending", "ambiguous"),
            )
        return OutcomeRecord.objects.select_related("rep", "conversation").get(pk=recorded.id)


class SignalFactory(factory.Factory):
    """What happened in a conversation; resolves what it decides, as `POST signals/`."""

    class Meta:
        model = Signal

    conversation_id = factory.Sequence(lambda n: f"conv-{n}")
    kind = "replied"
    occurred_at: datetime = factory.LazyFunction(timezone.now)
    data = factory.Dict({})
    action_id = ""

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> Signal:
        return services.record_signal(**kwargs).signal
