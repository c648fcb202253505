"""Failed attempts to get in (learning.lockout): every sign-in form is limited by the same
counters, and nobody can use the limits to lock out someone else."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory, override_settings
from django_tenants.utils import schema_context

from conftest import PASSWORD
from learning.lockout import client_address

FORMS = ("login/", "admin/login/")


def _sign_in(client: Client, url: str, username: str, password: str) -> int:
    # as the forms do: the page to go to next (the admin's own index for its logins)
    after = url.removesuffix("login/")
    data = {"username": username, "password": password, "next": after}
    return client.post(url, data).status_code


@pytest.fixture
def ops_user(db):
    """An ops superuser of the public schema (the ops admin at /admin/)."""
    with schema_context("public"):
        return get_user_model().objects.create_superuser("ops-test", "", PASSWORD)


@pytest.mark.parametrize("form", ["login/", "admin/login/", "/admin/login/"])
def test_every_sign_in_form_is_limited(alpha, ops_user, settings, form) -> None:
    settings.LOGIN_RATE = "5/15m"
    url = form if form.startswith("/") else alpha.url(form)
    username = "ops-test" if form.startswith("/") else "alpha-manager"
    guesser = Client(REMOTE_ADDR="203.0.113.7")
    codes = [_sign_in(guesser, url, username, f"wrong-{i}") for i in range(7)]
    assert codes == [200] * 5 + [429, 429]
    # the right password from the guessing address waits too: no password is checked
    refused = guesser.post(url, {"username": username, "password": PASSWORD, "next": "/"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1  # what is left
    assert b"try again in about" in refused.content
    # the person themselves, from their own address, signs in
    owner = Client(REMOTE_ADDR="198.51.100.20")
    assert _sign_in(owner, url, username, PASSWORD) == 302
    if not form.startswith("/"):  # and that session works on the API
        assert owner.get(alpha.url("api/v1/me/")).json()["username"] == username


def test_one_counter_for_every_form_of_a_tenant(alpha, settings) -> None:
    settings.LOGIN_RATE = "6/15m"
    guesser = Client(REMOTE_ADDR="203.0.113.8")
    for i in range(3):
        assert _sign_in(guesser, alpha.url("login/"), "alpha-manager", f"no-{i}") == 200
        assert _sign_in(guesser, alpha.url("admin/login/"), "alpha-manager", f"no-{i}") == 200
    for form in FORMS:
        assert _sign_in(guesser, alpha.url(form), "alpha-manager", PASSWORD) == 429


def test_guessing_one_account_locks_only_the_guessing_address(alpha, beta, settings) -> None:
    settings.LOGIN_RATE = "10/15m"
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(10):
        _sign_in(guesser, alpha.url("login/"), "alpha-rep", f"guess-{i}")
    assert _sign_in(guesser, alpha.url("login/"), "alpha-rep", PASSWORD) == 429
    # the real rep, from anywhere else, is not locked out
    assert (
        _sign_in(Client(REMOTE_ADDR="192.0.2.44"), alpha.url("login/"), "alpha-rep", PASSWORD)
        == 302
    )
    # nor is anyone else from the guessing address, nor another tenant's user there
    assert _sign_in(guesser, alpha.url("login/"), "alpha-manager", PASSWORD) == 302
    assert _sign_in(guesser, beta.url("login/"), "beta-rep", PASSWORD) == 302


def test_spraying_many_accounts_from_one_address_is_limited_there(alpha, beta, settings) -> None:
    settings.LOGIN_ADDRESS_RATE = "8/15m"
    sprayer = Client(REMOTE_ADDR="203.0.113.10")
    for i in range(8):
        assert _sign_in(sprayer, alpha.url("login/"), f"user-{i}", "password1") == 200
    assert _sign_in(sprayer, alpha.url("login/"), "alpha-executive", PASSWORD) == 429
    elsewhere = Client(REMOTE_ADDR="192.0.2.45")
    assert _sign_in(elsewhere, alpha.url("login/"), "alpha-executive", PASSWORD) == 302
    assert _sign_in(sprayer, beta.url("login/"), "beta-executive", PASSWORD) == 302


def test_wrong_tokens_never_lock_out_valid_keys(alpha, beta, settings) -> None:
    settings.BAD_TOKEN_RATE = "5/m"
    guesser = Client(REMOTE_ADDR="10.9.9.9")
    me = alpha.url("api/v1/me/")
    codes = [guesser.get(me, HTTP_AUTHORIZATION="Bearer llk_guess").status_code for _ in range(7)]
    assert codes == [401] * 5 + [429, 429]
    # from that same address every valid credential of every tenant still works
    assert guesser.get(me, **alpha.bearer("agent")).status_code == 200
    assert guesser.get(me, **alpha.bearer("rep")).status_code == 200
    assert guesser.get(beta.url("api/v1/me/"), **beta.bearer("agent")).status_code == 200
    # and another tenant counts its own wrong tokens
    wrong_at_beta = guesser.get(beta.url("api/v1/me/"), HTTP_AUTHORIZATION="Bearer llk_guess")
    assert wrong_at_beta.status_code == 401


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(alpha, settings) -> None:
    settings.LOGIN_RATE = "3/15m"
    # Not trusted: each request claims another address, all are counted as the peer's.
    for i in range(3):
        client = Client(REMOTE_ADDR="203.0.113.11", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
        _sign_in(client, alpha.url("login/"), "alpha-rep", "nope")
    client = Client(REMOTE_ADDR="203.0.113.11", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert _sign_in(client, alpha.url("login/"), "alpha-rep", PASSWORD) == 429


@override_settings(TRUSTED_PROXY_NETWORKS=())
def test_client_address_without_trusted_proxies() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_address(request) == "10.0.0.5"


@pytest.mark.parametrize(
    "peer,forwarded,expected",
    [
        ("10.0.0.5", "1.2.3.4", "1.2.3.4"),  # one trusted proxy
        ("10.0.0.5", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # what the client wrote is skipped
        ("10.0.0.5", "1.2.3.4, 10.0.0.9", "1.2.3.4"),  # two trusted proxies in a row
        ("10.0.0.5", "", "10.0.0.5"),  # no header: the proxy itself
        ("10.0.0.5", "not-an-address", "invalid"),
        ("203.0.113.5", "1.2.3.4", "203.0.113.5"),  # an untrusted peer's header is ignored
        ("10.0.0.5", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address_behind_trusted_proxies(peer, forwarded, expected) -> None:
    import ipaddress

    with override_settings(TRUSTED_PROXY_NETWORKS=(ipaddress.ip_network("10.0.0.0/8"),)):
        request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
        assert client_address(request) == expected


def test_behind_a_trusted_proxy_each_client_has_its_own_counter(alpha, settings) -> None:
    import ipaddress

    settings.LOGIN_RATE = "3/15m"
    settings.TRUSTED_PROXY_NETWORKS = (ipaddress.ip_network("10.0.0.0/8"),)
    via_proxy = Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.1")
    for _ in range(3):
        _sign_in(via_proxy, alpha.url("login/"), "alpha-rep", "nope")
    assert _sign_in(via_proxy, alpha.url("login/"), "alpha-rep", PASSWORD) == 429
    other = Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert _sign_in(other, alpha.url("login/"), "alpha-rep", PASSWORD) == 302


def test_the_page_says_whose_sign_in_is_paused(alpha, settings) -> None:
    settings.LOGIN_RATE = "2/15m"
    settings.LOGIN_ADDRESS_RATE = "4/15m"
    client = Client(REMOTE_ADDR="203.0.113.12")
    for _ in range(2):
        _sign_in(client, alpha.url("login/"), "alpha-rep", "nope")
    account = client.post(alpha.url("login/"), {"username": "alpha-rep", "password": "x"})
    assert account.status_code == 429
    assert "Other people can still sign in" in account.content.decode()
    for _ in range(2):
        _sign_in(client, alpha.url("login/"), "alpha-manager", "nope")
    address = client.post(alpha.url("login/"), {"username": "alpha-admin", "password": "x"})
    assert address.status_code == 429
    assert "sign-in from this address is paused" in address.content.decode()
