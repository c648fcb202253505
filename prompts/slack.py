"""Talking to Slack: the official `slack_sdk` (its WebClient and its request verifier),
pointed at settings.SLACK_API_URL (Slack's by default; the tests' own Slack-compatible
server on loopback, tests/slack_server.py).

Every call here is made by a Celery task, never by a request of the agent: a Slack that is
slow, rate-limiting or down delays prompts, never ingest. Failures come back as
`SlackError`, which says whether trying again may help and after how long (Slack's
`Retry-After` on HTTP 429)."""

from __future__ import annotations

import contextlib
import urllib.error
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from prompts import vault
from prompts.models import Preference, SlackConnection

logger = structlog.get_logger(__name__)

TIMEOUT = 10  # seconds per call
# Slack's answers that mean "this person, channel or token cannot be reached": trying again
# will not help (and the token errors mean the tenant must reconnect).
_PERMANENT = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "missing_scope",
    "channel_not_found",
    "user_not_found",
    "users_not_found",
    "not_in_channel",
    "is_archived",
    "cannot_dm_bot",
    "user_disabled",
    "invalid_blocks",
    "msg_too_long",
}


@dataclass
class SlackError(Exception):
    error: str
    retryable: bool = False
    retry_after: int | None = None

    def __str__(self) -> str:
        return self.error


def connection() -> SlackConnection | None:
    """The tenant's Slack connection, when it has one."""
    row = SlackConnection.objects.filter(pk=1).first()
    return row if row is not None and row.connected else None


def client(token: str | None = None) -> WebClient:
    if token is None:
        row = connection()
        token = vault.unseal(row.bot_token_encrypted) if row else ""
    if not token:
        raise SlackError("not_connected")
    return WebClient(token=token, base_url=settings.SLACK_API_URL, timeout=TIMEOUT)


def _call(method: str, web: WebClient, **arguments: Any) -> dict[str, Any]:
    """The data of Slack's answer to `method` (called through the WebClient's own method
    for it, which sends each the way Slack takes it), or SlackError saying what went wrong."""
    try:
        response = getattr(web, method.replace(".", "_"))(**arguments)
    except SlackApiError as exc:
        raise _error_of(exc) from None
    except (SlackClientError, urllib.error.URLError, OSError) as exc:
        raise SlackError(f"unreachable: {type(exc).__name__}", retryable=True) from None
    return dict(response.data) if isinstance(response.data, dict) else {}


def _error_of(exc: SlackApiError) -> SlackError:
    response = exc.response
    status = int(getattr(response, "status_code", 200) or 200)
    data = response.data if isinstance(response.data, dict) else {}
    error = str(data.get("error") or f"http_{status}")
    if status == 429 or error == "ratelimited":
        return SlackError("ratelimited", retryable=True, retry_after=_retry_after(response))
    if status >= 500 or error in {"internal_error", "fatal_error", "service_unavailable"}:
        return SlackError(error, retryable=True)
    return SlackError(error, retryable=error not in _PERMANENT and status < 400)


def _retry_after(response: Any) -> int:
    headers: Mapping[str, Any] = getattr(response, "headers", {}) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            first = value[0] if isinstance(value, list) and value else value
            with contextlib.suppress(TypeError, ValueError):
                return max(1, min(int(first), 3600))
    return 30


def check_token(token: str) -> dict[str, Any]:
    """What Slack says of a bot token (`auth.test`: team, bot user), or SlackError."""
    return _call("auth.test", client(token))


def slack_user_id(user: Any, *, web: WebClient | None = None) -> str:
    """The person's Slack user id: set by an admin, or found once by their email
    (`users.lookupByEmail`) and remembered. "" when they are not in the workspace."""
    preference, _ = Preference.objects.get_or_create(user=user)
    if preference.slack_user_id:
        return preference.slack_user_id
    if not user.email:
        return ""
    try:
        found = _call("users.lookupByEmail", web or client(), email=user.email)
    except SlackError as exc:
        if exc.retryable or exc.error not in {"users_not_found", "user_not_found"}:
            raise
        return ""
    user_id = str((found.get("user") or {}).get("id") or "")
    if user_id:
        Preference.objects.filter(pk=preference.pk).update(
            slack_user_id=user_id, slack_user_found_by="email"
        )
    return user_id


