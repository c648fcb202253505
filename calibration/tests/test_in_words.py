"""Each action type's calibration in one sentence a salesperson reads, the Brier score
and ECE one click away (a <details> under it)."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from calibration.selectors import in_words
from calibration.stats import CurveBin
from outcomes.tests.factories import OutcomeFactory


def bin_(low: float, n: int, said: float, got: float) -> CurveBin:
    return CurveBin(low, low + 0.1, n, said, got, 0.0, 1.0)


def empty(low: float) -> CurveBin:
    return CurveBin(low, low + 0.1, 0, None, None, 0.0, 1.0)


def test_an_overconfident_agent_is_told_to_be_trusted_less() -> None:
    bins = [
        empty(0.0),
        bin_(0.3, 10, 0.35, 0.3),
        bin_(0.8, 40, 0.82, 0.62),
        bin_(0.9, 20, 0.93, 0.7),
    ]
    assert in_words(bins) == (
        "When the agent says it is 82% sure, it works out 62% of the time (40 outcomes). "
        "Overall it oversells itself: it says 78% on average and gets 60%, "
        "so trust it less than it claims."
    )


def test_an_underconfident_and_a_calibrated_agent() -> None:
    under = [bin_(0.5, 30, 0.55, 0.8), bin_(0.6, 10, 0.65, 0.9)]
    assert in_words(under).endswith(
        "it says 57% on average and gets 82%, so it can be trusted more than it claims."
    )
    right = [bin_(0.6, 30, 0.66, 0.64), bin_(0.2, 10, 0.25, 0.2)]
    assert in_words(right) == (
        "When the agent says it is 66% sure, it works out 64% of the time (30 outcomes). "
        "Overall its confidence is about right: it says 56%, gets 53%."
    )
    assert in_words([bin_(0.9, 9, 0.9, 1.0)]) == (
        "Too few outcomes yet to say what the agent's confidence is worth."
    )


def test_the_manager_page_puts_the_sentence_first_and_the_numbers_behind_a_click(
    alpha, client
) -> None:
    with tenant_context(alpha.tenant):
        for i in range(12):
            OutcomeFactory(
                action_id=f"w-{i}",
                rep="alpha-rep",
                predicted_confidence=0.85,
                status="positive" if i % 2 else "negative",
            )
    alpha.login(client, "manager")
    page = client.get(alpha.url("manager/")).content.decode()
    sentence = page.index("When the agent says it is 85% sure, it works out 50% of the time")
    details = page.index("<summary>The numbers behind it</summary>", sentence)
    assert page.index("How far its confidence is from what happened: <strong>", details) > details
