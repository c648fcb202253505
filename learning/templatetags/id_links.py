"""Links that carry an outside id (a conversation's, an action's), whatever it holds.

Ids come from CRMs and the agent: `/`, `#`, `?`, `%`, spaces and any Unicode are all
realistic. In a link, an id is one percent-encoded path segment or fragment,
`quote(id, safe="")` (`crm/1/t` gives `crm%2F1%2Ft`, `50% off` gives `50%25%20off`): no
character of it can end the path, start a query or a fragment, or make a `..` segment a
browser or proxy would resolve. The web server decodes the segment before Django routes it
(`%2F` arrives as `/`), so the page's route takes any text (insights.urls).

`reverse("conversation", args=[id])` is not enough: it leaves `/` as it is, so `a/../b`
would open `b`.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from django import template
from django.urls import reverse

register = template.Library()

# A path segment a browser resolves before sending it, even when written %2E (WHATWG URL).
DOT_SEGMENTS = frozenset({".", ".."})


@register.filter
def url_segment(value: object) -> str:
    """`value` as one percent-encoded URL path segment or fragment: every character but
    letters, digits and `_.-~` encoded. Also a valid HTML id (no spaces)."""
    return quote(str(value), safe="")


@register.filter
def conversation_url(external_id: str) -> str:
    """The path of the timeline page of the conversation `external_id` (insights)."""
    segment = url_segment(external_id)
    if segment in DOT_SEGMENTS:
        return reverse("conversations") + "?" + urlencode({"id": external_id})
    return f"{reverse('conversations')}{segment}/"
