"""Find the tenant of each HTTP request and keep cookies apart between tenants.

A tenant is reached in one of two ways:
- path prefix `/t/<slug>/...`: works on 127.0.0.1 from any browser or HTTP client with no
  DNS set-up (the default; `create_tenant --json` prints these URLs);
- a host name registered as a `Domain` of the tenant (e.g. `acme.example.com` in
  production), with no prefix.
The two never cross: on a tenant's own host name, a prefix naming another tenant is not
found (acme is never served under globex's host, where globex's cookies would be sent).
Anything else is the public site: the product's front page, health checks, ops admin.

(`request.tenant` and `request.urlconf` are attributes django-tenants and Django read but
HttpRequest's stub does not declare: hence the `type: ignore[attr-defined]` below.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import structlog
from django.conf import settings
from django.db import connection as default_connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.urls import get_script_prefix, set_script_prefix
from django_tenants.utils import tenant_context

from learning.tenancy import selectors
from learning.tenancy.models import Tenant

# django-tenants' database wrapper (set_tenant, set_schema_to_public), untyped.
connection: Any = default_connection

# Only well-formed slugs reach the database; anything else is simply not a tenant path.
TENANT_PATH = re.compile(
    rf"^/{settings.TENANT_PATH_PREFIX}/(?P<slug>[a-z][a-z0-9-]{{0,39}})(?P<rest>/.*)?\Z",
    re.DOTALL,
)


def is_tenant_request(request: HttpRequest) -> bool:
    """True when the request was routed to a tenant (not the public site)."""
    return isinstance(getattr(request, "tenant", None), Tenant)


def tenant_prefix(tenant: Tenant) -> str:
    """The path every URL of this tenant starts with, e.g. `/t/demo/`."""
    return f"/{settings.TENANT_PATH_PREFIX}/{tenant.slug}/"


class TenantPathMiddleware:
    """Sets the connection's schema, the URLconf and the script prefix for one request.

    With a path prefix, the prefix is moved from `path_info` to the script prefix, so URL
    resolution sees `/rep/` and `reverse()` gives `/t/<slug>/rep/` everywhere (templates,
    redirects, LOGIN_URL). The schema and prefix in force before the request are restored
    afterwards.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        previous_tenant = getattr(connection, "tenant", None)
        previous_prefix = get_script_prefix()
        connection.set_schema_to_public()
        try:
            return self._route(request, previous_prefix)
        finally:
            set_script_prefix(previous_prefix)
            if previous_tenant is not None:
                connection.set_tenant(previous_tenant)
            else:
                connection.set_schema_to_public()
            structlog.contextvars.unbind_contextvars("tenant")

    def _route(self, request: HttpRequest, script_prefix: str) -> HttpResponse:
        # As with django-tenants' own middleware, request.tenant is always set; outside any
        # tenant it is the public schema's stand-in (see is_tenant_request).
        request.tenant = connection.tenant  # type: ignore[attr-defined]
        match = TENANT_PATH.match(request.path_info)
        host_tenant = selectors.ready_tenant_by_host(host=request.get_host().split(":")[0])
        if match:
            tenant = selectors.ready_tenant_by_slug(slug=match["slug"])
            if tenant is None or host_tenant not in (None, tenant):
                return HttpResponseNotFound("No such workspace.", content_type="text/plain")
            if match["rest"] is None:
                query = request.META.get("QUERY_STRING", "")
                return HttpResponseRedirect(request.path + "/" + (f"?{query}" if query else ""))
            set_script_prefix(script_prefix.rstrip("/") + tenant_prefix(tenant))
            request.path_info = match["rest"]
            return self._serve_tenant(request, tenant)
        if request.path_info.startswith(f"/{settings.TENANT_PATH_PREFIX}/"):
            return HttpResponseNotFound("No such workspace.", content_type="text/plain")

        if host_tenant is not None:
            return self._serve_tenant(request, host_tenant)

        request.urlconf = settings.PUBLIC_SCHEMA_URLCONF  # type: ignore[attr-defined]
        return self.get_response(request)

    def _serve_tenant(self, request: HttpRequest, tenant: Tenant) -> HttpResponse:
        request.tenant = tenant  # type: ignore[attr-defined]
        request.urlconf = settings.ROOT_URLCONF  # type: ignore[attr-defined]
        connection.set_tenant(tenant)
        structlog.contextvars.bind_contextvars(tenant=tenant.slug)
        response = self.get_response(request)
        if isinstance(response, StreamingHttpResponse) and not response.is_async:
            # The body is produced after this middleware returns: produce it in the tenant.
            response.streaming_content = _in_tenant(tenant, response.streaming_content)
        return response


def _in_tenant(tenant: Tenant, content: Iterable[bytes]) -> Iterator[bytes]:
    with tenant_context(tenant):
        yield from content


class TenantCookieMiddleware:
    """Gives each tenant its own session and CSRF cookies.

    Django's session and CSRF middleware use one fixed cookie name. Behind this middleware
    they still do, but in the browser the cookies are called `<name>_<slug>` and scoped to
    the tenant's path, so signing in to one workspace never signs you out of another and a
    browser never even sends one tenant's session to another tenant.
    """

    COOKIES = ("SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_tenant_request(request):
            return self.get_response(request)
        tenant = request.tenant  # type: ignore[attr-defined]
        names = [getattr(settings, setting) for setting in self.COOKIES]
        for name in names:
            scoped = request.COOKIES.pop(f"{name}_{tenant.slug}", None)
            request.COOKIES.pop(name, None)
            if scoped is not None:
                request.COOKIES[name] = scoped
        response = self.get_response(request)
        for name in names:
            morsel = response.cookies.pop(name, None)
            if morsel is None:
                continue
            scoped_name = f"{name}_{tenant.slug}"
            response.cookies[scoped_name] = morsel.value
            for attribute, value in morsel.items():
                if value:
                    response.cookies[scoped_name][attribute] = value
            # The tenant's own path (/t/<slug>/), or / on the tenant's own host name.
            response.cookies[scoped_name]["path"] = get_script_prefix()
        return response
