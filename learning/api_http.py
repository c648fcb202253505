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
