from __future__ import annotations

from typing import Any

from django.urls import get_script_prefix
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response


class TenantSchemaView(SpectacularAPIView):
    """The OpenAPI schema, with the tenant's own prefix as the server, so "Try it out" in
    the docs and generated clients call this tenant."""

    # Public: the API's description holds no tenant data (list views show no rows to the
    # schema's generator), and clients need it before they hold a credential.
    permission_classes = [AllowAny]

    def _get_schema_response(self, request: Request) -> Response:
        response = super()._get_schema_response(request)
        data: dict[str, Any] = response.data
        prefix = get_script_prefix().rstrip("/")
        data["servers"] = [{"url": request.build_absolute_uri(prefix + "/").rstrip("/")}]
        return response


ERROR_SCHEMA = {
    "type": "object",
    "description": '`{"detail": message}`, or `{field: [messages]}` for the fields at fault.',
    "additionalProperties": True,
}
# What any operation may answer besides its own success: bad input, no or wrong
# credential, a role that may not, nothing there, a conflict with stored state, a body too
# large or not JSON, too many requests, the database unavailable (retry).
ERRORS = {
    "400": "Invalid input: the fields at fault, with a message each; nothing was stored.",
    "401": "No credential, or not a valid one for this tenant.",
    "403": "The credential's role may not do this.",
    "404": "Nothing with that id in your scope.",
    "409": "Conflicts with what is stored (e.g. an outcome already resolved).",
    "413": "The body is too large.",
    "415": "The body is not JSON.",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
    "503": "The database is unavailable; nothing was committed, retry.",
}


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: document the error answers every operation
    shares, so clients (and the schema fuzzer) know them."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return result


# Python's \w is Unicode (str.isalnum() or "_": letters and numbers of every script);
# ECMA's, which OpenAPI patterns use, is ASCII only. Spelled out, a username rule says the
# same to clients and to the fuzzer as to the API.
UNICODE_WORD = r"\p{L}\p{N}_"


def unicode_word_patterns(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: `\\w` in a pattern's character class becomes
    the Unicode classes Python's `re` means by it."""

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            pattern = node.get("pattern")
            if isinstance(pattern, str) and "[\\w" in pattern:
                node["pattern"] = pattern.replace("[\\w", "[" + UNICODE_WORD)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result
