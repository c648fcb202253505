"""No NUL character from a URL or a cookie reaches the database.

PostgreSQL's text cannot hold NUL (U+0000): psycopg refuses a query with one, so a page
that looks up a value from its path or query string (a conversation's id, a rep's
username) or a session cookie would answer 500. One check instead, right after the
tenant is found (a tenant path with NUL is no tenant: 404), before any view or session:
such a request is a 400, JSON under the API as every API error is. Bodies are checked
where they are parsed (Django's and DRF's CharFields refuse NUL).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.cache import add_never_cache_headers

NUL = "\x00"
REFUSAL = "The address or a cookie holds a NUL character (%00): no page or record has one."


def holds_nul(request: HttpRequest) -> bool:
    """True when the path, the query string (decoded as Django will) or a cookie holds NUL."""
    # The server has decoded the path already (`%00` arrived as NUL); not the query string.
    return (
        NUL in request.path
        or NUL in unquote(request.META.get("QUERY_STRING", ""))
        or any(NUL in name or NUL in value for name, value in request.COOKIES.items())
    )


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if holds_nul(request):
            if "/api/" in request.path:
                response = JsonResponse({"detail": REFUSAL}, status=400)
                add_never_cache_headers(response)  # as learning.api_http.NoStoreApiMiddleware
                return response
            return HttpResponseBadRequest(REFUSAL, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
