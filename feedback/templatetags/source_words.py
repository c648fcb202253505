"""`{{ source|source_words }}`: where a rating came from, in words ("Dashboard review")."""

from __future__ import annotations

from django import template

from feedback.models import Source

register = template.Library()
LABELS: dict[str, str] = {
    Source.INLINE: "One click (Slack, email, review page)",
    Source.DASHBOARD: "Dashboard review (1-5 stars)",
    Source.DRAFT_EDIT: "Automatic, from edited drafts",
}


@register.filter
def source_words(value: object) -> str:
    return LABELS.get(str(value), str(value).replace("_", " ").capitalize())
