"""The ASGI handler for HTTP: Django's, with the middleware chain and view run in one
thread hop.

Every view and most middleware of this project are synchronous. Django's own ASGI handler
builds the middleware chain in async mode wherever a middleware can do both, and then
hops between the event loop and a worker thread twice for each such middleware (once for
`process_request`, once for `process_response`) and again for the view: more than a dozen
hops per request, which cost more than the work of a small API call. Here the chain is
built in sync mode, as under WSGI, and the whole of it runs in one `sync_to_async` call.
Websockets are not affected: they are Channels consumers, routed in config.asgi.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain: Any = sync_to_async(self._middleware_chain, thread_sensitive=True)
