"""`{{ alpha|agreement_words }}`: an agreement figure in plain words (Landis and Koch's
bands for kappa; Krippendorff asks for 0.8 to rely on labels, 0.667 for tentative use)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def agreement_words(value: float | None) -> str:
    if value is None:
        return "not enough judged items yet"
    if value < 0:
        return "worse than chance: reviewers read the guidelines differently"
    for bound, words in (
        (0.2, "slight: little better than chance"),
        (0.4, "fair"),
        (0.6, "moderate"),
        (0.8, "substantial"),
    ):
        if value < bound:
            return words
    return "almost perfect"
