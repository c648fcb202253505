"""Who may see what: role checks for server-rendered pages (the API's are in
learning.permissions), and the scoped base of every API view that lists rows."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse

from learning.models import Role

# Which roles may open each role's page. Access is hierarchical: a manager may look at the
# rep view (of their team), an executive at every view; nobody looks upwards.
PAGE_ROLES: dict[str, frozenset[str]] = {
    Role.REP: frozenset({Role.REP, Role.MANAGER, Role.EXECUTIVE, Role.ADMIN}),
    Role.MANAGER: frozenset({Role.MANAGER, Role.EXECUTIVE, Role.ADMIN}),
    Role.EXECUTIVE: frozenset({Role.EXECUTIVE, Role.ADMIN}),
}

View = Callable[..., HttpResponse]


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

        return wrapper

    return decorator


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
        return type(self).scope(principal=caller)  # type: ignore[misc]

    def filter_scope(self, queryset: Any) -> Any:
        return queryset
