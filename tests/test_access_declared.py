"""Access closed by default: every URL of the tenant and the public URLconf says who may
open it, and nobody gets in by omission.

A page declares its access with learning.access.role_required, login_only or public; an
API view names its DRF `permission_classes` (the default, DenyUndeclared, refuses
everyone); an admin site's pages have the site's own permission checks. The walk below
finds every pattern (nested includes and the admin sites too), checks each declaration,
then requests each pattern (path parameters filled with a sample value where one fits) as
every role, the agent and an anonymous visitor: no 500, and no 200 for anyone the
declaration keeps out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, include, path, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from learning.access import PUBLIC, declared_access, public, role_required
from learning.permissions import DenyUndeclared

TENANT_URLCONF = "config.urls_tenant"  # includes config.urls_api, the admin site
PUBLIC_URLCONF = "config.urls_public"  # includes the ops admin site

# What anyone may open, signed in or not, each for the reason its declaration gives.
# Making another page public is a decision: it shows up here, in review.
PUBLIC_ROUTES = {
    TENANT_URLCONF: {
        "login/",
        "logout/",
        "^admin/learning/(?P<rest>(alert|alertsettings|analyticssettings)/.*)$",
        "f/<str:token>/",
        "integrations/slack/",
        "admin/login/",
        "api/v1/schema/",
        "api/v1/docs/",
        "api/v1/redoc/",
        "healthz",
        "favicon.ico",
    },
    PUBLIC_URLCONF: {"", "healthz", "readyz", "metrics", "admin/login/", "favicon.ico"},
}

IDENTITIES = ["anonymous", "agent", "rep", "manager", "executive", "admin"]

# A sample value per path parameter, by name; else "1" or "sample", whichever fits.
SAMPLES = {
    "day": date.today().isoformat(),
    "fmt": "csv",
    "token": "not-a-signed-token",
    "external_id": "conversation-1",
    "conversation_id": "conversation-1",
    "action_type": "email_reply",
    "status": "positive",
    "rest": "alert/",
    "url": "no-such-page/",
    "queue": "mine",
}


@dataclass(frozen=True)
class Route:
    route: str  # the patterns joined, as written: "feedback/queues/<int:pk>/"
    patterns: tuple[Any, ...]  # RoutePattern / RegexPattern, outermost first
    callback: Callable[..., Any]
    app_names: tuple[str, ...]
    name: str | None


def routes(
    patterns: Iterable[URLPattern | URLResolver],
    outer: tuple[Any, ...] = (),
    app_names: tuple[str, ...] = (),
) -> Iterator[Route]:
    for entry in patterns:
        here = (*outer, entry.pattern)
        if isinstance(entry, URLResolver):
            names = (*app_names, entry.app_name) if entry.app_name else app_names
            yield from routes(entry.url_patterns, here, names)
        else:
            joined = "".join(str(p) for p in here)
            yield Route(joined, here, entry.callback, app_names, entry.name)


def _declares_permissions(view_class: type, initkwargs: dict[str, Any]) -> bool:
    """permission_classes (or get_permissions) set by our own code, at the URL or on the
    class or a base of ours: not DRF's default, nor a library's choice made for us."""
    if "permission_classes" in initkwargs:
        return DenyUndeclared not in initkwargs["permission_classes"]
    for klass in view_class.__mro__:
        ours = (settings.BASE_DIR / klass.__module__.split(".")[0]).is_dir()
        if ours and "get_permissions" in vars(klass):
            return True
        if ours and "permission_classes" in vars(klass):
            return DenyUndeclared not in vars(klass)["permission_classes"]
    return False


def undeclared(route: Route) -> bool:
    view_class = getattr(route.callback, "view_class", None)
    if isinstance(view_class, type) and issubclass(view_class, APIView):
        return not _declares_permissions(view_class, route.callback.view_initkwargs)
    if "admin" in route.app_names:
        return False  # AdminSite.admin_view and has_permission decide
    return declared_access(route.callback) is None


def is_public(route: Route) -> bool:
    view_class = getattr(route.callback, "view_class", None)
    if isinstance(view_class, type) and issubclass(view_class, APIView):
        initkwargs = route.callback.view_initkwargs
        return AllowAny in initkwargs.get("permission_classes", view_class.permission_classes)
    if "admin" in route.app_names:
        return route.name == "login"
    return declared_access(route.callback) == PUBLIC


def _sample(name: str, regex: str) -> str | None:
    alternatives = re.fullmatch(r"\(?(\w+)(\|\w+)*\)?", regex)
    candidates = [SAMPLES.get(name), "1", "sample", alternatives and alternatives[1]]
    return next((c for c in candidates if c and re.fullmatch(regex, c)), None)


def _group_end(regex: str, start: int) -> int:
    """The index of the parenthesis closing the group opened at `start`."""
    depth, i = 0, start
    while i < len(regex):
        if regex[i] == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(regex[i], 0)
        if depth == 0:
            return i
        i += 1
    raise ValueError(regex)


def concrete_path(route: Route) -> str | None:
    """The route with each parameter filled with a sample value; None where none fits."""
    parts = []
    for pattern in route.patterns:
        text = str(pattern)
        if isinstance(pattern, RoutePattern):

            def fill(m: re.Match[str], converters: dict[str, Any] = pattern.converters) -> str:
                value = _sample(m["name"], converters[m["name"]].regex)
                if value is None:
                    raise LookupError(m["name"])
                return value

            try:
                parts.append(re.sub(r"<(?:\w+:)?(?P<name>\w+)>", fill, text))
            except LookupError:
                return None
        elif isinstance(pattern, RegexPattern):
            while (start := text.find("(?P<")) != -1:
                end = _group_end(text, start)
                name = text[start + 4 : text.index(">", start)]
                value = _sample(name, text[text.index(">", start) + 1 : end])
                if value is None:
                    return None
                text = text[:start] + value + text[end + 1 :]
            text = text.removeprefix("^").removesuffix("$").replace("\\", "")
            if re.search(r"[()\[\]*+?|^$]", text):
                return None
            parts.append(text)
        else:
            return None
    return "".join(parts)


def all_routes(urlconf: str) -> list[Route]:
    return list(routes(get_resolver(urlconf).url_patterns))


# --- every pattern declares its access -------------------------------------------------------


@pytest.mark.parametrize("urlconf", [TENANT_URLCONF, PUBLIC_URLCONF])
def test_every_url_declares_its_access(urlconf) -> None:
    found = all_routes(urlconf)
    assert len(found) > (50 if urlconf == TENANT_URLCONF else 10)  # the walk reached the includes
    assert any("admin" in route.app_names for route in found)
    assert [route.route for route in found if undeclared(route)] == []
    assert {route.route for route in found if is_public(route)} == PUBLIC_ROUTES[urlconf]


def forgotten_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("anyone may read this")


class ForgottenApi(APIView):
    def get(self, request: Request) -> Response:
        return Response({"anyone": "may read this"})


class LibraryChoiceApi(APIView):
    """As a library's view (drf_spectacular's are): open, but by the library's choice,
    which this project never made."""

    permission_classes = [AllowAny]


LibraryChoiceApi.__module__ = "some_library.views"

# Views added as if someone forgot to say who may open them, and a URLconf (ROOT_URLCONF of
# the tests below that request them) of the tenant's URLs with these added.
THROWAWAY = [
    path("forgotten/", forgotten_page),
    path("nested/", include([path("deeper/", include([path("forgotten/", forgotten_page)]))])),
    path("api/v1/forgotten/", ForgottenApi.as_view()),
    path("api/v1/library/", LibraryChoiceApi.as_view()),
    path("declared/", role_required("manager")(forgotten_page)),
    path("public/", public(forgotten_page)),
    path("api/v1/declared/", ForgottenApi.as_view(permission_classes=[AllowAny])),
]
urlpatterns = [*THROWAWAY, path("", include(TENANT_URLCONF))]


def test_the_check_flags_a_url_that_declares_nothing() -> None:
    flagged = [route.route for route in routes(urlpatterns) if undeclared(route)]
    assert flagged == [
        "forgotten/",
        "nested/deeper/forgotten/",
        "api/v1/forgotten/",
        "api/v1/library/",
    ]
    opened = [route.route for route in routes(THROWAWAY) if is_public(route)]
    assert opened == ["api/v1/library/", "public/", "api/v1/declared/"]


@override_settings(ROOT_URLCONF=__name__)
def test_a_page_that_declares_nothing_is_refused(alpha, client) -> None:
    alpha.login(client, "executive")
    # In development and tests, an error that names the view and the fix …
    for url in ("forgotten/", "nested/deeper/forgotten/"):
        with pytest.raises(ImproperlyConfigured, match=r"forgotten_page .* declares no access"):
            client.get(alpha.url(url))
    # … in production, a 403 for everyone, never the page.
    with override_settings(DEBUG=False, TESTING=False):
        assert client.get(alpha.url("forgotten/")).status_code == 403
        assert Client().get(alpha.url("forgotten/")).status_code == 403
    assert client.get(alpha.url("public/")).status_code == 200
    assert Client().get(alpha.url("public/")).status_code == 200
    assert client.get(alpha.url("declared/")).status_code == 403  # not a manager
    assert alpha.login(Client(), "manager").get(alpha.url("declared/")).status_code == 200


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("identity", ["agent", "rep", "executive", "admin"])
def test_an_api_view_that_declares_nothing_is_refused(alpha, client, identity) -> None:
    """DRF's default permission is DenyUndeclared: whatever the credential, nobody."""
    url = alpha.url("api/v1/forgotten/")
    assert client.get(url, **alpha.bearer(identity)).status_code == 403
    assert client.get(url).status_code == 401
    assert client.get(alpha.url("api/v1/declared/"), **alpha.bearer(identity)).status_code == 200


