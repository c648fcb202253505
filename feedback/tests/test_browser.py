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


SPOT = 6


@pytest.fixture
def spot_check_world(world, db) -> Iterator[None]:
    """A second rep on alpha-manager's team, and six decided emails of alpha-rep's with
    what the agent said (4 that worked, 2 that did not)."""
    tenant = world["alpha"].tenant
    now = timezone.now()

    def create() -> None:
        from learning import services as learning_services

        learning_services.create_user(
            username="alpha-rep2",
            role="rep",
            password=PASSWORD,
            manager_username="alpha-manager",
        )
        services.record_outcomes(
            items=[
                services.OutcomeInput(
                    action_id=f"spot-{i}",
                    conversation_id="spot-c",
                    rep="alpha-rep",
                    action_type="spot_email",
                    predicted_confidence=0.6,
                    outcome_type="email_engagement",
                    occurred_at=now - timedelta(hours=i + 1),
                    content=services.Content(channel="email", body=f"Spot check message {i}."),
                )
                for i in range(SPOT)
            ]
        )
        for status, ids in (("positive", range(4)), ("negative", range(4, SPOT))):
            services.transition_outcomes(
                ids=OutcomeRecord.objects.filter(
                    action_id__in=[f"spot-{i}" for i in ids]
                ).values_list("pk", flat=True),
                status=status,
                score=1.0 if status == "positive" else 0.0,
                source="event",
                reason="test",
                from_statuses=("pending",),
            )

    def remove() -> None:
        from feedback.models import ReviewQueue
        from learning.models import User

        ReviewQueue.objects.filter(name="December spot check").delete()
        entries = FeedbackEntry.objects.filter(conversation__external_id="spot-c")
        FeedbackRevision.objects.filter(entry__in=entries).delete()
        entries.delete()
        Message.objects.filter(conversation__external_id="spot-c").delete()
        outcomes = OutcomeRecord.objects.filter(conversation__external_id="spot-c")
        CountedOutcome.objects.filter(outcome_id__in=outcomes.values("pk")).delete()
        outcomes.delete()
        Conversation.objects.filter(external_id="spot-c").delete()
        CalibrationBin.objects.filter(action_type="spot_email").delete()
        User.objects.filter(username="alpha-rep2").delete()

    committed(tenant, create)
    yield
    committed(tenant, remove)


def test_a_manager_spot_checks_with_two_reviewers_and_reads_their_agreement(
    world, db, live_server_url, spot_check_world
) -> None:
    """maria's part of the workbench: a spot-check queue for two reviewers made in the
    form, both judge every item with the keyboard (the automatic verdict hidden), and the
    queue page shows progress and agreement."""
    import krippendorff
    import numpy as np

    from tests.browser_support import sign_in

    alpha = world["alpha"]
    base = f"http://{live_server_url}{alpha.prefix}"
    verdicts = {"alpha-rep": "yyyyyy", "alpha-rep2": "yyyynn"}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            manager = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            sign_in(manager, base, "alpha-manager", PASSWORD)
            manager.goto(base + "feedback/queues/new/")
            manager.fill("#id_name", "December spot check")
            manager.check("input[name=reviewers][value=alpha-rep]")
            manager.check("input[name=reviewers][value=alpha-rep2]")
            manager.fill("#id_reviewers_per_item", "2")
            manager.check("input[name=action_types][value=spot_email]")
            manager.fill("#id_spot_check_percent", "100")
            with manager.expect_navigation():
                manager.click("button[type=submit].primary")
            assert f"{SPOT} items" in manager.inner_text(".messages")
            queue_url = manager.url
            key = "q" + queue_url.rstrip("/").rsplit("/", 1)[1]

            for reviewer, keys in verdicts.items():
                page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
                sign_in(page, base, reviewer, PASSWORD)
                page.goto(base + f"feedback/review/{key}/1/")
                for n, verdict in enumerate(keys, start=1):
                    assert f"{n} of {SPOT}" in page.inner_text(".progress")
                    assert "Spot check message" in page.inner_text(".said")
                    assert page.query_selector(".review-subject h1 .status") is None  # blind
                    page.keyboard.press(verdict)
                    with page.expect_navigation():
                        page.keyboard.press("Enter")
                page.context.close()

            manager.goto(queue_url)
            text = manager.inner_text("main")
        finally:
            browser.close()
    expected = krippendorff.alpha(
        reliability_data=np.array([[1] * SPOT, [1, 1, 1, 1, 0, 0]], dtype=float),
        level_of_measurement="nominal",
    )
    assert f"\N{GREEK SMALL LETTER ALPHA} {expected:.2f}" in text, text
    assert "alpha-rep and alpha-rep2" in text
    assert f"Done (judged by 2)\n{SPOT}" in text
