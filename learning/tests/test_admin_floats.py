"""The admin shows measured values rounded (no 0.7586206896551724), in lists and on the
read-only detail pages alike."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from feedback.tests.factories import DraftFactory
from learning.admin_config import readable_float


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.7586206896551724, "0.759"),
        (0.000123456, "0.000123"),
        (1234.5678, "1,234.57"),
        (1.1, "1.1"),
        (2.0, "2"),
        (0.0, "0"),
        (-0.25, "-0.25"),
    ],
)
def test_readable_float(value, shown) -> None:
    assert readable_float(value) == shown


def test_admin_pages_round_float_fields(alpha, client) -> None:
    with tenant_context(alpha.tenant):
        draft = DraftFactory(
            action_id="adm-1",
            conversation_id="adm-conv",
            original_draft="Hi Dana, could we find 20 minutes next week for the proposal?",
            sent_version="Hi Dana, are you free for a call on Tuesday about the proposal?",
        )
    raw = repr(draft.edit_distance)
    assert len(raw) > 6  # a value with many digits, as the edit distance usually is
    alpha.login(client, "admin")
    listing = client.get(alpha.url("admin/feedback/draftfeedback/")).content.decode()
    detail = client.get(
        alpha.url(f"admin/feedback/draftfeedback/{draft.pk}/change/")
    ).content.decode()
    for page in (listing, detail):
        assert raw not in page
        assert readable_float(draft.edit_distance) in page
