"""Live updates: which websocket groups exist, who joins which, and how events reach them.

A person receives only events about what they may see, the same scope as the pages and the
API (learning.selectors.visible_users): a rep their own data, a manager their team's (and
their own), executives and admins the whole tenant.

| group                            | joined by            | receives                          |
|----------------------------------|----------------------|-----------------------------------|
| `live.<schema>.tenant`           | executives, admins   | every event of the tenant         |
| `live.<schema>.managers`         | managers             | tenant-wide news for managers     |
|                                  |                      | (alerts)                          |
| `live.<schema>.team.<manager>`   | that manager         | events about their reps' data     |
| `live.<schema>.user.<user>`      | that person          | events about their own data       |
| `live.<schema>.session.<digest>` | the sockets of one   | `live.close` when it signs out    |
|                                  | web session          |                                   |

An event about several reps' data (a batch of resolved outcomes) is split: each group gets
one event carrying only the part it may see. Group names start with the tenant's schema, so
nothing crosses tenants, and events are sent only after the data they describe is committed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import structlog
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.http import HttpRequest

from learning.models import Role, User
from learning.tenancy.context import current_schema_name

logger = structlog.get_logger(__name__)

T = TypeVar("T")


def tenant_group(schema_name: str) -> str:
    return f"live.{schema_name}.tenant"


def managers_group(schema_name: str) -> str:
    return f"live.{schema_name}.managers"


def team_group(schema_name: str, manager_id: int) -> str:
    return f"live.{schema_name}.team.{manager_id}"


def user_group(schema_name: str, user_id: int) -> str:
    return f"live.{schema_name}.user.{user_id}"


def session_group(schema_name: str, session_key: str) -> str:
    """The sockets opened with one web session (named by a digest: no session key is
    ever written into the channel layer)."""
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:32]
    return f"live.{schema_name}.session.{digest}"


def close_sockets_of_session(sender: Any, request: HttpRequest, **_: Any) -> None:
    """On sign-out (`user_logged_out`, before the session is flushed): the sockets that
    session opened are closed, so they stop receiving events. Best effort, as pushes."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    layer = get_channel_layer()
    if not session_key or layer is None:
        return
    group = session_group(current_schema_name(), session_key)
    try:
        async_to_sync(layer.group_send)(group, {"type": "live.close"})
    except Exception as error:
        logger.warning("live_close_failed", error=str(error))


def groups_of(schema_name: str, user: Any) -> list[str]:
    """The groups a signed-in person's socket joins: exactly their scope."""
    if user.role in (Role.EXECUTIVE, Role.ADMIN):
        return [tenant_group(schema_name)]
    if user.role == Role.MANAGER:
        return [
            managers_group(schema_name),
            team_group(schema_name, user.pk),
            user_group(schema_name, user.pk),
        ]
    return [user_group(schema_name, user.pk)]


def publish_about(
    event: str,
    items: Sequence[T],
    *,
    rep_of: Callable[[T], int | None],
    payload: Callable[[Sequence[T]], dict[str, Any]],
) -> None:
    """Push `event` about `items` (each some rep's data, or no rep's) once the transaction
    commits: to the whole tenant's group all of them, and to each rep's and each team's
    group only theirs."""
    if not items:
        return
    schema_name = current_schema_name()
    by_rep: dict[int | None, list[T]] = defaultdict(list)
    for item in items:
        by_rep[rep_of(item)].append(item)
    by_group: dict[str, list[T]] = {tenant_group(schema_name): list(items)}
    reps = [rep for rep in by_rep if rep is not None]
    managers = dict(User.objects.filter(pk__in=reps).values_list("pk", "manager_id"))
    for rep in reps:
        by_group[user_group(schema_name, rep)] = by_rep[rep]
        manager = managers.get(rep)
        if manager is not None:
            by_group.setdefault(team_group(schema_name, manager), []).extend(by_rep[rep])
    _send_after_commit(
        [(group, _message(event, payload(part))) for group, part in by_group.items()]
    )


def publish_to_managers(event: str, payload: dict[str, Any]) -> None:
    """Push tenant-wide news that managers and up may see (alerts) after the commit."""
    schema_name = current_schema_name()
    message = _message(event, payload)
    groups = (tenant_group(schema_name), managers_group(schema_name))
    _send_after_commit([(group, message) for group in groups])


def publish_to_user(user_id: int, event: str, payload: dict[str, Any]) -> None:
    """Push news for one person only (a prompt for them) after the commit."""
    group = user_group(current_schema_name(), user_id)
    _send_after_commit([(group, _message(event, payload))])


def _message(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": "live.event", "event": event, "payload": payload}


def _send_after_commit(messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
    batch = list(messages)
    transaction.on_commit(lambda: _send(batch))


def _send(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Best effort: with Redis down the data is stored all the same, and pages catch up
    on their next load; a push is never worth failing the request that stored it."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send_all() -> None:
        await asyncio.gather(*(layer.group_send(group, message) for group, message in messages))

    try:
        async_to_sync(send_all)()
    except Exception as error:
        logger.warning("live_push_failed", groups=len(messages), error=str(error))
