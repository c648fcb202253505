"""The review form in a real browser (Playwright driving Debian's Chromium), keyboard only.

Needs /usr/bin/chromium (Debian's package `chromium`; `.ci/run` installs it). Without it
the test is skipped, unless LL_REQUIRE_BROWSER=1 (set by CI) makes that a failure.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import tenant_context

from conftest import PASSWORD
from feedback.models import FeedbackEntry, FeedbackRevision
from feedback.tests.conftest import act
from outcomes.models import Conversation, OutcomeRecord
from tests.browser_support import CHROMIUM, committed, require_chromium

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def browser_actions(world, db) -> Iterator[None]:
    tenant = world["alpha"].tenant

    def create() -> None:
        act("browser-m-1", "browser-c", "alpha-rep")
        act(
            "browser-d-1",
            "browser-c",
            "alpha-rep",
            outcome_type="escalation_result",
            action_type="escalate",
        )

    def remove() -> None:
        entries = FeedbackEntry.objects.filter(conversation__external_id="browser-c")
        FeedbackRevision.objects.filter(entry__in=entries).delete()
        entries.delete()
        OutcomeRecord.objects.filter(conversation__external_id="browser-c").delete()
        Conversation.objects.filter(external_id="browser-c").delete()

    committed(tenant, create)
    yield
    committed(tenant, remove)


def tab_to(page, selector: str, limit: int = 400) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"could not reach {selector} with the keyboard")


def test_a_rep_reviews_with_the_keyboard(world, db, live_server_url, browser_actions) -> None:
    alpha = world["alpha"]
    base = f"http://{live_server_url}{alpha.prefix}"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(base + "login/")
            if not page.evaluate("document.activeElement.id === 'id_username'"):
                tab_to(page, "#id_username")  # autofocus is not honoured every time
            page.keyboard.type("alpha-rep")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url("**/rep/")
            page.goto(base + "feedback/review/")
            assert page.locator("#prompts-heading").is_visible()  # the escalation is a prompt

            # A thumb: Tab to it, Space to press it.
            tab_to(page, '#item-browser-m-1 button[aria-label="Good"]')
            with page.expect_navigation():
                page.keyboard.press("Space")
            assert "rating of browser-m-1 is saved" in page.locator(".messages").inner_text()

            # Stars and a comment: Tab into the radios, arrows to choose, Enter to send.
            tab_to(page, '#item-browser-d-1 input[name="stars"]')
            page.keyboard.press("Space")  # 1
            page.keyboard.press("ArrowRight")  # 2
            page.keyboard.press("ArrowRight")  # 3
            page.keyboard.press("Tab")
            page.keyboard.type("Escalated too early")
            with page.expect_navigation():
                page.keyboard.press("Enter")  # submits the stars form, not a thumb
            assert "rating of browser-d-1 is saved" in page.locator(".messages").inner_text()
        finally:
            browser.close()
    with tenant_context(alpha.tenant):
        stored = dict(
            FeedbackEntry.objects.filter(conversation__external_id="browser-c").values_list(
                "target_id", "rating"
            )
        )
        comment = FeedbackEntry.objects.get(target_id="browser-d-1").comment
    assert stored == {"browser-m-1": 1.0, "browser-d-1": 3.0}
    assert comment == "Escalated too early"
