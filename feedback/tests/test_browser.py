"""The review flow in a real browser (Playwright driving Debian's Chromium), keyboard
only, at 1366 and 390 pixels wide.

Needs /usr/bin/chromium (Debian's package `chromium`; `.ci/run` installs it). Without it
the test is skipped, unless LL_REQUIRE_BROWSER=1 (set by CI) makes that a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from calibration.models import CalibrationBin, CountedOutcome
from conftest import PASSWORD
from feedback.models import FeedbackEntry, FeedbackRevision
from feedback.tests.conftest import act
from outcomes import services
from outcomes.models import Conversation, Message, OutcomeRecord
from tests.browser_support import CHROMIUM, committed, require_chromium

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")


N = 10


@pytest.fixture
def browser_actions(world, db) -> Iterator[None]:
    """Ten emails of alpha-rep's, each with what the agent said, and one ambiguous one."""
    tenant = world["alpha"].tenant
    now = timezone.now()

    def create() -> None:
        services.record_outcomes(
            items=[
                services.OutcomeInput(
                    action_id=f"browser-{i}",
                    conversation_id="browser-c",
                    rep="alpha-rep",
                    action_type="browser_email",
                    predicted_confidence=0.7,
                    outcome_type="email_engagement",
                    occurred_at=now - timedelta(hours=i + 1),
                    content=services.Content(
                        channel="email",
                        subject=f"Proposal {i}",
                        body=f"Hi Dana, here is proposal number {i}.",
                    ),
                )
                for i in range(N)
            ]
        )
        act("browser-amb", "browser-c", "alpha-rep", action_type="browser_email")
        OutcomeRecord.objects.filter(action_id="browser-amb").update(
            occurred_at=now - timedelta(hours=30)  # the oldest: last in the recent queue
        )
        services.transition_outcomes(
            ids=OutcomeRecord.objects.filter(action_id="browser-amb").values_list("pk", flat=True),
            status="ambiguous",
            score=None,
            source="automatic",
            reason="window closed, weak signals only",
        )

    def remove() -> None:
        entries = FeedbackEntry.objects.filter(conversation__external_id="browser-c")
        FeedbackRevision.objects.filter(entry__in=entries).delete()
        entries.delete()
        Message.objects.filter(conversation__external_id="browser-c").delete()
        outcomes = OutcomeRecord.objects.filter(conversation__external_id="browser-c")
        CountedOutcome.objects.filter(outcome_id__in=outcomes.values("pk")).delete()
        outcomes.delete()
        Conversation.objects.filter(external_id="browser-c").delete()
        CalibrationBin.objects.filter(action_type="browser_email").delete()

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


def fits(page, selector: str) -> bool:
    """The element is within the page's width (nothing off-screen to the right)."""
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return r.left >= 0 && r.right <= window.innerWidth + 1; }",
        selector,
    )


@pytest.mark.parametrize("width", [1366, 390])
def test_a_rep_reviews_ten_items_with_the_keyboard(
    world, db, live_server_url, browser_actions, width
) -> None:
    alpha = world["alpha"]
    base = f"http://{live_server_url}{alpha.prefix}"
    ratings = [(i % 5) + 1 for i in range(N)]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(base + "login/")
            if not page.evaluate("document.activeElement.id === 'id_username'"):
                tab_to(page, "#id_username")  # autofocus is not honoured every time
            page.keyboard.type("alpha-rep")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url("**/rep/")

            # The labelling queue: read the item, y (it worked), Enter.
            page.goto(base + "feedback/review/to-label/1/")
            assert "Did it work?" in page.inner_text(".review-form")
            assert fits(page, "#save") and fits(page, ".review-subject")
            page.keyboard.press("y")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert "Saved your verdict on browser-amb" in page.inner_text(".messages")

            # The recent actions, newest first: read each message, a digit, Enter.
            page.goto(base + "feedback/review/recent/1/")
            for i, stars in enumerate(ratings):
                assert f"1 of {N + 1}" in page.inner_text(".progress") if i == 0 else True
                said = page.inner_text(".said")
                assert f"here is proposal number {i}." in said, said
                assert fits(page, "#save")
                page.keyboard.press(str(stars))
                if i == 0:  # c: a comment, typed, then Escape back to the shortcuts
                    page.keyboard.press("c")
                    page.keyboard.type("Clear and short")
                    page.keyboard.press("Escape")
                with page.expect_navigation():
                    page.keyboard.press("Enter")
            assert f"{N} rated" in page.inner_text(".progress")
        finally:
            browser.close()

    def stored() -> tuple[dict, str, str]:
        entries = FeedbackEntry.objects.filter(conversation__external_id="browser-c")
        return (
            dict(entries.values_list("target_id", "rating")),
            entries.get(target_id="browser-0").comment,
            OutcomeRecord.objects.get(action_id="browser-amb").status,
        )

    ratings_by_id, comment, labelled = committed(alpha.tenant, stored)
    assert ratings_by_id == {f"browser-{i}": float(r) for i, r in enumerate(ratings)}
    assert (comment, labelled) == ("Clear and short", "positive")
