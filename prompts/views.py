"""A person's prompt settings: which channels, quiet hours, time zone."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from learning.access import login_only
from prompts import services


@login_only
def prompt_settings(request: HttpRequest) -> HttpResponse:
    preference = services.preference_of(request.user)
    return render(request, "prompts/settings.html", {"preference": preference})