# --- every URL answers every identity, and keeps out whom it should ----------------------------


def _request(client: Client, url: str, **headers: Any) -> int:
    response = client.get(url, **headers)
    if response.streaming:  # an export: its errors surface as it streams
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.status_code


def _requestable(urlconf: str) -> list[tuple[Route, str]]:
    found = []
    for route in all_routes(urlconf):
        concrete = concrete_path(route)
        if concrete is None:
            continue
        match = resolve("/" + concrete, urlconf)
        if match.func is route.callback:  # the sample reached this route, not an earlier one
            found.append((route, concrete))
    return found


@pytest.mark.parametrize("identity", IDENTITIES)
def test_every_tenant_url_as_every_identity(alpha, identity) -> None:
    client = Client(raise_request_exception=False)
    headers: dict[str, str] = {}
    if identity == "agent":
        headers = alpha.bearer("agent")
    elif identity != "anonymous":
        alpha.login(client, identity)
    requestable = _requestable(TENANT_URLCONF)
    assert len(requestable) > 0.9 * len(all_routes(TENANT_URLCONF))
    wrong = []
    for route, concrete in requestable:
        status = _request(client, alpha.url(concrete), **headers)
        access = declared_access(route.callback)
        shut_out = (identity in ("anonymous", "agent") and not is_public(route)) or (
            isinstance(access, frozenset) and identity not in access
        )
        if identity == "agent" and concrete.startswith("api/"):
            shut_out = False  # the API's permissions say what the agent may read
        if status >= 500 or (shut_out and status == 200):
            wrong.append((concrete, status))
    assert wrong == []


def test_every_public_url_anonymously(world, db) -> None:
    """Outside any tenant there are no tenant people: an anonymous visitor (and the ops
    admin's own sign-in)."""
    client = Client(raise_request_exception=False)
    requestable = _requestable(PUBLIC_URLCONF)
    assert len(requestable) > 0.9 * len(all_routes(PUBLIC_URLCONF))
    wrong = []
    for route, concrete in requestable:
        status = _request(client, "/" + concrete)
        if status >= 500 or (not is_public(route) and status == 200):
            wrong.append((concrete, status))
    assert wrong == []
