"""`{{ text|message_html }}`: a message's body as limited Markdown, made safe.

Bodies come from outside (the agent, prospects): Markdown is rendered with raw HTML off
(markdown-it-py, CommonMark), then the result is cleaned to a short list of tags and
attributes (nh3), so no script, style or event handler survives whatever the text holds.
"""

from __future__ import annotations

import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote"}
ATTRIBUTES = {"a": {"href"}}


def message_html(text: str) -> SafeString:
    html = _markdown.render(text or "")
    cleaned = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return mark_safe(cleaned)  # noqa: S308 - cleaned by nh3 to the tags above


register.filter("message_html", message_html)
