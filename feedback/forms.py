"""The review flow's form: the same rules as the API's `POST feedback/` and label."""

from __future__ import annotations

from typing import Any

from django import forms

from feedback.models import Source
from feedback.services import MAX_DRAFT_CHARS, SCALES
from learning.plain_words import action_type_words
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


STATUSES = [
    ("pending", "pending"),
    ("ambiguous", "ambiguous (to label)"),
    ("positive", "positive"),
    ("negative", "negative"),
    ("expired", "expired"),
]


class QueueForm(forms.Form):
    """A manager's new review queue (feedback.queues.create_queue checks the rest)."""

    name = forms.CharField(max_length=100)
    reviewers = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    reviewers_per_item = forms.IntegerField(
        min_value=1,
        max_value=5,
        initial=1,
        help_text="How many reviewers judge each item (agreement needs 2 or more).",
    )
    action_types = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None chosen: all."
    )
    statuses = forms.MultipleChoiceField(
        choices=STATUSES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: all.",
    )
    reps = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None chosen: your team."
    )
    occurred_after = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Actions from"
    )
    occurred_before = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Actions before"
    )
    rated_below = forms.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        label="Only actions rated below",
        help_text="People's average rating, 0 to 1 (e.g. 0.5).",
    )
    spot_check_percent = forms.FloatField(
        required=False,
        min_value=0,
        max_value=100,
        label="Spot check: % of decided actions",
        help_text="Draw this share of the decided actions at random, to check the automatic "
        "verdicts against people's (undecided ones all come in). Empty: take every match.",
    )

    def __init__(
        self,
        *args: Any,
        reviewers: list[str],
        reps: list[str],
        action_types: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field_choices = (("reviewers", reviewers), ("reps", reps), ("action_types", action_types))
        for name, values in field_choices:
            # mypy, below: Field's stub lacks choices
            labels = action_type_words if name == "action_types" else str
            self.fields[name].choices = [(v, labels(v)) for v in values]  # type: ignore[attr-defined]
