"""Streaming a large response (an export) from the database in constant memory.

Under ASGI, Django would read a synchronous iterator to the end into a list before
sending it (its "must consume synchronous iterators" warning): a million rows would sit in
memory. So the body is an asynchronous iterator that pulls one chunk at a time from the
synchronous producer, in the request's database thread (`sync_to_async`, thread
sensitive) and in the request's tenant (the tenant middleware has restored the previous
schema by the time the body is sent). The producer reads with a server-side cursor
(`QuerySet.iterator`); if the client goes away, the producer is closed, which closes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from django_tenants.utils import tenant_context


def streaming_response(
    chunks: Iterator[bytes], *, tenant: Any, content_type: str, filename: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_in_tenant(chunks, tenant), content_type=content_type)
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
