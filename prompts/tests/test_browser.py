"""The prompt settings page and the feedback page's prompts section in a real browser
(Playwright driving Debian's Chromium), on a 390 pixel wide phone: nothing off-screen, and
a person saves their settings with the page's own form.

Needs /usr/bin/chromium, as feedback/tests/test_browser.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import PASSWORD
from learning.models import User
from prompts.models import Preference
from tests.browser_support import CHROMIUM, committed, require_chromium, sign_in

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"


def fits(page, selector: str) -> bool:
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return r.left >= 0 && r.right <= window.innerWidth + 1; }",
        selector,
    )


@pytest.fixture
def restored(world, db) -> Iterator[None]:
    """What the browser saves is committed: put alpha-rep back as the world had them."""
    yield

    def restore() -> None:
        Preference.objects.filter(user__username="alpha-rep").delete()
        User.objects.filter(username="alpha-rep").update(time_zone="UTC")

    committed(world["alpha"].tenant, restore)


def test_settings_and_prompt_answers_fit_a_phone(world, db, live_server_url, restored) -> None:
    alpha = world["alpha"]
    base = f"http://{live_server_url}{alpha.prefix}"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            sign_in(page, base, "alpha-rep", PASSWORD)
            with page.expect_navigation():
                page.click("nav a:text('Prompts')")
            assert "How you are prompted" in page.inner_text("h1")
            assert page.evaluate(NO_SIDEWAYS_SCROLL)
            for selector in ("#id_time_zone", "#id_quiet_end", "button.primary"):
                assert fits(page, selector), selector
            page.uncheck("#id_slack")
            page.fill("#id_quiet_start", "19:30")
            page.fill("#id_quiet_end", "07:00")
            page.select_option("#id_time_zone", "America/Argentina/ComodRivadavia")
            with page.expect_navigation():
                page.click("button.primary")
            assert "Saved" in page.inner_text(".messages")
            assert "in your time zone America/Argentina/ComodRivadavia" in page.inner_text("main")
            assert page.evaluate(NO_SIDEWAYS_SCROLL)
            page.context.close()

            manager = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            sign_in(manager, base, "alpha-manager", PASSWORD)
            manager.goto(base + "feedback/team/")
            assert "Prompts: do people answer?" in manager.inner_text("#prompts-heading")
            assert manager.evaluate(NO_SIDEWAYS_SCROLL)
            assert fits(manager, "nav a[href$='/settings/prompts/']")
        finally:
            browser.close()

    def saved() -> tuple[str, bool, str]:
        preference = Preference.objects.get(user__username="alpha-rep")
        zone = User.objects.get(username="alpha-rep").time_zone
        return zone, preference.slack, f"{preference.quiet_start:%H:%M}"

    assert committed(alpha.tenant, saved) == ("America/Argentina/ComodRivadavia", False, "19:30")
