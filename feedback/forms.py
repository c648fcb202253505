"""The review page's rating form: the same rules as the API's `POST feedback/`."""

from __future__ import annotations

from typing import Any

from django import forms

from feedback.models import Source, TargetType
from feedback.services import SCALES
from outcomes.schemas import IDENTIFIER


class ReviewForm(forms.Form):
    """Thumbs (inline -1/0/1) or stars (dashboard 1-5), on one target, with a comment."""

    target_type = forms.ChoiceField(choices=TargetType.choices)
    target_id = forms.RegexField(IDENTIFIER, max_length=200)
    conversation_id = forms.RegexField(IDENTIFIER, max_length=200)
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
    comment = forms.CharField(max_length=4000, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("thumb") is None and data.get("stars") is None and not self.errors:
            raise forms.ValidationError("Choose a rating first.")
        return data

    @property
    def source_and_rating(self) -> tuple[str, int]:
        data = self.cleaned_data
        if data.get("thumb") is not None:
            return Source.INLINE, data["thumb"]
        return Source.DASHBOARD, data["stars"]

    def first_error(self) -> str:
        for field, errors in self.errors.items():
            label = "" if field == "__all__" else f"{field.replace('_', ' ')}: "
            return f"{label}{errors[0]}"
        return ""
