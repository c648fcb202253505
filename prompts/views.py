"""A person's prompt settings: which channels, quiet hours, time zone, and what was sent."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from learning.access import login_only
from learning.errors import InvalidInput
from prompts import preferences, selectors
from prompts.forms import PreferenceForm
from prompts.models import Preference


@login_only
@require_http_methods(["GET", "POST"])
def prompt_settings(request: HttpRequest) -> HttpResponse:
    """Each signed-in person's own settings (nobody else's: there is no id to change)."""
    user: Any = request.user
    instance = Preference.objects.filter(user=user).first() or Preference(user=user)
    form = PreferenceForm(
        request.POST if request.method == "POST" else None,
        instance=instance,
        time_zone=user.time_zone,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            preferences.save_preference(
                user=user,
                slack=data["slack"],
                email=data["email"],
                email_also=data["email_also"],
                quiet_start=data["quiet_start"],
                quiet_end=data["quiet_end"],
                time_zone=data["time_zone"],
            )
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Saved: you will be prompted as you chose.")
            return redirect("prompt-settings")
    context = {
        "form": form,
        "reach": preferences.slack_reach(user=user),
        "recent": selectors.recent_prompts(user=user, limit=10),
        "time_zone": user.time_zone,
    }
    return render(
        request, "prompts/settings.html", context, status=400 if request.method == "POST" else 200
    )
