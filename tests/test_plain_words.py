"""What a sales manager reads: no action type printed as its id (`advance_stage`: the page
says "Deal-stage move"), and no statistic named before it is explained.

Every HTML page of the product (not the admin, nor the API and its docs) reachable by each
role is rendered over a tenant with some data, and its visible text read: tags stripped,
scripts and styles dropped, text inside <code>/<pre>/<kbd> allowed (ids shown as ids, on
purpose), attribute values (URLs, form values) not text. The rules checked:

1. No action type or outcome type of the data appears as its id, as a whole word.
2. "Brier", alpha and kappa (the Greek letters) and "bin <number>" are each preceded,
   within the same line (the text of one block element: paragraph, cell, list item,
   heading, label…), by at least three plain words: "how far its confidence is from what
   happened (Brier 0.21)" passes, a bare "Brier" column heading or "alpha 0.62" written
   with its letter does not.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from coaching import batch
from coaching.models import LearningProposal
from feedback import queues
from feedback import services as feedback_services
from feedback.models import QueueItem
from feedback.review import record_review
from learning.plain_words import action_type_words, channel_words, outcome_type_words
from outcomes.tests.factories import OutcomeFactory
from tests.test_access_declared import TENANT_URLCONF, _requestable

ACTION_TYPES = ["send_email", "send_chat", "advance_stage", "escalate", "schedule_meeting"]
OUTCOME_TYPES = ["email_engagement"]  # OutcomeFactory's
HIDDEN = {"script", "style", "template", "code", "pre", "kbd", "samp", "title", "head"}
BLOCKS = {
    "p", "div", "li", "td", "th", "tr", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
    "label", "option", "legend", "caption", "figcaption", "summary", "section", "header",
    "nav", "main", "footer", "ul", "ol", "table", "thead", "tbody", "form", "button",
    "select", "figure", "article", "aside", "details", "blockquote", "br", "hr",
}  # fmt: skip
ALPHA, KAPPA = "\u03b1", "\u03ba"  # the Greek letters the statistics are named by
JARGON = re.compile(rf"Brier|{ALPHA}|{KAPPA}|\bbin \d")
PLAIN_WORD = re.compile(r"[A-Za-z]{2,}")


class _Text(HTMLParser):
    """The page's visible text, one line per block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self._hidden += 1
        if tag in BLOCKS:
            self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        if tag in BLOCKS:
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.lines[-1] += data


def visible_lines(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return [" ".join(line.split()) for line in parser.lines if line.strip()]


def snake_case_action_types(lines: list[str]) -> list[str]:
    pattern = re.compile(r"(?<![\w-])(" + "|".join(ACTION_TYPES + OUTCOME_TYPES) + r")(?![\w-])")
    return [line for line in lines if pattern.search(line)]


def unexplained_statistics(lines: list[str]) -> list[str]:
    found = []
    for line in lines:
        for match in JARGON.finditer(line):
            if len(PLAIN_WORD.findall(line[: match.start()])) < 3:
                found.append(line)
                break
    return found


def test_the_rules_catch_what_they_should() -> None:
    page = (
        "<table><tr><th>Brier</th><td>advance_stage</td></tr></table>"
        "<p>How far its confidence is from what happened (Brier 0.21)</p>"
        "<p>Deal-stage move <code>advance_stage</code> <a href='?action_type=send_email'>x</a></p>"
        f"<dl><dt>Agreement</dt><dd>{ALPHA} 0.62</dd></dl>"
        "<p>Confidence from 90 to 100 % (bin 9)</p>"
        "<p>bin 9 is off</p><script>var t = 'send_chat';</script>"
    )
    lines = visible_lines(page)
    assert snake_case_action_types(lines) == ["advance_stage"]
    assert unexplained_statistics(lines) == ["Brier", f"{ALPHA} 0.62", "bin 9 is off"]


def test_words_for_ids() -> None:
    assert action_type_words("advance_stage") == "Deal-stage move"
    assert action_type_words("send_email") == "Email"
    assert action_type_words("escalate_to_manager") == "Escalation"
    assert action_type_words("qualify_lead") == "Qualify lead"
    assert channel_words("crm") == "the CRM"
    assert outcome_type_words("email_engagement") == "email engagement"


@pytest.fixture
def with_data(alpha):
    with tenant_context(alpha.tenant):
        for i, action_type in enumerate(ACTION_TYPES * 4):
            OutcomeFactory(
                action_id=f"pw-{i}",
                rep="alpha-rep",
                action_type=action_type,
                days_ago=i % 5,
                status=("positive", "negative", None)[i % 3],
            )
        for i in range(4):
            feedback_services.record_draft(
                action_id=f"pw-{i}",
                conversation_id="conv-alpha-rep",
                original_draft="Hi Dana, could we find 20 minutes next week for the proposal?",
                sent_version="Dana, Tuesday 2pm?",
                intent="book_demo",
            )
        from calibration import services as calibration_services

        calibration_services.rebuild_bins()
        batch.run()
        # a queue judged by two people: its agreement figures show
        queue = queues.create_queue(
            owner=alpha.users["admin"],
            name="Both",
            reviewers=["alpha-manager", "alpha-rep"],
            reviewers_per_item=2,
            statuses=["positive", "negative"],
        )
        for n, item in enumerate(QueueItem.objects.filter(queue=queue).select_related("outcome")):
            for role in ("manager", "rep"):
                label = ("positive", "negative")[(n + (role == "rep") * (n % 3 == 0)) % 2]
                record_review(
                    reviewer=alpha.users[role],
                    outcome=item.outcome,
                    source="dashboard",
                    rating=1 + n % 5,
                    label=label,
                    queue_item=item,
                )
        alpha.extra_pages = [  # type: ignore[attr-defined]
            f"feedback/queues/{queue.pk}/",
            "conversations/conv-alpha-rep/",
            *(
                f"learning/proposals/{pk}/"
                for pk in LearningProposal.objects.values_list("pk", flat=True)
            ),
        ]
    return alpha


def _pages(world, role: str) -> dict[str, str]:
    client = world.login(Client(raise_request_exception=False), role)
    pages = {}
    for route, concrete in _requestable(TENANT_URLCONF):
        if "admin" in route.app_names or concrete.startswith(("api/", "admin/")):
            continue
        response = client.get(world.url(concrete) + "?days=30")
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        if response.streaming:
            continue
        pages[concrete] = response.content.decode()
    for extra in world.extra_pages:
        response = client.get(world.url(extra))
        if response.status_code == 200:
            pages[extra] = response.content.decode()
    return pages


@pytest.mark.parametrize("role", ["rep", "manager", "executive", "admin"])
def test_pages_speak_plainly(with_data, role) -> None:
    pages = _pages(with_data, role)
    assert len(pages) >= (3 if role == "rep" else 12)
    ids = {
        path: found
        for path, html in pages.items()
        if (found := snake_case_action_types(visible_lines(html)))
    }
    stats = {
        path: found
        for path, html in pages.items()
        if (found := unexplained_statistics(visible_lines(html)))
    }
    assert ids == {}
    assert stats == {}


def test_the_api_link_is_in_the_bar_for_those_who_use_it(alpha) -> None:
    """Reps rarely call the API: their link is at the foot of the page, not in the bar."""
    docs = alpha.url("api/v1/docs/")
    for role in ("rep", "manager", "executive", "admin"):
        page = alpha.login(Client(), role).get(alpha.url("settings/prompts/")).content.decode()
        bar = page[page.index("<nav>") : page.index("</nav>")]
        assert (f'href="{docs}"' in bar) == (role != "rep"), role
        assert f'href="{docs}"' in page, role
