"""The API's HTTP edges: request bodies are JSON only, and bounded; responses are never
stored by a cache.

Python's JSON decoder recurses once per level of nesting, so a body such as `[` repeated
100,000 times ends in a RecursionError: here a 400 like any other malformed body. Fields
that take free-form JSON (an action's `attributes`, a signal's `data`) are held to a much
smaller depth by `outcomes.schemas.check_json_object`.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.module_loading import import_string
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

TOO_DEEP = "The JSON body is nested too deeply."


def loads(text: str | bytes) -> Any:
    """json.loads for text from outside: ValueError for malformed or too deeply nested JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None


class NoStoreApiMiddleware:
    """Every API response is about someone's data, or errs for them: `Cache-Control:
    no-store`, so no browser or proxy keeps a copy after sign-out."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        if "/api/" in request.path and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


def is_bearer_api_call(request: HttpRequest) -> bool:
    """A call of the API with a bearer credential (the agent, a script): sessions,
    cookies, CSRF, messages, frame and content-security headers mean nothing to it. A
    page's own calls of the API (the dashboards', with the session cookie) are not."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    return authorization[:7].lower() == "bearer " and "/api/" in request.path


def pages_only(middleware: type) -> type:
    """`middleware`, passed straight through for bearer API calls: the agent's requests
    run a short chain (tenant, common, no-store, request log), the pages the whole one."""

    class PagesOnly(middleware):  # type: ignore[valid-type,misc]  # a base class chosen at run time
        def __call__(self, request: HttpRequest) -> HttpResponse:
            if is_bearer_api_call(request):
                response: HttpResponse = self.get_response(request)
                return response
            full: HttpResponse = super().__call__(request)
            return full

    PagesOnly.__name__ = PagesOnly.__qualname__ = f"PagesOnly{middleware.__name__}"
    PagesOnly.__module__ = __name__
    return PagesOnly


def _middleware(path: str) -> type:
    return pages_only(import_string(path))


PagesOnlyTenantCookieMiddleware = _middleware("learning.tenancy.middleware.TenantCookieMiddleware")
PagesOnlySessionMiddleware = _middleware("django.contrib.sessions.middleware.SessionMiddleware")
PagesOnlyCsrfViewMiddleware = _middleware("django.middleware.csrf.CsrfViewMiddleware")
PagesOnlyAuthenticationMiddleware = _middleware(
    "django.contrib.auth.middleware.AuthenticationMiddleware"
)
PagesOnlyMessageMiddleware = _middleware("django.contrib.messages.middleware.MessageMiddleware")
PagesOnlySignInLimitMiddleware = _middleware("learning.lockout.SignInLimitMiddleware")
PagesOnlyXFrameOptionsMiddleware = _middleware(
    "django.middleware.clickjacking.XFrameOptionsMiddleware"
)
PagesOnlyCSPMiddleware = _middleware("csp.middleware.CSPMiddleware")
