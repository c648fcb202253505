"""Every role's dashboard in a real browser: charts drawn, no console errors, nothing
fetched from another host, and a live resolution reaches the open page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import PASSWORD
from outcomes import services as outcome_services
from outcomes.models import Conversation, OutcomeRecord
from tests.browser_support import CHROMIUM, committed, require_chromium, sign_in, wait_until

require_chromium()
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def actions(world, db) -> Iterator[None]:
    tenant = world["alpha"].tenant

    def create() -> None:
        for i in range(6):
            outcome_services.record_outcome(
                item=outcome_services.OutcomeInput(
                    action_id=f"dash-{i}",
                    conversation_id="dash-c",
                    action_type="dash_email",
                    predicted_confidence=0.6,
                    outcome_type="email_engagement",
                    occurred_at=timezone.now() - timedelta(days=i % 3, minutes=5),
                    rep="alpha-rep",
                )
            )

    def remove() -> None:
        from calibration.models import CalibrationBin, CountedOutcome
        from outcomes.models import Signal

        ids = list(
            OutcomeRecord.objects.filter(action_id__startswith="dash-").values_list("id", flat=True)
        )
        CountedOutcome.objects.filter(outcome_id__in=ids).delete()
        CalibrationBin.objects.filter(action_type="dash_email").delete()
        OutcomeRecord.objects.filter(id__in=ids).delete()
        Signal.objects.filter(conversation__external_id="dash-c").delete()
        Conversation.objects.filter(external_id="dash-c").delete()

    committed(tenant, create)
    yield
    committed(tenant, remove)


@pytest.mark.parametrize(
    "role,path,charts",
    [
        ("rep", "rep/", ["#trend-chart"]),
        ("manager", "manager/", ["#trend-chart", "#reps-chart"]),
        ("executive", "executive/", ["#versus-chart", "#engagement-chart"]),
    ],
)
def test_dashboards_draw_offline_without_errors(
    world, db, live_server_url, actions, role, path, charts
) -> None:
    alpha = world["alpha"]
    base = f"http://{live_server_url}{alpha.prefix}"
    errors: list[str] = []
    foreign: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request",
                lambda r: (
                    foreign.append(r.url)
                    if not r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:"))
                    else None
                ),
            )
            sign_in(page, base, f"alpha-{role}", PASSWORD)
            page.goto(base + path + "?days=7")
            for selector in charts:  # Chart.js sets the canvas size once it has drawn
                wait_until(
                    page,
                    f"!!document.querySelector('{selector}') && "
                    f"Chart.getChart(document.querySelector('{selector}')) !== undefined",
                )
            page.wait_for_selector("#live-status:has-text('connected')")
            if role == "rep":
                before = page.locator("[data-figure='totals.decided']").inner_text()
                committed(
                    alpha.tenant,
                    lambda: outcome_services.record_signal(
                        conversation_id="dash-c",
                        action_id="dash-0",
                        kind="replied",
                        occurred_at=timezone.now(),
                        data={},
                    ),
                )
                page.wait_for_selector("#live-status:has-text('outcomes.resolved')", timeout=10_000)
                decided = "document.querySelector(\"[data-figure='totals.decided']\")"
                wait_until(page, f"{decided}.textContent !== '{before}'")
        finally:
            browser.close()
    assert errors == []
    assert foreign == []
