"""Live updates: which websocket groups exist and how events reach them.

Group names always start with the tenant's schema, so an event of one tenant can never
reach a socket of another. Events are sent only after the data they describe is committed.
"""

from __future__ import annotations

from typing import Any

import structlog
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from learning.tenancy.context import current_schema_name

logger = structlog.get_logger(__name__)


def tenant_group(schema_name: str) -> str:
    return f"live.{schema_name}"


def user_group(schema_name: str, user_id: int) -> str:
    return f"live.{schema_name}.user.{user_id}"


def publish(event: str, payload: dict[str, Any], *, user_id: int | None = None) -> None:
    """Push `event` to the current tenant's live dashboards once the transaction commits
    (at once when there is no transaction)."""
    schema_name = current_schema_name()
    group = user_group(schema_name, user_id) if user_id else tenant_group(schema_name)
    message = {"type": "live.event", "event": event, "payload": payload}
    transaction.on_commit(lambda: _send(group, message))


def _send(group: str, message: dict[str, Any]) -> None:
    """Best effort: with Redis down the data is stored all the same, and pages catch up
    on their next load; a push is never worth failing the request that stored it."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception as error:
        logger.warning("live_push_failed", group=group, error=str(error))
