"""Streaming a large response (an export) from the database in constant memory.

Each server interface must get the iterator it streams: given the other kind, Django reads
the whole body into a list first (its "must consume … iterators" warnings), and a million
rows sit in memory, which under WSGI the worker then keeps (measured: +60 MB per 100,000
JSON lines, every time). So:

- under WSGI (gunicorn, `make run`'s HTTP), the producer itself: the server pulls it chunk
  by chunk, and the tenant middleware runs each pull in the request's tenant;
- under ASGI, an asynchronous iterator that pulls one chunk at a time from the producer,
  in the request's database thread (`sync_to_async`, thread sensitive) and in the
  request's tenant (the tenant middleware has restored the previous schema by the time
  the body is sent).

If the client goes away, the producer is closed, which cancels its COPY.

**How many at once.** A gunicorn sync worker streams one export at a time, for as long as
the client takes to read it: a slow reader holds that worker all along (behind a
buffering proxy, as docs/deploy.md requires, the proxy reads it instead). So each export
takes a slot, per user (`EXPORTS_PER_USER`, 2) and per tenant (`EXPORTS_PER_TENANT`, 4),
before it starts, and gives it back when its response is closed (finished, failed, or the
client gone); one more is refused at once with a 429 naming the limit, with Retry-After.
Slots are members of Redis sorted sets scored by when they lapse: taking one drops the
lapsed ones, counts and adds in one script, so concurrent requests never both take the
last. A process renews its slots every few seconds from a thread of its own (which runs
while its worker is blocked writing to a slow client); a process that dies (killed on
gunicorn's timeout, out of memory) stops renewing, and its slots lapse within
`SLOT_LEASE_SECONDS`. With Redis out of reach nothing is limited, rather than no export
served.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django_tenants.utils import tenant_context

from learning.redis_cache import redis_client

logger = structlog.get_logger(__name__)


def streaming_response(
    chunks: Iterator[bytes], *, request: Any, tenant: Any, content_type: str, filename: str
) -> StreamingHttpResponse | HttpResponse:
    """`chunks` as the body, for the interface `request` came through (module docstring);
    or a 429 when the user or the tenant already runs as many exports as allowed;
    `request` may be DRF's, around Django's."""
    try:
        slot = take_export_slot(schema=tenant.schema_name, user=_who(request))
    except TooManyExports as refused:
        _close(chunks)
        return refused.response()
    under_asgi = isinstance(getattr(request, "_request", request), ASGIRequest)
    body = _in_tenant(chunks, tenant) if under_asgi else chunks
    response = _SlotResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    if slot is not None:
        response.slot = slot
        # A response dropped without being closed (an error after the view) frees it too.
        weakref.finalize(response, slot.release)
    return response


def _who(request: Any) -> str:
    user = getattr(request, "user", None)
    return str(getattr(user, "username", None) or user)


def _close(chunks: Iterator[bytes]) -> None:
    close_chunks = getattr(chunks, "close", None)
    if close_chunks is not None:
        close_chunks()


class _SlotResponse(StreamingHttpResponse):
    """Gives the export's slot back when the server closes the response (WSGI and ASGI
    servers both do, whether the body was sent whole or the client went away)."""

    slot: ExportSlot | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.slot is not None:
                self.slot.release()


# --- slots: how many exports run at once ---------------------------------------------------

# A slot not renewed for this long lapses: how soon a dead process's exports stop counting.
SLOT_LEASE_SECONDS = 30.0
RENEW_EVERY_SECONDS = SLOT_LEASE_SECONDS / 5
# What a refused export is told: exports end at their own pace, so a short wait.
RETRY_AFTER_SECONDS = 5

# KEYS: the user's and the tenant's sets; ARGV: lease (ms), slot, user limit, tenant limit.
# Returns 0 (taken) or the index of the key whose limit is reached. Redis's clock, so web
# machines' clocks need not agree.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
end
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + i])
  if limit > 0 and redis.call('ZCARD', key) >= limit then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[2])
  redis.call('PEXPIRE', key, lease)
end
return 0
"""
# KEYS: the sets; ARGV: lease (ms), slot. The slot counts for a lease from now, if it
# still counts (XX: a slot released meanwhile is not added back).
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + lease, ARGV[2])
  redis.call('PEXPIRE', key, lease)
