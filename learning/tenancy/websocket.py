"""Tenant and user for websocket connections.

Django middleware does not run for websockets, so this ASGI middleware does the same job
as TenantPathMiddleware + session auth: it finds the tenant from the `/t/<slug>/` path and
the user from that tenant's session cookie. Every database call names its schema
explicitly (`schema_context`), because all consumers of a process share the thread that
runs `database_sync_to_async`, and a schema set for one would leak to another.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from django.utils.crypto import constant_time_compare
from django_tenants.utils import schema_context

from learning.tenancy import selectors

WS_PATH = re.compile(
    rf"^/{settings.TENANT_PATH_PREFIX}/(?P<slug>[a-z][a-z0-9-]{{0,39}})(?P<rest>/ws/.*)\Z",
    re.DOTALL,
)


@database_sync_to_async
def _tenant_for(slug: str | None, host: str) -> tuple[str, str] | None:
    """By the /t/<slug>/ prefix, else by the tenant's own host name (a Domain); as for
    HTTP, a prefix naming another tenant than the host's own is no tenant."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        host_tenant = selectors.ready_tenant_by_host(host=host)
        tenant = selectors.ready_tenant_by_slug(slug=slug) if slug else host_tenant
        if tenant is None or host_tenant not in (None, tenant):
            return None
        return tenant.slug, tenant.schema_name


DEFAULT_PORTS = {"http": 80, "https": 443}


def _same_origin(scope: dict[str, Any], headers: dict[bytes, bytes]) -> bool:
    """The page that opens the socket is one of this server's pages for the socket's
    host: the same scheme (http for ws, https for wss or behind a proxy that says so with
    SECURE_PROXY_SSL_HEADER), host name and port (the pages' port, WEB_PORT, when
    websockets have their own, WEBSOCKET_PORT). Another program's page on another port
    of the host, or a plain-http page for an https site, is another origin. Sibling hosts
    (two tenants' own names under one domain) are the same site to a browser, which then
    sends its cookies: only the same host name may open a tenant's socket."""
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host", b"").decode("latin-1")
    scheme = "https" if scope.get("scheme") == "wss" or _forwarded_https(headers) else "http"
    try:
        page = urlsplit(origin)
        socket = urlsplit(f"//{host}")
        page_port = page.port or DEFAULT_PORTS.get(page.scheme)
        socket_port = socket.port or DEFAULT_PORTS[scheme]
    except ValueError:
        return False
    if settings.WEBSOCKET_PORT and socket_port == settings.WEBSOCKET_PORT:
        socket_port = settings.WEB_PORT
    return bool(page.hostname) and (page.scheme, page.hostname, page_port) == (
        scheme,
        socket.hostname,
        socket_port,
    )


def _forwarded_https(headers: dict[bytes, bytes]) -> bool:
    """As Django's request.is_secure(): the proxy's header, when one is configured."""
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    name, value = proxy_header
    header = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
    forwarded = headers.get(header, b"").decode("latin-1").split(",")[0].strip()
    return bool(forwarded == value)


@database_sync_to_async
def _user_for(schema_name: str, session_key: str | None) -> Any:
    if not session_key:
        return AnonymousUser()
    from importlib import import_module

    engine = import_module(settings.SESSION_ENGINE)
    with schema_context(schema_name):
        session = engine.SessionStore(session_key)
        try:
            user_id = session[SESSION_KEY]
            backend_path = session[BACKEND_SESSION_KEY]
        except KeyError:
            return AnonymousUser()
        if backend_path not in settings.AUTHENTICATION_BACKENDS:
            return AnonymousUser()
        user = load_backend(backend_path).get_user(user_id)
        if user is None:
            return AnonymousUser()
        # As django.contrib.auth.get_user: a password change ends old sessions.
        session_hash = session.get(HASH_SESSION_KEY)
        if not session_hash or not constant_time_compare(
            session_hash, user.get_session_auth_hash()
        ):
            return AnonymousUser()
        return user


class TenantWebsocketMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        path = scope.get("path", "")
        headers = dict(scope.get("headers", []))
        host = headers.get(b"host", b"").decode("latin-1").split(":")[0].lower()
        found, rest = None, path
        match = WS_PATH.match(path)
        if not _same_origin(scope, headers):
            pass
        elif match:
            found, rest = await _tenant_for(match["slug"], host), match["rest"]
        elif path.startswith("/ws/"):
            found = await _tenant_for(None, host)
        if found is None:
            return await WebsocketDenier()(scope, receive, send)
        slug, schema_name = found
        cookies = parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
        session_key = cookies.get(f"{settings.SESSION_COOKIE_NAME}_{slug}")
        user = await _user_for(schema_name, session_key)
        scope = {
            **scope,
            "tenant_slug": slug,
            "schema_name": schema_name,
            "user": user,
            "session_key": session_key if user.is_authenticated else None,
            "path_remaining": rest,
        }
        return await self.inner(scope, receive, send)
