"""The review flow's form: the same rules as the API's `POST feedback/` and label."""

from __future__ import annotations

from typing import Any

from django import forms

from feedback.models import Source
from feedback.services import MAX_DRAFT_CHARS, SCALES
from outcomes.schemas import IDENTIFIER


class ReviewForm(forms.Form):
    """One action's judgement: thumbs (inline -1/0/1) or stars (dashboard 1-5), a label
    (it worked or not) where the item needs one, a comment and a correction."""

    action_id = forms.RegexField(IDENTIFIER, max_length=200)
    thumb = forms.TypedChoiceField(
        choices=[(str(v), str(v)) for v in SCALES[Source.INLINE].values],
        coerce=int,
        required=False,
        empty_value=None,
    )
    stars = forms.TypedChoiceField(
        choices=[(str(v), str(v)) for v in SCALES[Source.DASHBOARD].values],
        coerce=int,
        required=False,
        empty_value=None,
    )
    label = forms.ChoiceField(
        choices=[("positive", "It worked"), ("negative", "It did not work")], required=False
    )
    comment = forms.CharField(max_length=4000, required=False)
    correction = forms.CharField(
        max_length=MAX_DRAFT_CHARS, required=False, strip=False, widget=forms.Textarea
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        unrated = data.get("thumb") is None and data.get("stars") is None
        if self.errors:
            return data
        if data.get("correction") and unrated:
            self.add_error("correction", "A correction goes with a rating: rate the action too.")
        elif unrated and not data.get("label"):
            raise forms.ValidationError("Choose a rating or a label first.")
        return data

    @property
    def source_and_rating(self) -> tuple[str | None, int | None]:
        data = self.cleaned_data
        if data.get("thumb") is not None:
            return Source.INLINE, data["thumb"]
        if data.get("stars") is not None:
            return Source.DASHBOARD, data["stars"]
        return None, None

    def first_error(self) -> str:
        for name, errors in self.errors.items():
            label = "" if name == "__all__" else f"{name.replace('_', ' ')}: "
            return f"{label}{errors[0]}"
        return ""
