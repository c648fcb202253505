"""`{{ row.action_type|action_words }}`, `{{ content.channel|channel_words }}`: ids in words
where pages print them (learning.plain_words)."""

from __future__ import annotations

from django import template

from learning import plain_words

register = template.Library()


@register.filter
def action_words(value: object) -> str:
    return plain_words.action_type_words(value)


@register.filter
def channel_words(value: object) -> str:
    return plain_words.channel_words(value)
