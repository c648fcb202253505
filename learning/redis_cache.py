"""Django's Redis cache with one connection pool per process instead of one per thread.

Django keeps a cache object, and so a Redis connection pool, per thread. Under ASGI each
request runs its synchronous code in a thread of its own, so every request used to open
(and handshake) a new Redis connection and build a new client. redis-py's pools and
clients are thread-safe: here every thread of the process shares them.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_lock = threading.Lock()
_clients: dict[tuple[str, str], Any] = {}


# Built on Django's RedisCacheClient internals (_servers, _pool_options, _pool_class,
# _client, _get_connection_pool_index), which its type stubs leave out.
class SharedRedisCacheClient(RedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        # What makes two clients interchangeable, worked out once rather than per call.
        settings = repr(sorted(self._pool_options.items()))  # type: ignore[attr-defined]
        self._shared = [(server, settings) for server in self._servers]  # type: ignore[attr-defined]

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        shared = self._shared[index]
        client = _clients.get(shared)
        if client is None:
            with _lock:
                client = _clients.get(shared)
                if client is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)  # type: ignore[attr-defined]
                    client = _clients[shared] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class SharedRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedRedisCacheClient


def redis_client(alias: str = "default") -> Any:
    """The shared redis-py client behind the cache `alias`, for what Django's cache API
    lacks (scripts, sorted sets: insights.streaming's export slots). Keys made with the
    cache's `make_key` stay under its prefix."""
    return caches[alias]._cache.get_client(write=True)  # type: ignore[attr-defined]
