from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from calibration import selectors as calibration_selectors
from learning.access import PAGE_ROLES, role_required
from learning.models import Role
from learning.tenancy.context import current_schema_name

ROLE_HOME = {
    Role.REP: "rep-home",
    Role.MANAGER: "manager-home",
    Role.EXECUTIVE: "executive-home",
    Role.ADMIN: "admin:index",
}


@login_required
def landing(request: HttpRequest) -> HttpResponse:
    return redirect(ROLE_HOME.get(request.user.role, "rep-home"))  # type: ignore[union-attr]


def _role_page(
    request: HttpRequest,
    page: str,
    title: str,
    template: str = "learning/role_home.html",
    **context: object,
) -> HttpResponse:
    return render(
        request,
        template,
        {"page": page, "title": title, "schema": current_schema_name(), **context},
    )


@role_required(*PAGE_ROLES[Role.REP])
def rep_home(request: HttpRequest) -> HttpResponse:
    return _role_page(request, Role.REP, "My agent")


@role_required(*PAGE_ROLES[Role.MANAGER])
def manager_home(request: HttpRequest) -> HttpResponse:
    return _role_page(
        request,
        Role.MANAGER,
        "My team",
        "learning/manager_home.html",
        curves=calibration_selectors.curves(),
        adjustments=calibration_selectors.adjustment_log(limit=20),
    )


@role_required(*PAGE_ROLES[Role.EXECUTIVE])
def executive_home(request: HttpRequest) -> HttpResponse:
    return _role_page(request, Role.EXECUTIVE, "Company overview")


def public_index(request: HttpRequest) -> HttpResponse:
    return render(request, "public/index.html")
