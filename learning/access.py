"""Role checks for server-rendered pages (the API uses learning.permissions)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
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
