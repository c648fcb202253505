"""Failed attempts to get in, counted and limited: one limiter for every way in.

**Passwords.** Every sign-in form (the tenant's `login/`, the tenant admin's and the ops
admin's login, any form added later) signs in through `django.contrib.auth.authenticate`
with the request. `SignInLimitBackend`, the first authentication backend, refuses with a
429 *before* any password is checked once this client address has failed too often lately
in this tenant:

- per (tenant, address), `LOGIN_ADDRESS_RATE`: one address trying many accounts;
- per (tenant, username, address), `LOGIN_RATE`: one address guessing one account.

Failures are counted from Django's `user_login_failed` signal, so the counters move
whichever backend checked the password. No username is ever locked from every address:
someone guessing alice's password locks their own address out of alice's account, and
alice still signs in from hers.

**Bearer tokens.** A token is looked up first and a valid one always passes, so wrong
tokens sent from an address never lock out the keys of anyone else there. Only wrong
tokens count, per (tenant, address) (`BAD_TOKEN_RATE`); past the limit that address gets
429 instead of 401 for them. (Tokens are 256-bit random: the limit keeps guessing noisy
and cheap to refuse; it is not what makes guessing hopeless.)

**Addresses.** `client_address` is the peer's address, unless the peer is a trusted proxy
(`TRUSTED_PROXIES`); only then is `X-Forwarded-For` read, from the right, skipping the
trusted proxies. A header a client sets itself is never believed.

The counters live in the cache (django-ratelimit's fixed windows, in Redis). With the cache
down nothing is limited rather than nobody let in.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import structlog
from django.conf import settings
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

from learning.tenancy.context import current_schema_name

logger = structlog.get_logger(__name__)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    """The address of whoever sent `request`: the peer, or, when the peer is a trusted
    proxy, the nearest address in X-Forwarded-For that is not one."""
    networks = settings.TRUSTED_PROXY_NETWORKS
    peer = request.META.get("REMOTE_ADDR") or "unknown"

    def trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in network for network in networks)

    if not networks or not trusted(_parse(peer)):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            return "invalid"  # a proxy we trust never writes this: the client did
        if not trusted(address):
            return str(address)
    return str(_parse(hops[0])) if hops else peer


def bind_client_address(sender: Any, request: HttpRequest, **_: Any) -> None:
    structlog.contextvars.bind_contextvars(ip=client_address(request))


# --- passwords ------------------------------------------------------------------------------


class SignInLimited(Exception):
    """Raised by SignInLimitBackend; SignInLimitMiddleware answers it with a 429. Not a
    PermissionDenied, which `authenticate` would swallow into "wrong password"."""

    def __init__(self, retry_after: int, *, whole_address: bool) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after
        self.whole_address = whole_address  # everyone there, not one account


def _address_key(group: str, request: HttpRequest) -> str:
    return f"{current_schema_name()}|{client_address(request)}"


def _username_key(username: str) -> Any:
    def key(group: str, request: HttpRequest) -> str:
        return f"{current_schema_name()}|{username.strip().lower()}|{client_address(request)}"

    return key


ADDRESS, ACCOUNT = "sign-in:address", "sign-in:account"


def _counters(username: str | None) -> list[tuple[str, Any, str]]:
    counters = [(ADDRESS, _address_key, settings.LOGIN_ADDRESS_RATE)]
    if username:
        counters.append((ACCOUNT, _username_key(username), settings.LOGIN_RATE))
    return counters


def _usage(request: HttpRequest, group: str, key: Any, rate: str, *, count: bool) -> Any:
    try:
        return get_usage(request, group=group, key=key, rate=rate, increment=count)
    except Exception as error:  # the cache (Redis) is down: limit nothing
        logger.warning("sign_in_limit_unavailable", error=str(error))
        return None


def sign_in_limit(request: HttpRequest, username: str | None) -> SignInLimited | None:
    """Why this address may not try now, if it may not: it has used up its failed
    sign-ins in this tenant, overall or for this username."""
    limited = None
    for group, key, rate in _counters(username):
        usage = _usage(request, group, key, rate, count=False)
        if usage and usage["count"] >= usage["limit"]:
            wait = max(usage["time_left"], 1, limited.retry_after if limited else 0)
            whole = group == ADDRESS or bool(limited and limited.whole_address)
            limited = SignInLimited(wait, whole_address=whole)
    return limited


class SignInLimitBackend:
    """First in AUTHENTICATION_BACKENDS: refuses a sign-in from an address that failed too
    often, before any password is checked; otherwise lets the next backend decide."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, **_: Any
    ) -> None:
        if request is None:
            return None
        limited = sign_in_limit(request, username)
        if limited is not None:
            logger.warning("sign_in_limited", username=username, address=client_address(request))
            raise limited
        return None

    def get_user(self, user_id: Any) -> None:
        return None


@receiver(user_login_failed)
def count_failed_sign_in(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    if request is None:  # not a request (a management command, a test helper)
        return
    for group, key, rate in _counters(credentials.get("username")):
        _usage(request, group, key, rate, count=True)


class LimitedPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's password change: the old password is a password check like a sign-in,
    so the same counters limit it (a stolen session cannot guess its way to the password).
    A limited address gets the 429 before the old password is checked; a wrong one counts
    as a failed sign-in of that account."""

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        username = self.user.get_username()
        limited = sign_in_limit(self.request, username)
        if limited is not None:
            logger.warning(
                "password_change_limited", username=username, address=client_address(self.request)
            )
            raise limited  # SignInLimitMiddleware: the 429
        try:
            return str(super().clean_old_password())
        except ValidationError:
            count_failed_sign_in(
                sender=type(self), credentials={"username": username}, request=self.request
            )
            raise


class LimitedPasswordChangeView(PasswordChangeView):
    form_class = LimitedPasswordChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}


def too_many_attempts(request: HttpRequest, limited: SignInLimited) -> HttpResponse:
    """What a limited sign-in gets: 429 with Retry-After, JSON under the API."""
    retry = {"Retry-After": str(limited.retry_after)}
    if "/api/" in request.path:
        detail = {"detail": "Too many failed attempts from your address; wait and retry."}
        return JsonResponse(detail, status=429, headers=retry)
    context = {
        "minutes": max(1, round(limited.retry_after / 60)),
        "whole_address": limited.whole_address,
        "back": request.get_full_path(),
    }
    response = render(request, "learning/too_many.html", context, status=429)
    response["Retry-After"] = retry["Retry-After"]
    return response


class SignInLimitMiddleware:
    """Turns SignInLimited, raised inside any sign-in view, into the 429 page."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if isinstance(exception, SignInLimited):
            return too_many_attempts(request, exception)
        return None


# --- bearer tokens --------------------------------------------------------------------------


def _token_key(group: str, request: HttpRequest) -> str:
    return f"{current_schema_name()}|{client_address(request)}"


def wrong_token(request: HttpRequest) -> bool:
    """Count a wrong bearer token from this address (in this tenant); True when the
    address is now past BAD_TOKEN_RATE."""
    usage = _usage(request, "bearer:wrong", _token_key, settings.BAD_TOKEN_RATE, count=True)
    return bool(usage and usage["should_limit"])
