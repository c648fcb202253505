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
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django_tenants.utils import tenant_context


def streaming_response(
    chunks: Iterator[bytes], *, request: Any, tenant: Any, content_type: str, filename: str
) -> StreamingHttpResponse:
    """`chunks` as the body, for the interface `request` came through (module docstring);
    `request` may be DRF's, around Django's."""
    under_asgi = isinstance(getattr(request, "_request", request), ASGIRequest)
    body = _in_tenant(chunks, tenant) if under_asgi else chunks
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


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
