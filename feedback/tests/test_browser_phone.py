"""The review flow on a phone (a touch device at 390x844: the message first, the verdict
always at hand, one tap each) and at 1366 px with the keyboard: a rep judges six queued
items and is never shown one they judged already.

Needs /usr/bin/chromium, like feedback/tests/test_browser.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from calibration.models import CalibrationBin, CountedOutcome
from conftest import PASSWORD
from feedback.models import FeedbackEntry, FeedbackRevision
from outcomes import services
from outcomes.models import Conversation, Message, OutcomeRecord
from tests.browser_support import CHROMIUM, committed, require_chromium, sign_in

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")

ITEMS = 9  # escalations of alpha-rep's, oldest first in "Needs your verdict"
RATED_BEFORE = (1, 3, 4)  # rated yesterday: in the list, marked, never offered again
JUDGE = 6

# A long message, as most of the agent's are: it runs past the first screen of a phone.
BODY = "\n\n".join(
    f"Paragraph {n}: thanks for the call about the rollout to the 40 seats, here is what we "
    "agreed, the prices per seat, the onboarding plan week by week and who does what."
    for n in range(12)
)


@pytest.fixture
def escalations(world, db) -> Iterator[None]:
    tenant = world["alpha"].tenant
    now = timezone.now()

    def create() -> None:
        from feedback import services as feedback_services
        from learning.models import User

        services.record_outcomes(
            items=[
                services.OutcomeInput(
                    action_id=f"phone-{i}",
                    conversation_id="phone-c",
                    rep="alpha-rep",
                    action_type="escalate",
                    predicted_confidence=0.6,
                    outcome_type="escalation_result",
                    occurred_at=now - timedelta(days=3, hours=ITEMS - i),
                    content=services.Content(
                        channel="email", subject=f"Escalation {i}", body=f"Item {i}. {BODY}"
                    ),
                )
                for i in range(ITEMS)
            ]
        )
        rep = User.objects.get(username="alpha-rep")
        yesterday = now - timedelta(days=1)
        for i in RATED_BEFORE:
            feedback_services.record_feedback(
                reviewer=rep,
                target_type="decision",
                target_id=f"phone-{i}",
                conversation_id="phone-c",
                source="inline",
                rating=-1,
                outcome_id=OutcomeRecord.objects.get(action_id=f"phone-{i}").pk,
            )
        FeedbackEntry.objects.filter(conversation__external_id="phone-c").update(
            rated_at=yesterday, created_at=yesterday
        )

    def remove() -> None:
        entries = FeedbackEntry.objects.filter(conversation__external_id="phone-c")
        FeedbackRevision.objects.filter(entry__in=entries).delete()
        entries.delete()
        Message.objects.filter(conversation__external_id="phone-c").delete()
        outcomes = OutcomeRecord.objects.filter(conversation__external_id="phone-c")
        CountedOutcome.objects.filter(outcome_id__in=outcomes.values("pk")).delete()
        outcomes.delete()
        Conversation.objects.filter(external_id="phone-c").delete()
        CalibrationBin.objects.filter(action_type="escalate").delete()

    committed(tenant, create)
    yield
    committed(tenant, remove)


def box(page, selector: str) -> dict:
    """Where the element is in the viewport now (no scrolling)."""
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,"
        " height: innerHeight, width: innerWidth}; }",
        selector,
    )


@pytest.mark.parametrize(
    "width,height,touch", [(390, 844, True), (1366, 768, False)], ids=["phone", "desktop"]
)
def test_a_rep_judges_six_items_never_one_judged_already(
    world, db, live_server_url, escalations, width, height, touch
) -> None:
    alpha = world["alpha"]
    base = f"http://{live_server_url}{alpha.prefix}"
    judged_before = {f"phone-{i}" for i in RATED_BEFORE}
    shown: list[str] = []
    keys = "gob"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch
            )
            page = context.new_page()
            sign_in(page, base, "alpha-rep", PASSWORD)
            page.goto(base + "feedback/review/")
            for n in range(JUDGE):
                action_id = page.get_attribute("input[name=action_id]", "value")
                assert action_id is not None
                assert action_id not in judged_before and action_id not in shown, (
                    action_id,
                    shown,
                )
                shown.append(action_id)
                assert page.evaluate("scrollY") == 0
                said = box(page, ".said")
                assert 0 <= said["top"] < height, said  # the message starts on the first screen
                control = "#bar-good" if touch else "#thumb-good"
                verdict = box(page, control)
                assert verdict["top"] >= 0 and verdict["bottom"] <= height, verdict
                assert verdict["left"] >= 0 and verdict["right"] <= width, verdict
                assert page.is_visible(control)
                reason = box(page, ".why")  # why it is in the queue: on the first screen too
                assert reason["bottom"] <= height or touch, reason
                assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
                with page.expect_navigation():
                    if touch:
                        page.tap(control)
                    else:
                        page.keyboard.press(keys[n % 3])
                assert f"Saved your verdict on {action_id}" in page.inner_text(".messages")
            assert "You have judged every item of “Needs your verdict”" in page.inner_text(
                ".messages"
            )
            page.goto(base + "feedback/review/needs-you/1/")
            progress = page.inner_text(".progress")
            # An item judged before: no verdict at hand, and g records nothing.
            page.goto(base + "feedback/review/needs-you/2/")
            assert page.get_attribute("input[name=action_id]", "value") == "phone-1"
            assert page.query_selector("#bar-good") is None
            assert "You judged this one." in page.inner_text(".verdict-bar") or not touch
            page.keyboard.press("g")
            page.wait_for_timeout(500)
            assert page.url.endswith("feedback/review/needs-you/2/")
        finally:
            browser.close()

    def stored() -> dict[str, float]:
        entries = FeedbackEntry.objects.filter(conversation__external_id="phone-c")
        return dict(entries.values_list("target_id", "rating"))

    ratings = committed(alpha.tenant, stored)
    expected_ids = [f"phone-{i}" for i in range(ITEMS) if i not in RATED_BEFORE][:JUDGE]
    assert shown == expected_ids  # in queue order, skipping what was judged before
    assert all(ratings[i] == -1 for i in judged_before)  # never silently re-rated
    if touch:
        assert all(ratings[i] == 1 for i in shown)
    else:
        assert [ratings[i] for i in shown] == [1.0, 0.0, -1.0] * 2
    # positions held: the list still holds all nine, every one judged now
    assert f"of {ITEMS}" in progress and f"{ITEMS} rated" in progress, progress
