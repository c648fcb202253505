"""`{{ kappa|agreement_words }}`: an agreement figure in plain words (feedback.agreement)."""

from __future__ import annotations

from django import template

from feedback.agreement import in_words

register = template.Library()


@register.filter
def agreement_words(value: float | None) -> str:
    return in_words(value)