def send_direct(*, slack_user: str, text: str, blocks: list[dict[str, Any]]) -> tuple[str, str]:
    """A direct message from the app to one person: (channel, ts)."""
    web = client()
    opened = _call("conversations.open", web, users=slack_user)
    channel = str((opened.get("channel") or {}).get("id") or slack_user)
    sent = _call("chat.postMessage", web, channel=channel, text=text, blocks=blocks)
    return str(sent.get("channel") or channel), str(sent.get("ts") or "")


def post_to_channel(*, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
    """Post to the tenant's reports channel; False when it has none (or no Slack)."""
    row = connection()
    if row is None or not row.reports_channel:
        return False
    arguments: dict[str, Any] = {"channel": row.reports_channel, "text": text}
    if blocks:
        arguments["blocks"] = blocks
    _call("chat.postMessage", client(), **arguments)
    return True


def respond(*, response_url: str, body: dict[str, Any]) -> None:
    """Update the message a button was clicked in, through the click's `response_url`
    (only to Slack's own hosts, or the configured API's host)."""
    if not response_url_allowed(response_url):
        raise SlackError("response_url_not_allowed")
    try:
        answer = WebhookClient(response_url, timeout=TIMEOUT).send_dict(body)
    except (SlackClientError, urllib.error.URLError, OSError) as exc:
        raise SlackError(f"unreachable: {type(exc).__name__}", retryable=True) from None
    if answer.status_code == 429:
        retry = _retry_after(answer)
        raise SlackError("ratelimited", retryable=True, retry_after=retry)
    if answer.status_code >= 500:
        raise SlackError(f"http_{answer.status_code}", retryable=True)
    if answer.status_code >= 400:
        raise SlackError(f"http_{answer.status_code}")


def response_url_allowed(url: str) -> bool:
    parts = urlsplit(url)
    api = urlsplit(settings.SLACK_API_URL)
    if parts.scheme == "https" and parts.hostname in settings.SLACK_RESPONSE_HOSTS:
        return True
    return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)


def signature_ok(*, body: bytes, headers: Mapping[str, str]) -> bool:
    """Slack signed this request (v0, within five minutes), with the tenant's signing
    secret or, when it set none, the deployment's SLACK_SIGNING_SECRET."""
    row = SlackConnection.objects.filter(pk=1).first()
    secret = (row and vault.unseal(row.signing_secret_encrypted)) or settings.SLACK_SIGNING_SECRET
    if not secret:
        return False
    try:
        return SignatureVerifier(secret).is_valid_request(body, dict(headers))
    except (TypeError, ValueError):  # a timestamp that is not a number
        return False


def connect(
    *,
    bot_token: str,
    reports_channel: str | None = None,
    signing_secret: str | None = None,
    by: str = "",
) -> SlackConnection:
    """Check the bot token with Slack and keep it (encrypted); SlackError when Slack
    refuses it, and then nothing is stored."""
    found = check_token(bot_token)
    row, _ = SlackConnection.objects.get_or_create(pk=1)
    same_token = vault.unseal(row.bot_token_encrypted) == bot_token
    row.bot_token_encrypted = vault.seal(bot_token)
    row.token_hint = bot_token.split("-", 1)[0] + "-…"
    row.team_id = str(found.get("team_id") or "")
    row.team_name = str(found.get("team") or "")
    row.bot_user_id = str(found.get("user_id") or "")
    if reports_channel is not None:
        row.reports_channel = reports_channel
    if signing_secret is not None:
        row.signing_secret_encrypted = vault.seal(signing_secret)
    if not same_token or row.connected_at is None:
        row.connected_at = timezone.now()
        row.connected_by = by
    row.save()
    logger.info("slack_connected", team_id=row.team_id, by=by)
    return row


def set_options(*, reports_channel: str, signing_secret: str | None = None) -> SlackConnection:
    """Change the reports channel (and, when given, the signing secret) without touching
    the token."""
    row, _ = SlackConnection.objects.get_or_create(pk=1)
    row.reports_channel = reports_channel
    fields = ["reports_channel"]
    if signing_secret is not None:
        row.signing_secret_encrypted = vault.seal(signing_secret)
        fields.append("signing_secret_encrypted")
    row.save(update_fields=fields)
    return row


def disconnect(*, by: str = "") -> None:
    """Forget the token and signing secret: no prompt, report or alert goes to Slack until
    an admin connects again."""
    SlackConnection.objects.filter(pk=1).update(
        bot_token_encrypted="", signing_secret_encrypted="", token_hint="", connected_at=None
    )
    logger.info("slack_disconnected", by=by)
