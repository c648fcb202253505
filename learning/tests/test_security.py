"""The security review, as tests: CSRF on forms, cookies, security headers (CSP
everywhere but the API docs, HSTS on HTTPS), secrets only from the environment and DEBUG
off unless set, the admin only for staff of its own tenant. (Sign-in limits:
test_lockout.py.)"""

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
