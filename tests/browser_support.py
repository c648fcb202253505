"""Helpers of the browser tests: Debian's Chromium under Playwright, committed data."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from django.db import connections
from django_tenants.utils import tenant_context

T = TypeVar("T")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def require_chromium() -> None:
    """Skip the calling test module without Chromium, unless LL_REQUIRE_BROWSER=1 (CI)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("LL_REQUIRE_BROWSER") == "1":
            raise RuntimeError("LL_REQUIRE_BROWSER=1 but there is no chromium to drive")
        pytest.skip("Debian's chromium is not installed", allow_module_level=True)


def committed(tenant, fn: Callable[[], T]) -> T:
    """Run `fn` in the tenant on another connection and commit, so other processes (the
    live server, worker processes) see it; returns what `fn` returns."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            with tenant_context(tenant):
                box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.press("#id_password", "Enter")


def wait_until(page: Any, expression: str, *, timeout: float = 10.0) -> None:
    """Poll a JavaScript expression until it is truthy. Playwright's wait_for_function
    evals its predicate inside the page, which the app's Content-Security-Policy (no
    unsafe-eval) refuses; page.evaluate goes through the DevTools protocol instead."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"never true: {expression}")
        page.wait_for_timeout(100)
