"""A person's prompt settings: their channels, quiet hours and time zone."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms

from prompts import preferences
from prompts.models import Preference


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class PreferenceForm(forms.ModelForm):
    """What the settings page asks. The time zone is the person's own (`User.time_zone`):
    quiet hours are read in it, and so are coaching's hours and weekdays."""

    time_zone = forms.ChoiceField(
        label="Your time zone",
        help_text="Quiet hours, and the hours and weekdays coaching speaks of, are in it.",
    )

    class Meta:
        model = Preference
        fields = ("slack", "email", "email_also", "quiet_start", "quiet_end")
        labels = {
            "slack": "Prompt me in Slack (a direct message from the app)",
            "email": "Prompt me by email",
            "email_also": "Email me even when Slack reached me",
            "quiet_start": "Quiet hours from",
            "quiet_end": "until",
        }
        help_texts = {
            "slack": "Only when your company has connected Slack and you are found there.",
            "email": "When Slack cannot reach you (or also, with the next box ticked). "
            "Prompts arriving within a few minutes come in one email.",
            "email_also": "",
            "quiet_start": "No prompts in these hours: they wait until the hours end. "
            "Leave both empty for none.",
            "quiet_end": "",
        }
        widgets = {
            "quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args: Any, time_zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices()
        self.fields["time_zone"].initial = time_zone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "quiet_start" in self.errors or "quiet_end" in self.errors:
            return data
        problem = preferences.quiet_hours_problem(data.get("quiet_start"), data.get("quiet_end"))
        if problem is not None:
            self.add_error(problem[0], problem[1])
        return data