end
return 0
"""

# The slots this process holds ({slot: its keys}) and the thread that renews them.
_held: dict[str, tuple[str, ...]] = {}
_held_lock = threading.Lock()
_renewer_pid: int | None = None


class TooManyExports(Exception):
    def __init__(self, *, per: str, limit: int, setting: str) -> None:
        super().__init__(f"at most {limit} exports at once per {per}")
        self.per, self.limit, self.setting = per, limit, setting

    def response(self) -> HttpResponse:
        body = {
            "detail": f"Too many exports at once: at most {self.limit} per {self.per} "
            f"({self.setting}). Retry once one has finished.",
            "limit": self.setting,
            "per": self.per,
            "max_concurrent": self.limit,
        }
        return JsonResponse(body, status=429, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class ExportSlot:
    """One running export, counted for its user and its tenant until released."""

    def __init__(self, name: str, keys: tuple[str, ...]) -> None:
        self.name, self.keys = name, keys

    def release(self) -> None:
        """Idempotent: the response's close and its finalizer both call it."""
        with _held_lock:
            if _held.pop(self.name, None) is None:
                return
        try:
            pipeline = redis_client().pipeline(transaction=False)
            for key in self.keys:
                pipeline.zrem(key, self.name)
            pipeline.execute()
        except Exception as error:  # Redis out of reach: the slot lapses by itself
            logger.warning("export_slot_release_failed", error=str(error))


def take_export_slot(*, schema: str, user: str) -> ExportSlot | None:
    """A slot for one more export by `user` in the tenant `schema`, or TooManyExports.
    None when Redis is out of reach: nothing is limited then."""
    per_user, per_tenant = settings.EXPORTS_PER_USER, settings.EXPORTS_PER_TENANT
    if per_user <= 0 and per_tenant <= 0:
        return None
    keys = (cache.make_key(f"exports:{schema}:user:{user}"), cache.make_key(f"exports:{schema}"))
    name = uuid.uuid4().hex
    lease = str(int(SLOT_LEASE_SECONDS * 1000))
    try:
        full = redis_client().eval(_TAKE, 2, *keys, lease, name, per_user, per_tenant)
    except Exception as error:  # Redis down: export rather than refuse every export
        logger.warning("export_slots_unavailable", error=str(error))
        return None
    if full == 1:
        raise TooManyExports(per="user", limit=per_user, setting="EXPORTS_PER_USER")
    if full == 2:
        raise TooManyExports(per="tenant", limit=per_tenant, setting="EXPORTS_PER_TENANT")
    with _held_lock:
        _held[name] = keys
    _ensure_renewer()
    return ExportSlot(name, keys)


def _ensure_renewer() -> None:
    """One renewing thread per process (started after a fork: gunicorn's workers)."""
    global _renewer_pid
    with _held_lock:
        if _renewer_pid == os.getpid():
            return
        _renewer_pid = os.getpid()
    threading.Thread(target=_renew_forever, name="export-slots", daemon=True).start()


def _renew_forever() -> None:
    lease = str(int(SLOT_LEASE_SECONDS * 1000))
    while True:
        time.sleep(RENEW_EVERY_SECONDS)
        with _held_lock:
            held = list(_held.items())
        try:
            for name, keys in held:
                redis_client().eval(_RENEW, len(keys), *keys, lease, name)
        except Exception as error:  # Redis out of reach: retried at the next turn
            logger.warning("export_slot_renewal_failed", error=str(error))


async def _in_tenant(chunks: Iterator[bytes], tenant: Any) -> AsyncIterator[bytes]:
    def pull() -> bytes | None:
        with tenant_context(tenant):
            return next(chunks, None)

    def close() -> None:
        close_chunks = getattr(chunks, "close", None)
        if close_chunks is not None:
            with tenant_context(tenant):
                close_chunks()

    try:
        while (chunk := await sync_to_async(pull)()) is not None:
            yield chunk
    finally:
        await sync_to_async(close)()
