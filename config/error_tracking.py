"""Error tracking with Sentry (or any server that speaks its protocol), off unless SENTRY_DSN
is set (config/settings.py calls `setup`).

Prospects' words never leave: what the agent and prospects wrote (thread messages' bodies
and subjects), what reviewers wrote about it (comments, corrections, drafts) and coaching's
quotes of them. So an event carries
- no local variables of its stack frames, and no request body or query string;
- no value of a key that names such a text, wherever it appears (sentry_sdk's own
  EventScrubber, recursively, with those names added to its list of secrets);
- no PostgreSQL DETAIL line in an exception's message: a failed constraint quotes the
  whole row there ("Failing row contains (…)").
No personal data either (send_default_pii=False: no user, address or cookie; the request
log's failure line, which names the client's address, is not sent).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

# Keys whose values may hold prospects' words (outcomes.Message, feedback, coaching).
PROSPECT_TEXT_KEYS = [
    "body",
    "subject",
    "text",
    "content",
    "comment",
    "label_comment",
    "correction",
    "draft",
    "original_draft",
    "sent_version",
    "quote",
    "quotes",
    "evidence",
    "proposed_content",
    "treatment_content",
    "control_content",
]
REMOVED = "[removed]"
# PostgreSQL's DETAIL (and what follows) quotes values: "Key (x)=(…)", "Failing row contains".
_DETAIL = re.compile(r"\s*DETAIL:.*", re.DOTALL)


def setup(
    *, dsn: str | None, environment: str, release: str | None, traces_sample_rate: float
) -> bool:
    """Start reporting errors to `dsn` (Django and Celery); nothing without one."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import ignore_logger
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        # (This SDK deprecates it for data_collection, but with data_collection set it
        # turns the EventScrubber below off: kept until the scrubber works with it.)
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        event_scrubber=EventScrubber(
            denylist=[*DEFAULT_DENYLIST, *PROSPECT_TEXT_KEYS], recursive=True
        ),
        before_send=scrub_event,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
    # The request log's line for a failed request repeats the exception the Django
    # integration reports (and names the client's address): one event, not two.
    ignore_logger("django_structlog.middlewares.request")
    return True


def scrub_event(sentry_event: Event, hint: Hint) -> Event:
    """What the SDK's options do not already remove (see the module's docstring)."""
    event = cast(dict[str, Any], sentry_event)
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "query_string", "cookies"):
            if request.get(key):
                request[key] = REMOVED
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = _DETAIL.sub("", exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        for key in ("message", "formatted"):
            if isinstance(logentry.get(key), str):
                logentry[key] = _DETAIL.sub("", logentry[key])
        if logentry.get("params"):
            logentry["params"] = [REMOVED for _ in logentry["params"]]
    for crumb in (event.get("breadcrumbs") or {}).get("values") or []:
        if isinstance(crumb.get("message"), str):
            crumb["message"] = _DETAIL.sub("", crumb["message"])
        if crumb.get("category") == "query":
            crumb.pop("data", None)  # a statement's parameters
    return sentry_event
