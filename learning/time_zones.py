"""Pages show times in the reader's time zone: their own (`User.time_zone`, set on their
prompt settings page), which a new person takes from the workspace's (`Tenant.time_zone`,
UTC unless ops set another); a visitor not signed in reads the workspace's. The API and its
exports keep UTC: what they return is read by programs, not people."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from learning.tenancy.context import request_tenant


def reader_time_zone(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and getattr(user, "time_zone", ""):
        return str(user.time_zone)
    tenant = request_tenant(request)
    return str(getattr(tenant, "time_zone", "") or "UTC")


class ReaderTimeZoneMiddleware:
    """Activates the reader's time zone for a page request (templates' dates render in
    it), and leaves it after the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "/api/" in request.path:
            return self.get_response(request)
        try:
            timezone.activate(zoneinfo.ZoneInfo(reader_time_zone(request)))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()  # a zone this machine does not know: UTC
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
