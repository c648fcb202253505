"""Who may see what: role checks for server-rendered pages (the API's are in
learning.permissions), the middleware that refuses a page which says nothing about who may
open it, and the scoped base of every API view that lists rows."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import structlog
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.views import APIView

from learning.models import Role

logger = structlog.get_logger(__name__)

# Which roles may open each role's page. Access is hierarchical: a manager may look at the
# rep view (of their team), an executive at every view; nobody looks upwards.
PAGE_ROLES: dict[str, frozenset[str]] = {
    Role.REP: frozenset({Role.REP, Role.MANAGER, Role.EXECUTIVE, Role.ADMIN}),
    Role.MANAGER: frozenset({Role.MANAGER, Role.EXECUTIVE, Role.ADMIN}),
    Role.EXECUTIVE: frozenset({Role.EXECUTIVE, Role.ADMIN}),
}

View = Callable[..., HttpResponse]
AnyView = TypeVar("AnyView", bound=Callable[..., Any])

# Closed by default: every page view declares who may open it, as this attribute of the
# view function: the roles (role_required), SIGNED_IN (login_only) or PUBLIC (public).
# functools.wraps copies it to decorators applied outside; DeclaredAccessMiddleware refuses
# a view without it, and tests/test_access_declared.py walks every URL for it.
ACCESS_ATTRIBUTE = "declared_access"
PUBLIC = "public"
SIGNED_IN = "signed-in"
Access = frozenset[str] | str


def _declare(view: AnyView, access: Access) -> AnyView:
    setattr(view, ACCESS_ATTRIBUTE, access)
    return view


def declared_access(view: Callable[..., Any]) -> Access | None:
    """What `view` declared: its roles, SIGNED_IN or PUBLIC; None if it said nothing."""
    access: Access | None = getattr(view, ACCESS_ATTRIBUTE, None)
    return access


def role_required(*roles: str) -> Callable[[View], View]:
    allowed = frozenset(roles)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if getattr(user, "role", None) not in allowed:
                raise PermissionDenied("Your role cannot open this page.")
            return view(request, *args, **kwargs)

        return _declare(wrapper, allowed)

    return decorator


def login_only(view: View) -> View:
    """Any signed-in person, whatever their role (Django's login_required, declared)."""
    return _declare(login_required(view), SIGNED_IN)


def public(view: AnyView) -> AnyView:
    """Open to everyone, signed in or not. Say why where it is used: the page shows nothing
    of a tenant's data, or checks something else (a signed token, Slack's signature).
    Wraps `view` (as csrf_exempt does), so the function itself stays undeclared elsewhere."""

    @wraps(view)
    def open_view(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    return _declare(cast(AnyView, open_view), PUBLIC)


def is_declared(view: Callable[..., Any], *, app_names: list[str]) -> bool:
    """Whether a routed view says who may call it: a page by its declared access, an API
    view by DRF's permissions (closed by default: learning.permissions.DenyUndeclared), a
    page of an admin site by the site's own (AdminSite.admin_view, has_permission)."""
    if declared_access(view) is not None or "admin" in app_names:
        return True
    view_class = getattr(view, "view_class", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


class DeclaredAccessMiddleware:
    """Refuses a view that did not declare its access: a page added without role_required,
    login_only or public is a 403 for everyone (an error in development and tests, so it is
    found before it ships), never open by omission. One attribute check per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        match = request.resolver_match
        if is_declared(view, app_names=match.app_names if match else []):
            return None
        name = getattr(view, "__qualname__", repr(view))
        if settings.DEBUG or settings.TESTING:
            raise ImproperlyConfigured(
                f"{view.__module__}.{name} ({request.path_info}) declares no access: "
                "decorate it with role_required(...), login_only or public."
            )
        logger.error("view_declares_no_access", view=name, path=request.path_info)
        raise PermissionDenied("This page declares no access, so nobody may open it.")


class ScopedQuerysetMixin:
    """The rows of a list or detail API view are the caller's scope, closed by default
    (as PostHog's `safely_get_queryset`).

    A view names its `scope`, a selector `principal -> QuerySet` of what that principal
    may see (e.g. outcomes.selectors.visible_outcomes), and adds filters or an ordering in
    `filter_scope`. It may not replace `get_queryset`: a view that truly needs rows beyond
    the caller's scope must say so, by overriding `dangerously_get_queryset`."""

    scope: Callable[..., Any] | None = None
    request: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} replaces get_queryset: narrow the scope in filter_scope, "
                "or widen it, explicitly, in dangerously_get_queryset."
            )

    def get_queryset(self) -> Any:
        return self.filter_scope(self.dangerously_get_queryset())

    def dangerously_get_queryset(self) -> Any:
        if self.scope is None:
            raise ImproperlyConfigured(f"{type(self).__name__} names no scope selector.")
        # The OpenAPI schema is built with no caller: nobody's scope, no rows.
        caller = None if getattr(self, "swagger_fake_view", False) else self.request.user
        # mypy, below: a staticmethod held as a class attribute
        return type(self).scope(principal=caller)  # type: ignore[misc]

    def filter_scope(self, queryset: Any) -> Any:
        return queryset
