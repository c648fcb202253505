"""The security review, as tests: CSRF on forms, cookies, rate limits on sign-in and on
wrong tokens, security headers (CSP everywhere but the API docs, HSTS on HTTPS), secrets
only from the environment, the admin only for staff of its own tenant."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.test import Client


def test_forms_refuse_a_post_without_the_csrf_token(alpha) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(alpha.url("login/"), {"username": "alpha-rep", "password": "x"})
    assert response.status_code == 403
    alpha.login(strict, "rep")
    assert strict.post(alpha.url("logout/")).status_code == 403
    assert strict.get(alpha.url("rep/")).status_code == 200  # still signed in


def test_session_cookie_settings() -> None:
    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_COOKIE_AGE <= 24 * 3600
    assert settings.CSRF_COOKIE_SECURE == settings.SESSION_COOKIE_SECURE


def test_sign_in_is_rate_limited_per_username_across_addresses(alpha, settings) -> None:
    settings.LOGIN_RATE = "3/m"
    import config.urls_tenant as urls
    from learning.views import login_view

    # the limit is read when the view is built: rebuild it with this test's rate
    original = urls.urlpatterns[1].callback
    urls.urlpatterns[1].callback = login_view()
    try:
        codes = []
        for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"):
            client = Client(REMOTE_ADDR=address)
            response = client.post(
                alpha.url("login/"), {"username": "alpha-rep", "password": "wrong"}
            )
            codes.append(response.status_code)
        assert codes == [200, 200, 200, 429]
        assert response["Retry-After"] == "60"
        other = Client(REMOTE_ADDR="10.0.0.5").post(
            alpha.url("login/"), {"username": "alpha-manager", "password": "wrong"}
        )
        assert other.status_code == 200  # another user is not locked out
    finally:
        urls.urlpatterns[1].callback = original


def test_wrong_tokens_are_throttled_per_address(alpha, settings) -> None:
    settings.BAD_TOKEN_RATE = "5/m"
    client = Client(REMOTE_ADDR="10.9.9.9")
    codes = [
        client.get(alpha.url("api/v1/me/"), HTTP_AUTHORIZATION="Bearer llk_guess").status_code
        for _ in range(7)
    ]
    assert codes == [401] * 5 + [429, 429]
    # a good token from that address waits too; another address is not affected
    assert client.get(alpha.url("api/v1/me/"), **alpha.bearer("agent")).status_code == 429
    fine = Client(REMOTE_ADDR="10.9.9.10").get(alpha.url("api/v1/me/"), **alpha.bearer("agent"))
    assert fine.status_code == 200


def test_security_headers(alpha, client) -> None:
    alpha.login(client, "manager")
    page = client.get(alpha.url("manager/"))
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"
    docs = client.get(alpha.url("api/v1/docs/"))
    assert docs.status_code == 200 and "Content-Security-Policy" not in docs
    assert b"onclick=" not in page.content and b"onchange=" not in page.content


def test_hsts_on_https_responses(alpha, client, settings) -> None:


def test_debug_is_off_unless_set() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "example.com",
    }
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
    settings.SECURE_HSTS_SECONDS = 31536000
    secure = client.get(alpha.url("login/"), secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get(alpha.url("login/"))


def test_without_debug_secrets_must_come_from_the_environment() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "REDIS_URL")
    }
    env["DEBUG"] = "false"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_admin_is_for_staff_of_its_own_tenant(alpha, beta, client) -> None:
    alpha.login(client, "admin")
    assert client.get(alpha.url("admin/")).status_code == 200
    # alpha's session means nothing on beta's admin (sessions are per tenant)
    response = client.get(beta.url("admin/"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    rep = Client()
    alpha.login(rep, "rep")
    assert rep.get(alpha.url("admin/")).status_code == 302
