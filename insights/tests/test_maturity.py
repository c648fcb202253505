"""The maturity rule: outcomes still waiting never raise a period's rate, and a young
period is not drawn as part of a trend."""

from __future__ import annotations

import random
from datetime import date

import pytest

from insights import analytics


def period(positive: int, negative: int, expired: int = 0, pending: int = 0, ambiguous: int = 0):
    s = dict.fromkeys(analytics.SUMS, 0.0)
    s.update(
        positive=positive,
        negative=negative,
        expired=expired,
        pending=pending,
        ambiguous=ambiguous,
        total=positive + negative + expired + pending + ambiguous,
    )
    return s


def test_the_week_that_looked_like_76_percent() -> None:
    """128 positive, 40 negative, 61 waiting (the issue's week of 11-23): 76 % of the
    decided, but not settled; it will end between 56 % and 83 %."""
    m = analytics.maturity(period(128, 40, pending=61))
    assert analytics.success_rate(period(128, 40, pending=61)) == pytest.approx(128 / 168)
    assert m["settled"] is False and m["settled_rate"] is None
    assert m["waiting"] == 61 and m["waiting_share"] == pytest.approx(61 / 229)
    assert (m["rate_low"], m["rate_high"]) == pytest.approx((128 / 229, 189 / 229))


def test_waiting_outcomes_never_raise_a_settled_rate_and_bound_the_final_one() -> None:
    rng = random.Random(5)
    for _ in range(2_000):
        positive, negative, expired = (rng.randint(0, 300) for _ in range(3))
        pending, ambiguous = rng.randint(0, 60), rng.randint(0, 20)
        before = analytics.maturity(period(positive, negative, expired))
        after = analytics.maturity(period(positive, negative, expired, pending, ambiguous))
        if after["settled_rate"] is not None and before["settled_rate"] is not None:
            # Still settled with some waiting: the same decided rate, not a higher one.
            assert after["settled_rate"] == pytest.approx(before["settled_rate"])
        total = positive + negative + expired + pending + ambiguous
        if after["settled_rate"] is None and total:
            assert pending / total > analytics.SETTLED_WAITING_SHARE
        else:  # settled: no more than 5 % pending, whatever waits for a label
            assert not total or pending / total <= analytics.SETTLED_WAITING_SHARE
        # However the waiting ones end, the final rate is within the stated range.
        wins = rng.randint(0, pending + ambiguous)
        final = analytics.success_rate(
            period(positive + wins, negative + pending + ambiguous - wins, expired)
        )
        if final is not None:
            assert after["rate_low"] - 1e-12 <= final <= after["rate_high"] + 1e-12


def test_a_labelling_backlog_widens_the_range_but_does_not_hold_a_day_back() -> None:
    m = analytics.maturity(period(60, 30, expired=5, ambiguous=8))
    assert m["settled"] and m["settled_rate"] == pytest.approx(60 / 95)
    assert (m["rate_low"], m["rate_high"]) == pytest.approx((60 / 103, 68 / 103))


def test_a_young_day_is_left_out_of_the_trend_line() -> None:
    window = analytics.Window(date(2026, 11, 29), date(2026, 11, 30))
    row = {"outcome_type": "email_engagement", "action_type": "send_email", "rep_id": 1}
    old = {**row, "day": date(2026, 11, 29), **period(60, 40, pending=2)}
    young = {**row, "day": date(2026, 11, 30), **period(30, 5, pending=40)}
    trend = analytics.daily_trend([old, young], window)
    assert trend[0]["settled"] and trend[0]["settled_rate"] == pytest.approx(0.6)
    assert not trend[1]["settled"] and trend[1]["settled_rate"] is None
    assert trend[1]["success_rate"] == pytest.approx(30 / 35)  # what the line used to show
    assert (trend[1]["rate_low"], trend[1]["rate_high"]) == pytest.approx((30 / 75, 70 / 75))


def test_what_stands_out_does_not_judge_an_unsettled_period() -> None:
    from insights.models import AnalyticsSettings

    s = period(128, 40, pending=61)
    totals = {"success_rate": analytics.success_rate(s), **analytics.maturity(s)}
    (line,) = analytics._insights([], totals, AnalyticsSettings(human_success_rate=0.65))
    assert "76% vs 65%" in line and "27% of the period's actions still wait" in line
    assert "between 56% and 83%: too early to say which is better" in line
    settled = period(128, 40, pending=2)
    totals = {"success_rate": analytics.success_rate(settled), **analytics.maturity(settled)}
    (line,) = analytics._insights([], totals, AnalyticsSettings(human_success_rate=0.65))
    assert line == "The agent succeeds more often than the human baseline: 76% vs 65%."


def test_headline_figures_have_thousands_separators() -> None:
    from django.template.loader import render_to_string

    s = period(900, 346, pending=210, ambiguous=41)
    totals = analytics._figures([{**s, "day": date(2026, 11, 30)}])
    html = render_to_string("insights/_figures.html", {"data": {"totals": totals}})
    assert ">1,497<" in html and ">1,246<" in html
    assert "Not settled yet: 17 % of these actions still wait" in html  # 251 of 1,497


def test_what_stands_out_names_an_unsettled_type_as_so_far() -> None:
    from insights.models import AnalyticsSettings

    young = {"action_type": "send_email", **analytics._figures([period(30, 10, pending=20)])}
    old = {"action_type": "escalate", **analytics._figures([period(10, 20)])}
    totals = analytics._figures([period(40, 30, pending=20)])
    line = analytics._insights([young, old], totals, AnalyticsSettings(human_success_rate=0.5))[0]
    assert line == (
        "Email works best (75% of 40 decided so far; not settled: it will end between "
        "50% and 83%); "
        "Escalation works least (33%)."
    )


def test_a_rate_in_words_says_so_far_until_settled() -> None:
    from insights.sums import rate_in_words

    young = analytics._figures([period(30, 10, pending=20)])
    assert rate_in_words(young) == "75 % so far (not settled: will end 50\u201383 %)"
    assert rate_in_words(analytics._figures([period(10, 20)])) == "33 %"
    assert rate_in_words(analytics._figures([period(0, 0, pending=3)])) == "n/a"
